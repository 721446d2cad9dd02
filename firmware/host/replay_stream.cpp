// replay_stream: runs the core's parser over streams given on stdin, one per line as
// "WIDTH HEIGHT MAX_BODY ENCODINGS HEX" (with a block buffer of MAX_BODY bytes, for LZ4 and JPEG),
// and prints one result line per stream:
// "error=<code> acks=<seq,...> rejected=<hex reason|-> incomplete=<0|1> violations=N jpeg=<JpegError>
//  fb=<hex, u16 big-endian>" (jpeg: the decoder's reason behind a jpeg_* error, else none).
// scripts/cross_check.py compares these with the Python reference (devices/reference_display.py).
#include <stdio.h>

#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "framebuffer_display.h"
#include "stream_parser.h"

namespace {

std::vector<uint8_t> from_hex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  return out;
}

std::string replay(unsigned width, unsigned height, unsigned max_body, unsigned encodings, const std::vector<uint8_t>& stream) {
  tft::host::FramebufferDisplay display(static_cast<uint16_t>(width), static_cast<uint16_t>(height));
  tft::ParserConfig config;
  config.max_body = static_cast<uint16_t>(max_body);
  config.encodings = static_cast<uint16_t>(encodings);
  std::vector<uint8_t> block(max_body);  // as a board: one of its max_body, so LZ4 and JPEG can be offered
  config.block = tft::BlockBuffer{block.data(), block.size()};
  std::vector<uint8_t> cache(2 * tft::kCachePixels);  // and the bitmap cache, for CACHED
  config.cache = tft::BlockBuffer{cache.data(), cache.size()};
  tft::StreamParser parser(display, config);
  std::string acks;
  size_t pos = 0;
  while (pos < stream.size()) {
    const tft::FeedResult r = parser.feed(stream.data() + pos, stream.size() - pos);
    pos += r.consumed;
    if (r.event == tft::Event::frame_end) acks += (acks.empty() ? "" : ",") + std::to_string(parser.last_frame().seq);
    if (r.consumed == 0) break;
  }
  std::ostringstream out;
  out << "error=" << tft::to_str(parser.error()) << " acks=" << acks << " rejected=";
  if (parser.rejected()) {
    char hex[3];
    for (uint16_t i = 0; i < parser.reject_reason_size(); ++i) {
      snprintf(hex, sizeof hex, "%02x", static_cast<unsigned char>(parser.reject_reason()[i]));
      out << hex;
    }
  } else {
    out << "-";
  }
  out << " incomplete=" << (parser.incomplete() ? 1 : 0) << " violations=" << display.violations()
      << " jpeg=" << tft::to_str(parser.jpeg_error()) << " fb=";
  char hex[5];
  for (uint16_t v : display.pixels()) {
    snprintf(hex, sizeof hex, "%04x", v);
    out << hex;
  }
  return out.str();
}

}  // namespace

int main() {
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream fields(line);
    unsigned width = 0, height = 0, max_body = 0, encodings = 0;
    std::string hex;
    fields >> width >> height >> max_body >> encodings >> hex;
    if (width == 0 || height == 0) {
      std::cout << "bad input line\n";
      continue;
    }
    std::cout << replay(width, height, max_body, encodings, from_hex(hex)) << "\n";
  }
  return 0;
}
