// Fake of arduino-esp32 libraries/DNSServer/src/DNSServer.h.
#pragma once
#include <stdint.h>

#include "Arduino.h"

class DNSServer {
 public:
  bool start(const uint16_t& port, const String& domainName, const IPAddress& resolvedIP);
  void stop();
  void processNextRequest();
};
