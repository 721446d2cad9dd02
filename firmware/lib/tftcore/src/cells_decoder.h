// CELLS (encoding 8): a box drawn from cells of the bitmap cache. A scrolled terminal's text is a
// grid of glyph cells the board already holds (KEEP put them there), so the server sends 2 bytes
// a cell instead of its pixels, and the board reads nothing back from the panel (unlike COPY).
// Payload: `cw u8, ch u8` (the cell size; they divide the RECT's w and h), then one `offset u16`
// (little-endian, in cache pixels) per cell of the (w/cw) x (h/ch) grid, row-major: the cell's
// cw*ch pixels are the cache's from `offset` on, row-major, as they came (the ACCEPT byte order).
//
// The parser collects the whole payload in the block buffer (like RECOLOR); check_cells() judges
// all of it before a pixel changes. draw_cells() then gathers the box's pixel rows cell by cell
// from the cache into COPY's strip (the two never run together), one memcpy per cell row, and
// pushes them through the RectWriter: bands of whole rows when a row fits the strip, else pieces
// of a row. Nothing lives between RECTs but the cache, so there is no decoder object.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "display.h"
#include "error.h"
#include "rect_copier.h"
#include "rect_writer.h"

namespace tft {

// The first problem of `payload` for a `w` x `h` box: the grid, then the size, then each cell in
// order against the bitmap cache's end; or Error::none.
Error check_cells(const uint8_t* payload, size_t size, uint16_t w, uint16_t h);

// Draws `box` (inside the display) through `out` from `cache` (kCachePixels pixels, in `order`, the
// ACCEPT's) by a payload check_cells() accepted for its size, gathering the pixels in `copier`'s
// strip, in pieces of its piece limit (tests and the fuzzer shrink them).
void draw_cells(RectWriter& out, RectCopier& copier, const Window& box, PixelOrder order, const uint8_t* payload,
                const uint8_t* cache);

}  // namespace tft
