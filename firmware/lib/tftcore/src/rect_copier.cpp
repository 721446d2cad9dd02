#include "rect_copier.h"

namespace tft {

namespace {

uint32_t smaller(uint32_t a, uint32_t b) { return a < b ? a : b; }

}  // namespace

void RectCopier::copy(const Window& to, uint16_t from_x, uint16_t from_y) {
  if (to.x == from_x && to.y == from_y) return;  // onto itself: nothing changes
  const bool row_fits = to.w <= limit_;
  const uint32_t piece_w = row_fits ? to.w : limit_;
  const uint32_t piece_h = row_fits ? limit_ / to.w : 1;  // whole-row bands only when a row fits
  const bool bottom_up = to.y > from_y;
  const bool right_to_left = to.x > from_x;
  for (uint32_t done_h = 0; done_h < to.h; done_h += piece_h) {
    const uint32_t h = smaller(piece_h, to.h - done_h);
    const uint32_t row = bottom_up ? to.h - done_h - h : done_h;
    for (uint32_t done_w = 0; done_w < to.w; done_w += piece_w) {
      const uint32_t w = smaller(piece_w, to.w - done_w);
      const uint32_t col = right_to_left ? to.w - done_w - w : done_w;
      // Inside the display: the parser checked both boxes, and pieces lie inside the boxes.
      const Window from{static_cast<uint16_t>(from_x + col), static_cast<uint16_t>(from_y + row),
                        static_cast<uint16_t>(w), static_cast<uint16_t>(h)};
      move_piece(from, to.x + col, to.y + row);
    }
  }
}

void RectCopier::move_piece(const Window& from, uint32_t to_x, uint32_t to_y) {
  // Big-endian both ways: what a panel sends and takes, so a board adapter swaps nothing.
  display_.read_pixels(from, strip_, PixelOrder::big_endian);
  const Window to{static_cast<uint16_t>(to_x), static_cast<uint16_t>(to_y), from.w, from.h};
  display_.push_pixels(to, strip_, PixelOrder::big_endian);
}

}  // namespace tft
