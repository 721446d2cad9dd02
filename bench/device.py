"""Device decode cost: host instructions per output pixel, counted by callgrind (exactly repeatable).

The board's core, built for the host (build/firmware/replay_stream), parses a workload's whole byte stream
(ACCEPT, then every frame as the egress sends it) into a framebuffer. Only instructions inside
StreamParser::feed count (--toggle-collect), so reading the hex input and printing the framebuffer do not.
Of those, the host framebuffer's own pixel writes and reads (FramebufferDisplay::push_pixels/fill_rect, and
read_pixels for COPY; on a board the panel driver's SPI transfers) are split out, so `core` is the parser
and decoders alone. The replayed
framebuffer must equal the last picture, or the figure is marked. For the zlib baseline, zlib's inflate()
is counted the same way inside a bare Python that decompresses the workload's blobs (system zlib).
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common import protocol

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "build" / "firmware" / "replay_stream"
BUILD = "cmake -S firmware -B build/firmware -DTFT_TESTS=ON && cmake --build build/firmware -j2 --target replay_stream"
ENTRY = "tft::StreamParser::feed*"
PANEL_WRITES = re.compile(r"tft::host::FramebufferDisplay::(push_pixels|fill_rect|read_pixels)\(")
NAMED = re.compile(r"c?fn=\((\d+)\)(?: (.*))?")
RECT = int(protocol.ServerMsg.RECT)


@dataclass(frozen=True)
class DecodeCost:
    ir: int  # instructions inside StreamParser::feed, host framebuffer writes included
    ir_panel: int  # of which the host framebuffer's pixel writes
    pixels: int  # pixels the stream's RECTs cover
    exact: bool  # the replayed framebuffer is the last picture

    @property
    def core_per_pixel(self) -> float:
        return (self.ir - self.ir_panel) / max(1, self.pixels)

    @property
    def total_per_pixel(self) -> float:
        return self.ir / max(1, self.pixels)


def missing() -> str | None:
    """Why decode costs cannot be counted here, or None."""
    if shutil.which("valgrind") is None:
        return "valgrind (callgrind) is not installed"
    if not TOOL.exists():
        return f"{TOOL.relative_to(ROOT)} is not built: {BUILD}"
    return None


def rect_pixels(stream: bytes) -> int:
    """Pixels covered by the RECT messages of a server -> board stream."""
    pos, total = 0, 0
    while pos < len(stream):
        kind, length = protocol.HEADER.unpack_from(stream, pos)
        if kind == RECT:
            _, _, w, h, _ = protocol.RECT_HEADER.unpack_from(stream, pos + protocol.HEADER.size)
            total += w * h
        pos += protocol.HEADER.size + length
    return total


def _callgrind(command: list[str], toggle: str, stdin: Path, folder: Path) -> tuple[str, Path]:
    out = folder / "callgrind.out"
    run = subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", f"--toggle-collect={toggle}", *command],
        stdin=stdin.open("rb"),
        capture_output=True,
        check=True,
        timeout=900,
    )
    return run.stdout.decode(), out


def _total(out: Path) -> int:
    for line in out.read_text().splitlines():
        if line.startswith("summary:"):
            return int(line.split()[1])
    raise ValueError(f"no summary line in {out}")


def _calls_cost(out: Path, callee: re.Pattern) -> int:
    """Inclusive instructions of every call, from anywhere, to a function whose name matches `callee`.

    Reads callgrind's output format: `fn=`/`cfn=` name a function (by "(id) name" the first time, "(id)"
    after), `calls=` starts a call whose cost line follows: position, then inclusive Ir."""
    names: dict[str, str] = {}
    target, total, cost_line = "", 0, False
    for line in out.read_text().splitlines():
        if cost_line:
            total += int(line.split()[1]) if callee.search(target) else 0
            cost_line = False
        elif named := NAMED.match(line):
            key, name = named.groups()
            names[key] = name or names.get(key, "")
            target = names[key] if line.startswith("cfn=") else target
        else:
            cost_line = line.startswith("calls=")
    return total


def replay_cost(stream: bytes, width: int, height: int, max_body: int, last: np.ndarray) -> DecodeCost:
    """Instructions the core spends on `stream` (which starts with ACCEPT), and whether it ends on `last`."""
    mask = protocol.encodings_to_mask(protocol.ALL_ENCODINGS)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / "in.txt").write_text(f"{width} {height} {max_body} {mask} {stream.hex()}\n")
        printed, out = _callgrind([str(TOOL)], ENTRY, folder / "in.txt", folder)
        panel = _calls_cost(out, PANEL_WRITES)
        expected = last.astype(">u2").tobytes().hex()  # the tool prints each pixel as 4 hex digits
        exact = printed.startswith("error=none ") and printed.rstrip().endswith("fb=" + expected)
        return DecodeCost(_total(out), panel, rect_pixels(stream), exact)


INFLATE_ALL = (
    "import struct, sys, zlib\n"
    "data = sys.stdin.buffer.read()\n"
    "pos = 0\n"
    "while pos < len(data):\n"
    "    (n,) = struct.unpack_from('<I', data, pos)\n"
    "    zlib.decompress(data[pos + 4 : pos + 4 + n])\n"
    "    pos += 4 + n\n"
)


def inflate_cost(blobs: list[bytes]) -> tuple[int, int]:
    """Instructions zlib's inflate() spends on the blobs, and the pixels (2 bytes each) they hold."""
    pixels = sum(len(zlib.decompress(b)) for b in blobs) // 2
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / "in.bin").write_bytes(b"".join(struct.pack("<I", len(b)) + b for b in blobs))
        _, out = _callgrind([sys.executable, "-S", "-c", INFLATE_ALL], "inflate", folder / "in.bin", folder)
        return _total(out), pixels
