"""Regenerate the shared protocol vectors: `python -m tests.vectors.make_vectors`.

Streams are spelled out with struct here, independently of common/protocol.py; the expected
framebuffers come from the Python reference display and were checked by hand for the small cases.
Both the pytest suite and the C++ core's tests read the JSON files this writes.
"""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path

from PIL import Image

from common.protocol import ProtocolError, mask_to_encodings, parse_hello
from devices.reference_display import BoardStream

HERE = Path(__file__).parent
W, H = 4, 3


def msg(kind: int, body: bytes = b"") -> bytes:
    return struct.pack("<BH", kind, len(body)) + body


def accept(flags: int = 1, mask: int = 3, max_body: int = 256) -> bytes:
    return msg(0x10, struct.pack("<BBHHHH", 1, flags, mask, max_body, 1000, 4000))


def begin(seq: int) -> bytes:
    return msg(0x20, struct.pack("<I", seq))


def end(seq: int) -> bytes:
    return msg(0x22, struct.pack("<I", seq))


def rect(x: int, y: int, w: int, h: int, encoding: int, payload: bytes) -> bytes:
    return msg(0x21, struct.pack("<HHHHB", x, y, w, h, encoding) + payload)


def be_pixels(*values: int) -> bytes:
    return b"".join(struct.pack(">H", v) for v in values)


def runs(*pairs: tuple[int, int], big: bool = True) -> bytes:
    return b"".join(bytes([count - 1]) + struct.pack(">H" if big else "<H", v) for count, v in pairs)


RED, GREEN, BLUE, WHITE = 0xF800, 0x07E0, 0x001F, 0xFFFF
FULL_RAW = rect(0, 0, W, H, 0, be_pixels(*range(1, W * H + 1)))

DEVICE_STREAMS = {
    "accept_only": accept(),
    "empty_frame_is_acked": accept() + begin(7) + end(7),
    "raw_full_frame": accept() + begin(1) + FULL_RAW + end(1),
    "raw_single_pixel": accept() + begin(1) + rect(3, 2, 1, 1, 0, be_pixels(RED)) + end(1),
    "raw_little_endian": accept(flags=0) + begin(1) + rect(1, 1, 2, 1, 0, struct.pack("<HH", GREEN, BLUE)) + end(1),
    "runs_fill_all": accept() + begin(2) + rect(0, 0, W, H, 1, runs((12, BLUE))) + end(2),
    "runs_across_rows": accept() + begin(3) + rect(1, 0, 3, 3, 1, runs((4, RED), (1, GREEN), (4, WHITE))) + end(3),
    "runs_little_endian": accept(flags=0) + begin(3) + rect(0, 2, 4, 1, 1, runs((4, 0x1234), big=False)) + end(3),
    "two_frames_overdraw": accept()
    + begin(1)
    + FULL_RAW
    + end(1)
    + begin(2)
    + rect(1, 1, 2, 2, 1, runs((4, WHITE)))
    + end(2),
    "keepalives_between": accept() + msg(0x30) + begin(5) + msg(0x30) + FULL_RAW + end(5),
    "reject_with_reason": msg(0x11, b"unknown display 'desk'"),
    "error_unknown_type": accept() + msg(0x7F),
    "error_oversized": accept() + struct.pack("<BH", 0x21, 300) + bytes(300),
    "error_expected_accept": begin(1),
    "error_second_accept": accept() + accept(),
    "error_accept_short": msg(0x10, b"\x01\x01"),
    "error_bad_version": msg(0x10, struct.pack("<BBHHHH", 2, 1, 3, 256, 1000, 4000)),
    "error_accept_encoding_not_offered": accept(mask=7),
    "error_accept_bigger_buffer": accept(max_body=257),
    "error_rect_outside_frame": accept() + FULL_RAW,
    "error_frame_open": accept() + begin(1) + begin(2),
    "error_end_outside_frame": accept() + end(1),
    "error_seq_mismatch": accept() + begin(1) + end(2),
    "error_rect_short_header": accept() + begin(1) + msg(0x21, b"\x00" * 8),
    "error_rect_empty": accept() + begin(1) + rect(0, 0, 0, 1, 0, b""),
    "error_rect_right_edge": accept() + begin(1) + rect(3, 0, 2, 1, 0, be_pixels(1, 2)),
    "error_rect_bottom_edge": accept() + begin(1) + rect(0, 2, 1, 2, 0, be_pixels(1, 2)),
    "error_rect_coordinate_wrap": accept() + begin(1) + rect(0xFFFF, 0, 2, 1, 0, be_pixels(1, 2)),
    "error_unknown_encoding": accept() + begin(1) + rect(0, 0, 1, 1, 5, be_pixels(1)),
    "error_encoding_not_accepted": accept(mask=1) + begin(1) + rect(0, 0, 1, 1, 1, runs((1, RED))),
    "error_raw_too_short": accept() + begin(1) + rect(0, 0, 2, 1, 0, be_pixels(1)),
    "error_raw_too_long": accept() + begin(1) + rect(0, 0, 1, 1, 0, be_pixels(1, 2)),
    "error_runs_partial": accept() + begin(1) + rect(0, 0, 2, 1, 1, runs((2, RED)) + b"\x00"),
    "error_runs_overflow": accept() + begin(1) + rect(0, 0, 2, 1, 1, runs((3, RED))),
    "error_runs_short": accept() + begin(1) + rect(0, 0, 2, 2, 1, runs((3, RED))),
    "error_frame_end_short": accept() + begin(1) + msg(0x22, b"\x01\x00"),
    "error_keepalive_with_body": accept() + msg(0x30, b"x"),
}


def copy(x: int, y: int, w: int, h: int, src_x: int, src_y: int, extra: bytes = b"") -> bytes:
    return rect(x, y, w, h, 2, struct.pack("<HH", src_x, src_y) + extra)


# Streams for a board that offers COPY too (encoding mask 7): it reads its panel back.
WITH_COPY = accept(mask=7) + begin(1) + FULL_RAW
COPY_STREAMS = {
    "copy_down_overlapping": WITH_COPY + copy(0, 1, 4, 2, 0, 0) + end(1),
    "copy_up_overlapping": WITH_COPY + copy(0, 0, 4, 2, 0, 1) + end(1),
    "copy_right_overlapping": WITH_COPY + copy(1, 0, 3, 3, 0, 0) + end(1),
    "copy_left_overlapping": WITH_COPY + copy(0, 0, 3, 3, 1, 0) + end(1),
    "copy_diagonal": WITH_COPY + copy(1, 1, 3, 2, 0, 0) + end(1),
    "copy_up_left_diagonal": WITH_COPY + copy(0, 0, 3, 2, 1, 1) + end(1),
    "copy_to_itself": WITH_COPY + copy(0, 0, 4, 3, 0, 0) + end(1),
    "copy_then_drawn_over": WITH_COPY + copy(2, 0, 2, 3, 0, 0) + rect(3, 2, 1, 1, 0, be_pixels(RED)) + end(1),
    "copy_only_if_chosen": accept(mask=3) + begin(1) + FULL_RAW + rect(0, 0, 1, 1, 1, runs((1, RED))) + end(1),
    "error_copy_not_accepted": accept(mask=3) + begin(1) + copy(0, 0, 1, 1, 1, 1),
    "error_copy_payload_short": WITH_COPY + rect(0, 0, 1, 1, 2, b"\x01\x00\x01"),
    "error_copy_payload_long": WITH_COPY + copy(0, 0, 1, 1, 1, 1, extra=b"\x00"),
    "error_copy_source_right_edge": WITH_COPY + copy(0, 0, 2, 1, 3, 0),
    "error_copy_source_bottom_edge": WITH_COPY + copy(0, 0, 1, 2, 0, 2),
    "error_copy_source_wrap": WITH_COPY + copy(0, 0, 2, 1, 0xFFFF, 0),
    "error_copy_destination_outside": WITH_COPY + copy(3, 0, 2, 1, 0, 0),
}


def lz4_count(n: int) -> bytes:
    """The bytes after a nibble of 15: runs of 255, then the rest."""
    return b"\xff" * (n // 255) + bytes([n % 255])


def lz4_seq(literals: bytes, offset: int | None = None, match: int = 4) -> bytes:
    """One LZ4 sequence; without an offset it has no match (the block's last sequence)."""
    lit_nibble, match_nibble = min(len(literals), 15), min(match - 4, 15) if offset is not None else 0
    out = bytes([lit_nibble << 4 | match_nibble])
    out += lz4_count(len(literals) - 15) if lit_nibble == 15 else b""
    out += literals
    if offset is not None:
        out += struct.pack("<H", offset) + (lz4_count(match - 4 - 15) if match_nibble == 15 else b"")
    return out


def lz4_rect(x: int, y: int, w: int, h: int, payload: bytes) -> bytes:
    return rect(x, y, w, h, 3, payload)


# Streams for a board that offers LZ4 too (encoding mask 11): it keeps a block's pixels for matches.
WITH_LZ4 = accept(mask=11) + begin(1)
LZ4_STREAMS = {
    "lz4_literals_only": WITH_LZ4 + lz4_rect(0, 0, W, H, lz4_seq(be_pixels(*range(1, W * H + 1)))) + end(1),
    "lz4_match_repeats_a_pixel": WITH_LZ4
    + lz4_rect(0, 0, W, H, lz4_seq(be_pixels(RED), offset=2, match=16) + lz4_seq(be_pixels(GREEN, BLUE, WHITE)))
    + end(1),
    "lz4_offset_one_overlaps": WITH_LZ4 + lz4_rect(0, 2, W, 1, lz4_seq(b"\xab", 1, 5) + lz4_seq(b"\x01\x02")) + end(1),
    "lz4_fifteen_literals": WITH_LZ4
    + lz4_rect(0, 0, W, H, lz4_seq(bytes(range(15)), 4, 4) + lz4_seq(b"abcde"))
    + end(1),
    "lz4_nineteen_match": WITH_LZ4 + lz4_rect(0, 0, W, H, lz4_seq(b"\x07", 1, 19) + lz4_seq(b"wxyz")) + end(1),
    "lz4_ends_after_a_match": WITH_LZ4 + lz4_rect(0, 0, W, H, lz4_seq(be_pixels(BLUE), 2, 22)) + end(1),
    "lz4_small_rect": WITH_LZ4 + FULL_RAW + lz4_rect(1, 1, 2, 2, lz4_seq(be_pixels(WHITE), 2, 6)) + end(1),
    "lz4_little_endian": accept(flags=0, mask=11)
    + begin(1)
    + lz4_rect(0, 0, 2, 1, lz4_seq(struct.pack("<HH", RED, GREEN)))
    + end(1),
    "error_lz4_not_accepted": accept(mask=3) + begin(1) + lz4_rect(0, 0, 1, 1, lz4_seq(be_pixels(RED))),
    "error_lz4_offset_zero": WITH_LZ4 + lz4_rect(0, 0, 2, 1, lz4_seq(be_pixels(RED), 0, 4)),
    "error_lz4_offset_before_start": WITH_LZ4 + lz4_rect(0, 0, 2, 2, lz4_seq(be_pixels(RED), 3, 4)),
    "error_lz4_literals_overflow": WITH_LZ4 + lz4_rect(0, 0, 1, 1, lz4_seq(b"abc")),
    "error_lz4_match_overflow": WITH_LZ4 + lz4_rect(0, 0, 1, 1, lz4_seq(b"a", 1, 4) + lz4_seq(b"")),
    "error_lz4_truncated_literals": WITH_LZ4 + lz4_rect(0, 0, 2, 1, lz4_seq(b"abcd")[:-2]),
    "error_lz4_truncated_offset": WITH_LZ4 + lz4_rect(0, 0, 2, 1, b"\x20ab\x01"),
    "error_lz4_truncated_count": WITH_LZ4 + lz4_rect(0, 0, W, H, b"\xf0"),
    "error_lz4_short": WITH_LZ4 + lz4_rect(0, 0, 2, 1, lz4_seq(b"ab")),
    "error_lz4_empty_payload": WITH_LZ4 + lz4_rect(0, 0, 1, 1, b""),
}


def jpeg(pixels: list[list[tuple[int, int, int]]], mode: str = "RGB", **options: object) -> bytes:
    """A baseline JPEG by Pillow (libjpeg): 4:4:4 or grey, where board and reference agree exactly."""
    out = io.BytesIO()
    image = Image.new("RGB", (len(pixels[0]), len(pixels)))
    image.putdata([p for row in pixels for p in row])
    image.convert(mode).save(out, "JPEG", quality=95, subsampling=0, **options)
    return out.getvalue()


PICTURE = [[(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)], [(10, 20, 30)] * 4, [(200, 100, 50)] * 4]
JPEG_BODY = 2048  # the boards of these vectors buffer 2 KB: a JPEG's tables alone are ~600 bytes
WITH_JPEG = accept(mask=17, max_body=JPEG_BODY) + begin(1)
JPEG_STREAMS = {
    "jpeg_full_picture": WITH_JPEG + rect(0, 0, W, H, 4, jpeg(PICTURE)) + end(1),
    "jpeg_grey": WITH_JPEG + rect(0, 0, W, H, 4, jpeg(PICTURE, "L")) + end(1),
    "jpeg_in_a_rect": WITH_JPEG + FULL_RAW + rect(1, 1, 2, 2, 4, jpeg([row[:2] for row in PICTURE[:2]])) + end(1),
    "error_jpeg_not_accepted": accept(mask=1, max_body=JPEG_BODY) + begin(1) + rect(0, 0, W, H, 4, jpeg(PICTURE)),
    "error_jpeg_size_mismatch": WITH_JPEG + rect(1, 1, 2, 2, 4, jpeg(PICTURE)),
    "error_jpeg_truncated": WITH_JPEG + rect(0, 0, W, H, 4, jpeg(PICTURE)[:-40]),
    "error_jpeg_not_a_jpeg": WITH_JPEG + rect(0, 0, W, H, 4, b"GIF89a" + bytes(40)),
    "error_jpeg_progressive": WITH_JPEG + rect(0, 0, W, H, 4, jpeg(PICTURE, progressive=True)),
}


def keep(offset: int) -> bytes:
    return msg(0x23, struct.pack("<H", offset))


def cached(x: int, y: int, w: int, h: int, offset: int, extra: bytes = b"") -> bytes:
    return rect(x, y, w, h, 5, struct.pack("<H", offset) + extra)


CACHE_PIXELS = 16384
# Streams for a board that offers CACHED too (mask 43: RAW, RUNS, LZ4, CACHED): a 16384-pixel cache.
WITH_CACHE = accept(mask=43) + begin(1)
CACHED_STREAMS = {
    "cached_keep_raw_then_draw": WITH_CACHE
    + keep(0)
    + rect(0, 0, 2, 1, 0, be_pixels(RED, GREEN))
    + cached(2, 2, 2, 1, 0)
    + end(1),
    "cached_keep_runs_drawn_in_another_shape": WITH_CACHE
    + keep(100)
    + rect(0, 0, 2, 2, 1, runs((3, BLUE), (1, WHITE)))
    + cached(3, 0, 1, 3, 101)
    + end(1),
    "cached_keep_lz4_at_the_end": WITH_CACHE
    + keep(CACHE_PIXELS - 4)
    + lz4_rect(1, 1, 2, 2, lz4_seq(be_pixels(RED, GREEN), 4, 4))
    + cached(0, 0, 4, 1, CACHE_PIXELS - 4)
    + end(1),
    "cached_across_frames": WITH_CACHE
    + keep(7)
    + FULL_RAW
    + end(1)
    + begin(2)
    + rect(0, 0, W, H, 1, runs((12, 0)))
    + cached(1, 1, 3, 2, 7 + 5)
    + end(2),
    "cached_little_endian": accept(flags=0, mask=43)
    + begin(1)
    + keep(3)
    + rect(0, 0, 2, 1, 0, struct.pack("<HH", RED, 0x1234))
    + cached(1, 2, 2, 1, 3)
    + end(1),
    "cached_keep_then_reject": WITH_CACHE + keep(0) + msg(0x11, b"server stopping"),
    "error_keep_not_accepted": accept(mask=11) + begin(1) + keep(0) + rect(0, 0, 1, 1, 0, be_pixels(RED)),
    "error_cached_not_accepted": accept(mask=11) + begin(1) + cached(0, 0, 1, 1, 0),
    "error_keep_outside_frame": accept(mask=43) + keep(0),
    "error_keep_body_short": WITH_CACHE + msg(0x23, b"\x00"),
    "error_keep_then_frame_end": WITH_CACHE + keep(0) + end(1),
    "error_keep_then_keep": WITH_CACHE + keep(0) + keep(4) + rect(0, 0, 1, 1, 0, be_pixels(RED)),
    "error_keep_before_cached": WITH_CACHE + keep(0) + cached(0, 0, 1, 1, 8),
    "error_keep_past_the_end": WITH_CACHE + keep(CACHE_PIXELS - 1) + rect(0, 0, 2, 1, 0, be_pixels(RED, GREEN)),
    "error_keep_offset_wrap": WITH_CACHE + keep(0xFFFF) + FULL_RAW,
    "error_cached_payload_short": WITH_CACHE + rect(0, 0, 1, 1, 5, b"\x00"),
    "error_cached_payload_long": WITH_CACHE + cached(0, 0, 1, 1, 0, extra=b"\x00"),
    "error_cached_past_the_end": WITH_CACHE + cached(0, 0, 2, 1, CACHE_PIXELS - 1),
    "error_cached_outside_display": WITH_CACHE + cached(3, 0, 2, 1, 0),
}


def rice_payload(pixels: list[list[int]], ks: list[tuple[int, int, int]], pad: int = 0, extra: bytes = b"") -> bytes:
    """RICE bits written out plainly (an implementation apart from common/encodings.py): `ks` per group
    of 32 pixels, `pad` as the padding bits' value."""
    h, w = len(pixels), len(pixels[0])
    bits = ""
    values = [[[(p >> shift) & ((1 << size) - 1) for p in row] for row in pixels] for shift, size in RICE_CHANNELS]
    for i in range(w * h):
        y, x = divmod(i, w)
        if i % 32 == 0:
            bits += "".join(format(k, "03b") for k in ks[i // 32])
        for c, (_, size) in enumerate(RICE_CHANNELS):
            v = values[c]
            if y == 0:
                predicted = v[0][x - 1] if x else 0
            elif x == 0:
                predicted = v[y - 1][0]
            else:
                up_right = v[y - 1][x + 1] if x + 1 < w else v[y - 1][x]
                predicted = (2 * v[y][x - 1] + v[y - 1][x] + up_right + 2) // 4
            residual = (v[y][x] - predicted) % (1 << size)
            signed = residual - (1 << size) if residual >= 1 << (size - 1) else residual
            u = 2 * signed if signed >= 0 else -2 * signed - 1
            k = ks[i // 32][c]
            bits += "0" * (u >> k) + "1" + (format(u & ((1 << k) - 1), f"0{k}b") if k else "")
    bits += format(pad, "07b")[: -len(bits) % 8] if len(bits) % 8 else ""
    return int(bits, 2).to_bytes(len(bits) // 8, "big") + extra


def rice_rect(x: int, y: int, pixels: list[list[int]], ks: list[tuple[int, int, int]], **options) -> bytes:
    return rect(x, y, len(pixels[0]), len(pixels), 6, rice_payload(pixels, ks, **options))


RICE_CHANNELS = ((11, 5), (5, 6), (0, 5))
GRADIENT = [[(8 * y + x) * 0x0821 + 0x1000 * (x % 2) for x in range(4)] for y in range(3)]
WIDE_W, WIDE_H = 10, 4  # 40 pixels: a second group of 8
WIDE = [
    [((x * 3 + y * 5) % 32) << 11 | ((x * y) % 64) << 5 | (31 - x - y) for x in range(WIDE_W)] for y in range(WIDE_H)
]
# Streams for a board that offers RICE (mask 67: RAW, RUNS, RICE): its block buffer holds a RECT.
WITH_RICE = accept(mask=67) + begin(1)
RICE_STREAMS = {
    "rice_single_pixel": WITH_RICE + rice_rect(3, 2, [[RED]], [(0, 0, 0)]) + end(1),
    "rice_gradient": WITH_RICE + rice_rect(0, 0, GRADIENT, [(1, 2, 0)]) + end(1),
    "rice_parameters_above_the_channel": WITH_RICE + rice_rect(0, 0, GRADIENT, [(7, 7, 6)]) + end(1),
    "rice_padding_bits_ignored": WITH_RICE + rice_rect(1, 1, [[BLUE, GREEN]], [(0, 1, 0)], pad=0x7F) + end(1),
    "rice_little_endian": accept(flags=0, mask=67) + begin(1) + rice_rect(0, 1, GRADIENT[:2], [(2, 2, 2)]) + end(1),
    "error_rice_not_accepted": accept(mask=3) + begin(1) + rice_rect(0, 0, [[RED]], [(0, 0, 0)]),
    "error_rice_overflow": WITH_RICE + rect(0, 0, 1, 1, 6, b"\x00" * 6),  # k 0: 32 zero bits pass R's 31
    "error_rice_overflow_with_k": WITH_RICE + rect(0, 0, 1, 1, 6, bytes([0b00001100, 0b01000000, 0b00000000])),
    "error_rice_truncated_header": WITH_RICE + rect(0, 0, 1, 1, 6, b"\x00"),
    "error_rice_truncated_code": WITH_RICE + rect(0, 0, 2, 1, 6, rice_payload([[RED, GREEN]], [(0, 0, 0)])[:2]),
    "error_rice_empty": WITH_RICE + rect(0, 0, 1, 1, 6, b""),
    "error_rice_trailing": WITH_RICE + rice_rect(0, 0, [[RED]], [(0, 0, 0)], extra=b"\x00"),
    "error_rice_keep_then_overflow": accept(mask=107) + begin(1) + keep(0) + rect(0, 0, 1, 1, 6, b"\x00" * 6),
}
WIDE_RICE_STREAMS = {
    "rice_two_groups": accept(mask=67) + begin(1) + rice_rect(0, 0, WIDE, [(1, 1, 1), (3, 0, 2)]) + end(1),
    "rice_kept_then_cached": accept(mask=107)
    + begin(1)
    + keep(5)
    + rice_rect(0, 0, WIDE[:2], [(1, 2, 1)])
    + cached(0, 2, WIDE_W, 2, 5)
    + end(1),
}
# A board buffering 64 bytes: a 10x3 RICE RECT (9 + 60 bytes decoded) does not fit its block buffer.
RICE_PAST_THE_BUFFER = accept(mask=67, max_body=64) + begin(1) + rice_rect(0, 0, WIDE[:3], [(2, 2, 2)])


def leb128(value: int, length: int = 0) -> bytes:
    """`value` in LEB128, padded with continuation bytes to `length` bytes if given (still valid)."""
    out = bytearray()
    while True:
        out.append(value & 0x7F)
        value >>= 7
        if not value and len(out) >= length:
            break
        out[-1] |= 0x80
    return bytes(out)


def recolor_payload(pairs: list[tuple[int, int]], patches: list[bytes | tuple[int, int]], big: bool = True) -> bytes:
    """A count, the (from, to) pairs and the patches ((skip, pixel), or bytes as they are)."""
    pixel = ">H" if big else "<H"
    body = struct.pack("<H", len(pairs)) + b"".join(struct.pack(pixel, a) + struct.pack(pixel, b) for a, b in pairs)
    for patch in patches:
        body += patch if isinstance(patch, bytes) else leb128(patch[0]) + struct.pack(pixel, patch[1])
    return body


def recolor(
    x: int, y: int, w: int, h: int, pairs: list[tuple[int, int]], patches: list = (), big: bool = True
) -> bytes:
    return rect(x, y, w, h, 7, recolor_payload(pairs, list(patches), big))


# Streams for a board that reads its panel and buffers a RECT (mask 135: RAW, RUNS, COPY, RECOLOR),
# on a picture of few colours: RED RED GREEN GREEN / BLUE RED WHITE WHITE / GREEN GREEN BLUE BLUE.
SCENE = [RED, RED, GREEN, GREEN, BLUE, RED, WHITE, WHITE, GREEN, GREEN, BLUE, BLUE]
WITH_RECOLOR = accept(mask=135) + begin(1) + rect(0, 0, W, H, 0, be_pixels(*SCENE))
RECOLOR_STREAMS = {
    "recolor_table": WITH_RECOLOR + recolor(0, 0, W, H, [(BLUE, RED), (RED, WHITE)]) + end(1),
    "recolor_unlisted_colours_stay": WITH_RECOLOR + recolor(0, 0, W, H, [(GREEN, 0), (0x1234, BLUE)]) + end(1),
    "recolor_inside_a_box": WITH_RECOLOR + recolor(1, 1, 2, 2, [(GREEN, BLUE), (RED, GREEN)]) + end(1),
    "recolor_patches_only": WITH_RECOLOR + recolor(0, 0, W, H, [], [(0, 0x1111), (0, 0x2222), (9, 0x3333)]) + end(1),
    "recolor_patch_before_the_table": WITH_RECOLOR + recolor(0, 0, W, H, [(RED, BLUE)], [(5, GREEN)]) + end(1),
    "recolor_patches_in_a_box": WITH_RECOLOR + recolor(1, 0, 3, 3, [(GREEN, RED)], [(2, 0x0001), (5, 0x0002)]) + end(1),
    "recolor_skip_in_two_bytes": WITH_RECOLOR + recolor(0, 0, W, H, [], [leb128(3, 2) + be_pixels(0x4444)]) + end(1),
    "recolor_skip_in_four_bytes": WITH_RECOLOR + recolor(0, 0, W, H, [], [leb128(11, 4) + be_pixels(0x5555)]) + end(1),
    "recolor_nothing": WITH_RECOLOR + recolor(0, 0, W, H, []) + end(1),
    "recolor_to_itself": WITH_RECOLOR + recolor(0, 0, W, H, [(RED, RED)]) + end(1),
    "recolor_then_drawn_over": WITH_RECOLOR
    + recolor(0, 0, W, H, [(RED, BLUE)])
    + rect(0, 0, 1, 1, 0, be_pixels(WHITE))
    + end(1),
    "recolor_across_frames": WITH_RECOLOR
    + end(1)
    + begin(2)
    + recolor(0, 0, W, H, [(BLUE, GREEN)])
    + end(2)
    + begin(3)
    + recolor(0, 0, W, H, [(GREEN, WHITE)], [(11, RED)])
    + end(3),
    # 0x00FF < 0x0100 as numbers, though their little-endian bytes (FF 00, 00 01) sort the other way.
    "recolor_little_endian_sorted_as_numbers": accept(flags=0, mask=135)
    + begin(1)
    + rect(0, 0, 2, 1, 0, struct.pack("<HH", 0x00FF, 0x0100))
    + recolor(0, 0, 2, 1, [(0x00FF, RED), (0x0100, GREEN)], [(1, BLUE)], big=False)
    + end(1),
    "error_recolor_not_accepted": accept(mask=7) + begin(1) + recolor(0, 0, W, H, [(RED, BLUE)]),
    "error_recolor_empty": WITH_RECOLOR + rect(0, 0, W, H, 7, b""),
    "error_recolor_count_cut": WITH_RECOLOR + rect(0, 0, W, H, 7, b"\x01"),
    "error_recolor_table_short": WITH_RECOLOR + rect(0, 0, W, H, 7, struct.pack("<H", 2) + be_pixels(RED, BLUE, GREEN)),
    "error_recolor_unsorted": WITH_RECOLOR + recolor(0, 0, W, H, [(GREEN, RED), (RED, GREEN), (BLUE, WHITE)]),
    "error_recolor_same_colour_twice": WITH_RECOLOR + recolor(0, 0, W, H, [(RED, GREEN), (RED, BLUE)]),
    "error_recolor_unsorted_little_endian": accept(flags=0, mask=135)
    + begin(1)
    + recolor(0, 0, W, H, [(0x0100, RED), (0x00FF, GREEN)], big=False),
    "error_recolor_patch_past_the_box": WITH_RECOLOR + recolor(0, 0, W, H, [], [(12, RED)]),
    "error_recolor_later_patch_past_the_box": WITH_RECOLOR + recolor(1, 1, 2, 2, [], [(2, RED), (0, GREEN), (0, BLUE)]),
    "error_recolor_skip_in_five_bytes": WITH_RECOLOR + recolor(0, 0, W, H, [], [leb128(0, 5) + be_pixels(RED)]),
    "error_recolor_skip_cut": WITH_RECOLOR + recolor(0, 0, W, H, [(RED, BLUE)], [b"\x80"]),
    "error_recolor_patch_without_pixel": WITH_RECOLOR + recolor(0, 0, W, H, [], [b"\x00"]),
    "error_recolor_patch_pixel_cut": WITH_RECOLOR + recolor(0, 0, W, H, [], [(0, RED), b"\x00\xf8"]),
    "error_recolor_unsorted_before_bad_patch": WITH_RECOLOR + recolor(0, 0, W, H, [(RED, 0), (GREEN, 0)], [(20, RED)]),
    "error_recolor_keep_before": accept(mask=167) + begin(1) + keep(0) + recolor(0, 0, W, H, [(RED, BLUE)]),
}
# A board buffering 64 bytes: a RECOLOR body of 9 + 2 + 14 * 4 bytes does not fit.
RECOLOR_PAST_THE_BUFFER = (
    accept(mask=135, max_body=64) + begin(1) + recolor(0, 0, W, H, [(i, i + 1) for i in range(14)])
)


def cells(x: int, y: int, w: int, h: int, cell_w: int, cell_h: int, offsets: list[int], extra: bytes = b"") -> bytes:
    return rect(x, y, w, h, 8, struct.pack("<BB", cell_w, cell_h) + struct.pack(f"<{len(offsets)}H", *offsets) + extra)


# Streams for a board with a cache and a block buffer (mask 299: RAW, RUNS, LZ4, CACHED, CELLS); the
# cache holds RED GREEN BLUE WHITE at 0..3 in most of them (cells read only what was kept).
WITH_CELLS = accept(mask=299) + begin(1)
KEPT = WITH_CELLS + keep(0) + rect(0, 0, W, 1, 0, be_pixels(RED, GREEN, BLUE, WHITE))
CELLS_STREAMS = {
    "cells_two_wide": KEPT + cells(0, 1, 4, 2, 2, 1, [0, 2, 2, 0]) + end(1),
    "cells_two_high": KEPT + cells(1, 0, 2, 2, 1, 2, [2, 0]) + end(1),
    "cells_one_pixel_each": KEPT + cells(0, 0, W, H, 1, 1, [3, 2, 1, 0, 0, 0, 1, 1, 2, 3, 3, 2]) + end(1),
    "cells_one_cell_is_the_box": KEPT + cells(1, 1, 2, 2, 2, 2, [0]) + end(1),
    "cells_same_cell_everywhere": KEPT + cells(0, 0, W, H, 2, 1, [1] * 6) + end(1),
    "cells_at_the_cache_end": WITH_CELLS
    + keep(CACHE_PIXELS - 2)
    + rect(2, 2, 2, 1, 0, be_pixels(BLUE, RED))
    + cells(0, 0, 4, 1, 2, 1, [CACHE_PIXELS - 2, CACHE_PIXELS - 2])
    + end(1),
    "cells_then_drawn_over": KEPT + cells(0, 0, W, 2, 4, 1, [0, 0]) + rect(1, 1, 1, 1, 0, be_pixels(0x1234)) + end(1),
    "cells_across_frames": KEPT + end(1) + begin(2) + cells(0, 0, W, H, 4, 1, [0, 0, 0]) + end(2),
    "cells_little_endian": accept(flags=0, mask=299)
    + begin(1)
    + keep(5)
    + rect(0, 0, 2, 1, 0, struct.pack("<HH", RED, 0x1234))
    + cells(0, 1, 4, 1, 2, 1, [5, 5])
    + end(1),
    "error_cells_not_accepted": accept(mask=43) + begin(1) + cells(0, 0, 1, 1, 1, 1, [0]),
    "error_cells_accepted_without_cached": accept(mask=267),
    "error_cells_without_size": WITH_CELLS + rect(0, 0, W, H, 8, b"\x02"),
    "error_cells_zero_wide": WITH_CELLS + cells(0, 0, W, H, 0, 1, [0]),
    "error_cells_zero_high": WITH_CELLS + cells(0, 0, W, H, 1, 0, [0]),
    "error_cells_width_not_whole": WITH_CELLS + cells(0, 0, W, 1, 3, 1, [0]),
    "error_cells_height_not_whole": WITH_CELLS + cells(0, 0, 1, H, 1, 2, [0]),
    "error_cells_offsets_short": WITH_CELLS + cells(0, 0, W, 1, 2, 1, [0]),
    "error_cells_offsets_long": WITH_CELLS + cells(0, 0, W, 1, 2, 1, [0, 0, 0]),
    "error_cells_half_an_offset": WITH_CELLS + cells(0, 0, W, 1, 2, 1, [0], extra=b"\x00"),
    "error_cells_past_the_cache": WITH_CELLS + cells(0, 0, 2, 1, 2, 1, [CACHE_PIXELS - 1]),
    "error_cells_last_past_the_cache": KEPT + cells(0, 0, W, H, 2, 1, [0, 0, 0, 0, 0, CACHE_PIXELS - 1]),
    "error_cells_bad_grid_before_size": WITH_CELLS + cells(0, 0, W, 1, 3, 1, [CACHE_PIXELS]),
    "error_cells_keep_before": WITH_CELLS + keep(0) + cells(0, 0, 1, 1, 1, 1, [0]),
}

HELLOS = {
    "minimal": b"TFTS\x01" + struct.pack("<HHHH", 320, 240, 1, 64) + b"\x04main\x00\x00",
    "full": b"TFTS\x01" + struct.pack("<HHHH", 240, 240, 3, 16384) + b"\x04desk\x05fw1.0\x06secret",
    "error_bad_magic": b"GET / HTTP/1.1\r\n\r\n",
    "error_bad_version": b"TFTS\x02" + struct.pack("<HHHH", 320, 240, 1, 64) + b"\x04main\x00\x00",
    "error_no_raw": b"TFTS\x01" + struct.pack("<HHHH", 320, 240, 2, 64) + b"\x04main\x00\x00",
    "error_small_buffer": b"TFTS\x01" + struct.pack("<HHHH", 320, 240, 1, 63) + b"\x04main\x00\x00",
    "error_zero_size": b"TFTS\x01" + struct.pack("<HHHH", 0, 240, 1, 64) + b"\x04main\x00\x00",
    "error_bad_name": b"TFTS\x01" + struct.pack("<HHHH", 320, 240, 1, 64) + b"\x04ma n\x00\x00",
    "error_empty_name": b"TFTS\x01" + struct.pack("<HHHH", 320, 240, 1, 64) + b"\x00\x00\x00",
    "error_name_past_end": b"TFTS\x01" + struct.pack("<HHHH", 320, 240, 1, 64) + b"\x09main",
    "error_trailing_bytes": b"TFTS\x01" + struct.pack("<HHHH", 320, 240, 1, 64) + b"\x04main\x00\x00!",
    "error_truncated_fixed": b"TFTS\x01\x40",
}


def framebuffer_rows(framebuffer) -> list[str]:
    return [" ".join(f"{v:04x}" for v in row) for row in framebuffer.tolist()]


def device_vector(
    name: str, stream: bytes, encodings: int = 3, max_body: int = 256, size: tuple[int, int] = (W, H)
) -> dict:
    board = BoardStream(*size, mask_to_encodings(encodings), max_body=max_body)
    vector: dict = {"name": name, "width": size[0], "height": size[1], "max_body": max_body, "encodings": encodings}
    vector["hex"] = stream.hex()
    try:
        board.feed(stream)
    except ProtocolError as error:
        vector["error"] = error.code
        return vector
    vector["decoded"] = {
        "framebuffer": framebuffer_rows(board.framebuffer),
        "acks": board.completed,
        "rejected": board.rejected,
    }
    return vector


def hello_vector(name: str, body: bytes) -> dict:
    vector: dict = {"name": name, "hex": msg(0x01, body).hex()}
    try:
        h = parse_hello(body)
    except ProtocolError as error:
        vector["error"] = error.code
        return vector
    vector["decoded"] = {
        "width": h.width,
        "height": h.height,
        "encodings": sorted(e.name for e in h.encodings),
        "max_body": h.max_body,
        "display": h.display,
        "firmware": h.firmware,
        "token": h.token.decode(),
    }
    return vector


def main() -> None:
    files = {
        "device_stream.json": [device_vector(n, s) for n, s in DEVICE_STREAMS.items()]
        + [device_vector(n, s, encodings=7) for n, s in COPY_STREAMS.items()]
        + [device_vector(n, s, encodings=11) for n, s in LZ4_STREAMS.items()]
        + [device_vector(n, s, encodings=17, max_body=JPEG_BODY) for n, s in JPEG_STREAMS.items()]
        + [device_vector(n, s, encodings=43) for n, s in CACHED_STREAMS.items()]
        + [device_vector(n, s, encodings=107) for n, s in RICE_STREAMS.items()]
        + [
            device_vector(n, s, encodings=107, max_body=1024, size=(WIDE_W, WIDE_H))
            for n, s in WIDE_RICE_STREAMS.items()
        ]
        + [device_vector("error_rice_past_the_block_buffer", RICE_PAST_THE_BUFFER, 67, 64, (WIDE_W, WIDE_H))]
        + [device_vector(n, s, encodings=167) for n, s in RECOLOR_STREAMS.items()]
        + [device_vector("error_recolor_past_the_block_buffer", RECOLOR_PAST_THE_BUFFER, 135, 64)]
        + [device_vector(n, s, encodings=299) for n, s in CELLS_STREAMS.items()],
        "hello.json": [hello_vector(n, b) for n, b in HELLOS.items()],
    }
    for filename, vectors in files.items():
        (HERE / filename).write_text(json.dumps(vectors, indent=1) + "\n")
        print(f"wrote {len(vectors)} vectors to {HERE / filename}")


if __name__ == "__main__":
    main()
