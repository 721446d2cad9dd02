// Setting the board up without editing code:
//  - SerialConsole: the command set of commands.h on the USB serial port (115200 baud), always on.
//  - SetupPortal: an open access point "tftstream-XXXX" with a captive page (any address
//    answers with the form) when no Wi-Fi is stored, or when the stored one has not connected
//    for TFTSTREAM_PORTAL_AFTER_S; it closes once the station connects.
// Both change the same Settings and store them in NVS; a saved change applies after a restart
// (the page restarts the board itself, the console on `reboot`).
#pragma once

#include <DNSServer.h>
#include <WebServer.h>
#include <stddef.h>
#include <stdint.h>

#include "commands.h"
#include "settings.h"

namespace board {

// Carries out what a command asked for; `reboot` and `reset` do not return.
void apply_action(Action action, Settings& settings, SettingsStore& store);

class SerialConsole {
 public:
  SerialConsole(Settings& settings, SettingsStore& store) : settings_(settings), store_(store) {}
  void poll();  // reads what has arrived, runs each complete line

 private:
  void run_line();

  Settings& settings_;
  SettingsStore& store_;
  char line_[192] = {};
  size_t len_ = 0;
  bool overflow_ = false;
};

class SetupPortal {
 public:
  SetupPortal(Settings& settings, SettingsStore& store) : settings_(settings), store_(store) {}

  void start(const char* ap_ssid, bool keep_station);
  void stop();
  void poll(uint32_t now_ms);
  bool active() const { return active_; }
  const char* ssid() const { return active_ ? ssid_ : ""; }

 private:
  void send_form(int code, const char* message);
  void handle_save();
  void redirect();

  Settings& settings_;
  SettingsStore& store_;
  WebServer server_{80};
  DNSServer dns_;
  bool active_ = false;
  bool routes_added_ = false;
  char ssid_[33] = {};
  bool restart_pending_ = false;
  uint32_t restart_at_ms_ = 0;
};

}  // namespace board
