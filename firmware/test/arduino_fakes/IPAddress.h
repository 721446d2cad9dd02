// Fake of arduino-esp32 3.x cores/esp32/IPAddress.h, IPv4 only: built from and converted to the
// uint32_t the lwIP struct holds (first octet in the low byte).
#pragma once
#include <stdint.h>

class IPAddress {
 public:
  IPAddress() = default;
  IPAddress(uint32_t address) : v4_(address) {}  // NOLINT: implicit, as the real one
  IPAddress(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
      : v4_(static_cast<uint32_t>(a) | (static_cast<uint32_t>(b) << 8) | (static_cast<uint32_t>(c) << 16) |
            (static_cast<uint32_t>(d) << 24)) {}
  operator uint32_t() const { return v4_; }  // NOLINT: implicit, as the real one
  bool operator==(const IPAddress& rhs) const { return v4_ == rhs.v4_; }

 private:
  uint32_t v4_ = 0;
};
