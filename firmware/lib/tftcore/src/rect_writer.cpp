#include "rect_writer.h"

namespace tft {

void RectWriter::begin(const Window& rect, PixelOrder order, uint8_t* keep) {
  rect_ = rect;
  order_ = order;
  keep_ = keep;
  area_ = static_cast<uint32_t>(rect.w) * rect.h;  // <= 65535 * 65535, fits in 32 bits
  pos_ = 0;
}

void RectWriter::write(const uint8_t* pixels, uint32_t count, bool fill) {
  if (count > remaining()) count = remaining();
  uint16_t rgb565 = 0;
  if (fill && count > 0) {
    rgb565 = order_ == PixelOrder::big_endian ? static_cast<uint16_t>(pixels[0] << 8 | pixels[1])
                                              : static_cast<uint16_t>(pixels[1] << 8 | pixels[0]);
  }
  while (count > 0) {
    const uint16_t row = static_cast<uint16_t>(pos_ / rect_.w);
    const uint16_t col = static_cast<uint16_t>(pos_ % rect_.w);
    Window window{static_cast<uint16_t>(rect_.x + col), static_cast<uint16_t>(rect_.y + row), 0, 1};
    uint32_t n;
    if (col == 0 && count >= rect_.w) {
      // Whole rows in one window: one address-window setup for many pixels.
      const uint32_t rows = count / rect_.w;
      window.w = rect_.w;
      window.h = static_cast<uint16_t>(rows);
      n = rows * rect_.w;
    } else {
      const uint32_t left_in_row = rect_.w - col;
      n = count < left_in_row ? count : left_in_row;
      window.w = static_cast<uint16_t>(n);
    }
    if (keep_ != nullptr) {
      uint8_t* to = keep_ + 2 * static_cast<size_t>(pos_);
      for (uint32_t i = 0; i < n; ++i, to += 2) {
        to[0] = fill ? pixels[0] : pixels[2 * i];
        to[1] = fill ? pixels[1] : pixels[2 * i + 1];
      }
    }
    if (fill) {
      display_.fill_rect(window, rgb565);
    } else {
      display_.push_pixels(window, pixels, order_);
      pixels += 2 * n;
    }
    pos_ += n;
    count -= n;
  }
}

}  // namespace tft
