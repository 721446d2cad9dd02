// LZ4 (encoding 3): LZ4 block-format sequences that decode to the RECT's RAW bytes, taken in
// arbitrary pieces. A match copies bytes from anywhere earlier in the same RECT, so the decoded
// bytes go to a block buffer the board owns (an LZ4 RECT decodes to at most max_body - 9 bytes,
// checked from its header), and from there to the display (block_bands.h).
//
// The checks run in stream order, as the reference does (common/encodings.py decode_lz4), so
// however the payload is split the first error is the same: lz4_overflow as soon as a count is
// known (before a byte is written), lz4_bad_offset once both offset bytes are in, lz4_truncated
// or lz4_short when the payload ends. On an error every whole pixel decoded before it is drawn,
// so what the display shows never depends on the split either.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "block_bands.h"
#include "error.h"
#include "rect_writer.h"

namespace tft {

// Storage the board provides for LZ4 (a static array): one RECT's decoded bytes. A board offers
// LZ4 only with one of at least its max_body bytes (encodings_for in stream_parser.h).
struct BlockBuffer {
  uint8_t* data = nullptr;
  size_t size = 0;
};

class Lz4Decoder {
 public:
  Lz4Decoder(RectWriter& out, const BlockBuffer& block)
      : bands_(out, block.data),
        block_(block.data),
        room_(static_cast<uint32_t>(block.size < 0x10000 ? block.size : 0x10000)) {}

  // A RECT of `size` bytes (2 * w * h, at most the block buffer's size: the parser checked) and
  // rows of `row_pixels`.
  void begin(uint32_t size, uint16_t row_pixels);
  // lz4_overflow or lz4_bad_offset as soon as the bytes that decide it are in.
  Error feed(const uint8_t* data, size_t size);
  // Call when the payload has ended: draws what is left; lz4_truncated inside a sequence,
  // lz4_short if bytes are missing.
  Error finish();
  // Draws the whole pixels decoded so far (end of a network piece), so the panel never lags the stream.
  void flush();

 private:
  // Where the byte-by-byte path stands inside a sequence (`token`: between sequences).
  enum class State : uint8_t { token, literal_count, literals, offset_low, offset_high, match_count };

  const uint8_t* sequences(const uint8_t* p, const uint8_t* end, Error& error);
  const uint8_t* step(const uint8_t* p, const uint8_t* end, Error& error);
  void begin_literals(Error& error);
  void match(Error& error);
  Error fail(Error error);

  // Short literal runs, and short matches from at least this far back, are copied as kShort bytes
  // where the piece and the buffer hold them: one fixed-size copy instead of a call. The bytes
  // past the sequence are written again before anything reads or draws them.
  static constexpr uint32_t kShort = 16;

  BlockBands bands_;
  uint8_t* const block_;
  const uint32_t room_;     // the block buffer's size (a RECT never needs more than 64 KB)
  uint32_t size_ = 0;       // bytes the RECT decodes to
  uint32_t produced_ = 0;   // bytes decoded so far
  uint32_t count_ = 0;      // literals left to copy, or a count being read
  uint16_t offset_ = 0;
  uint8_t token_ = 0;
  State state_ = State::token;
};

}  // namespace tft
