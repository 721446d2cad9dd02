// tft::Display over TFT_eSPI (Bodmer, 2.5.43): address window + pushPixels for pixels, fillRect,
// drawString with the GLCD font (font 1: 6x8 pixels per character at size 1).
//
// Pixels arrive from the network at any alignment and in the order ACCEPT chose. TFT_eSPI's
// ESP32 pushPixels reads the buffer as 32-bit words (and up to one word past the end), so each
// piece goes through a word-aligned staging buffer, byte-swapped there when the wire order is
// little-endian; TFT_eSPI never swaps (setSwapBytes(false)) and the panel gets big-endian bytes.
// The ESP32-C3 has no DMA in TFT_eSPI: the push is synchronous, and what overlaps it is the
// Wi-Fi/lwIP task filling the TCP window meanwhile.
//
// Read-back (for COPY) with readRect, only when built with TFTSTREAM_PANEL_READBACK=1 (the panel's
// MISO wired). readRect reads 3 bytes per pixel (RAMRD) at SPI_READ_FREQUENCY, and stores each as
// RGB565 with its two bytes exchanged ("for pushRect"): on the little-endian C3 that leaves the
// pixels big-endian in memory, the wire's big-endian order. begin() checks that a few pixels
// written read back the same, and turns read-back off if not (MISO not really wired, a panel
// that returns another format), so COPY is then not offered. Not verified on hardware.
#pragma once

#include <TFT_eSPI.h>
#include <stddef.h>
#include <stdint.h>

#include "board_config.h"
#include "display.h"

namespace board {

class TftDisplay : public tft::Display {
 public:
  static constexpr uint16_t kCharWidth = 6;  // font 1, size 1
  static constexpr uint16_t kCharHeight = 8;

  // `readback`: try to read the panel back (COPY); the build flag by default.
  explicit TftDisplay(TFT_eSPI& tft, bool readback = kPanelReadback) : tft_(tft), readback_(readback) {}
  virtual ~TftDisplay() = default;

  void begin(uint8_t rotation);  // init, rotate, check read-back if wanted, clear to black
  void clear() { tft_.fillScreen(TFT_BLACK); }

  uint16_t width() const override { return width_; }
  uint16_t height() const override { return height_; }
  void push_pixels(const tft::Window& window, const uint8_t* pixels, tft::PixelOrder order) override;
  void fill_rect(const tft::Window& window, uint16_t rgb565) override;
  void draw_text(uint16_t x, uint16_t y, const char* text, uint16_t fg, uint16_t bg) override;
  bool can_read() const override { return readback_; }  // after begin(): wanted and it worked
  void read_pixels(const tft::Window& window, uint8_t* pixels, tft::PixelOrder order) override;

  uint32_t take_draw_us();  // microseconds spent drawing (and reading back) since the last call

 private:
  static constexpr size_t kStagePixels = 256;

  bool readback_works();
  void read_piece(uint16_t x, uint16_t y, uint16_t w, uint16_t h, uint8_t* pixels, tft::PixelOrder order);

  TFT_eSPI& tft_;
  bool readback_;
  uint16_t width_ = 0;
  uint16_t height_ = 0;
  uint32_t draw_us_ = 0;
  uint32_t stage_[kStagePixels / 2 + 1] = {};  // +1 word: pushPixels may read one word past the end
};

}  // namespace board
