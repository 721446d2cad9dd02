"""Drawing helpers shared by the built-in painters: fonts, text fitting, boxes, machine facts.

Only Pillow's embedded font (Aileron via FreeType) is used, so a painter never depends on fonts
installed on the PC. Sizes are chosen from the display size; below MIN_FONT_PX the glyphs turn to
mush on a 160x128 panel, so every size is clamped to it.
"""

from __future__ import annotations

import functools
import platform
import re
import threading
from dataclasses import dataclass

from PIL import ImageDraw, ImageFont

MIN_FONT_PX = 10
CPU_LOOKUP_AFTER_S = 5.0
ELLIPSIS = "\u2026"

Rgb = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Box:
    """A pixel rectangle, right/bottom exclusive (like numpy slices, unlike ImageDraw's inclusive)."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def inclusive(self) -> tuple[int, int, int, int]:
        """The same rectangle as ImageDraw.rectangle() wants it."""
        return (self.left, self.top, self.right - 1, self.bottom - 1)


@functools.lru_cache(maxsize=64)
def font(size: int) -> ImageFont.FreeTypeFont:
    """The built-in font at `size` px (clamped to MIN_FONT_PX); cached because each load decodes it."""
    loaded = ImageFont.load_default(size=max(size, MIN_FONT_PX))
    if not isinstance(loaded, ImageFont.FreeTypeFont):
        # Without FreeType Pillow ignores the size; every layout here would overflow.
        raise RuntimeError("Pillow was built without FreeType; sized fonts are unavailable")
    return loaded


def body_font_size(width: int, height: int) -> int:
    """Font size for ordinary text: ~14 lines tall and ~30 characters wide on any display."""
    return max(MIN_FONT_PX, min(height // 14, width // 17))


def em(f: ImageFont.FreeTypeFont) -> int:
    """The font's nominal size in whole pixels (Pillow types it as a float); handy as a spacing unit."""
    return int(f.size)


def line_height(f: ImageFont.FreeTypeFont) -> int:
    """Distance between baselines of consecutive lines, with a little leading."""
    ascent, descent = f.getmetrics()
    return ascent + descent + max(1, em(f) // 8)


def text_width(text: str, f: ImageFont.FreeTypeFont) -> int:
    return int(round(f.getlength(text)))


def fit_text(text: str, f: ImageFont.FreeTypeFont, max_width: int) -> str:
    """`text` cut at the end with an ellipsis so it is at most `max_width` px wide."""
    if f.getlength(text) <= max_width:
        return text
    for end in range(len(text) - 1, 0, -1):
        candidate = text[:end].rstrip() + ELLIPSIS
        if f.getlength(candidate) <= max_width:
            return candidate
    return ""


def largest_font(text: str, max_width: int, max_height: int) -> ImageFont.FreeTypeFont:
    """The biggest font in which `text` fits the box, judged by ink height; at least MIN_FONT_PX."""
    for size in range(max(max_height, MIN_FONT_PX), MIN_FONT_PX, -1):
        f = font(size)
        left, top, right, bottom = f.getbbox(text)
        if right - left <= max_width and bottom - top <= max_height:
            return f
    return font(MIN_FONT_PX)


def draw_text(
    draw: ImageDraw.ImageDraw,
    xy: tuple[int, int],
    text: str,
    f: ImageFont.FreeTypeFont,
    fill: Rgb,
    max_width: int | None = None,
    anchor: str = "la",
) -> None:
    """Draw text at `xy` ("la" = left/ascender, "ra" = right/ascender), ellipsized to max_width."""
    if max_width is not None:
        text = fit_text(text, f, max_width)
    draw.text(xy, text, font=f, fill=fill, anchor=anchor)


def tidy_cpu_name(raw: str) -> str:
    """Drop the marketing noise that wastes a small screen's width ("(R)", "(TM)", "CPU @ 3.70GHz")."""
    name = re.sub(r"\((R|TM|C)\)", "", raw, flags=re.IGNORECASE)
    name = re.sub(r"\s*@.*$", "", name)
    name = re.sub(r"\b(CPU|Processor)\b", "", name)
    return " ".join(name.split()) or raw.strip()


class CpuName:
    """The CPU's brand string, looked up by cpuinfo in the background once the pipeline has started:
    the lookup takes about a second of CPU in helper processes, which a starting pipeline needs for
    its first picture more. Until the lookup ends, `value` is a quick guess."""

    def __init__(self, known: str | None = None, lookup_after_s: float = CPU_LOOKUP_AFTER_S) -> None:
        self.value = known or tidy_cpu_name(platform.processor() or platform.machine() or "CPU")
        if known is None:
            lookup = threading.Timer(lookup_after_s, self._look_up)
            lookup.daemon = True
            lookup.start()

    def _look_up(self) -> None:
        self.value = detect_cpu_name()


def detect_cpu_name() -> str:
    """The CPU's brand string; slow (~1 s, cpuinfo may spawn helpers), so call it once at start."""
    import cpuinfo  # here, not at the top: ~0.02 s of CPU that a starting painter does not need yet

    try:
        brand = str(cpuinfo.get_cpu_info().get("brand_raw", ""))
    except Exception:  # cpuinfo fails in many platform-specific ways, and a name is only cosmetic
        brand = ""
    brand = brand or platform.processor() or platform.machine()
    return tidy_cpu_name(brand) if brand else "Unknown CPU"
