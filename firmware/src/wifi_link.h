// The Wi-Fi station: joins the stored network, lets the driver reconnect on its own, and reports
// when the link comes up or goes down, so the board treats Wi-Fi loss apart from server loss.
#pragma once

#include <stdint.h>

#include "settings.h"
#include "status_screen.h"

namespace board {

class WifiLink {
 public:
  enum class Event : uint8_t { none, up, down };

  void begin(const Settings& settings, const char* hostname, uint32_t now_ms);
  Event poll(uint32_t now_ms);

  bool configured() const { return configured_; }
  bool up() const { return up_; }
  bool ever_up() const { return ever_up_; }
  WifiState state() const;
  uint32_t waiting_ms(uint32_t now_ms) const { return up_ ? 0 : now_ms - since_ms_; }  // connecting or lost
  uint32_t ip() const { return ip_; }

 private:
  bool configured_ = false;
  bool up_ = false;
  bool ever_up_ = false;
  uint32_t since_ms_ = 0;
  uint32_t ip_ = 0;
};

}  // namespace board
