// What the host tests see and steer behind the fake Arduino headers: the clock, the serial port,
// Wi-Fi, NVS, mDNS answers, the socket, the setup page, and every TFT_eSPI call.
#pragma once
#include <stdint.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "WiFi.h"

namespace fake {

struct Window {
  int32_t x, y, w, h;
};

struct Panel {
  std::vector<std::string> calls;       // in order: "init", "rotation 1", "fillRect 0 0 240 10 0x0000", ...
  std::vector<Window> windows;          // setAddrWindow arguments
  std::vector<uint8_t> pushed;          // pixel bytes in the order pushPixels handed them to the bus
  std::vector<std::string> texts;       // drawString texts
  bool swap_bytes = true;               // TFT_eSPI's default before setSwapBytes
  bool in_transaction = false;
  bool unaligned_push = false;          // a pushPixels buffer not 4-byte aligned (TFT_eSPI reads words)
  int pushes_outside_transaction = 0;
  uint32_t cost_us = 0;                 // the clock moves this much per fillRect/pushPixels call
  // What the panel shows, in the current rotation's coordinates (pushPixels and fillRect write it,
  // readRect reads it); reset by setRotation.
  int32_t memory_width = 0;
  std::vector<uint16_t> memory;
  uint32_t cursor = 0;                  // pixels pushed into the last address window
  bool miso_wired = true;               // false: readRect reads 0x00 bytes, as from an unconnected input
  std::vector<Window> reads;            // readRect arguments
  bool unaligned_read = false;          // a readRect buffer not 2-byte aligned
};

struct MdnsService {
  std::string hostname;
  uint32_t ip;
  uint16_t port;
  std::map<std::string, std::string> txt;
};

struct State {
  uint64_t now_us = 1'000'000;
  std::string serial_in;
  std::string serial_out;
  wl_status_t wifi_status = WL_DISCONNECTED;
  wifi_mode_t wifi_mode = WIFI_MODE_NULL;
  std::string wifi_ssid, wifi_password, hostname, softap_ssid;
  bool sleep = true;
  uint32_t local_ip = 0;
  int8_t rssi = -60;
  std::map<std::string, std::map<std::string, std::string>> nvs;  // namespace -> key -> value bytes
  std::vector<MdnsService> mdns;
  bool mdns_begun = false;
  std::map<std::string, uint32_t> dns;  // host -> ip
  // Socket of the NetworkClient.
  bool connect_ok = true;
  std::string last_connect;  // "a.b.c.d:port"
  bool nodelay = false;
  bool socket_open = false;
  std::string sent;
  std::string to_receive;
  bool peer_closed = false;
  // Setup page: the request a test makes, the reply the board sends.
  std::map<std::string, std::function<void()>> routes;  // "GET /", "POST /save", "*"
  std::map<std::string, std::string> args;
  int reply_code = 0;
  std::string reply_body;
  std::map<std::string, std::string> reply_headers;
  bool web_started = false;
  bool dns_started = false;
  // System.
  int restarts = 0;
  int wdt_resets = 0;
  bool wdt_added = false;
  uint32_t wdt_timeout_ms = 0;
  int reset_pin_level = 1;
  uint32_t free_heap = 123456;
  Panel panel;
};

State& state();
void reset();                       // a fresh board: empty NVS, nothing connected, t = 1 s
void advance_ms(uint32_t ms);
void request(const std::string& route);  // runs a setup-page handler ("GET /", "POST /save", "*")

}  // namespace fake
