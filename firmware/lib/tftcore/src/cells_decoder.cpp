#include "cells_decoder.h"

#include "protocol.h"

namespace tft {

namespace {

// A checked payload's grid, over the cache it draws from.
struct Grid {
  const uint8_t* offsets;  // in the block buffer, one u16 per cell, row-major
  const uint8_t* cache;
  uint32_t cell_w, cell_h;
  uint32_t columns;  // cells in a row of the grid
};

// `count` pixels of the box's pixel row `row` from column `col` on (inside the row), into `to`:
// a piece of each cell they cross, one memcpy each (check_cells() kept every cell inside the cache).
void gather(const Grid& grid, uint32_t row, uint32_t col, uint32_t count, uint8_t* to) {
  const uint8_t* offset = grid.offsets + 2 * ((row / grid.cell_h) * grid.columns + col / grid.cell_w);
  const uint8_t* const line = grid.cache + 2 * (row % grid.cell_h) * grid.cell_w;  // this row of a cell at 0
  uint32_t skip = col % grid.cell_w;  // pixels of the first cell left of `col`
  while (count > 0) {
    const uint32_t n = grid.cell_w - skip < count ? grid.cell_w - skip : count;
    __builtin_memcpy(to, line + 2 * (read_u16le(offset) + skip), 2 * n);
    to += 2 * n;
    count -= n;
    offset += 2;
    skip = 0;
  }
}

}  // namespace

Error check_cells(const uint8_t* payload, size_t size, uint16_t w, uint16_t h) {
  if (size < kCellsHeader) return Error::cells_bad_grid;
  const uint32_t cell_w = payload[0], cell_h = payload[1];
  if (cell_w == 0 || cell_h == 0 || w % cell_w != 0 || h % cell_h != 0) return Error::cells_bad_grid;
  // At most 4096 * 4096 cells (1x1 on the largest display): twice that still fits 32 bits.
  const uint32_t cells = (w / cell_w) * (h / cell_h);
  if ((size - kCellsHeader) % 2 != 0 || (size - kCellsHeader) / 2 != cells) return Error::cells_size_mismatch;
  const uint32_t cell_area = cell_w * cell_h;
  for (const uint8_t* offset = payload + kCellsHeader; offset != payload + size; offset += 2) {
    if (read_u16le(offset) + cell_area > kCachePixels) return Error::cells_overflow;
  }
  return Error::none;
}

void draw_cells(RectWriter& out, RectCopier& copier, const Window& box, PixelOrder order, const uint8_t* payload,
                const uint8_t* cache) {
  const uint32_t cell_w = payload[0];
  const Grid grid{payload + kCellsHeader, cache, cell_w, payload[1], box.w / cell_w};
  out.begin(box, order);
  uint8_t* const strip = copier.strip();
  const uint32_t limit = copier.piece_limit();
  // Whole rows per piece when a row fits (the writer then draws each piece as one window).
  const uint32_t piece = box.w <= limit ? limit - limit % box.w : limit;
  uint32_t filled = 0;
  for (uint32_t row = 0; row < box.h; ++row) {
    for (uint32_t col = 0; col < box.w;) {
      const uint32_t count = box.w - col < piece - filled ? box.w - col : piece - filled;
      gather(grid, row, col, count, strip + 2 * filled);
      col += count;
      filled += count;
      if (filled == piece) {
        out.push(strip, filled);
        filled = 0;
      }
    }
  }
  out.push(strip, filled);
}

}  // namespace tft
