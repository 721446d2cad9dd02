// What the core needs from the board besides the display: a clock, a TCP link, randomness.
// Boards adapt millis()/WiFiClient/esp_random(); the host has POSIX sockets and fakes for tests.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace tft {

class Clock {
 public:
  virtual uint32_t now_ms() = 0;  // monotonic; wraps after 49 days, so compare differences only

 protected:
  ~Clock() = default;
};

enum class LinkStatus : uint8_t { closed, connecting, open };

// A non-blocking TCP client to the one configured server.
class Network {
 public:
  virtual void open() = 0;  // starts connecting; status() reports how it went
  virtual LinkStatus status() = 0;
  // Bytes taken (fewer than `size` when the stack's buffers are full; 0 is not an error).
  virtual size_t send(const uint8_t* data, size_t size) = 0;
  // Bytes received into `buffer`; 0 when none are waiting. End of stream shows as status() closed.
  virtual size_t receive(uint8_t* buffer, size_t capacity) = 0;
  virtual void close() = 0;

 protected:
  ~Network() = default;
};

// Randomness for backoff jitter (a board: esp_random(); tests: scripted values).
class JitterSource {
 public:
  virtual uint32_t next_u32() = 0;

 protected:
  ~JitterSource() = default;
};

}  // namespace tft
