"""Write the JPEG decoder's test vectors: `python3 firmware/scripts/make_jpeg_vectors.py [--check]`.

For each vector, firmware/test/jpeg/ gets NAME.jpg (a synthetic photo-like picture saved by Pillow
the way the server saves a lossy RECT: baseline, optimize=False unless stated) and NAME.rgb.gz, the
reference RGB888 pixels (row-major, gzip) from libjpeg itself, decoded with the integer IDCT
(JDCT_ISLOW) and *without* fancy upsampling. `index.txt` lists them. progressive.jpg has no
reference: the board must reject it.

Why not Pillow's own decode: Pillow always lets libjpeg interpolate chroma ("fancy upsampling",
a triangle filter that reads the neighbouring chroma samples, including those of the next MCU row).
A board that decodes one MCU at a time cannot look ahead, so it replicates each chroma sample over
its 2x2 (or 2x1) pixels, which is what libjpeg does with do_fancy_upsampling = FALSE. The reference
therefore comes from a 30-line C helper linked against the system libjpeg (libjpeg62-turbo-dev),
compiled here. For 4:4:4 and grayscale there is nothing to upsample, and the script asserts that
the helper and Pillow agree byte for byte; for 4:2:0/4:2:2 it prints how far Pillow's smoothed
decode is from the reference, to show what the board gives up.

The pictures are deterministic (seeded), so the files only change when this script does. `--check`
regenerates into a temporary folder and fails if anything differs from the committed files.
"""

from __future__ import annotations

import argparse
import filecmp
import gzip
import io
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "firmware" / "test" / "jpeg"

HELPER_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <jpeglib.h>
/* djpeg_box IN.jpg OUT.rgb: RGB888, integer IDCT, chroma replicated (no fancy upsampling). */
int main(int argc, char** argv) {
  struct jpeg_decompress_struct c;
  struct jpeg_error_mgr e;
  FILE* in;
  FILE* out;
  JSAMPLE* row;
  if (argc != 3 || !(in = fopen(argv[1], "rb")) || !(out = fopen(argv[2], "wb"))) return 2;
  c.err = jpeg_std_error(&e);
  jpeg_create_decompress(&c);
  jpeg_stdio_src(&c, in);
  jpeg_read_header(&c, TRUE);
  c.out_color_space = JCS_RGB;
  c.dct_method = JDCT_ISLOW;
  c.do_fancy_upsampling = FALSE;
  jpeg_start_decompress(&c);
  row = malloc((size_t)c.output_width * 3);
  while (c.output_scanline < c.output_height) {
    jpeg_read_scanlines(&c, &row, 1);
    fwrite(row, 3, c.output_width, out);
  }
  jpeg_finish_decompress(&c);
  jpeg_destroy_decompress(&c);
  return fclose(out) != 0;
}
"""


@dataclass(frozen=True)
class Vector:
    name: str
    width: int
    height: int
    quality: int
    subsampling: int  # Pillow: 0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0; ignored for grayscale
    gray: bool = False
    optimize: bool = False
    restart_blocks: int = 0  # Pillow's restart_marker_blocks: a restart every N MCUs
    restart_rows: int = 0  # restart_marker_rows: a restart every N MCU rows
    seed: int = 1


VECTORS = [
    Vector("q85_420_1x1", 1, 1, 85, 2, seed=2),
    Vector("q85_420_7x5", 7, 5, 85, 2, seed=3),
    Vector("q50_420_17x33", 17, 33, 50, 2, seed=4),
    Vector("q95_444_17x33", 17, 33, 95, 0, seed=5),
    Vector("q85_422_33x17", 33, 17, 85, 1, seed=6),
    Vector("q85_422_64x48", 64, 48, 85, 1, seed=7),
    Vector("q85_444_64x48", 64, 48, 85, 0, seed=8),
    Vector("q95_420_64x48", 64, 48, 95, 2, seed=9),
    Vector("q50_gray_7x5", 7, 5, 50, 0, gray=True, seed=10),
    Vector("q85_gray_64x48", 64, 48, 85, 0, gray=True, seed=11),
    Vector("q85_420_64x48_optimized", 64, 48, 85, 2, optimize=True, seed=12),
    Vector("q85_420_40x24_rst1", 40, 24, 85, 2, restart_blocks=1, seed=13),
    Vector("q85_444_24x16_rst5", 24, 16, 85, 0, restart_blocks=5, seed=14),
    Vector("q85_gray_20x20_rst2", 20, 20, 85, 0, gray=True, restart_blocks=2, seed=15),
    Vector("q75_420_100x60_rstrow", 100, 60, 75, 2, restart_rows=1, seed=16),
    Vector("q50_420_160x120", 160, 120, 50, 2, seed=17),
    Vector("q95_420_120x90", 120, 90, 95, 2, seed=18),
    Vector("q85_420_320x240", 320, 240, 85, 2, seed=19),
]


def scene(width: int, height: int, seed: int) -> Image.Image:
    """A photo-like RGB picture: smooth shading, soft blobs, textured areas and a few sharp edges."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    u, v = xx / max(width, 1), yy / max(height, 1)
    img = np.zeros((height, width, 3))
    for ch in range(3):  # sky-to-ground shading with a tint per channel
        a, b, c = rng.uniform(0.3, 1.0, 3)
        img[..., ch] = 60 + 120 * a * v + 50 * b * np.sin(2.5 * u + c * 3) * (1 - v)
    for _ in range(6):  # soft blobs of colour (foliage, faces, lamps)
        cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.08, 0.3)
        weight = np.exp(-((u - cx) ** 2 + (v - cy) ** 2) / (2 * r * r))
        img += weight[..., None] * rng.uniform(-90, 90, 3)

    # Band-limited texture at two scales: cloudy variation everywhere, fine detail (grass, fabric)
    # only where a soft random mask says so, as a photo has sharp and smooth regions side by side.
    def blurred_noise(sigma: float, radius: float) -> np.ndarray:
        noise = Image.fromarray(rng.normal(128, sigma, (height, width)).clip(0, 255).astype(np.uint8))
        return np.asarray(noise.filter(ImageFilter.GaussianBlur(radius)), dtype=np.float64) - 128

    img += (blurred_noise(80, 3.0) * 1.5)[..., None] * rng.uniform(0.6, 1.0, 3)
    mask = np.clip(2.5 * (v - rng.uniform(0.4, 0.7)) + 0.3 * blurred_noise(90, 6.0) / 10, 0, 1)
    img += (blurred_noise(60, 0.7) * mask)[..., None] * rng.uniform(0.5, 1.0, 3)
    picture = Image.fromarray(img.clip(0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(picture)
    for _ in range(4):  # hard edges: buildings, poles, a wheel
        x0, y0 = rng.integers(0, max(width, 2)), rng.integers(0, max(height, 2))
        x1, y1 = x0 + rng.integers(1, max(width // 3, 2)), y0 + rng.integers(1, max(height // 3, 2))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.rectangle((int(x0), int(y0), int(x1), int(y1)), fill=colour)
        else:
            draw.ellipse((int(x0), int(y0), int(x1), int(y1)), outline=colour, width=2)
    picture = picture.filter(ImageFilter.GaussianBlur(0.4))  # a lens is never perfectly sharp
    grain = rng.normal(0, 1.2, (height, width, 3))  # sensor noise
    return Image.fromarray((np.asarray(picture, dtype=np.float64) + grain).clip(0, 255).astype(np.uint8), "RGB")


def encode(vector: Vector) -> bytes:
    picture = scene(vector.width, vector.height, vector.seed)
    if vector.gray:
        picture = picture.convert("L")
    options: dict[str, object] = {"quality": vector.quality, "optimize": vector.optimize, "progressive": False}
    if not vector.gray:
        options["subsampling"] = vector.subsampling
    if vector.restart_blocks:
        options["restart_marker_blocks"] = vector.restart_blocks
    if vector.restart_rows:
        options["restart_marker_rows"] = vector.restart_rows
    buf = io.BytesIO()
    picture.save(buf, "JPEG", **options)
    return buf.getvalue()


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def build_helper(workdir: Path) -> Path:
    source = workdir / "djpeg_box.c"
    source.write_text(HELPER_C)
    binary = workdir / "djpeg_box"
    subprocess.run(["cc", "-O1", "-o", str(binary), str(source), "-ljpeg"], check=True)
    return binary


def reference(helper: Path, workdir: Path, jpeg: bytes) -> bytes:
    src, dst = workdir / "in.jpg", workdir / "out.rgb"
    src.write_bytes(jpeg)
    subprocess.run([str(helper), str(src), str(dst)], check=True)
    return dst.read_bytes()


def write_all(out: Path, helper: Path, workdir: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    lines = [
        "# name width height: NAME.jpg (Pillow, baseline) and NAME.rgb.gz (libjpeg, JDCT_ISLOW, no fancy",
        "# upsampling, RGB888 row-major). Written by firmware/scripts/make_jpeg_vectors.py; do not edit.",
    ]
    for vector in VECTORS:
        jpeg = encode(vector)
        rgb = reference(helper, workdir, jpeg)
        assert len(rgb) == vector.width * vector.height * 3, vector.name
        pillow = np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"))
        ours = np.frombuffer(rgb, dtype=np.uint8).reshape(pillow.shape)
        if vector.gray or vector.subsampling == 0:
            assert np.array_equal(pillow, ours), f"{vector.name}: helper and Pillow disagree without upsampling"
        else:
            print(f"{vector.name}: Pillow's fancy upsampling vs replicated chroma: PSNR {psnr(pillow, ours):.1f} dB")
        (out / f"{vector.name}.jpg").write_bytes(jpeg)
        (out / f"{vector.name}.rgb.gz").write_bytes(gzip.compress(rgb, compresslevel=9, mtime=0))
        lines.append(f"{vector.name} {vector.width} {vector.height}")
    (out / "index.txt").write_text("\n".join(lines) + "\n")
    # Only for rejection: the same kind of picture, progressive.
    buf = io.BytesIO()
    scene(32, 16, 99).save(buf, "JPEG", quality=85, progressive=True)
    (out / "progressive.jpg").write_bytes(buf.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed files are not what this writes")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        helper = build_helper(workdir)
        target = workdir / "vectors" if args.check else OUT
        write_all(target, helper, workdir)
        if args.check:
            names = sorted(p.name for p in target.iterdir())
            match, mismatch, errors = filecmp.cmpfiles(OUT, target, names, shallow=False)
            if mismatch or errors:
                print(f"differ from {OUT}: {mismatch + errors}")
                return 1
            print(f"{len(match)} files match")
            return 0
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"wrote {len(VECTORS)} vectors to {OUT} ({total} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
