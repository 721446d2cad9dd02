"""The Prometheus dashboard source: unit scaling, layouts, config checks, what each panel shows for each kind
of answer (from a fake Prometheus with a fake clock), and the node_exporter preset against a real Prometheus
scraping a real prometheus-node-exporter on loopback (Debian packages `prometheus`, `prometheus-node-exporter`),
including Prometheus killed and started again, and stopped (SIGSTOP) so that queries time out.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from common.config import ConfigError, Source, Table
from common.drawing import MIN_FONT_PX
from common.prometheus_panels import COLOURS, DashboardOptions, format_share, format_value, read_options
from common.prometheus_presets import PRESETS
from common.prometheus_query import IDLE_AFTER_S, Answer, parse_answer, short_reason
from common.rgb565 import expand_rgb565, pack_rgb565
from docs import make_snapshots
from stages import draw_prometheus
from stages.draw_prometheus import MIN_CELL_H, MIN_CELL_W, PrometheusPainter, dash_layout, grid, page
from tests.harness import REPO, Daemon, free_port, wait_for

SIZES = [(320, 240), (240, 240), (160, 128)]
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
NODE_EXPORTER = shutil.which("prometheus-node-exporter") or "/usr/bin/prometheus-node-exporter"
BAD_PROMQL = "rate(node_load1["
NOTHING = "tftstream_test_metric_nobody_serves"


def options(**data) -> DashboardOptions:
    return read_options(Source("dash", "prometheus", 1.0, 1.0, 0, Table(Path("t.toml"), "sources.dash", data)))


def config_error(**data) -> str:
    with pytest.raises(ConfigError) as caught:
        options(**data)
    return str(caught.value)


# ---- Units


@pytest.mark.parametrize(
    "value, unit, text",
    [
        (1536, "bytes_per_s", "1.5 KB/s"),
        (0, "bytes_per_s", "0 B/s"),
        (512, "bytes", "512 B"),
        (1000, "bytes", "1.0 KB"),  # never four digits: 1000 B is shown in the next prefix
        (16 * 2**30, "bytes", "16 GB"),
        (2.5e6, "bits_per_s", "2.5 Mb/s"),
        (42.4, "percent", "42%"),
        (4.26, "percent", "4.3%"),
        (0.0123, "seconds", "12 ms"),
        (0.0000042, "seconds", "4.2 \u00b5s"),
        (90, "seconds", "1.5 min"),
        (65, "celsius", "65\u00b0C"),
        (245.3, "watts", "245 W"),
        (1.86e9, "hertz", "1.9 GHz"),
        (1234, "count", "1.2k"),
        (2, "count", "2"),
        (12.6, "per_s", "13/s"),
        (30.04, "fps", "30 fps"),
        (-2560, "bytes", "-2.5 KB"),
        (math.nan, "bytes", "\u2013 B"),
    ],
)
def test_values_scale_into_their_units_prefixes(value: float, unit: str, text: str) -> None:
    assert str(format_value(value, unit)) == text


def test_a_part_reads_in_its_wholes_prefix() -> None:
    assert str(format_share(5.3 * 2**30, 16 * 2**30, "bytes")) == "5.3 / 16 GB"
    assert str(format_share(512 * 2**20, 16 * 2**30, "bytes")) == "0.5 / 16 GB"
    assert str(format_share(0.42, 8, "count")) == "0.4 / 8"


# ---- Layout


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("panels", [1, 2, 4, 6, 7, 12])
def test_cells_fit_the_display_apart_and_legible(size: tuple[int, int], panels: int) -> None:
    lay = dash_layout(*size, panels)
    taken = np.zeros(size[::-1], dtype=int)
    for cell in lay.cells:
        assert cell.left >= 0 and cell.top >= 0 and cell.right <= size[0] and cell.bottom <= size[1]
        assert cell.width >= MIN_CELL_W and cell.height >= MIN_CELL_H
        taken[cell.top : cell.bottom, cell.left : cell.right] += 1
    assert taken.max() == 1
    assert min(lay.small.size, lay.value.size, lay.value_pair.size) >= MIN_FONT_PX
    assert lay.value.size >= lay.value_pair.size >= lay.small.size


def test_six_panels_fit_one_page_on_the_larger_displays_and_take_turns_on_the_smallest() -> None:
    assert grid(320, 240, 6) == (2, 3) and grid(240, 240, 6) == (2, 3)
    pages = {tuple(page(160, 128, 6, now, 8.0)) for now in range(0, 64, 4)}
    assert sorted(pages) == [(0, 1, 2, 3), (4, 5)]
    assert list(page(320, 240, 6, 123.0, 8.0)) == [0, 1, 2, 3, 4, 5]


# ---- Config


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_passes_the_panel_checks(preset: str) -> None:
    panels = options(preset=preset).panels
    assert len(panels) == 6
    assert all("$sel" not in expr for p in panels for expr in p.queries)


def test_every_preset_query_is_valid_promql_with_and_without_a_selector(tmp_path: Path) -> None:
    queries = [
        expr
        for preset in PRESETS
        for selector in ("", 'instance="pc:9100"')
        for panel in options(preset=preset, selector=selector).panels
        for expr in panel.queries
    ]
    rules = [{"record": f"preset_query_{i}", "expr": expr} for i, expr in enumerate(queries)]
    path = tmp_path / "rules.yml"
    path.write_text(json.dumps({"groups": [{"name": "presets", "rules": rules}]}))  # JSON is YAML
    result = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr


def test_selector_narrows_every_preset_query() -> None:
    panels = options(preset="node_exporter", selector='instance="pc:9100"').panels
    assert 'node_load1{instance="pc:9100"}' in panels[4].queries[0]
    assert all('instance="pc:9100"' in expr for p in panels for expr in p.queries)


def test_without_preset_or_panels_the_dashboard_shows_the_pipeline_and_panels_follow_a_preset() -> None:
    assert [p.title for p in options().panels] == [p["title"] for p in PRESETS["tftstream"]]
    mine = {"title": "Mine", "query": "up"}
    assert [p.title for p in options(panels=[mine]).panels] == ["Mine"]
    assert len(options(preset="nvidia_gpu", panels=[mine]).panels) == 7


@pytest.mark.parametrize(
    "data, message",
    [
        ({"panels": [{"title": "X", "query": "up", "unit": "MB"}]}, "sources.dash.panels[0].unit: expected one of"),
        ({"panels": [{"title": "X", "query": "up", "colour": "pink"}]}, "panels[0].colour: expected a colour name"),
        ({"panels": [{"title": "X", "query": "up", "pair": "total"}]}, "panels[0].pair: expected a query2 beside it"),
        ({"panels": [{"title": "X", "query": "up", "min": 5, "max": 5}]}, "panels[0].max: expected a number above"),
        ({"panels": [{"title": "X", "query": " "}]}, "panels[0].query: expected a PromQL expression, got ' '"),
        ({"panels": [{"title": "X"}]}, "panels[0].query: expected a PromQL expression, got 'nothing'"),
        ({"panels": [{"title": "X", "query": "up", "colour": "#12345"}]}, "panels[0].colour: expected"),
        ({"panels": [{"title": "X", "qurey": "up"}]}, "panels[0].qurey: expected one of"),
        ({"panels": "up"}, "sources.dash.panels: expected a list of [[panels]] tables, got 'up'"),
        ({"preset": "linux"}, "sources.dash.preset: expected one of 'node_exporter'"),
        ({"url": "localhost:9090"}, "sources.dash.url: expected an http(s) URL"),
        ({"query_interval_s": 0}, "sources.dash.query_interval_s: expected a number from 0.1 to 3600, got 0"),
        ({"history": 1}, "sources.dash.history: expected an integer from 2 to 1000, got 1"),
        ({"colour": "red"}, "sources.dash.colour: expected one of"),
    ],
)
def test_a_bad_option_names_file_key_and_expected_form(data: dict, message: str) -> None:
    error = config_error(**data)
    assert error.startswith("t.toml: ") and message in error, error


def test_a_stage_with_a_bad_dashboard_exits_2_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "tftstream.toml"
    shipped = (REPO / "tftstream.toml").read_text()
    config.write_text(shipped + '\n[sources.dash]\nkind = "prometheus"\npreset = "linux"\n')
    result = subprocess.run(
        [sys.executable, "-m", "stages.draw_prometheus", "--config", str(config), "--source", "dash"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2, result.stderr
    assert "sources.dash.preset: expected one of 'node_exporter'" in result.stderr


# ---- Answers and panel states, from a fake Prometheus and a fake clock


def test_prometheus_errors_become_refused_answers_with_a_short_reason() -> None:
    body = b'{"status":"error","errorType":"bad_data","error":"invalid parameter \\"query\\": 1:16: parse error: x"}'
    answer = parse_answer(body)
    assert (answer.kind, short_reason(answer.detail)) == ("refused", "parse error: x")
    assert parse_answer(b"<html>").kind == "failed"
    assert parse_answer(b'{"status":"success","data":{"resultType":"vector","result":[]}}').kind == "empty"
    nan = b'{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"NaN"]}]}}'
    assert parse_answer(nan).kind == "empty"
    scalar = b'{"status":"success","data":{"resultType":"scalar","result":[1,"2.5"]}}'
    assert parse_answer(scalar) == Answer("value", 2.5, 1)


@dataclass
class FakePrometheus:
    """Answers each expression from `answers` (an Answer, or a function of the clock); counts the questions."""

    answers: dict[str, Answer | Callable[[float], Answer]]
    now: float = 0.0
    asked: int = 0

    def fetch(self, expr: str) -> Answer:
        self.asked += 1
        answer = self.answers.get(expr, Answer("empty", detail="no series match"))
        return answer(self.now) if callable(answer) else answer

    def painter(self, **data) -> PrometheusPainter:
        return PrometheusPainter(options(**data), fetch=self.fetch, clock=lambda: self.now, threaded=False)

    def tick(self, painter: PrometheusPainter, seconds: float) -> None:
        self.now += seconds
        painter.update()


PANELS = [
    {"title": "Load", "query": "load"},
    {"title": "Disk", "query": "rd", "query2": "wr", "labels": ["rd", "wr"], "unit": "bytes_per_s"},
    {"title": "Memory", "query": "used", "query2": "total", "pair": "total", "unit": "bytes"},
    {"title": "Broken", "query": BAD_PROMQL},
    {"title": "Nothing", "query": NOTHING},
]
REFUSED = Answer("refused", detail='bad_data: invalid parameter "query": 1:16: parse error: unexpected end of input')
DOWN = Answer("failed", detail="connection refused")


def healthy() -> FakePrometheus:
    return FakePrometheus(
        {
            "load": lambda now: Answer("value", 0.5 + now / 100, 1),
            "rd": Answer("value", 1536, 1),
            "wr": Answer("value", 2.5e6, 1),
            "used": Answer("value", 5 * 2**30, 1),
            "total": Answer("value", 16 * 2**30, 1),
            BAD_PROMQL: REFUSED,
        }
    )


def statuses(painter: PrometheusPainter) -> list[str]:
    return [state.status for state in painter.states]


def test_each_panel_shows_its_answer_and_logs_a_refused_query_once(caplog: pytest.LogCaptureFixture) -> None:
    fake = healthy()
    painter = fake.painter(panels=PANELS, query_interval_s=1)
    assert statuses(painter) == ["waiting"] * 5
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            fake.tick(painter, 1.0)
    assert statuses(painter) == ["value", "value", "value", "error", "no_data"]
    assert painter.states[1].values == (1536, 2.5e6) and len(painter.states[0].history[0]) == 3
    refused = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert refused == [
        f"sources.dash.panels[3] ('Broken'): Prometheus refused the query: {REFUSED.detail}; query: {BAD_PROMQL}"
    ]


def test_a_stopped_prometheus_turns_values_stale_after_three_intervals_then_they_recover() -> None:
    fake = healthy()
    painter = fake.painter(panels=PANELS[:3], query_interval_s=1)
    fake.tick(painter, 1.0)
    fake.answers = dict.fromkeys(fake.answers, DOWN)
    for _ in range(3):
        fake.tick(painter, 1.0)
        assert statuses(painter) == ["value"] * 3  # the last value, still fresh
    fake.tick(painter, 1.0)
    assert statuses(painter) == ["stale"] * 3
    assert painter.states[0].values == (0.51,) and painter.states[0].history[0] == (0.51, None, None, None, None)
    fake.answers = healthy().answers
    fake.tick(painter, 1.0)
    assert statuses(painter) == ["value"] * 3


def test_a_failed_round_asks_no_further_queries() -> None:
    fake = FakePrometheus(dict.fromkeys(("load", "rd", "wr"), DOWN))
    painter = fake.painter(panels=PANELS[:2])
    fake.tick(painter, 1.0)
    assert fake.asked == 1 and statuses(painter) == ["offline", "offline"]


@pytest.mark.parametrize("size", SIZES)
def test_every_state_draws_an_rgb_picture_of_the_requested_size(size: tuple[int, int]) -> None:
    fake = healthy()
    painter = fake.painter(panels=[*PANELS, {"title": "Stale", "query": "gone"}], query_interval_s=1, page_s=1)
    fake.answers["gone"] = lambda now: Answer("value", 1, 1) if now < 2 else DOWN
    pictures = [painter.draw(*size)]  # before any answer
    for _ in range(12):  # through every page
        fake.tick(painter, 1.0)
        pictures.append(painter.draw(*size))
    assert "stale" in statuses(painter)
    assert all((p.size, p.mode) == (size, "RGB") for p in pictures)


def test_the_same_states_draw_the_same_picture_and_a_callers_edit_does_not_stick() -> None:
    first, second = healthy(), healthy()
    a, b = first.painter(panels=PANELS), second.painter(panels=PANELS)
    for _ in range(5):
        first.tick(a, 1.0)
        second.tick(b, 1.0)
    picture = a.draw(320, 240)
    assert np.array_equal(np.asarray(picture), np.asarray(b.draw(320, 240)))
    picture.paste((255, 0, 0), (0, 0, 320, 240))
    assert a.draw(320, 240).getpixel((0, 0)) != (255, 0, 0)


def test_every_palette_colour_is_one_the_panel_shows_exactly() -> None:
    fixed = {k: v for k, v in vars(draw_prometheus).items() if isinstance(v, tuple) and len(v) == 3}
    colours = {**fixed, **COLOURS, **{f"fill {k}": draw_prometheus.fill_colour(v) for k, v in COLOURS.items()}}
    assert "BACKGROUND" in colours
    exact = {k: c for k, c in colours.items() if tuple(expand_rgb565(pack_rgb565(np.array(c, np.uint8)))) == c}
    assert exact == colours


def test_nothing_is_asked_until_the_first_update() -> None:
    fake = healthy()
    painter = PrometheusPainter(options(panels=PANELS[:1], query_interval_s=0.1), fetch=fake.fetch)
    try:
        time.sleep(0.3)
        assert fake.asked == 0
        painter.update()
        wait_for(lambda: fake.asked >= 2, 5, "two query rounds in the background")
    finally:
        painter.close()


def test_asking_pauses_while_nobody_draws_and_resumes_with_the_next_update() -> None:
    now = [0.0]
    fake = healthy()
    painter = PrometheusPainter(
        options(panels=PANELS[:1], query_interval_s=0.1), fetch=fake.fetch, clock=lambda: now[0]
    )
    try:
        painter.update()
        wait_for(lambda: fake.asked >= 2, 5, "query rounds while someone draws")
        now[0] += IDLE_AFTER_S + 1
        time.sleep(0.2)  # the round under way ends
        paused = fake.asked
        time.sleep(0.3)
        assert fake.asked == paused
        painter.update()
        wait_for(lambda: fake.asked > paused, 5, "query rounds again")
    finally:
        painter.close()


def test_snapshots_cover_every_source_at_every_size(tmp_path: Path) -> None:
    assert make_snapshots.main(["--out", str(tmp_path)]) == 0
    for source in make_snapshots.PAINTERS:
        for width, height in SIZES:
            with Image.open(tmp_path / f"{source}_{width}x{height}.png") as picture:
                assert (picture.size, picture.mode) == ((width, height), "RGB")


# ---- A real Prometheus scraping a real node_exporter


@dataclass
class Live:
    directory: Path
    port: int
    prometheus: Daemon

    def start_prometheus(self) -> None:
        self.prometheus = Daemon(
            [
                PROMETHEUS,
                f"--config.file={self.directory / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            self.directory / "prometheus.log",
        )
        wait_for(lambda: self.prometheus.http_ready(self.port, "/-/ready"), 20, "Prometheus ready", interval=0.1)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    directory = tmp_path_factory.mktemp("prometheus")
    exporter_port = free_port()
    exporter = Daemon(
        [NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{exporter_port}"], directory / "node_exporter.log"
    )
    (directory / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: node\n"
        f'    static_configs:\n      - targets: ["127.0.0.1:{exporter_port}"]\n'
    )
    live = Live(directory, free_port(), None)  # type: ignore[arg-type]
    try:
        wait_for(lambda: exporter.http_ready(exporter_port, "/metrics"), 10, "node_exporter serving", interval=0.1)
        live.start_prometheus()
        yield live
    finally:
        if live.prometheus is not None:
            live.prometheus.stop()
        exporter.stop()


@pytest.fixture
def dashboard(live: Live) -> Iterator[PrometheusPainter]:
    """The node_exporter preset plus a panel Prometheus refuses and one that matches nothing, asked every 0.3 s."""
    extra = [{"title": "Broken", "query": BAD_PROMQL}, {"title": "Nothing", "query": NOTHING}]
    url = f"http://127.0.0.1:{live.port}"
    painter = PrometheusPainter(
        options(url=url, preset="node_exporter", panels=extra, query_interval_s=0.3, timeout_s=1.0)
    )
    yield painter
    painter.close()


def drawing_until(painter: PrometheusPainter, want: Callable[[list[str]], bool], timeout: float, what: str) -> None:
    """update() and draw() as the stage would, until the statuses are as wanted; every draw must return."""

    def check() -> bool:
        painter.update()
        for size in SIZES:
            picture = painter.draw(*size)
            assert (picture.size, picture.mode) == (size, "RGB")
        return want(statuses(painter))

    try:
        wait_for(check, timeout, what, interval=0.1)
    except AssertionError as error:
        titles = [p.title for p in painter.options.panels]
        raise AssertionError(f"{error}: {list(zip(titles, painter.states, strict=True))}") from None


def test_the_node_exporter_preset_shows_a_value_in_every_panel(
    dashboard: PrometheusPainter, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        drawing_until(dashboard, lambda s: s == ["value"] * 6 + ["error", "no_data"], 30, "every panel answered")
    cpu, memory = dashboard.states[0], dashboard.states[1]
    assert 0 <= cpu.values[0] <= 100  # type: ignore[operator]
    assert 0 < memory.values[0] < memory.values[1]  # type: ignore[operator]
    broken = dashboard.states[6]
    assert short_reason(broken.detail).startswith("parse error"), broken.detail
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert logged == [
        f"sources.dash.panels[0] ('Broken'): Prometheus refused the query: {broken.detail}; query: {BAD_PROMQL}"
    ]


def test_panels_go_stale_while_prometheus_is_down_and_recover_when_it_is_back(
    live: Live, dashboard: PrometheusPainter
) -> None:
    drawing_until(dashboard, lambda s: s[:6] == ["value"] * 6, 30, "every preset panel answered")
    live.prometheus.stop(signal.SIGKILL)
    drawing_until(dashboard, lambda s: s[:6] == ["stale"] * 6, 15, "every preset panel stale")
    live.start_prometheus()
    drawing_until(dashboard, lambda s: s[:6] == ["value"] * 6, 30, "every preset panel answered again")


def test_panels_go_stale_while_prometheus_hangs_and_recover_when_it_answers(
    live: Live, dashboard: PrometheusPainter
) -> None:
    drawing_until(dashboard, lambda s: s[:6] == ["value"] * 6, 30, "every preset panel answered")
    live.prometheus.process.send_signal(signal.SIGSTOP)  # accepts connections, never answers: timeouts
    try:
        drawing_until(dashboard, lambda s: s[:6] == ["stale"] * 6, 15, "every preset panel stale")
        drawing_until(
            dashboard,
            lambda _: all(state.detail == "timed out" for state in dashboard.states[:6]),
            15,
            "a query round given up after timeout_s",
        )
    finally:
        live.prometheus.process.send_signal(signal.SIGCONT)
    drawing_until(dashboard, lambda s: s[:6] == ["value"] * 6, 30, "every preset panel answered again")
