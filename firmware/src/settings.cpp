#include "settings.h"

#include <Preferences.h>
#include <string.h>

#include "board_config.h"
#include "board_messages.h"
#include "log.h"

namespace board {

namespace {

constexpr const char* kNamespace = "tftstream";

template <size_t N>
bool copy_into(char (&field)[N], const char* value) {
  const size_t len = strlen(value);
  if (len >= N) return false;
  memcpy(field, value, len + 1);
  return true;
}

bool parse_u32(const char* text, uint32_t max, uint32_t& out) {
  if (*text == '\0') return false;
  uint32_t value = 0;
  for (; *text != '\0'; ++text) {
    if (*text < '0' || *text > '9') return false;
    value = value * 10 + static_cast<uint32_t>(*text - '0');
    if (value > max) return false;
  }
  out = value;
  return true;
}

// The server's own rule for display names, through the core's HELLO check.
bool valid_display_name(const char* name) {
  tft::HelloInfo hello;
  hello.width = 1;
  hello.height = 1;
  hello.max_body = tft::kMinBoardBody;
  hello.display = name;
  return tft::check_hello(hello) == tft::Error::none;
}

}  // namespace

const char* to_str(SetError error) {
  switch (error) {
    case SetError::none: return "ok";
    case SetError::unknown_key: return "unknown setting";
    case SetError::too_long: return "too long";
    case SetError::empty: return "must not be empty";
    case SetError::bad_password: return "a Wi-Fi password has 8 to 63 characters (or none: open network)";
    case SetError::bad_port: return "a port is 1 to 65535";
    case SetError::bad_name: return "a display name is 1 to 32 of A-Z a-z 0-9 _ . -";
    case SetError::bad_level: return "a log level is 0 (off) to 4 (debug)";
  }
  return "?";
}

void default_settings(Settings& settings) {
  memset(&settings, 0, sizeof settings);
  copy_into(settings.display, kDefaultDisplay);
  settings.port = kDefaultPort;
  settings.log_level = kDefaultLogLevel;
}

SetError set_field(Settings& settings, const char* key, const char* value) {
  if (strcmp(key, "ssid") == 0) {
    if (*value == '\0') return SetError::empty;
    return copy_into(settings.ssid, value) ? SetError::none : SetError::too_long;
  }
  if (strcmp(key, "password") == 0) {
    const size_t len = strlen(value);
    if (len != 0 && (len < 8 || len > 63)) return SetError::bad_password;
    return copy_into(settings.password, value) ? SetError::none : SetError::too_long;
  }
  if (strcmp(key, "host") == 0) return copy_into(settings.host, value) ? SetError::none : SetError::too_long;
  if (strcmp(key, "port") == 0) {
    uint32_t port = 0;
    if (!parse_u32(value, 65535, port) || port == 0) return SetError::bad_port;
    settings.port = static_cast<uint16_t>(port);
    return SetError::none;
  }
  if (strcmp(key, "display") == 0) {
    if (!valid_display_name(value)) return SetError::bad_name;
    return copy_into(settings.display, value) ? SetError::none : SetError::bad_name;
  }
  if (strcmp(key, "token") == 0) return copy_into(settings.token, value) ? SetError::none : SetError::too_long;
  if (strcmp(key, "log") == 0) {
    uint32_t level = 0;
    if (!parse_u32(value, 4, level)) return SetError::bad_level;
    settings.log_level = static_cast<uint8_t>(level);
    return SetError::none;
  }
  return SetError::unknown_key;
}

bool SettingsStore::load(Settings& settings) {
  default_settings(settings);
  Preferences prefs;
  if (!prefs.begin(kNamespace, true)) return false;  // read-only open fails while the namespace does not exist
  const bool stored = prefs.isKey("ssid");
  // A value that no longer validates (flash from an older firmware) keeps its default.
  char text[sizeof settings.token];
  const char* const keys[] = {"ssid", "password", "host", "display", "token"};
  for (const char* key : keys) {
    if (prefs.isKey(key) && prefs.getString(key, text, sizeof text) > 0) set_field(settings, key, text);
  }
  settings.port = prefs.getUShort("port", settings.port);
  settings.log_level = prefs.getUChar("log", settings.log_level);
  prefs.end();
  return stored;
}

bool SettingsStore::save(const Settings& settings) {
  Preferences prefs;
  if (!prefs.begin(kNamespace, false)) {
    BOARD_LOG_E("settings", "cannot open NVS namespace %s", kNamespace);
    return false;
  }
  // putString of "" stores an empty value (length 0 is also what a failed write returns, so
  // only non-empty writes are checked).
  bool ok = true;
  const struct {
    const char* key;
    const char* value;
  } texts[] = {{"ssid", settings.ssid}, {"password", settings.password}, {"host", settings.host},
               {"display", settings.display}, {"token", settings.token}};
  for (const auto& text : texts) {
    if (prefs.putString(text.key, text.value) == 0 && text.value[0] != '\0') ok = false;
  }
  ok &= prefs.putUShort("port", settings.port) == sizeof(uint16_t);
  ok &= prefs.putUChar("log", settings.log_level) == sizeof(uint8_t);
  prefs.end();
  if (!ok) BOARD_LOG_E("settings", "a write to NVS failed");
  return ok;
}

bool SettingsStore::erase() {
  Preferences prefs;
  if (!prefs.begin(kNamespace, false)) return false;
  const bool ok = prefs.clear();
  prefs.end();
  return ok;
}

}  // namespace board
