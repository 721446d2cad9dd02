// Board time as the core counts it: 32-bit milliseconds and microseconds that wrap (compare
// differences only). arduino-esp32 returns unsigned long, 32 bits on the ESP32 and 64 on a host.
#pragma once

#include <Arduino.h>
#include <stdint.h>

namespace board {

inline uint32_t now_ms() { return static_cast<uint32_t>(millis()); }
inline uint32_t now_us() { return static_cast<uint32_t>(micros()); }

}  // namespace board
