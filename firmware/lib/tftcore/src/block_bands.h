// Pixels a decoder writes into the board's block buffer (LZ4, RICE), on their way to the display:
// in bands of whole rows as they complete (one window each, so a panel with DMA draws while the
// rest of a large RECT decodes), and whatever whole pixels are left at the end of each network
// piece (flush), so the panel never lags the stream.
#pragma once

#include <stdint.h>

#include "rect_writer.h"

#ifndef TFT_BAND_PIXELS
#define TFT_BAND_PIXELS 256
#endif

namespace tft {

class BlockBands {
 public:
  static constexpr uint32_t kBandPixels = TFT_BAND_PIXELS;
  static_assert(kBandPixels >= 1, "a band is at least one pixel");

  BlockBands(RectWriter& out, const uint8_t* block) : out_(out), block_(block) {}

  // A new RECT whose rows are `row_pixels` long (>= 1).
  void begin(uint16_t row_pixels) {
    const uint32_t rows = (kBandPixels + row_pixels - 1) / row_pixels;
    band_ = 2 * rows * row_pixels;
    drawn_ = 0;
    next_ = band_;
  }
  // Byte count of the buffer at which the next band is complete: call draw() once `produced` reaches it.
  uint32_t next() const { return next_; }
  // The whole bands in the first `produced` bytes.
  void draw(uint32_t produced) {
    const uint32_t to = produced - produced % band_;
    if (to > drawn_) {
      out_.push(block_ + drawn_, (to - drawn_) / 2);
      drawn_ = to;
    }
    next_ = to + band_;
  }
  // Every whole pixel in the first `produced` bytes (a byte of a pixel waits for the other one).
  void flush(uint32_t produced) {
    const uint32_t to = produced & ~1u;
    if (to == drawn_) return;
    out_.push(block_ + drawn_, (to - drawn_) / 2);
    drawn_ = to;
  }

 private:
  RectWriter& out_;
  const uint8_t* const block_;
  uint32_t band_ = 0;   // bytes of a band of whole rows
  uint32_t drawn_ = 0;  // bytes handed to the display
  uint32_t next_ = 0;
};

}  // namespace tft
