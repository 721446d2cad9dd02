// Helpers shared by the board tests: server messages as bytes, a fresh fake board.
#pragma once

#include <stdint.h>

#include <string>
#include <vector>

#include "fake_board.h"

namespace board_test {

inline std::string message(uint8_t type, const std::vector<uint8_t>& body) {
  std::string out;
  out += static_cast<char>(type);
  out += static_cast<char>(body.size() & 0xFF);
  out += static_cast<char>(body.size() >> 8);
  out.append(body.begin(), body.end());
  return out;
}

inline void put16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v));
  out.push_back(static_cast<uint8_t>(v >> 8));
}

inline void put32(std::vector<uint8_t>& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// ACCEPT: version 1, big-endian pixels, RAW+RUNS (or `encodings`), max_body, keepalive 1000, timeout 4000.
inline std::string accept(uint16_t max_body, uint16_t encodings = 3) {
  std::vector<uint8_t> body = {1, 1};
  put16(body, encodings);
  put16(body, max_body);
  put16(body, 1000);
  put16(body, 4000);
  return message(0x10, body);
}

inline std::string seq_message(uint8_t type, uint32_t seq) {
  std::vector<uint8_t> body;
  put32(body, seq);
  return message(type, body);
}

// One RAW rectangle of w*h pixels, all `pixel`, big-endian.
inline std::string raw_rect(uint16_t x, uint16_t y, uint16_t w, uint16_t h, uint16_t pixel) {
  std::vector<uint8_t> body;
  put16(body, x);
  put16(body, y);
  put16(body, w);
  put16(body, h);
  body.push_back(0);
  for (uint32_t i = 0; i < static_cast<uint32_t>(w) * h; ++i) {
    body.push_back(static_cast<uint8_t>(pixel >> 8));
    body.push_back(static_cast<uint8_t>(pixel));
  }
  return message(0x21, body);
}

// One LZ4 rectangle of w*h pixels, all `pixel`: the pixel as literals, then a match 2 bytes back
// over the rest (2*w*h >= 4; the match length continues in bytes of 255).
inline std::string lz4_rect(uint16_t x, uint16_t y, uint16_t w, uint16_t h, uint16_t pixel) {
  std::vector<uint8_t> body;
  put16(body, x);
  put16(body, y);
  put16(body, w);
  put16(body, h);
  body.push_back(3);
  const uint32_t match = 2u * w * h - 2;
  body.push_back(static_cast<uint8_t>(2 << 4 | (match - 4 < 15 ? match - 4 : 15)));
  body.push_back(static_cast<uint8_t>(pixel >> 8));
  body.push_back(static_cast<uint8_t>(pixel));
  put16(body, 2);
  if (match - 4 >= 15) {
    uint32_t extra = match - 4 - 15;
    for (; extra >= 255; extra -= 255) body.push_back(255);
    body.push_back(static_cast<uint8_t>(extra));
  }
  return message(0x21, body);
}

inline std::string reject(const std::string& reason) {
  return message(0x11, std::vector<uint8_t>(reason.begin(), reason.end()));
}

inline uint32_t ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return static_cast<uint32_t>(a) | (static_cast<uint32_t>(b) << 8) | (static_cast<uint32_t>(c) << 16) |
         (static_cast<uint32_t>(d) << 24);
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace board_test
