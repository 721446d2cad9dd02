"""The egress advertises itself over mDNS (loopback only here), so boards find it without an IP."""

from __future__ import annotations

import subprocess
import sys

from zeroconf import ServiceBrowser, ServiceListener, Zeroconf

from common.discovery import SERVICE_TYPE
from tests.harness import REPO, Ports, wait_for, write_config

DISPLAYS = """
[[displays]]
name = "main"
width = 320
height = 240
source = "cpu_monitor"
[[displays]]
name = "side"
width = 160
height = 128
source = "bios_screen"
"""


class Found(ServiceListener):
    def __init__(self) -> None:
        self.services: list = []

    def add_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        self.services.append(zc.get_service_info(type_, name, timeout=3000))

    def update_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        pass

    def remove_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        pass


def test_a_board_browsing_for_tftstream_finds_the_egress_port_and_displays(tmp_path):
    ports = Ports()
    extra = f'[egress]\nhost = "0.0.0.0"\nport = {ports.board}\nadvertise = ["127.0.0.1"]\n'
    config = write_config(tmp_path, ports, DISPLAYS, extra)
    egress = subprocess.Popen(
        [sys.executable, "-m", "stages.serve_boards", "--config", str(config)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    browser = Zeroconf(interfaces=["127.0.0.1"])
    found = Found()
    try:
        ServiceBrowser(browser, SERVICE_TYPE, found)
        service = wait_for(
            lambda: next((s for s in found.services if s and s.port == ports.board), None),
            20,
            "the egress's mDNS service",
        )
        assert service.parsed_addresses() == ["127.0.0.1"]
        assert service.properties == {b"v": b"1", b"displays": b"main,side"}
    finally:
        browser.close()
        egress.terminate()
        output, _ = egress.communicate(timeout=20)
    assert "advertising _tftstream._tcp.local. over mDNS" in output
