"""The shipped monitoring against the real pipeline: a real Prometheus runs monitoring/prometheus.yml
(its targets moved to this test's ports) and every query of monitoring/grafana-dashboard.json must
return data, with one board connected.

Grafana variables in queries are replaced by what Grafana itself would use at this test's 1 s scrape
interval (GRAFANA_VARIABLES). Needs the Debian package `prometheus`, which .ci/run installs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from common import protocol
from common.config import STAGES, load
from tests.harness import REPO, BoardThread, Daemon, Pipeline, Ports, board_options, free_port, wait_for, write_config

SCRAPE_CONFIG = REPO / "monitoring" / "prometheus.yml"
DASHBOARD = REPO / "monitoring" / "grafana-dashboard.json"
DASHBOARD_JSON = json.loads(DASHBOARD.read_text())
TARGET = re.compile(r'"(\d+\.\d+\.\d+\.\d+:\d+)"')  # a target in prometheus.yml
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
SCRAPE_INTERVAL = "1s"  # the shipped 5 s, shortened so the test sees data within seconds
# Grafana's $__rate_interval is max($__interval + scrape interval, 4 x scrape interval); with a 1 s
# scrape interval and a 15 min dashboard ($__interval about 1 s) that is 4 s.
GRAFANA_VARIABLES = {"$__rate_interval": "4s"}
PROMETHEUS_METRICS = {"up"}  # series Prometheus makes itself, not served by any stage
DATA_TIMEOUT_S = 60
# The reference board sends no stats in its acks (firmware boards do); the test board sends these.
DEVICE_STATS = protocol.DeviceStats(decode_us=1200, draw_us=8500, free_heap=151_000, rssi_dbm=-61)


def color_workers() -> int:
    """supervisord.conf's numprocs for correct_color: each worker serves metrics on port + index."""
    match = re.search(r"\[program:correct_color\][^\[]*?^numprocs=(\d+)", (REPO / "supervisord.conf").read_text(), re.M)
    assert match, "supervisord.conf: [program:correct_color]: no numprocs"
    return int(match.group(1))


def metrics_targets(host: str, ports: dict[str, int]) -> dict[str, str]:
    """target -> stage, for every process serving metrics (color workers on port + index)."""
    workers = color_workers()
    return {
        f"{host}:{ports[stage] + index}": stage
        for stage in STAGES
        for index in range(workers if stage == "correct_color" else 1)
    }


def scrape_config_for(ports: Ports) -> str:
    """monitoring/prometheus.yml with each target moved from the shipped config's port to the test's."""
    default = load(REPO / "tftstream.toml")
    shipped = list(metrics_targets(default.metrics_host, default.metrics_ports))
    ours = list(metrics_targets("127.0.0.1", ports.metrics))
    moves = dict(zip(shipped, ours, strict=True))
    text = SCRAPE_CONFIG.read_text()
    text = TARGET.sub(lambda m: f'"{moves[m.group(1)]}"', text)
    return re.sub(r"^(\s*scrape_interval:) 5s$", rf"\1 {SCRAPE_INTERVAL}", text, flags=re.M)


def dashboard_panels(panels: list[dict] | None = None) -> Iterator[dict]:
    for panel in DASHBOARD_JSON["panels"] if panels is None else panels:
        yield panel
        yield from dashboard_panels(panel.get("panels", []))  # a collapsed row holds its panels


def dashboard_queries() -> list[str]:
    """Every query of the dashboard, once each, in panel order, as Grafana would send it here."""
    queries = []
    for panel in dashboard_panels():
        for target in panel.get("targets", []):
            expr = target["expr"]
            for name, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(name, value)
            if expr not in queries:
                queries.append(expr)
    return queries


def metric_names(expr: str) -> set[str]:
    """The metric names a query reads (label values like job=~"tftstream_.+" are not names)."""
    without_strings = re.sub(r'"[^"]*"', '""', expr)
    return set(re.findall(r"\btftstream_\w+", without_strings)) | {
        name for name in PROMETHEUS_METRICS if re.search(rf"\b{name}\s*\{{", without_strings)
    }


# ---- The files alone


def test_shipped_scrape_config_passes_promtool():
    result = subprocess.run([PROMTOOL, "check", "config", str(SCRAPE_CONFIG)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_shipped_scrape_config_targets_exactly_the_default_metrics_ports():
    default = load(REPO / "tftstream.toml")
    expected = metrics_targets(default.metrics_host, default.metrics_ports)
    assert sorted(TARGET.findall(SCRAPE_CONFIG.read_text())) == sorted(expected)


def test_dashboard_takes_its_data_source_as_an_import_input():
    inputs = {i["name"] for i in DASHBOARD_JSON["__inputs"] if i["type"] == "datasource"}
    assert inputs == {"DS_PROMETHEUS"}
    expected = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
    for panel in dashboard_panels():
        if panel["type"] != "row":
            assert panel["datasource"] == expected, panel["title"]
            assert all(t["datasource"] == expected for t in panel["targets"]), panel["title"]


def test_dashboard_queries_use_only_variables_the_test_can_substitute():
    unknown = [q for q in dashboard_queries() if "$" in q]
    assert unknown == []


def test_dashboard_has_panels_for_every_stage():
    names = set().union(*(metric_names(q) for q in dashboard_queries()))
    # Source processes share one set of metric names, labelled by source.
    prefixes = {s: "tftstream_source_" if s.startswith("draw_") else f"tftstream_{s}_" for s in STAGES}
    assert [s for s in STAGES if not any(n.startswith(prefixes[s]) for n in names)] == []


# ---- A real Prometheus scraping the running pipeline


class Prometheus:
    """/usr/bin/prometheus on a random loopback port, its config, data and log in `directory`."""

    def __init__(self, directory: Path, config_text: str) -> None:
        self.port = free_port()
        config = directory / "prometheus.yml"
        config.write_text(config_text)
        self.daemon = Daemon(
            [
                PROMETHEUS,
                f"--config.file={config}",
                f"--storage.tsdb.path={directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            directory / "prometheus.log",
        )

    def get(self, path: str, **params: str) -> dict:
        url = f"http://127.0.0.1:{self.port}{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.load(response)

    def ready(self) -> bool:
        return self.daemon.http_ready(self.port, "/-/ready")

    def query(self, expr: str) -> list[dict]:
        """The instant vector `expr` evaluates to now; a query Prometheus refuses fails the test."""
        try:
            return self.get("/api/v1/query", query=expr)["data"]["result"]
        except urllib.error.HTTPError as error:
            raise AssertionError(f"Prometheus refused {expr!r}: {error.read().decode()}") from None

    def stop(self) -> None:
        self.daemon.stop()


@dataclasses.dataclass
class Monitored:
    ports: Ports
    prometheus: Prometheus


@pytest.fixture(scope="module")
def monitored(tmp_path_factory) -> Iterator[Monitored]:
    directory = tmp_path_factory.mktemp("monitored")
    ports = Ports()
    write_config(directory, ports)
    ack = protocol.ack  # this process's boards (the test's) send DEVICE_STATS in every ack, as firmware does
    with contextlib.ExitStack() as stack, pytest.MonkeyPatch.context() as patch:
        patch.setattr(protocol, "ack", lambda a: ack(a if a.stats else dataclasses.replace(a, stats=DEVICE_STATS)))
        pipeline = Pipeline(directory)
        stack.callback(pipeline.stop)
        prometheus = Prometheus(directory, scrape_config_for(ports))
        stack.callback(prometheus.stop)
        board = BoardThread(board_options(ports))
        stack.callback(board.close)
        wait_for(prometheus.ready, 15, "Prometheus ready")
        yield Monitored(ports, prometheus)


def failing(condition, timeout: float, what: str, detail) -> None:
    """wait_for, naming what was still wrong at the deadline."""
    try:
        wait_for(condition, timeout, what, interval=0.25)
    except AssertionError as error:
        raise AssertionError(f"{error}: {detail()}") from None


def test_prometheus_scrapes_a_job_per_stage_with_stage_and_worker_labels(monitored):
    active: list[dict] = []

    def every_target_up() -> bool:
        active[:] = monitored.prometheus.get("/api/v1/targets", state="active")["data"]["activeTargets"]
        return bool(active) and all(t["health"] == "up" for t in active)

    failing(every_target_up, 20, "every scrape target up", lambda: [(t["scrapeUrl"], t["lastError"]) for t in active])
    jobs: dict[str, list[dict[str, str]]] = {}
    for target in active:
        jobs.setdefault(target["labels"]["job"], []).append(target["labels"])
    assert sorted(jobs) == sorted(f"tftstream_{stage}" for stage in STAGES)
    for stage in STAGES:
        assert {labels["stage"] for labels in jobs[f"tftstream_{stage}"]} == {stage}
    base = monitored.ports.metrics["correct_color"]
    workers = {labels["worker"]: labels["instance"] for labels in jobs["tftstream_correct_color"]}
    assert workers == {str(i): f"127.0.0.1:{base + i}" for i in range(color_workers())}


def served_metric_names(ports: Ports) -> set[str]:
    names = set()
    for target in metrics_targets("127.0.0.1", ports.metrics):
        with urllib.request.urlopen(f"http://{target}/metrics", timeout=5) as response:
            text = response.read().decode()
        names |= {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and line[0] != "#"}
    return names


def test_every_metric_in_the_dashboard_is_served_by_a_stage(monitored):
    used = set().union(*(metric_names(q) for q in dashboard_queries())) - PROMETHEUS_METRICS
    missing = set(used)

    def all_served() -> bool:  # labelled series (per board, per protocol) appear once a board streams
        with contextlib.suppress(OSError):
            missing.intersection_update(used - served_metric_names(monitored.ports))
        return not missing

    failing(all_served, 20, "every dashboard metric on some stage's /metrics", lambda: sorted(missing))


def test_every_dashboard_query_returns_data_from_the_running_pipeline(monitored):
    pending = dashboard_queries()

    def all_answered() -> bool:
        for expr in list(pending):
            values = [r["value"][1] for r in monitored.prometheus.query(expr)]
            if any(v != "NaN" for v in values):  # a zero series is data; NaN (no observations) is not
                pending.remove(expr)
        return not pending

    failing(
        all_answered, DATA_TIMEOUT_S, "data for every dashboard query", lambda: "never answered:\n" + "\n".join(pending)
    )
