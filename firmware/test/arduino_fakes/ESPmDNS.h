// Fake of arduino-esp32 3.x libraries/ESPmDNS/src/ESPmDNS.h. 3.x names the result address
// address(i) (2.x: IP(i)); queryService blocks while the query runs.
#pragma once
#include <stdint.h>

#include "Arduino.h"

class MDNSResponder {
 public:
  bool begin(const char* hostName);
  void end();
  int queryService(const char* service, const char* proto);
  String hostname(int idx);
  IPAddress address(int idx);
  uint16_t port(int idx);
  bool hasTxt(int idx, const char* key);
  String txt(int idx, const char* key);
};
extern MDNSResponder MDNS;
