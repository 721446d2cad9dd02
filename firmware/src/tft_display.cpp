#include "tft_display.h"

#include <Arduino.h>
#include <string.h>

#include "clock.h"

namespace board {

void TftDisplay::begin(uint8_t rotation) {
  tft_.init();
  tft_.setRotation(rotation);
  tft_.setSwapBytes(false);
  tft_.setTextFont(1);
  tft_.setTextSize(1);
  tft_.setTextDatum(TL_DATUM);
  tft_.fillScreen(TFT_BLACK);
  width_ = static_cast<uint16_t>(tft_.width());
  height_ = static_cast<uint16_t>(tft_.height());
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
