"""The one config file (TOML): displays, color profiles, sources, endpoints and ports.

`load(path)` returns frozen values or raises ConfigError("file: key: expected X, got Y"), which
every stage turns into exit code 2 at start so supervisord marks it FATAL instead of looping.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.protocol import DISPLAY_NAME

STAGES = ("gather_frames", "correct_color", "encode_damage", "serve_boards", "draw_cpu_monitor", "draw_bios_screen")
BUILTIN_SOURCES = {"cpu_monitor": 0.5, "bios_screen": 1.0}  # name -> default interval_s
# What a [sources.<name>] table can be; "external" is a process of your own using common/source.py.
SOURCE_KINDS = ("cpu_monitor", "bios_screen", "screen", "window", "prometheus", "external")
SOURCE_KEYS = {"kind", "interval_s", "refresh_s", "metrics_port"}


class ConfigError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class ColorProfile:
    gamma: float = 1.0
    white_balance: tuple[float, float, float] = (1.0, 1.0, 1.0)
    dither: bool = False
    big_endian: bool = True
    bgr: bool = False
    rotation: int = 0


@dataclass(frozen=True, slots=True)
class Region:
    """Part of a display given to one source: that source shows here instead of taking the display."""

    source: str
    x: int  # in the picture as the viewer sees it
    y: int
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class Display:
    name: str
    width: int  # picture size as the viewer sees it; the board draws it rotated by profile.rotation
    height: int
    source: str
    profile: ColorProfile
    regions: tuple[Region, ...] = ()
    lossy_quality: int = 0  # JPEG quality for photo-like areas while they change; 0: always lossless
    read_back: bool = True  # COPY and RECOLOR may be sent: fewer bytes, but the board reads its panel

    @property
    def panel_size(self) -> tuple[int, int]:
        """(width, height) of what the board announces: the picture after rotation."""
        return (self.height, self.width) if self.profile.rotation % 180 else (self.width, self.height)

    def region(self, source: str) -> Region | None:
        return next((r for r in self.regions if r.source == source), None)

    def panel_box(self, region: Region) -> tuple[int, int, int, int]:
        """(x, y, w, h) of a region on the panel, after the profile's clockwise rotation."""
        x, y, w, h, width, height = region.x, region.y, region.width, region.height, self.width, self.height
        return {
            0: (x, y, w, h),
            90: (height - y - h, x, h, w),
            180: (width - x - w, height - y - h, w, h),
            270: (y, width - x - w, h, w),
        }[self.profile.rotation]

    def for_region(self, region: Region) -> Display:
        """The region as a display of its own, for the color stage to fit a picture to."""
        return Display(self.name, region.width, region.height, region.source, self.profile)


@dataclass(frozen=True, slots=True)
class Endpoints:
    sources: str  # gather_frames binds PULL; sources connect
    workers: str  # gather_frames binds PUSH; color workers connect
    frames: str  # encode_damage binds PULL; color workers connect
    demands: str  # encode_damage binds PULL; serve_boards connects
    packets: str  # serve_boards binds PULL; encode_damage connects
    control: str  # encode_damage binds PUB: which source each display shows, boards waiting (common/control.py)
    tap: str  # encode_damage binds PUB and publishes every frame it accepts ("": off); for tests, recording


@dataclass(frozen=True, slots=True)
class Legacy:
    port: int
    display: str
    chunk_bytes: int


@dataclass(frozen=True, slots=True)
class Egress:
    host: str
    port: int
    token: str
    window: int
    keepalive_ms: int
    timeout_ms: int
    max_boards: int
    legacy: Legacy | None
    advertise: tuple[str, ...] | None  # mDNS: None = off, () = every interface, else these IPv4 addresses


@dataclass(frozen=True, slots=True)
class Source:
    name: str
    kind: str
    interval_s: float  # the fastest it draws; a source draws only when a board is waiting for it
    refresh_s: float  # resend an unchanged picture this often, so restarted stages catch up
    metrics_port: int
    options: Table  # the rest of [sources.<name>]: read and checked by the source's own module


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    displays: tuple[Display, ...]
    endpoints: Endpoints
    egress: Egress
    metrics_host: str
    metrics_ports: dict[str, int]
    sources: dict[str, Source]
    preview_port: int  # live view of the virtual displays on metrics_host; 0: none

    def display(self, name: str) -> Display | None:
        return next((d for d in self.displays if d.name == name), None)


class Table:
    """Typed reads from one TOML table, each failure naming file, key and expected form."""

    def __init__(self, path: Path, prefix: str, data: Any) -> None:
        self.path, self.prefix = path, prefix
        if not isinstance(data, dict):
            self.fail("", "a table", data)
        self.data: dict[str, Any] = data

    def fail(self, key: str, expected: str, got: Any) -> None:
        where = f"{self.prefix}.{key}" if self.prefix and key else self.prefix or key
        raise ConfigError(f"{self.path}: {where}: expected {expected}, got {got!r}")

    def get(self, key: str, kind: type | tuple[type, ...], expected: str, default: Any = ...) -> Any:
        if key not in self.data:
            if default is ...:
                self.fail(key, expected, "nothing")
            return default
        value = self.data[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float, (int, float))):
            self.fail(key, expected, value)
        return value

    def integer(self, key: str, low: int, high: int, default: Any = ...) -> int:
        expected = f"an integer from {low} to {high}"
        value = self.get(key, int, expected, default)
        if not low <= value <= high:
            self.fail(key, expected, value)
        return int(value)

    def number(self, key: str, low: float, high: float, default: Any = ...) -> float:
        expected = f"a number from {low} to {high}"
        value = self.get(key, (int, float), expected, default)
        if not low <= value <= high:
            self.fail(key, expected, value)
        return float(value)

    def choice(self, key: str, options: tuple[str, ...], default: Any = ...) -> str:
        expected = "one of " + ", ".join(repr(o) for o in options)
        value = self.get(key, str, expected, default)
        if value not in options:
            self.fail(key, expected, value)
        return str(value)

    def endpoint(self, key: str, default: Any = ...) -> str:
        value = self.get(key, str, 'a ZeroMQ endpoint like "tcp://127.0.0.1:5550"', default)
        if "://" not in value:
            self.fail(key, 'a ZeroMQ endpoint like "tcp://127.0.0.1:5550"', value)
        return str(value)

    def table(self, key: str) -> Table:
        return Table(self.path, f"{self.prefix}.{key}" if self.prefix else key, self.data.get(key, {}))

    def check_keys(self, known: set[str]) -> None:
        for key in self.data:
            if key not in known:
                self.fail(key, "one of " + ", ".join(sorted(known)), f"unknown key {key!r}")


def load(path: str | Path) -> Config:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    root = Table(path, "", data)
    root.check_keys({"profiles", "displays", "sources", "pipeline", "egress", "metrics", "preview"})
    profiles = _profiles(root.table("profiles"))
    metrics = root.table("metrics")
    metrics.check_keys({"host", "ports"})
    ports_table = metrics.table("ports")
    ports_table.check_keys(set(STAGES))
    ports = {stage: ports_table.integer(stage, 0, 65535, 9700 + i) for i, stage in enumerate(STAGES)}
    sources = _sources(root.table("sources"), ports)
    displays = _displays(path, root.data.get("displays", []), profiles, sources)
    egress = _egress(root.table("egress"), displays)
    return Config(
        path=path,
        displays=displays,
        endpoints=_endpoints(root.table("pipeline")),
        egress=egress,
        metrics_host=metrics.get("host", str, "a host name or address", "127.0.0.1"),
        metrics_ports=ports,
        sources=sources,
        preview_port=_preview_port(root.table("preview")),
    )


def _preview_port(t: Table) -> int:
    t.check_keys({"port"})
    return t.integer("port", 0, 65535, 8070)


def _profiles(table: Table) -> dict[str, ColorProfile]:
    profiles = {"default": ColorProfile()}
    for name in table.data:
        t = table.table(name)
        t.check_keys({"gamma", "white_balance", "dither", "byte_order", "color_order", "rotation"})
        wb = t.get("white_balance", list, "a list of three numbers from 0 to 4", [1.0, 1.0, 1.0])
        if len(wb) != 3 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 4 for v in wb):
            t.fail("white_balance", "a list of three numbers from 0 to 4", wb)
        rotation = t.integer("rotation", 0, 270, 0)
        if rotation % 90:
            t.fail("rotation", "0, 90, 180 or 270", rotation)
        profiles[name] = ColorProfile(
            gamma=t.number("gamma", 0.1, 5.0, 1.0),
            white_balance=(float(wb[0]), float(wb[1]), float(wb[2])),
            dither=t.get("dither", bool, "true or false", False),
            big_endian=t.choice("byte_order", ("big", "little"), "big") == "big",
            bgr=t.choice("color_order", ("rgb", "bgr"), "rgb") == "bgr",
            rotation=rotation,
        )
    return profiles


def _sources(table: Table, metrics_ports: dict[str, int]) -> dict[str, Source]:
    """The built-in sources, and every [sources.<name>] table: a kind and that kind's options."""
    sources = {}
    for name in {**BUILTIN_SOURCES, **table.data}:
        if not DISPLAY_NAME.fullmatch(name):
            table.fail(name, "a source name of 1-32 letters, digits, '_', '.' or '-'", name)
        t = table.table(name)
        kind = t.choice("kind", SOURCE_KINDS, name if name in BUILTIN_SOURCES else "external")
        interval = t.number("interval_s", 0.01, 3600, BUILTIN_SOURCES.get(kind, 1.0))
        default_port = metrics_ports.get(f"draw_{name}", 0)
        sources[name] = Source(
            name=name,
            kind=kind,
            interval_s=interval,
            refresh_s=t.number("refresh_s", 0.1, 60, 1.0),
            metrics_port=t.integer("metrics_port", 0, 65535, default_port),
            options=t,
        )
    return sources


def _displays(
    path: Path, raw: Any, profiles: dict[str, ColorProfile], sources: dict[str, Source]
) -> tuple[Display, ...]:
    if not isinstance(raw, list) or not raw:
        Table(path, "", {}).fail("displays", "at least one [[displays]] table", raw)
    displays: list[Display] = []
    for index, entry in enumerate(raw):
        t = Table(path, f"displays[{index}]", entry)
        t.check_keys({"name", "width", "height", "source", "profile", "regions", "lossy_quality", "read_back"})
        name = t.get("name", str, "a name of 1-32 letters, digits, '_', '.' or '-'")
        if not DISPLAY_NAME.fullmatch(name) or any(d.name == name for d in displays):
            t.fail("name", "a unique name of 1-32 letters, digits, '_', '.' or '-'", name)
        profile = t.choice("profile", tuple(profiles), "default")
        width, height = t.integer("width", 8, 4096), t.integer("height", 8, 4096)
        displays.append(
            Display(
                name=name,
                width=width,
                height=height,
                source=t.choice("source", tuple(sources)),
                profile=profiles[profile],
                regions=_regions(t, width, height),
                lossy_quality=t.integer("lossy_quality", 0, 95, 0),
                read_back=t.get("read_back", bool, "true or false", True),
            )
        )
    return tuple(displays)


def _regions(display: Table, width: int, height: int) -> tuple[Region, ...]:
    raw = display.get("regions", list, "a list of [[displays.regions]] tables", [])
    regions: list[Region] = []
    for index, entry in enumerate(raw):
        t = Table(display.path, f"{display.prefix}.regions[{index}]", entry)
        t.check_keys({"source", "box"})
        source = t.get("source", str, "a source name of 1-32 letters, digits, '_', '.' or '-'")
        if not DISPLAY_NAME.fullmatch(source) or any(r.source == source for r in regions):
            t.fail("source", "a unique source name of 1-32 letters, digits, '_', '.' or '-'", source)
        box = t.get("box", list, f"[x, y, width, height] inside the {width}x{height} display")
        x, y, w, h = box if len(box) == 4 and all(type(v) is int for v in box) else (-1, -1, 0, 0)
        if not (x >= 0 and y >= 0 and w >= 1 and h >= 1 and x + w <= width and y + h <= height):
            t.fail("box", f"[x, y, width, height] inside the {width}x{height} display", box)
        regions.append(Region(source, x, y, w, h))
    return tuple(regions)


def _endpoints(t: Table) -> Endpoints:
    t.check_keys({"sources", "workers", "frames", "demands", "packets", "control", "tap"})
    return Endpoints(
        sources=t.endpoint("sources", "tcp://127.0.0.1:5550"),
        workers=t.endpoint("workers", "tcp://127.0.0.1:5551"),
        frames=t.endpoint("frames", "tcp://127.0.0.1:5552"),
        demands=t.endpoint("demands", "tcp://127.0.0.1:5553"),
        packets=t.endpoint("packets", "tcp://127.0.0.1:5554"),
        control=t.endpoint("control", "tcp://127.0.0.1:5555"),
        tap=t.endpoint("tap", "") if t.data.get("tap") else "",
    )


def _egress(t: Table, displays: tuple[Display, ...]) -> Egress:
    t.check_keys({"host", "port", "token", "window", "keepalive_ms", "timeout_ms", "max_boards", "legacy", "advertise"})
    legacy = None
    if "legacy" in t.data:
        lt = t.table("legacy")
        lt.check_keys({"port", "display", "chunk_bytes"})
        legacy = Legacy(
            port=lt.integer("port", 0, 65535),
            display=lt.choice("display", tuple(d.name for d in displays)),
            chunk_bytes=lt.integer("chunk_bytes", 64, 1 << 20, 8192),
        )
    keepalive_ms = t.integer("keepalive_ms", 100, 10000, 1000)
    return Egress(
        host=t.get("host", str, "a host name or address", "0.0.0.0"),
        port=t.integer("port", 0, 65535, 7878),
        token=t.get("token", str, "a string of at most 64 bytes", ""),
        window=t.integer("window", 1, 8, 2),
        keepalive_ms=keepalive_ms,
        timeout_ms=t.integer("timeout_ms", 2 * keepalive_ms, 60000, 4000),
        max_boards=t.integer("max_boards", 1, 1024, 64),
        legacy=legacy,
        advertise=_advertise(t),
    )


def _advertise(t: Table) -> tuple[str, ...] | None:
    expected = 'true, false or a list of IPv4 addresses like ["127.0.0.1"]'
    value = t.get("advertise", (bool, list), expected, True)
    if value is False:
        return None
    if value is True:
        return ()
    if not value or not all(isinstance(a, str) and a.count(".") == 3 for a in value):
        t.fail("advertise", expected, value)
    return tuple(value)
