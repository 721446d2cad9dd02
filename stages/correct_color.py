"""Color stage: fits each source picture to one display and turns it into the RGB565 values its panel shows.

Consumes RGB888 pictures (uint8 (h, w, 3), any size) and produces RGB565 values (uint16 (panel_h, panel_w)),
resized, gamma and white balance corrected, ordered-dithered, colour-ordered and rotated for the display's
profile; byte order is left to the wire encoder. Everything per-display is precomputed by ColorCorrector, so
the colour work per frame is three table lookups per pixel (under 1 ms for 320x240); the expected bottleneck
is Pillow's resize when a source sends large captures.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace

import numpy as np
import zmq
from PIL import Image
from prometheus_client import CollectorRegistry, Counter, Histogram

from common.config import ColorProfile, Display
from common.fitting import REDUCING_GAP, RESAMPLE
from common.frames import REASONS, FrameHeader, PixelFormat, SchemaError, decode_frame, encode_frame, open_frame
from common.rgb565 import LEVELS5, LEVELS6
from common.stage import StageContext, run_stage

# Ordered-dither thresholds by pixel position: a static picture dithers to the same pixels every frame,
# so the damage encoder sees no change. 4x4 already splits a 5-bit step into steps finer than 8-bit input.
BAYER4 = np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]])
ROTATIONS = (0, 90, 180, 270)


def tone_curves(profile: ColorProfile) -> np.ndarray:
    """Corrected value (float64, 0..255) of each 8-bit input, per channel: (3, 256).

    out_c = 255 * white_balance_c * (in / 255) ** gamma, clipped to 0..255. This is the original server's
    GAMMA convention, so values tuned there carry over: gamma > 1 darkens mid-tones, gamma < 1 brightens
    them, 0 and (with white balance 1) 255 stay fixed; gamma 1 and white balance (1, 1, 1) is the identity.
    """
    if not profile.gamma > 0 or any(not wb >= 0 for wb in profile.white_balance):
        raise ValueError(f"gamma must be > 0 and white balance >= 0, got {profile}")
    inputs = np.arange(256, dtype=np.float64)
    curves = np.clip(255.0 * np.outer(profile.white_balance, (inputs / 255.0) ** profile.gamma), 0.0, 255.0)
    # Float error (255 * (x / 255) need not be x) must not move a value off a level the panel shows exactly.
    nearest = np.round(curves)
    return np.where(np.abs(curves - nearest) < 1e-12, nearest, curves)


def quantise(values: np.ndarray, levels: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Code of each value (0..255) at each threshold in (0, 1): (len(thresholds), len(values)) int64.

    A value between two levels becomes the upper one when it lies more than `threshold` of the way up the
    gap, else the lower one; so a value on a level keeps that level at every threshold, and averaged over
    thresholds spread evenly in (0, 1) the codes reproduce the value. A single threshold 0.5 rounds.
    """
    levels = levels.astype(np.float64)
    low = np.clip(np.searchsorted(levels, values, side="right") - 1, 0, len(levels) - 2)
    fraction = (values - levels[low]) / (levels[low + 1] - levels[low])
    codes: np.ndarray = low + (fraction[np.newaxis, :] > thresholds[:, np.newaxis])
    return codes


def resize(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """Stretch to width x height (no letterbox): Lanczos when shrinking, after the box pre-reduction the
    capture sources use too (common/fitting.py). Against fair Lanczos, a 1920x1080 picture comes out at
    44-51 dB PSNR once in RGB565 (reducing gap 3.0: 45-58 dB), at half the CPU (8-9 ms against 16-18)."""
    h, w = rgb.shape[:2]
    image = Image.fromarray(np.ascontiguousarray(rgb))
    if width < w or height < h:
        image = image.resize((width, height), RESAMPLE, reducing_gap=REDUCING_GAP)
    else:
        image = image.resize((width, height), Image.Resampling.BICUBIC)
    return np.asarray(image)


class ColorCorrector:
    """One display's correction, precomputed at construction; `correct` is then a few numpy takes per frame.

    Per channel a table maps (position in the dither matrix, 8-bit input) straight to the channel's
    RGB565 bits already shifted into place, folding gamma, white balance, dither and colour order together.
    The picture is dithered in panel orientation, so the pattern sits on the panel's own pixel grid.
    """

    def __init__(self, display: Display) -> None:
        profile = display.profile
        if profile.rotation not in ROTATIONS:
            raise ValueError(f"rotation must be one of {ROTATIONS}, got {profile.rotation}")
        self.display = display
        self.curves = tone_curves(profile)
        self.curves.flags.writeable = False
        matrix = BAYER4 if profile.dither else np.zeros((1, 1), dtype=np.int64)
        thresholds = (matrix.ravel() + 0.5) / matrix.size
        shifts = (0, 5, 11) if profile.bgr else (11, 5, 0)
        self._tables = tuple(
            (quantise(self.curves[c], levels, thresholds) << shift).astype(np.uint16).ravel()
            for c, (levels, shift) in enumerate(zip((LEVELS5, LEVELS6, LEVELS5), shifts, strict=True))
        )
        panel_w, panel_h = display.panel_size
        n = matrix.shape[0]
        rows = (np.arange(panel_h) % n)[:, np.newaxis]
        columns = (np.arange(panel_w) % n)[np.newaxis, :]
        # Row offset into the flattened (position, value) tables; a pixel adds its 8-bit value.
        self._offsets = ((rows * n + columns) * 256).astype(np.intp)
        self._turns = -profile.rotation // 90  # np.rot90 turns counter-clockwise

    def correct(self, rgb: np.ndarray) -> np.ndarray:
        """uint8 (h, w, 3) RGB of any size to uint16 (panel_h, panel_w) RGB565 values for this display.

        Rotation is clockwise by profile.rotation degrees; big_endian is not applied here (see the wire).
        """
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected uint8 (h, w, 3) RGB, got {rgb.dtype}{rgb.shape}")
        if rgb.shape[:2] != (self.display.height, self.display.width):
            rgb = resize(rgb, self.display.width, self.display.height)
        turned = np.rot90(rgb, self._turns)  # a view: the index sums below read it in panel order
        red, green, blue = self._tables
        out: np.ndarray = red.take(self._offsets + turned[..., 0])
        out |= green.take(self._offsets + turned[..., 1])
        out |= blue.take(self._offsets + turned[..., 2])
        return out


def make_metrics(registry: CollectorRegistry) -> dict:
    dropped = Counter("tftstream_correct_color_dropped_total", "Frames not passed on", ["reason"], registry=registry)
    for reason in (*REASONS, "unknown_display", "wrong_format", "diff_busy"):
        dropped.labels(reason)
    return {
        "in": Counter("tftstream_correct_color_frames_in_total", "Frames received", registry=registry),
        "out": Counter("tftstream_correct_color_frames_out_total", "Frames corrected and passed on", registry=registry),
        "dropped": dropped,
        "seconds": Histogram(
            "tftstream_correct_color_process_seconds",
            "Time to correct one frame",
            buckets=(0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05),
            registry=registry,
        ),
    }


Correctors = dict[tuple[str, str | None], "ColorCorrector"]  # (display, region source or None) -> corrector


def make_correctors(displays: tuple[Display, ...]) -> Correctors:
    """One corrector per display, and one per region: a region's source is fitted to the region."""
    correctors: Correctors = {(d.name, None): ColorCorrector(d) for d in displays}
    for d in displays:
        correctors.update({(d.name, r.source): ColorCorrector(d.for_region(r)) for r in d.regions})
    return correctors


def correct_frame(correctors: Correctors, parts: list) -> tuple[FrameHeader, np.ndarray]:
    """Validate one source frame and correct it for its display; SchemaError names what was wrong."""
    return correct_picture(correctors, *decode_frame(parts))


def corrector_key(correctors: Correctors, header: FrameHeader) -> tuple[str, str | None]:
    """Which corrector a picture is for: its region's, else its display's."""
    region = (header.display, header.source)
    return region if region in correctors else (header.display, None)


def correct_picture(correctors: Correctors, header: FrameHeader, rgb: np.ndarray) -> tuple[FrameHeader, np.ndarray]:
    """A decoded source picture corrected for its display, and the header of the result."""
    corrector = correctors.get(corrector_key(correctors, header))
    if corrector is None:
        raise SchemaError("unknown_display", f"no display {header.display!r} in config")
    if header.pixel_format != PixelFormat.RGB888:
        raise SchemaError("wrong_format", f"{header.pixel_format.name}, expected RGB888")
    values = corrector.correct(rgb)
    width, height = corrector.display.panel_size
    return replace(header, width=width, height=height, pixel_format=PixelFormat.RGB565), values


class NewestFrames:
    """The frame message of each display's and source's newest picture, so that a source's resend of
    it (the same header: sources resend a standing picture every refresh_s) costs no correction."""

    def __init__(self) -> None:
        self.frames: dict[tuple[str, str | None], tuple[FrameHeader, list]] = {}  # by corrector: bounded

    def frame(self, correctors: Correctors, parts: list) -> list:
        header, rgb, intact = open_frame(parts)
        key = corrector_key(correctors, header)
        known = self.frames.get(key)
        if known is not None and known[0] == header:
            return known[1]
        corrected, values = correct_picture(correctors, header, rgb)
        if not intact():
            raise SchemaError("torn", f"{header.source}'s picture {header.seq} was overwritten while corrected")
        frame = encode_frame(corrected, values)
        self.frames[key] = (header, frame)
        return frame


def loop(ctx: StageContext) -> None:
    metrics = make_metrics(ctx.registry)
    correctors = make_correctors(ctx.config.displays)
    frames = ctx.socket(zmq.PUSH, ctx.config.endpoints.frames, bind=False, hwm=2)
    ctx.wait_for_peer(frames, "encode_damage")  # then connect: gather_frames feeds only connected workers
    pictures = ctx.socket(zmq.PULL, ctx.config.endpoints.workers, bind=False, hwm=1)
    poller = ctx.poller()
    poller.register(pictures, zmq.POLLIN)
    newest = NewestFrames()
    while not ctx.stop.is_set():
        if pictures not in dict(poller.poll()):
            continue
        parts = pictures.recv_multipart(copy=False)
        metrics["in"].inc()
        started = time.perf_counter()
        try:
            frame = newest.frame(correctors, parts)
        except SchemaError as error:
            metrics["dropped"].labels(error.reason).inc()
            ctx.log.warning("dropped a frame: %s", error)
            continue
        metrics["seconds"].observe(time.perf_counter() - started)
        try:
            frames.send_multipart(frame, flags=zmq.NOBLOCK, copy=False)
            metrics["out"].inc()
        except zmq.Again:
            metrics["dropped"].labels("diff_busy").inc()


def main(argv: list[str] | None = None) -> int:
    return run_stage("correct_color", loop, argv, __doc__.splitlines()[0])


if __name__ == "__main__":
    sys.exit(main())
