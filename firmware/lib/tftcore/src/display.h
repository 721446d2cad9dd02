// The panel as the core sees it. A board adapter maps these to its driver (setAddrWindow +
// pushPixels, fillRect, drawString); the host has a framebuffer. The core validates every window
// before calling, so an implementation may trust that windows lie inside width() x height().
#pragma once

#include <stdint.h>

namespace tft {

struct Window {
  uint16_t x, y, w, h;
};

// Byte order of pixels on the wire; ACCEPT picks it. Big-endian is what an SPI panel takes,
// so a board can hand those bytes to the bus unchanged.
enum class PixelOrder : uint8_t { little_endian, big_endian };

class Display {
 public:
  virtual uint16_t width() const = 0;
  virtual uint16_t height() const = 0;
  // `pixels`: window.w * window.h RGB565 values, row-major, 2 bytes each in `order`, any alignment.
  virtual void push_pixels(const Window& window, const uint8_t* pixels, PixelOrder order) = 0;
  virtual void fill_rect(const Window& window, uint16_t rgb565) = 0;
  // One line of status text at (x, y) for the status screen; the font is the adapter's.
  virtual void draw_text(uint16_t x, uint16_t y, const char* text, uint16_t fg, uint16_t bg) = 0;

 protected:
  ~Display() = default;  // not virtual: never deleted through this interface (no heap on the board)
};

}  // namespace tft
