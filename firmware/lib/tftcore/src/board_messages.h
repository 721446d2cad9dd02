// Messages the board sends: HELLO, ACK (with optional stats), KEEPALIVE.
// Builders write into a caller's buffer and return the bytes written (0 = did not fit).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "protocol.h"

namespace tft {

struct HelloInfo {
  uint16_t width = 0;   // as the board draws, after its own rotation
  uint16_t height = 0;
  uint16_t encodings = kMaskImplemented;
  uint16_t max_body = 0;
  const char* display = "";   // 1..32 of [A-Za-z0-9_.-]
  const char* firmware = "";  // 0..32 printable ASCII
  const uint8_t* token = nullptr;
  size_t token_len = 0;       // 0..64 bytes
};

struct AckStats {
  uint32_t decode_us;
  uint32_t draw_us;
  uint32_t free_heap;
  int8_t rssi_dbm;
};

constexpr size_t kMaxHelloMessage = kHeaderSize + kMaxHelloBody;
constexpr size_t kMaxAckMessage = kHeaderSize + kAckStatsBody;

// The server's parse_hello checks, in its order, so a board refuses at start (and says why on
// screen) what the server would reject later.
Error check_hello(const HelloInfo& hello);

size_t build_hello(const HelloInfo& hello, uint8_t* out, size_t capacity);  // 0 also if check_hello fails
size_t build_ack(uint32_t seq, const AckStats* stats, uint8_t* out, size_t capacity);
size_t build_keepalive(uint8_t* out, size_t capacity);

}  // namespace tft
