// Streams the pixels of one validated rectangle to the display in row-major order, as row
// chunks: the decoders hand over pixels in whatever pieces the network delivered and this turns
// each piece into at most three windows (end of a row, whole rows, start of a row).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "display.h"

namespace tft {

class RectWriter {
 public:
  explicit RectWriter(Display& display) : display_(display) {}

  // `rect` must already lie inside the display (the parser checked it). With `keep`, every pixel
  // also goes there, as it goes to the display (2 * w * h bytes in `order`: the bitmap cache).
  void begin(const Window& rect, PixelOrder order, uint8_t* keep = nullptr);
  uint32_t remaining() const { return area_ - pos_; }
  // Writes up to `count` pixels (2 bytes each); anything past the rectangle is dropped, so a
  // decoder bug can cost pixels but can never write outside the rectangle.
  void push(const uint8_t* pixels, uint32_t count) { write(pixels, count, false); }
  // Writes up to `count` copies of one pixel (2 bytes in the wire order) as filled windows: at
  // most three (end of a row, whole rows, start of a row); clipped like push().
  void fill(const uint8_t pixel[2], uint32_t count) { write(pixel, count, true); }

 private:
  // push() (`fill` false) or fill() (true: `pixels` is the one pixel).
  void write(const uint8_t* pixels, uint32_t count, bool fill);

  Display& display_;
  Window rect_{0, 0, 0, 0};
  PixelOrder order_ = PixelOrder::big_endian;
  uint32_t area_ = 0;
  uint32_t pos_ = 0;  // pixels written so far
  uint8_t* keep_ = nullptr;
};

}  // namespace tft
