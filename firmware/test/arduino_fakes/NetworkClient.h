// Fake of arduino-esp32 3.x libraries/Network/src/NetworkClient.h (WiFiClient is this class).
#pragma once
#include <stdint.h>

#include "Arduino.h"

class NetworkClient {
 public:
  int connect(IPAddress ip, uint16_t port, int32_t timeout_ms);  // 1 connected, 0 failed; blocks
  int setNoDelay(bool nodelay);                                   // setsockopt result, < 0 on error
  virtual int fd() const;                                         // -1 when not connected
  void stop();
  uint8_t connected();
  virtual ~NetworkClient() = default;

 private:
  int fd_ = -1;
};
