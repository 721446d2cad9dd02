// What a user sets on the board after flashing: Wi-Fi, server, display name, token, log level.
// Kept in flash (NVS, Preferences namespace "tftstream"); `set_field` is the one validator the
// serial console and the setup page share.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace board {

struct Settings {
  char ssid[33];      // 1..32 bytes; "" = not set up yet
  char password[64];  // "" (open network) or 8..63 characters
  char host[64];      // "" = find the server by mDNS
  uint16_t port;      // with host
  char display[33];   // the name said in HELLO: 1..32 of [A-Za-z0-9_.-]
  char token[65];     // 0..64 bytes
  uint8_t log_level;  // 0..4
};

enum class SetError : uint8_t { none, unknown_key, too_long, empty, bad_password, bad_port, bad_name, bad_level };
const char* to_str(SetError error);

void default_settings(Settings& settings);

// Keys: ssid, password, host, port, display, token, log. Leaves `settings` unchanged on error.
SetError set_field(Settings& settings, const char* key, const char* value);

// Settings in NVS. Keys absent from flash keep their defaults.
class SettingsStore {
 public:
  bool load(Settings& settings);        // false: nothing stored yet (a fresh board)
  bool save(const Settings& settings);  // false: the flash refused a write
  bool erase();
};

}  // namespace board
