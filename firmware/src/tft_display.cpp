#include "tft_display.h"

#include <Arduino.h>
#include <string.h>

#include "clock.h"

#if TFTSTREAM_PANEL_READBACK && defined(TFT_MISO) && TFT_MISO < 0
#error "TFTSTREAM_PANEL_READBACK=1 reads the panel: set TFT_MISO to the GPIO wired to its SDO/MISO"
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "read_piece() takes readRect's swapped 16-bit values as big-endian bytes: a little-endian CPU only"
#endif

namespace board {

void TftDisplay::begin(uint8_t rotation) {
  tft_.init();
  tft_.setRotation(rotation);
  tft_.setSwapBytes(false);
  tft_.setTextFont(1);
  tft_.setTextSize(1);
  tft_.setTextDatum(TL_DATUM);
  width_ = static_cast<uint16_t>(tft_.width());
  height_ = static_cast<uint16_t>(tft_.height());
  if (readback_) readback_ = readback_works();
  tft_.fillScreen(TFT_BLACK);
}

// Writes a few distinct pixels and reads them back: an unwired MISO reads a constant, a panel
// that swaps red and blue on reading or loses low bits reads something else. Either way COPY
// would copy wrong pixels, so it is better not offered.
bool TftDisplay::readback_works() {
  static const uint8_t kPattern[] = {0xF8, 0x00, 0x07, 0xE0, 0x00, 0x1F, 0x08, 0x21};  // R, G, B, low bits; big-endian
  constexpr uint16_t kCount = sizeof kPattern / 2;
  if (width_ < kCount || height_ < 1) return false;
  const tft::Window window{0, 0, kCount, 1};
  push_pixels(window, kPattern, tft::PixelOrder::big_endian);
  uint8_t back[sizeof kPattern] = {};
  read_piece(window.x, window.y, window.w, window.h, back, tft::PixelOrder::big_endian);
  return memcmp(back, kPattern, sizeof kPattern) == 0;
}

void TftDisplay::push_pixels(const tft::Window& window, const uint8_t* pixels, tft::PixelOrder order) {
  const uint32_t start = now_us();
  uint8_t* stage = reinterpret_cast<uint8_t*>(stage_);
  tft_.startWrite();
  tft_.setAddrWindow(window.x, window.y, window.w, window.h);
  uint32_t left = static_cast<uint32_t>(window.w) * window.h;
  while (left > 0) {
    const uint32_t n = left < kStagePixels ? left : kStagePixels;
    if (order == tft::PixelOrder::big_endian) {
      memcpy(stage, pixels, 2 * n);
    } else {
      for (uint32_t i = 0; i < n; ++i) {
        stage[2 * i] = pixels[2 * i + 1];
        stage[2 * i + 1] = pixels[2 * i];
      }
    }
    tft_.pushPixels(stage_, n);
    pixels += 2 * n;
    left -= n;
  }
  tft_.endWrite();
  draw_us_ += now_us() - start;
}

// Pieces of whole rows (or of one row, when a row is wider than the stage), each contiguous in
// `pixels`. The core asks for at most its COPY strip at once, so one piece is the usual case.
void TftDisplay::read_pixels(const tft::Window& window, uint8_t* pixels, tft::PixelOrder order) {
  if (!readback_ || window.w == 0 || window.h == 0) return;
  const uint32_t start = now_us();
  constexpr uint32_t kStage = kStagePixels;
  const bool row_fits = window.w <= kStage;
  const uint32_t piece_w = row_fits ? window.w : kStage;
  const uint32_t piece_h = row_fits ? kStage / window.w : 1;
  for (uint32_t row = 0; row < window.h; row += piece_h) {
    const uint32_t h = window.h - row < piece_h ? window.h - row : piece_h;
    for (uint32_t col = 0; col < window.w; col += piece_w) {
      const uint32_t w = window.w - col < piece_w ? window.w - col : piece_w;
      uint8_t* out = pixels + 2 * (row * window.w + col);
      // Inside the window, so inside 16 bits.
      read_piece(static_cast<uint16_t>(window.x + col), static_cast<uint16_t>(window.y + row), static_cast<uint16_t>(w),
                 static_cast<uint16_t>(h), out, order);
    }
  }
  draw_us_ += now_us() - start;
}

// At most kStagePixels: readRect writes 16-bit values, so it gets the word-aligned stage.
void TftDisplay::read_piece(uint16_t x, uint16_t y, uint16_t w, uint16_t h, uint8_t* pixels, tft::PixelOrder order) {
  const uint32_t n = static_cast<uint32_t>(w) * h;
  tft_.readRect(x, y, w, h, reinterpret_cast<uint16_t*>(stage_));
  const uint8_t* stage = reinterpret_cast<const uint8_t*>(stage_);  // big-endian pixels (see the header)
  if (order == tft::PixelOrder::big_endian) {
    memcpy(pixels, stage, 2 * n);
  } else {
    for (uint32_t i = 0; i < n; ++i) {
      pixels[2 * i] = stage[2 * i + 1];
      pixels[2 * i + 1] = stage[2 * i];
    }
  }
}

void TftDisplay::fill_rect(const tft::Window& window, uint16_t rgb565) {
  const uint32_t start = now_us();
  tft_.fillRect(window.x, window.y, window.w, window.h, rgb565);
  draw_us_ += now_us() - start;
}

void TftDisplay::draw_text(uint16_t x, uint16_t y, const char* text, uint16_t fg, uint16_t bg) {
  tft_.setTextColor(fg, bg);  // with a background colour the GLCD font paints whole cells
  tft_.drawString(text, x, y);
}

uint32_t TftDisplay::take_draw_us() {
  const uint32_t us = draw_us_;
  draw_us_ = 0;
  return us;
}

}  // namespace board
