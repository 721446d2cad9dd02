#include "provisioning.h"

#include <Arduino.h>
#include <WiFi.h>
#include <string.h>

#include "clock.h"
#include "discovery.h"
#include "log.h"
#include "text.h"

namespace board {

namespace {

void append_escaped(String& html, const char* text) {
  for (; *text != '\0'; ++text) {
    switch (*text) {
      case '&': html += "&amp;"; break;
      case '<': html += "&lt;"; break;
      case '>': html += "&gt;"; break;
      case '"': html += "&quot;"; break;
      default: html += *text;
    }
  }
}

void append_field(String& html, const char* label, const char* name, const char* type, const char* value,
                  const char* placeholder) {
  html += "<label>";
  html += label;
  html += "<input name=\"";
  html += name;
  html += "\" type=\"";
  html += type;
  html += "\" value=\"";
  append_escaped(html, value);
  html += "\" placeholder=\"";
  html += placeholder;
  html += "\"></label>";
}

}  // namespace

void apply_action(Action action, Settings& settings, SettingsStore& store) {
  switch (action) {
    case Action::none:
      return;
    case Action::save:
      if (store.save(settings)) set_log_level(settings.log_level);
      return;
    case Action::reset:
      BOARD_LOG_W("setup", "erasing settings");
      store.erase();
      [[fallthrough]];
    case Action::reboot:
      BOARD_LOG_I("setup", "restarting");
      Serial.flush();
      delay(100);
      ESP.restart();
  }
}

void SerialConsole::poll() {
  while (Serial.available() > 0) {
    const int c = Serial.read();
    if (c < 0) return;
    if (c == '\r' || c == '\n') {
      if (len_ > 0 || overflow_) {
        Serial.println();
        run_line();
      }
      continue;
    }
    if (c == 0x08 || c == 0x7F) {  // backspace, delete
      if (len_ > 0) {
        --len_;
        Serial.print("\b \b");
      }
      continue;
    }
    if (len_ + 1 < sizeof line_) {
      line_[len_++] = static_cast<char>(c);
      Serial.write(static_cast<uint8_t>(c));  // echo: serial monitors do not by default
    } else {
      overflow_ = true;
    }
  }
}

void SerialConsole::run_line() {
  line_[len_] = '\0';
  Reply reply;
  Action action = Action::none;
  if (overflow_) {
    reply.add("line too long (at most ").add(static_cast<uint32_t>(sizeof line_ - 1)).add(" characters)\n");
  } else {
    action = run_command(line_, settings_, reply);
  }
  len_ = 0;
  overflow_ = false;
  Serial.print(reply.c_str());
  apply_action(action, settings_, store_);
}

void SetupPortal::start(const char* ap_ssid, bool keep_station) {
  if (active_) return;
  strncpy(ssid_, ap_ssid, sizeof ssid_ - 1);
  WiFi.mode(keep_station ? WIFI_AP_STA : WIFI_AP);
  if (!WiFi.softAP(ssid_)) {
    BOARD_LOG_E("setup", "cannot open access point %s", ssid_);
    return;
  }
  const IPAddress ip = WiFi.softAPIP();
  dns_.start(53, "*", ip);  // every name resolves to the board: phones then show the page
  if (!routes_added_) {
    server_.on("/", HTTP_GET, [this]() { send_form(200, ""); });
    server_.on("/save", HTTP_POST, [this]() { handle_save(); });
    server_.onNotFound([this]() { redirect(); });
    routes_added_ = true;
  }
  server_.begin();
  active_ = true;
  char text[16];
  format_ip(static_cast<uint32_t>(ip), text);
  BOARD_LOG_I("setup", "access point %s open: join it and browse http://%s/", ssid_, text);
}

void SetupPortal::stop() {
  if (!active_) return;
  server_.stop();
  dns_.stop();
  WiFi.softAPdisconnect(false);
  WiFi.mode(WIFI_STA);
  active_ = false;
  BOARD_LOG_I("setup", "access point closed");
}

void SetupPortal::poll(uint32_t now_ms) {
  if (!active_) return;
  dns_.processNextRequest();
  server_.handleClient();
  if (restart_pending_ && static_cast<int32_t>(now_ms - restart_at_ms_) >= 0) apply_action(Action::reboot, settings_, store_);
}

void SetupPortal::redirect() {
  char ip[16];
  format_ip(static_cast<uint32_t>(WiFi.softAPIP()), ip);
  String location = "http://";
  location += ip;
  location += "/";
  server_.sendHeader("Location", location, true);
  server_.send(302, "text/plain", "");
}

void SetupPortal::send_form(int code, const char* message) {
  String html;
  html.reserve(2048);
  html += "<!DOCTYPE html><html><head><meta name=\"viewport\" content=\"width=device-width\">"
          "<title>tftstream setup</title><style>body{font-family:sans-serif;max-width:26em;margin:1em auto}"
          "label{display:block;margin:.6em 0}input{display:block;width:100%;font-size:1em}</style></head><body>"
          "<h2>tftstream setup</h2>";
  if (message[0] != '\0') {
    html += "<p><b>";
    append_escaped(html, message);
    html += "</b></p>";
  }
  html += "<form method=\"post\" action=\"/save\">";
  append_field(html, "Wi-Fi network", "ssid", "text", settings_.ssid, "");
  append_field(html, "Wi-Fi password", "password", "password", "",
               settings_.password[0] != '\0' ? "unchanged if empty" : "none: open network");
  append_field(html, "Server (empty: find it by mDNS)", "host", "text", settings_.host, "auto");
  tft::Text<8> port;
  port.add(settings_.port);
  append_field(html, "Server port", "port", "number", port.c_str(), "7878");
  append_field(html, "Display name (as in tftstream.toml)", "display", "text", settings_.display, "main");
  append_field(html, "Token (if the server has one)", "token", "text", settings_.token, "none");
  html += "<input type=\"submit\" value=\"Save and restart\"></form></body></html>";
  server_.send(code, "text/html", html);
}

void SetupPortal::handle_save() {
  Settings changed = settings_;
  const char* const keys[] = {"ssid", "password", "host", "port", "display", "token"};
  for (const char* key : keys) {
    if (!server_.hasArg(key)) continue;
    const String value = server_.arg(key);
    if (strcmp(key, "password") == 0 && value.length() == 0) continue;  // empty: keep the stored one
    if (strcmp(key, "port") == 0 && value.length() == 0) continue;
    const SetError error = set_field(changed, key, value.c_str());
    if (error != SetError::none) {
      String message = key;
      message += ": ";
      message += to_str(error);
      send_form(400, message.c_str());
      return;
    }
  }
  settings_ = changed;
  if (!store_.save(settings_)) {
    send_form(500, "could not write the settings to flash");
    return;
  }
  server_.send(200, "text/html",
               "<!DOCTYPE html><html><body><h2>Saved.</h2><p>The board restarts and joins your network.</p>"
               "</body></html>");
  BOARD_LOG_I("setup", "settings saved from the setup page; restarting");
  restart_pending_ = true;
  restart_at_ms_ = now_ms() + 1500;  // let the reply leave first
}

}  // namespace board
