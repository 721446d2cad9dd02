// A Display that keeps every pixel in memory: the virtual device's screen and the tests' panel.
// It re-checks each window the core hands it and counts (and ignores) any outside the screen,
// so tests and the fuzzer can assert the core never tries to write out of bounds. It reads back
// (COPY) unless built `readable = false`, a panel without MISO: a read then counts as a violation.
#pragma once

#include <stdint.h>

#include <string>
#include <vector>

#include "display.h"

namespace tft::host {

class FramebufferDisplay : public Display {
 public:
  FramebufferDisplay(uint16_t width, uint16_t height, bool readable = true);
  virtual ~FramebufferDisplay() = default;

  uint16_t width() const override { return width_; }
  uint16_t height() const override { return height_; }
  void push_pixels(const Window& window, const uint8_t* pixels, PixelOrder order) override;
  void fill_rect(const Window& window, uint16_t rgb565) override;
  void draw_text(uint16_t x, uint16_t y, const char* text, uint16_t fg, uint16_t bg) override;
  bool can_read() const override { return readable_; }
  void read_pixels(const Window& window, uint8_t* pixels, PixelOrder order) override;

  uint16_t pixel(uint16_t x, uint16_t y) const { return pixels_[static_cast<size_t>(y) * width_ + x]; }
  const std::vector<uint16_t>& pixels() const { return pixels_; }
  uint64_t pixels_pushed() const { return pixels_pushed_; }  // for the SPI time model
  uint64_t pixels_read() const { return pixels_read_; }
  uint64_t push_calls() const { return push_calls_; }
  uint64_t read_calls() const { return read_calls_; }
  // Windows outside the screen, and reads of a display built unreadable (must stay 0).
  uint32_t violations() const { return violations_; }
  const std::string& last_text() const { return last_text_; }
  bool take_dirty();  // true once after the framebuffer changed

 private:
  bool inside(const Window& window);

  uint16_t width_;
  uint16_t height_;
  bool readable_;
  std::vector<uint16_t> pixels_;
  uint64_t pixels_pushed_ = 0;
  uint64_t pixels_read_ = 0;
  uint64_t push_calls_ = 0;
  uint64_t read_calls_ = 0;
  uint32_t violations_ = 0;
  std::string last_text_;
  bool dirty_ = false;
};

}  // namespace tft::host
