"""Fitting a captured picture to a display: fit (letterbox), fill (crop, aligned) or stretch.

A capture is rarely the display's size or shape. `fit` shows all of it with bars, `fill` covers the
display and crops the overflow on the side `align` does not name, `stretch` distorts. A picture
already at the display's size is returned unscaled, so a 1:1 capture reaches the board pixel-exact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PIL import Image

if TYPE_CHECKING:  # only a type: the color stage imports this module at start, common.drawing takes ~9 ms
    from common.drawing import Rgb

FIT_MODES = ("fit", "fill", "stretch")
# Where the picture sits in its bars (fit), or which part is kept (fill): (x, y) as a fraction of the slack.
ALIGNMENTS: dict[str, tuple[float, float]] = {
    "center": (0.5, 0.5),
    "top-left": (0.0, 0.0),
    "top": (0.5, 0.0),
    "top-right": (1.0, 0.0),
    "left": (0.0, 0.5),
    "right": (1.0, 0.5),
    "bottom-left": (0.0, 1.0),
    "bottom": (0.5, 1.0),
    "bottom-right": (1.0, 1.0),
}
# Screen content is mostly text and edges: Lanczos keeps them sharpest when shrinking, and the reducing gap
# (a box pre-shrink to twice the size) makes a 1920x1080 -> 320x180 shrink ~3x cheaper at no visible cost.
RESAMPLE = Image.Resampling.LANCZOS
REDUCING_GAP = 2.0


def scaled(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    if image.size == size:
        return image
    return image.resize(size, RESAMPLE, reducing_gap=REDUCING_GAP)


def _offset(slack: int, fraction: float) -> int:
    return int(slack * fraction)  # floor: "center" of an odd slack leaves the extra pixel after the picture


def fit_picture(
    image: Image.Image, width: int, height: int, mode: str = "fit", align: str = "center", background: Rgb = (0, 0, 0)
) -> Image.Image:
    """`image` as an RGB picture of exactly width x height."""
    image = image.convert("RGB")
    fx, fy = ALIGNMENTS[align]
    w, h = image.size
    if mode == "stretch":
        return scaled(image, (width, height))
    if mode == "fill":
        # Crop the source to the display's shape first: fewer pixels to resample, and whole source pixels kept.
        crop_w, crop_h = min(w, max(1, round(h * width / height))), min(h, max(1, round(w * height / width)))
        left, top = _offset(w - crop_w, fx), _offset(h - crop_h, fy)
        return scaled(image.crop((left, top, left + crop_w, top + crop_h)), (width, height))
    if mode != "fit":
        raise ValueError(f"unknown fit mode {mode!r}")
    scale = min(width / w, height / h)
    size = (min(width, max(1, round(w * scale))), min(height, max(1, round(h * scale))))
    canvas = Image.new("RGB", (width, height), background)
    canvas.paste(scaled(image, size), (_offset(width - size[0], fx), _offset(height - size[1], fy)))
    return canvas
