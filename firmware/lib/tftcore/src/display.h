// The panel as the core sees it. A board adapter maps these to its driver (setAddrWindow +
// pushPixels, fillRect, drawString, and readRect if the panel can be read); the host has a
// framebuffer. The core validates every window before calling, so an implementation may trust
// that windows lie inside width() x height().
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

  // Read-back, for the COPY encoding. A panel can be read only if its MISO/SDO line is wired, so
  // the default is "cannot": the board then never offers COPY and the core never calls read_pixels().
  virtual bool can_read() const { return false; }
  // Fills `pixels` with what the window shows now, as push_pixels() takes it: window.w * window.h
  // RGB565 values, row-major, 2 bytes each in `order`, any alignment. Called only if can_read().
  virtual void read_pixels(const Window& /*window*/, uint8_t* /*pixels*/, PixelOrder /*order*/) {}

 protected:
  ~Display() = default;  // not virtual: never deleted through this interface (no heap on the board)
};

}  // namespace tft
