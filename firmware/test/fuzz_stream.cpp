// libFuzzer target over the stream parser and both decoders (ASan + UBSan).
// Input: [width-1 % 64][height-1 % 64][max_body u16le][encodings: bit 1 = offer RUNS][piece-1 % 32][stream...]
// Asserts: no window outside the display, no stall (feed taking nothing without stopping), and
// the same result whether the stream comes whole or in pieces.
#include <stdint.h>
#include <stdlib.h>

#include <vector>

#include "framebuffer_display.h"
#include "stream_parser.h"

namespace {

struct Result {
  tft::Error error;
  bool rejected;
  std::vector<uint32_t> acks;
  std::vector<uint16_t> pixels;
  bool operator==(const Result& o) const {
    return error == o.error && rejected == o.rejected && acks == o.acks && pixels == o.pixels;
  }
};

Result run(uint16_t width, uint16_t height, const tft::ParserConfig& config, const uint8_t* data, size_t size,
           size_t piece) {
  tft::host::FramebufferDisplay display(width, height);
  tft::StreamParser parser(display, config);
  Result result{tft::Error::none, false, {}, {}};
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
  if (display.violations() != 0) abort();  // a window outside the display
  result.error = parser.error();
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
  config.encodings = static_cast<uint16_t>(tft::kMaskRaw | (data[4] & tft::kMaskRuns));
  const size_t piece = 1 + data[5] % 32;
  const Result whole = run(width, height, config, data + 6, size - 6, size);
  const Result pieces = run(width, height, config, data + 6, size - 6, piece);
  if (!(whole == pieces)) abort();
  return 0;
}
