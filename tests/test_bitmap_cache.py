"""The server's copy of a board's bitmap cache: where blocks go, what a new one pushes out."""

from __future__ import annotations

import numpy as np

from common.bitmap_cache import EMPTY, digest
from common.protocol import CACHE_PIXELS


def test_blocks_take_the_next_free_place_and_the_old_state_stays_as_it_was() -> None:
    one, a = EMPTY.keep(b"a", 100)
    two, b = a.keep(b"b", 50)
    assert (one, two) == (0, 100)
    assert (b.offset_of(b"a"), b.offset_of(b"b")) == (0, 100)
    assert a.offset_of(b"b") is None and EMPTY.offset_of(b"a") is None


def test_a_block_that_does_not_fit_before_the_end_wraps_to_zero_and_pushes_out_what_it_covers() -> None:
    state = EMPTY
    for name, pixels in ((b"a", 6000), (b"b", 6000), (b"c", 4000)):
        _, state = state.keep(name, pixels)
    offset, state = state.keep(b"d", 7000)  # 16000 + 7000 > 16384: wraps, covers a and the start of b
    assert offset == 0
    assert [state.offset_of(n) for n in (b"a", b"b", b"c", b"d")] == [None, None, 12000, 0]
    offset, state = state.keep(b"e", CACHE_PIXELS - 7000)  # exactly the rest
    assert offset == 7000 and state.offset_of(b"c") is None and state.offset_of(b"d") == 0


def test_a_block_goes_past_the_spared_ones_wrapping_if_it_must_and_over_them_only_if_nothing_else_is_free() -> None:
    state = EMPTY
    for name, pixels in ((b"a", 6000), (b"b", 6000), (b"c", 4000)):
        _, state = state.keep(name, pixels)
    offset, after = state.keep(b"d", 5000, spare={b"a"})  # the ring's next place would cover a
    assert offset == 6000 and [after.offset_of(n) for n in (b"a", b"b", b"c")] == [0, None, 12000]
    offset, after = state.keep(b"d", 3000, spare={b"a", b"b"})  # past a and b: over c
    assert offset == 12000 and after.offset_of(b"c") is None
    offset, after = state.keep(b"d", 5000, spare={b"a", b"b", b"c"})  # no room beside them: the ring's place
    assert offset == 0 and after.offset_of(b"a") is None


def test_the_digest_tells_apart_equal_bytes_in_other_shapes() -> None:
    pixels = np.arange(12, dtype=np.uint16)
    assert digest(pixels.reshape(3, 4)) != digest(pixels.reshape(4, 3))
    assert digest(pixels.reshape(3, 4)) == digest(pixels.copy().reshape(3, 4))
    assert digest(pixels.reshape(3, 4)) != digest((pixels + 1).reshape(3, 4))
