// Fake of arduino-esp32 3.x libraries/Network/src/Network.h + NetworkManager.h.
#pragma once
#include "Arduino.h"
#include "NetworkClient.h"

class NetworkManager {
 public:
  int hostByName(const char* aHostname, IPAddress& aResult);  // 1 on success
};
extern NetworkManager Network;
