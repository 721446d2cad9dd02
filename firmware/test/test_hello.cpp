// The board's messages: HELLO rebuilt from each valid hello vector's fields must give the
// vector's bytes; the fields of each error vector that fields can express must be refused with
// the server's error code; ACK and KEEPALIVE against hand-built bytes.
#include <doctest/doctest.h>

#include <string>

#include "board_messages.h"
#include "support.h"

using namespace tft;
using namespace tft::test;

namespace {

HelloInfo info_of(const std::string& display, const std::string& firmware, const std::string& token, uint16_t width,
                  uint16_t height, uint16_t encodings, uint16_t max_body) {
  HelloInfo h;
  h.width = width;
  h.height = height;
  h.encodings = encodings;
  h.max_body = max_body;
  h.display = display.c_str();
  h.firmware = firmware.c_str();
  h.token = reinterpret_cast<const uint8_t*>(token.data());
  h.token_len = token.size();
  return h;
}

// The fields of a HELLO message, when it is one the builder could have made (right magic and
// version, well-formed strings, nothing trailing); false otherwise.
bool fields_of(const Bytes& m, uint16_t& w, uint16_t& h, uint16_t& enc, uint16_t& max_body, std::string& display,
               std::string& firmware, std::string& token) {
  if (m.size() < 3 + 13 || std::string(m.begin() + 3, m.begin() + 7) != "TFTS" || m[7] != 1) return false;
  auto u16 = [&m](size_t at) { return static_cast<uint16_t>(m[at] | m[at + 1] << 8); };
  w = u16(8);
  h = u16(10);
  enc = u16(12);
  max_body = u16(14);
  size_t pos = 16;
  std::string* strings[] = {&display, &firmware, &token};
  for (std::string* s : strings) {
    if (pos >= m.size() || pos + 1 + m[pos] > m.size()) return false;
    s->assign(m.begin() + static_cast<std::ptrdiff_t>(pos) + 1, m.begin() + static_cast<std::ptrdiff_t>(pos) + 1 + m[pos]);
    pos += 1 + m[pos];
  }
  return pos == m.size();
}

}  // namespace

TEST_CASE("HELLO built from the fields of the minimal and full vectors is byte-identical") {
  size_t checked = 0;
  for (const auto& v : hello_vectors()) {
    if (v.error) continue;
    CAPTURE(v.name);
    const HelloInfo h = info_of(v.display, v.firmware, v.token, v.width, v.height, v.encodings, v.max_body);
    CHECK(check_hello(h) == Error::none);
    uint8_t out[kMaxHelloMessage];
    const size_t n = build_hello(h, out, sizeof out);
    CHECK(to_hex(Bytes(out, out + n)) == to_hex(v.message));
    ++checked;
  }
  CHECK(checked == 2);  // "minimal" and "full"
}

TEST_CASE("HELLO fields the server would refuse are refused with the server's error code") {
  size_t checked = 0;
  for (const auto& v : hello_vectors()) {
    if (!v.error) continue;
    uint16_t w, h, enc, max_body;
    std::string display, firmware, token;
    if (!fields_of(v.message, w, h, enc, max_body, display, firmware, token)) continue;  // bytes, not fields
    CAPTURE(v.name);
    const HelloInfo info = info_of(display, firmware, token, w, h, enc, max_body);
    CHECK(std::string(to_str(check_hello(info))) == *v.error);
    uint8_t out[kMaxHelloMessage];
    CHECK(build_hello(info, out, sizeof out) == 0);
    ++checked;
  }
  CHECK(checked == 5);  // no_raw, small_buffer, zero_size, bad_name, empty_name
}

TEST_CASE("HELLO refuses long strings, unknown encodings and a buffer too small") {
  const std::string name33(33, 'a'), fw33(33, 'f'), token65(65, 't');
  CHECK(check_hello(info_of(name33, "", "", 320, 240, 1, 64)) == Error::bad_name);
  CHECK(check_hello(info_of(std::string(32, 'a'), "", "", 320, 240, 1, 64)) == Error::none);
  CHECK(check_hello(info_of("main", fw33, "", 320, 240, 1, 64)) == Error::bad_name);
  CHECK(check_hello(info_of("main", "tab\there", "", 320, 240, 1, 64)) == Error::bad_name);
  CHECK(check_hello(info_of("main", "", token65, 320, 240, 1, 64)) == Error::bad_length);
  CHECK(check_hello(info_of("main", "", "", 320, 240, 1 | 0x8000, 64)) == Error::bad_encodings);  // bit 15: none
  CHECK(check_hello(info_of("main", "", "", 320, 240, 1 | 2 | 4 | 8, 64)) == Error::none);  // RAW, RUNS, COPY, LZ4
  CHECK(check_hello(info_of("main", "", "", 4097, 240, 1, 64)) == Error::bad_size);
  const std::string name32(32, 'n'), fw32(32, 'f'), token64(64, 't');  // must outlive `longest`
  const HelloInfo longest = info_of(name32, fw32, token64, 320, 240, 3, 64);
  uint8_t out[kMaxHelloMessage];
  CHECK(build_hello(longest, out, sizeof out) == 3 + 13 + 33 + 33 + 65);
  CHECK(build_hello(longest, out, 100) == 0);  // does not fit: nothing written past the capacity
}

TEST_CASE("ACK is seq, or seq plus stats, little-endian") {
  uint8_t out[kMaxAckMessage];
  REQUIRE(build_ack(0x01020304, nullptr, out, sizeof out) == 7);
  CHECK(to_hex(Bytes(out, out + 7)) == "02040004030201");
  const AckStats stats{1000, 0x00010000, 150000, -60};
  REQUIRE(build_ack(7, &stats, out, sizeof out) == 20);
  CHECK(to_hex(Bytes(out, out + 20)) == "021100" "07000000" "e8030000" "00000100" "f0490200" "c4");
  CHECK(build_ack(7, &stats, out, 19) == 0);
}

TEST_CASE("KEEPALIVE from the board is type 3 with an empty body") {
  uint8_t out[3];
  REQUIRE(build_keepalive(out, sizeof out) == 3);
  CHECK(to_hex(Bytes(out, out + 3)) == "030000");
}
