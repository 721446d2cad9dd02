// Pixel decoders of protocol v1. Each takes payload bytes in arbitrary pieces and draws through
// a RectWriter as they come: neither needs the whole payload in memory (RAW keeps at most one
// byte of a split pixel, RUNS one partial run and a short strip of expanded pixels).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "rect_writer.h"

#ifndef TFT_RUNS_FILL_PIXELS
#define TFT_RUNS_FILL_PIXELS 64
#endif

namespace tft {

// RAW: w*h pixels. The payload size was checked against w*h before the first byte arrives.
class RawDecoder {
 public:
  explicit RawDecoder(RectWriter& out) : out_(out) {}
  void begin() { has_carry_ = false; }
  // Pixels go to the display straight from `data`: no copy except a pixel split across pieces.
  void feed(const uint8_t* data, size_t size);

 private:
  RectWriter& out_;
  uint8_t carry_[2] = {0, 0};
  bool has_carry_ = false;
};

// RUNS: `(count-1) u8, pixel u16` runs covering exactly w*h pixels. Whole runs are read straight
// from the piece (only a run split across pieces is gathered byte by byte); short runs are
// expanded into a strip drawn with one push, long ones go to the display as fills.
class RunsDecoder {
 public:
  static constexpr uint32_t kStripPixels = 128;  // pixels per display call when runs are short
  static constexpr uint32_t kFillPixels = TFT_RUNS_FILL_PIXELS;  // runs this long or longer are filled
  static_assert(kFillPixels >= 1 && kFillPixels <= kStripPixels + 1, "a short run must fit the strip");

  explicit RunsDecoder(RectWriter& out) : out_(out) {}
  void begin(uint32_t area);
  // runs_overflow as soon as a run would pass w*h, before any of its pixels is drawn.
  Error feed(const uint8_t* data, size_t size);
  // Call when the payload has ended: draws what is buffered, runs_short if pixels are missing.
  Error finish();
  // Draws buffered pixels now (end of a network piece), so the panel never lags the stream.
  void flush();

 private:
  bool emit_run(const uint8_t* run, uint32_t& missing, uint32_t& strip_count);

  RectWriter& out_;
  uint32_t missing_ = 0;  // pixels of the rectangle no complete run has covered yet
  uint8_t run_[3] = {0, 0, 0};
  uint8_t run_fill_ = 0;
  uint16_t strip_[kStripPixels] = {};  // pixels in wire byte order
  uint32_t strip_count_ = 0;
};

}  // namespace tft
