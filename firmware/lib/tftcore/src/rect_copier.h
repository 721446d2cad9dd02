// COPY: moves a box of pixels the display already shows to another place on it, through a small
// strip buffer (no allocation, no whole-box buffer), with the result of a copy through a
// temporary buffer even when the boxes overlap.
//
// The box goes in pieces (read a window into the strip, push it back at the destination), in an
// order where no piece reads a pixel an earlier piece has overwritten:
// - rows bottom-up when the destination lies below the source, top-down otherwise: an earlier
//   piece wrote only destination rows on the far side of the rows being read;
// - when a row is wider than the strip, one row at a time, its chunks right-to-left when the
//   destination lies to the right, left-to-right otherwise (the same argument along the row);
// - when a row fits, bands of as many whole rows as fit: a band is read whole before any of it
//   is written, and every other band writes rows the rule above keeps away from it.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "display.h"

#ifndef TFT_COPY_STRIP_PIXELS
#define TFT_COPY_STRIP_PIXELS 256
#endif

namespace tft {

class RectCopier {
 public:
  // 256 pixels = 512 bytes of RAM. Each piece costs a fixed overhead on a panel (address window,
  // switching the bus to reading and back, a dummy byte): an estimated 15-25 us against ~410 us
  // to move 256 pixels (24-bit reads at 20 MHz, 16-bit writes at 40 MHz), so ~5 %; 128 pixels
  // would double that share, 512 halve it for twice the RAM. Rows up to 256 wide (the 240- and
  // 160-wide panels) move whole; a 320-wide row takes two pieces.
  static constexpr uint32_t kStripPixels = TFT_COPY_STRIP_PIXELS;
  static_assert(kStripPixels >= 1 && kStripPixels <= 0xFFFF, "a piece is at most one Window");

  explicit RectCopier(Display& display) : display_(display) {}

  // Pieces of at most `pixels` (tests and the fuzzer shrink them to reach the chunked paths on a
  // small display); 0 or more than kStripPixels means kStripPixels.
  void set_piece_limit(uint32_t pixels) { limit_ = pixels == 0 || pixels > kStripPixels ? kStripPixels : pixels; }
  uint32_t piece_limit() const { return limit_; }

  // Copies the `to.w` x `to.h` box at (from_x, from_y) to `to`. Both boxes must lie inside the
  // display and the display must be able to read (the parser checked both).
  void copy(const Window& to, uint16_t from_x, uint16_t from_y);

  // The strip, lent to RECOLOR (RecolorDecoder) and CELLS (CellsDecoder): each runs whole inside
  // one feed() call, never together, so one 512-byte buffer serves all three.
  uint8_t* strip() { return strip_; }

 private:
  void move_piece(const Window& from, uint32_t to_x, uint32_t to_y);

  Display& display_;
  uint32_t limit_ = kStripPixels;
  // Pixels big-endian, as read and as pushed back; 2-aligned for RECOLOR's whole-pixel loads.
  alignas(4) uint8_t strip_[2 * kStripPixels] = {};
};

}  // namespace tft
