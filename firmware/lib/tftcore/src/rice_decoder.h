// RICE (encoding 6), lossless for photos: each channel of each pixel predicted from its left,
// upper and upper-right neighbours in the RECT, the residuals Rice-coded with a parameter per
// channel and group of 32 pixels, as a bit stream taken in arbitrary pieces (docs/protocol.md).
// Predictions read the row above, so pixels are decoded into the board's block buffer (a RICE
// RECT has at most max_body - 9 bytes of pixels, checked from its header) and drawn from there
// in bands of rows (block_bands.h).
//
// The checks run in stream order, as the reference does (common/encodings.py decode_rice):
// rice_overflow as soon as a code's zero bits pass what its channel can need, rice_trailing as
// soon as a byte arrives after the last code's, rice_truncated when the payload ends early. On an
// error every whole pixel decoded before it is drawn, however the payload was split.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "block_bands.h"
#include "display.h"
#include "error.h"
#include "lz4_decoder.h"
#include "rect_writer.h"

namespace tft {

class RiceDecoder {
 public:
  static constexpr uint32_t kGroupPixels = 32;

  RiceDecoder(RectWriter& out, const BlockBuffer& block) : bands_(out, block.data), block_(block.data) {}

  // A RECT of w x h pixels (2 * w * h bytes fit the block buffer: the parser checked).
  void begin(uint16_t w, uint16_t h, PixelOrder order);
  Error feed(const uint8_t* data, size_t size);
  // Call when the payload has ended: draws what is left; rice_truncated if pixels are missing.
  Error finish();
  // Draws the whole pixels decoded so far (end of a network piece).
  void flush() { bands_.flush(2 * done_); }

 private:
  enum class State : uint8_t { header, zeros, low_bits, done };

  // A pixel's header and three codes take at most 9 + 3 * (63 + 1 + 7) bits (28 bytes); whole_pixels()
  // reads up to 4 bytes ahead of what it uses.
  static constexpr size_t kFastBytes = 40;

  // Whole pixels straight from the piece while it holds kFastBytes more; returns where it stopped.
  const uint8_t* whole_pixels(const uint8_t* p, const uint8_t* end, Error& error);
  // Decodes what the bits in acc_ allow, a field at a time; false on an error (in `error`).
  bool decode(Error& error);
  // The next pixel's three predictions, from the pixels around it in the block buffer.
  void predict();
  uint16_t pixel_at(uint32_t index) const;
  void finish_value(uint32_t u);
  void after_pixel();
  Error fail(Error error);

  BlockBands bands_;
  uint8_t* const block_;
  uint16_t w_ = 0;
  uint32_t area_ = 0;
  PixelOrder order_ = PixelOrder::big_endian;
  uint32_t done_ = 0;  // whole pixels decoded
  uint16_t x_ = 0;     // of the pixel being decoded
  bool top_row_ = true;
  uint32_t acc_ = 0;   // bits not yet used, in the low acc_bits_ bits (at most 32: RV32 has no 64-bit shifts)
  uint8_t acc_bits_ = 0;
  State state_ = State::header;
  uint8_t channel_ = 0;  // 0 R, 1 G, 2 B of the pixel being decoded
  uint8_t k_[3] = {};
  uint8_t zeros_ = 0;          // zero bits of the code being read
  uint16_t predicted_[3] = {};  // of the pixel being decoded
  uint16_t left_[3] = {};       // the pixel before it (then the pixel itself, as its channels arrive)
};

}  // namespace tft
