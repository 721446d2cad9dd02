#include "wifi_link.h"

#include <WiFi.h>

#include "discovery.h"
#include "log.h"

namespace board {

void WifiLink::begin(const Settings& settings, const char* hostname, uint32_t now_ms) {
  since_ms_ = now_ms;
  configured_ = settings.ssid[0] != '\0';
  if (!configured_) return;
  WiFi.setHostname(hostname);  // before the interface starts
  WiFi.mode(WIFI_STA);
  WiFi.setAutoReconnect(true);
  WiFi.begin(settings.ssid, settings.password[0] != '\0' ? settings.password : nullptr);
  BOARD_LOG_I("wifi", "joining %s as %s", settings.ssid, hostname);
}

WifiLink::Event WifiLink::poll(uint32_t now_ms) {
  if (!configured_) return Event::none;
  const bool connected = WiFi.status() == WL_CONNECTED;
  if (connected == up_) return Event::none;
  up_ = connected;
  since_ms_ = now_ms;
  if (!up_) {
    BOARD_LOG_W("wifi", "lost the network; the driver reconnects");
    return Event::down;
  }
  ever_up_ = true;
  ip_ = static_cast<uint32_t>(WiFi.localIP());
  char ip[16];
  format_ip(ip_, ip);
  BOARD_LOG_I("wifi", "connected, ip %s, rssi %d dBm", ip, static_cast<int>(WiFi.RSSI()));
  return Event::up;
}

WifiState WifiLink::state() const {
  if (!configured_) return WifiState::not_configured;
  if (up_) return WifiState::connected;
  return ever_up_ ? WifiState::lost : WifiState::connecting;
}

}  // namespace board
