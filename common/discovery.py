"""mDNS advertisement of the egress, so boards on the LAN find this PC without a configured IP.

Service `_tftstream._tcp.local.` on the board port, TXT `v` (protocol version) and `displays`
(comma-separated names). Boards browse for it and fall back to a configured host.
"""

from __future__ import annotations

import socket

import ifaddr
from zeroconf import IPVersion, ServiceInfo
from zeroconf.asyncio import AsyncZeroconf

from common.config import Config
from common.protocol import VERSION

SERVICE_TYPE = "_tftstream._tcp.local."


def lan_addresses() -> list[str]:
    """IPv4 addresses of this machine's interfaces, loopback excluded."""
    return [
        ip.ip
        for adapter in ifaddr.get_adapters()
        for ip in adapter.ips
        if isinstance(ip.ip, str) and not ip.ip.startswith("127.")
    ]


def service_info(config: Config, addresses: list[str]) -> ServiceInfo:
    host = socket.gethostname().split(".")[0]
    return ServiceInfo(
        SERVICE_TYPE,
        f"tftstream on {host}.{SERVICE_TYPE}",
        port=config.egress.port,
        properties={"v": str(VERSION), "displays": ",".join(d.name for d in config.displays)},
        server=f"{host}.local.",
        addresses=[socket.inet_aton(a) for a in addresses],
    )


async def advertise(config: Config) -> AsyncZeroconf | None:
    """Register the service on the configured addresses (all LAN ones by default); None when off."""
    wanted = config.egress.advertise
    if wanted is None:
        return None
    addresses = list(wanted) or lan_addresses()
    if config.egress.host not in ("0.0.0.0", "", "::"):
        addresses = [config.egress.host]
    zeroconf = AsyncZeroconf(interfaces=addresses, ip_version=IPVersion.V4Only)
    # A second pipeline on this host (or a stale record) holds the name: take "tftstream on host (2)".
    await zeroconf.async_register_service(service_info(config, addresses), allow_name_change=True)
    return zeroconf
