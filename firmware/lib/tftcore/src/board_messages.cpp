#include "board_messages.h"

namespace tft {

namespace {

size_t c_length(const char* text, size_t limit) {
  size_t n = 0;
  while (n <= limit && text[n] != '\0') ++n;  // stops one past the limit: "too long" without scanning on
  return n;
}

bool name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == '-';
}

bool valid_display(const char* name) {
  const size_t n = c_length(name, kMaxDisplayName);
  if (n == 0 || n > kMaxDisplayName) return false;
  for (size_t i = 0; i < n; ++i) {
    if (!name_char(name[i])) return false;
  }
  return true;
}

bool valid_firmware(const char* text) {
  const size_t n = c_length(text, kMaxFirmware);
  if (n > kMaxFirmware) return false;
  for (size_t i = 0; i < n; ++i) {
    if (text[i] < 0x20 || text[i] >= 0x7F) return false;
  }
  return true;
}

// Writes the 3-byte header; the caller has checked that header + body fit.
uint8_t* put_header(uint8_t* out, uint8_t type, size_t body) {
  out[0] = type;
  write_u16le(out + 1, static_cast<uint16_t>(body));
  return out + kHeaderSize;
}

uint8_t* put_short_string(uint8_t* out, const uint8_t* data, size_t len) {
  *out++ = static_cast<uint8_t>(len);
  for (size_t i = 0; i < len; ++i) *out++ = data[i];
  return out;
}

const uint8_t* bytes_of(const char* text) { return reinterpret_cast<const uint8_t*>(text); }

}  // namespace

Error check_hello(const HelloInfo& hello) {
  if (hello.display == nullptr || !valid_display(hello.display)) return Error::bad_name;
  if (hello.firmware == nullptr || !valid_firmware(hello.firmware)) return Error::bad_name;
  if (hello.token_len > kMaxToken || (hello.token == nullptr && hello.token_len != 0)) return Error::bad_length;
  if ((hello.encodings & kMaskRaw) == 0) return Error::bad_encodings;
  if ((hello.encodings & ~kMaskImplemented) != 0) return Error::bad_encodings;  // promise only what we decode
  if (hello.max_body < kMinBoardBody) return Error::bad_buffer;
  if (hello.width < 1 || hello.width > kMaxDisplaySide || hello.height < 1 || hello.height > kMaxDisplaySide) {
    return Error::bad_size;
  }
  return Error::none;
}

size_t build_hello(const HelloInfo& hello, uint8_t* out, size_t capacity) {
  if (check_hello(hello) != Error::none) return 0;
  const size_t display_len = c_length(hello.display, kMaxDisplayName);
  const size_t firmware_len = c_length(hello.firmware, kMaxFirmware);
  const size_t body = 4 + 1 + 4 * 2 + (1 + display_len) + (1 + firmware_len) + (1 + hello.token_len);
  if (kHeaderSize + body > capacity) return 0;
  uint8_t* p = put_header(out, kMsgHello, body);
  const char magic[4] = {'T', 'F', 'T', 'S'};
  for (char c : magic) *p++ = static_cast<uint8_t>(c);
  *p++ = kVersion;
  write_u16le(p, hello.width);
  write_u16le(p + 2, hello.height);
  write_u16le(p + 4, hello.encodings);
  write_u16le(p + 6, hello.max_body);
  p = put_short_string(p + 8, bytes_of(hello.display), display_len);
  p = put_short_string(p, bytes_of(hello.firmware), firmware_len);
  p = put_short_string(p, hello.token, hello.token_len);
  return static_cast<size_t>(p - out);
}

size_t build_ack(uint32_t seq, const AckStats* stats, uint8_t* out, size_t capacity) {
  const size_t body = stats != nullptr ? kAckStatsBody : kAckBody;
  if (kHeaderSize + body > capacity) return 0;
  uint8_t* p = put_header(out, kMsgAck, body);
  write_u32le(p, seq);
  if (stats != nullptr) {
    write_u32le(p + 4, stats->decode_us);
    write_u32le(p + 8, stats->draw_us);
    write_u32le(p + 12, stats->free_heap);
    p[16] = static_cast<uint8_t>(stats->rssi_dbm);
  }
  return kHeaderSize + body;
}

size_t build_keepalive(uint8_t* out, size_t capacity) {
  if (kHeaderSize > capacity) return 0;
  put_header(out, kMsgBoardKeepalive, 0);
  return kHeaderSize;
}

}  // namespace tft
