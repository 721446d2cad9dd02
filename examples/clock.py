"""A source of your own in a dozen lines: a big clock on the display "main".

Run it while the pipeline runs: `python examples/clock.py`. The display switches to the clock;
stop it (Ctrl-C) and the display returns to its configured source within a few seconds.
"""

import sys
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing
from common.source import AttachedSource  # noqa: E402


def clock_picture(width: int, height: int) -> Image.Image:
    image = Image.new("RGB", (width, height), (0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.text(
        (width // 2, height // 2),
        time.strftime("%H:%M:%S"),
        fill=(255, 255, 0),
        font=ImageFont.load_default(height // 4),
        anchor="mm",
    )
    return image


def main() -> None:
    config = sys.argv[1] if len(sys.argv) > 1 else "tftstream.toml"
    with AttachedSource("clock", config) as source:
        while True:
            source.show("main", clock_picture(320, 240))
            time.sleep(0.2)


if __name__ == "__main__":
    main()
