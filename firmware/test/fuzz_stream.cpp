// libFuzzer target over the stream parser, the RAW, RUNS, LZ4, JPEG, RICE and RECOLOR decoders, COPY
// and the bitmap cache (KEEP, CACHED, CELLS) (ASan + UBSan).
// Input: [width-1 % 64][height-1 % 64][max_body u16le][setup][pieces][stream...]
//   setup:  bit 0 = offer CACHED and CELLS (both draw from the cache), bit 1 = offer RUNS, bit 2 =
//           offer COPY and RECOLOR (both read the panel back), bit 3 = the display cannot read back,
//           bit 4 = offer LZ4, bit 5 = offer JPEG, bit 6 = the block buffer is a byte short of
//           max_body (so none of LZ4, JPEG, RICE, RECOLOR and CELLS is offered), bit 7 = offer RICE
//   pieces: bits 0-4 = piece-1 (network pieces of 1..32 bytes), bits 5-7 = COPY's, RECOLOR's and
//           CELLS' strip (0: the full strip; else 1, 2, 3, 5, 8, 13, 40 pixels, so rows of a small
//           display split into chunks)
// Asserts: no window outside the display, no read of a display that cannot read, no stall
// (feed taking nothing without stopping), and the same result whether the stream comes whole
// or in pieces. The block buffer is a heap block of exactly its size (ASan sees a byte past or
// before it) holding different garbage in the two runs, so a byte read before it is written
// shows as a different result. The bitmap cache starts the same in both: drawing what no KEEP
// wrote is allowed (the server never does), its bytes are just undefined.
#include <stdint.h>
#include <stdlib.h>

#include <vector>

#include "framebuffer_display.h"
#include "stream_parser.h"

namespace {

struct Result {
  tft::Error error;
  tft::JpegError jpeg;
  bool rejected;
  std::vector<uint32_t> acks;
  std::vector<uint16_t> pixels;
  bool operator==(const Result& o) const {
    return error == o.error && jpeg == o.jpeg && rejected == o.rejected && acks == o.acks && pixels == o.pixels;
  }
};

Result run(uint16_t width, uint16_t height, bool readable, tft::ParserConfig config, size_t block_size,
           uint8_t garbage, const uint8_t* data, size_t size, size_t piece) {
  tft::host::FramebufferDisplay display(width, height, readable);
  std::vector<uint8_t> block(block_size, garbage);
  config.block = tft::BlockBuffer{block.data(), block.size()};
  std::vector<uint8_t> cache(2 * tft::kCachePixels, 0x5A);
  config.cache = tft::BlockBuffer{cache.data(), cache.size()};
  tft::StreamParser parser(display, config);
  Result result{tft::Error::none, tft::JpegError::none, false, {}, {}};
  size_t pos = 0;
  bool stopped = false;
  while (pos < size && !stopped) {
    const size_t end = size - pos < piece ? size : pos + piece;
    while (pos < end && !stopped) {
      const tft::FeedResult r = parser.feed(data + pos, end - pos);
      pos += r.consumed;
      if (r.event == tft::Event::frame_end) result.acks.push_back(parser.last_frame().seq);
      stopped = r.event == tft::Event::failed || parser.rejected();
      if (r.consumed == 0 && !stopped) abort();  // a stall would hang a board
    }
  }
  if (display.violations() != 0) abort();  // a window outside the display, or a forbidden read
  result.error = parser.error();
  result.jpeg = parser.jpeg_error();
  result.rejected = parser.rejected();
  result.pixels = display.pixels();
  return result;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 6) return 0;
  const uint16_t width = static_cast<uint16_t>(1 + data[0] % 64);
  const uint16_t height = static_cast<uint16_t>(1 + data[1] % 64);
  tft::ParserConfig config;
  config.max_body = static_cast<uint16_t>(data[2] | data[3] << 8);
  config.encodings = static_cast<uint16_t>(tft::kMaskRaw | (data[4] & (tft::kMaskRuns | tft::kMaskCopy)) |
                                           ((data[4] & tft::kMaskCopy) != 0 ? tft::kMaskRecolor : 0) |
                                           ((data[4] & 0x10) != 0 ? tft::kMaskLz4 : 0) |
                                           ((data[4] & 0x20) != 0 ? tft::kMaskJpeg : 0) |
                                           ((data[4] & 0x01) != 0 ? tft::kMaskCached | tft::kMaskCells : 0) |
                                           ((data[4] & 0x80) != 0 ? tft::kMaskRice : 0));
  const bool readable = (data[4] & 0x08) == 0;
  const size_t block_size = config.max_body - ((data[4] & 0x40) != 0 && config.max_body > 0 ? 1 : 0);
  static const uint32_t kCopyPieces[8] = {0, 1, 2, 3, 5, 8, 13, 40};
  config.copy_piece_pixels = kCopyPieces[data[5] >> 5];
  const size_t piece = 1 + data[5] % 32;
  const Result whole = run(width, height, readable, config, block_size, 0x00, data + 6, size - 6, size);
  const Result pieces = run(width, height, readable, config, block_size, 0xFF, data + 6, size - 6, piece);
  if (!(whole == pieces)) abort();
  return 0;
}
