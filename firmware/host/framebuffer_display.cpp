#include "framebuffer_display.h"

namespace tft::host {

FramebufferDisplay::FramebufferDisplay(uint16_t width, uint16_t height, bool readable)
    : width_(width), height_(height), readable_(readable), pixels_(static_cast<size_t>(width) * height, 0) {}

bool FramebufferDisplay::inside(const Window& window) {
  const bool ok = window.w > 0 && window.h > 0 && static_cast<uint32_t>(window.x) + window.w <= width_ &&
                  static_cast<uint32_t>(window.y) + window.h <= height_;
  if (!ok) ++violations_;
  return ok;
}

void FramebufferDisplay::push_pixels(const Window& window, const uint8_t* pixels, PixelOrder order) {
  ++push_calls_;
  if (!inside(window)) return;
  const bool big = order == PixelOrder::big_endian;
  for (uint16_t row = 0; row < window.h; ++row) {
    uint16_t* out = &pixels_[static_cast<size_t>(window.y + row) * width_ + window.x];
    for (uint16_t col = 0; col < window.w; ++col, pixels += 2) {
      out[col] = big ? static_cast<uint16_t>(pixels[0] << 8 | pixels[1]) : static_cast<uint16_t>(pixels[1] << 8 | pixels[0]);
    }
  }
  pixels_pushed_ += static_cast<uint64_t>(window.w) * window.h;
  dirty_ = true;
}

void FramebufferDisplay::fill_rect(const Window& window, uint16_t rgb565) {
  if (!inside(window)) return;
  for (uint16_t row = 0; row < window.h; ++row) {
    for (uint16_t col = 0; col < window.w; ++col) pixels_[static_cast<size_t>(window.y + row) * width_ + window.x + col] = rgb565;
  }
  pixels_pushed_ += static_cast<uint64_t>(window.w) * window.h;
  dirty_ = true;
}

void FramebufferDisplay::read_pixels(const Window& window, uint8_t* pixels, PixelOrder order) {
  ++read_calls_;
  if (!readable_) {
    ++violations_;  // the core must not read a display that said it cannot
    return;
  }
  if (!inside(window)) return;
  const bool big = order == PixelOrder::big_endian;
  for (uint16_t row = 0; row < window.h; ++row) {
    const uint16_t* in = &pixels_[static_cast<size_t>(window.y + row) * width_ + window.x];
    for (uint16_t col = 0; col < window.w; ++col, pixels += 2) {
      const uint8_t high = static_cast<uint8_t>(in[col] >> 8), low = static_cast<uint8_t>(in[col]);
      pixels[0] = big ? high : low;
      pixels[1] = big ? low : high;
    }
  }
  pixels_read_ += static_cast<uint64_t>(window.w) * window.h;
}

void FramebufferDisplay::draw_text(uint16_t, uint16_t, const char* text, uint16_t, uint16_t) {
  last_text_ = text;  // no font on the host: tests read the text, the virtual device prints it
}

bool FramebufferDisplay::take_dirty() {
  const bool was = dirty_;
  dirty_ = false;
  return was;
}

}  // namespace tft::host
