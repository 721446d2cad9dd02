// Fake of arduino-esp32 3.x libraries/WiFi/src/WiFi.h (WiFiType.h, WiFiGeneric.h, WiFiSTA.h,
// WiFiAP.h): the members the board layer calls, with the 3.x signatures.
#pragma once
#include <stdint.h>

#include "Arduino.h"
#include "Network.h"
#include "NetworkClient.h"

typedef enum { WIFI_MODE_NULL = 0, WIFI_MODE_STA, WIFI_MODE_AP, WIFI_MODE_APSTA } wifi_mode_t;
#define WIFI_OFF WIFI_MODE_NULL
#define WIFI_STA WIFI_MODE_STA
#define WIFI_AP WIFI_MODE_AP
#define WIFI_AP_STA WIFI_MODE_APSTA

typedef enum {
  WL_NO_SHIELD = 255,
  WL_STOPPED = 254,
  WL_IDLE_STATUS = 0,
  WL_NO_SSID_AVAIL = 1,
  WL_SCAN_COMPLETED = 2,
  WL_CONNECTED = 3,
  WL_CONNECT_FAILED = 4,
  WL_CONNECTION_LOST = 5,
  WL_DISCONNECTED = 6
} wl_status_t;

typedef NetworkClient WiFiClient;

class WiFiClass {
 public:
  // WiFiGenericClass
  static bool mode(wifi_mode_t mode);
  bool setSleep(bool enabled);
  static bool setHostname(const char* hostname);
  // WiFiSTAClass
  wl_status_t begin(const char* ssid, const char* passphrase = nullptr, int32_t channel = 0,
                    const uint8_t* bssid = nullptr, bool connect = true);
  wl_status_t status();
  bool setAutoReconnect(bool autoReconnect);
  IPAddress localIP();
  int8_t RSSI();
  // WiFiAPClass (the real one has more defaulted parameters: channel, hidden, max clients, ...)
  bool softAP(const char* ssid, const char* passphrase = nullptr, int channel = 1, int ssid_hidden = 0,
              int max_connection = 4, bool ftm_responder = false);
  bool softAPdisconnect(bool wifioff = false);
  IPAddress softAPIP();
};
extern WiFiClass WiFi;
