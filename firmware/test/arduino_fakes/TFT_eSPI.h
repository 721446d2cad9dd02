// Fake of Bodmer/TFT_eSPI TFT_eSPI.h (2.5.x; 2.5.34 and 2.5.43 declare these alike): the calls the
// board layer makes, recording them for tests. Configured by -D flags like the real one.
#pragma once
#include <stdint.h>

#include "Arduino.h"

#ifndef TFT_WIDTH
#define TFT_WIDTH 240
#endif
#ifndef TFT_HEIGHT
#define TFT_HEIGHT 320
#endif
#ifndef TAB_COLOUR
#define TAB_COLOUR 0
#endif

#define TL_DATUM 0
#define TFT_BLACK 0x0000
#define TFT_WHITE 0xFFFF

class TFT_eSPI : public Print {
 public:
  TFT_eSPI(int16_t _W = TFT_WIDTH, int16_t _H = TFT_HEIGHT);  // NOLINT: as the real one
  void init(uint8_t tc = TAB_COLOUR);
  void setRotation(uint8_t r);
  virtual int16_t width(void);
  virtual int16_t height(void);
  void fillScreen(uint32_t color);
  virtual void fillRect(int32_t x, int32_t y, int32_t w, int32_t h, uint32_t color);
  void setAddrWindow(int32_t xs, int32_t ys, int32_t w, int32_t h);
  void pushPixels(const void* data_in, uint32_t len);
  // As the real one over SPI: RGB565 values with their two bytes exchanged (for pushRect).
  void readRect(int32_t x, int32_t y, int32_t w, int32_t h, uint16_t* data);
  void setSwapBytes(bool swap);
  void startWrite(void);
  void endWrite(void);
  void setTextColor(uint16_t fgcolor, uint16_t bgcolor, bool bgfill = false);
  void setTextDatum(uint8_t datum);
  void setTextFont(uint8_t font);
  void setTextSize(uint8_t size);
  int16_t drawString(const char* string, int32_t x, int32_t y);
  size_t write(uint8_t c) override;
  using Print::write;

 private:
  int16_t init_width_;
  int16_t init_height_;
  uint8_t rotation_ = 0;
};
