#!/usr/bin/env python3
"""Checks firmware/platformio.ini without building anything (no platform download needed).

Runs `pio project config --json-output` (PlatformIO parses and expands the file) and checks that
every environment the README promises is there; that each board environment configures TFT_eSPI
only through build_flags, completely, with GPIOs that exist on its board and are not its BOOT
button, USB, flash or (where avoidable) strapping pins, and an SPI clock the panel takes; that the
pin table in firmware/README.md says the same; and that the PlatformIO native test unit includes
every core source, board source and board test. Exits 1 with one line per problem; 1 too when pio is not installed
(it is the project's optional dependency: pip install -e '.[firmware]').

Usage: check_platformio.py FIRMWARE_DIR
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

BOARD_ENVS = ("devkitm1_st7789", "lolin_c3_mini_ili9341", "xiao_c3_st7735", "custom")
ALL_ENVS = (*BOARD_ENVS, "native")
PIN_FLAGS = ("TFT_SCLK", "TFT_MOSI", "TFT_CS", "TFT_DC", "TFT_RST", "TFT_BL")
REQUIRED_FLAGS = ("USER_SETUP_LOADED", "TFT_WIDTH", "TFT_HEIGHT", "SPI_FREQUENCY", "TFTSTREAM_ROTATION", *PIN_FLAGS)
DRIVER_MAX_SPI_HZ = {"ST7789_DRIVER": 80_000_000, "ILI9341_DRIVER": 40_000_000, "ST7735_DRIVER": 27_000_000}

# GPIOs on each board's headers, and those a display must not take (why). Sources: the boards'
# pinouts and arduino-esp32's variants/*/pins_arduino.h (esp32c3: SCK 4, MOSI 6, SS 7, RGB LED 8;
# lolin_c3_mini: RGB LED 7, SCK 2; XIAO_ESP32C3: D0..D10 = 2,3,4,5,6,7,21,20,8,9,10, SCK D8).
C3_AVOID = {9: "BOOT button", 18: "USB D-", 19: "USB D+", **dict.fromkeys(range(11, 18), "flash")}
BOARDS = {
    "esp32-c3-devkitm-1": {
        "pins": set(range(0, 11)) | {18, 19, 20, 21},
        "avoid": {
            **C3_AVOID,
            2: "strapping",
            8: "strapping and RGB LED",
            20: "UART0 RX (console)",
            21: "UART0 TX (console)",
        },
    },
    "lolin_c3_mini": {
        "pins": set(range(0, 11)) | {20, 21},
        "avoid": {**C3_AVOID, 2: "strapping", 7: "RGB LED", 8: "strapping", 20: "UART0 RX", 21: "UART0 TX"},
    },
    # GPIO 8 (D8) is the XIAO's own SPI clock and only matters at reset when GPIO 9 is held low.
    "seeed_xiao_esp32c3": {
        "pins": set(range(2, 11)) | {20, 21},
        "avoid": {**C3_AVOID, 2: "strapping (D0)", 20: "UART0 RX (D7)", 21: "UART0 TX (D6)"},
    },
}


def pio_config(firmware: Path) -> list:
    pio = shutil.which("pio") or shutil.which("platformio")
    if pio is None:
        raise SystemExit("FAIL: pio not found; PlatformIO is the firmware extra: pip install -e '.[firmware]'")
    # `timeout`: a pio that decides to download something hangs ~60 s before failing.
    result = subprocess.run(
        ["timeout", "60", pio, "project", "config", "-d", str(firmware), "--json-output"],
        capture_output=True,
        text=True,
        timeout=90,
    )
    if result.returncode != 0:
        raise SystemExit(f"FAIL: pio project config exited {result.returncode}: {result.stderr.strip()[-500:]}")
    start = result.stdout.find("[")  # pio may print a banner first
    return json.loads(result.stdout[start:])


def as_list(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [line for line in str(value).splitlines() if line.strip()]


def defines(build_flags: list[str]) -> dict[str, str]:
    out = {}
    for flag in build_flags:
        match = re.fullmatch(r"-D\s*([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?", flag.strip())
        if match:
            out[match.group(1)] = match.group(2) if match.group(2) is not None else "1"
    return out


def check_env(name: str, options: dict, problems: list[str]) -> dict[str, int]:
    where = f"platformio.ini [env:{name}]"
    if as_list(options.get("framework", [])) != ["arduino"]:
        problems.append(f"{where}: framework: expected arduino")
    if "pioarduino/platform-espressif32" not in str(options.get("platform", "")):
        problems.append(f"{where}: platform: expected the pinned pioarduino release (arduino-esp32 3.x)")
    if not any(dep.startswith("bodmer/TFT_eSPI@") for dep in as_list(options.get("lib_deps", []))):
        problems.append(f"{where}: lib_deps: expected bodmer/TFT_eSPI@...")
    flags = as_list(options.get("build_flags", []))
    if not any(f.startswith("-include") and f.endswith("tft_espi_c3_fix.h") for f in flags):
        problems.append(f"{where}: build_flags: expected -include .../tft_espi_c3_fix.h")
    d = defines(flags)
    for key in REQUIRED_FLAGS:
        if key not in d:
            problems.append(f"{where}: build_flags: expected -D {key}=...")
    drivers = [key for key in d if key.endswith("_DRIVER")]
    if len(drivers) != 1:
        problems.append(f"{where}: build_flags: expected exactly one TFT_eSPI *_DRIVER, got {drivers}")
    board = str(options.get("board", ""))
    rules = BOARDS.get(board)
    if rules is None:
        problems.append(f"{where}: board: expected one of {sorted(BOARDS)}, got {board!r}")
        return {}
    pins: dict[str, int] = {}
    for key in PIN_FLAGS:
        if key not in d:
            continue
        try:
            pin = int(d[key])
        except ValueError:
            problems.append(f"{where}: {key}: expected a GPIO number, got {d[key]!r}")
            continue
        pins[key] = pin
        if pin not in rules["pins"]:
            problems.append(f"{where}: {key}: GPIO {pin} is not on the {board} headers")
        elif pin in rules["avoid"]:
            problems.append(f"{where}: {key}: GPIO {pin} is the board's {rules['avoid'][pin]}")
    used = list(pins.values())
    if len(set(used)) != len(used):
        problems.append(f"{where}: a GPIO is used twice: {pins}")
    if drivers and drivers[0] in DRIVER_MAX_SPI_HZ and "SPI_FREQUENCY" in d:
        hz = int(d["SPI_FREQUENCY"])
        if hz > DRIVER_MAX_SPI_HZ[drivers[0]]:
            problems.append(f"{where}: SPI_FREQUENCY: {hz} is above {DRIVER_MAX_SPI_HZ[drivers[0]]} for {drivers[0]}")
    if "TFTSTREAM_ROTATION" in d and d["TFTSTREAM_ROTATION"] not in ("0", "1", "2", "3"):
        problems.append(f"{where}: TFTSTREAM_ROTATION: expected 0..3")
    return pins


def readme_pins(readme: Path) -> dict[str, dict[str, int]]:
    """Rows of the README's pin table: | `env` | board | panel | SCLK | MOSI | CS | DC | RST | BL |."""
    table: dict[str, dict[str, int]] = {}
    header: list[str] = []
    for line in readme.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if "SCLK" in cells and "MOSI" in cells:
            header = cells
            continue
        if header and len(cells) == len(header) and cells[0].startswith("`") and cells[0].endswith("`"):
            env = cells[0].strip("`")
            table[env] = {f"TFT_{h}": int(c) for h, c in zip(header, cells, strict=True) if f"TFT_{h}" in PIN_FLAGS}
    return table


def check_native_unit(firmware: Path, problems: list[str]) -> None:
    unit = firmware / "test/pio/test_board/test_main.cpp"
    included = {(unit.parent / name).resolve() for name in re.findall(r'#include "([^"]+)"', unit.read_text("utf-8"))}
    sources = [firmware / "lib/tftcore/src", firmware / "src", firmware / "test/board"]
    for path in sorted(p for folder in sources for p in folder.glob("*.cpp")):
        if path.resolve() not in included:
            problems.append(f"test/pio/test_board/test_main.cpp: expected #include of {path.relative_to(firmware)}")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    firmware = Path(args[0] if args else Path(__file__).resolve().parent.parent)
    sections = {name: dict(options) for name, options in pio_config(firmware)}
    problems: list[str] = []
    for env in ALL_ENVS:
        if f"env:{env}" not in sections:
            problems.append(f"platformio.ini: expected [env:{env}]")
    native = sections.get("env:native", {})
    if native and native.get("platform") != "native":
        problems.append("platformio.ini [env:native]: platform: expected native")
    documented = readme_pins(firmware / "README.md")
    for env in BOARD_ENVS:
        if f"env:{env}" not in sections:
            continue
        pins = check_env(env, sections[f"env:{env}"], problems)
        if env == "custom":
            continue
        if env not in documented:
            problems.append(f"README.md: pin table: expected a row for `{env}`")
        elif documented[env] != pins:
            problems.append(f"README.md: pin table row `{env}`: {documented[env]} differs from platformio.ini {pins}")
    check_native_unit(firmware, problems)
    for problem in problems:
        print(f"FAIL: {problem}")
    if problems:
        return 1
    print(f"platformio.ini: {len(ALL_ENVS)} environments ({', '.join(ALL_ENVS)}), pins valid and as in README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
