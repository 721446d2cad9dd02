// The screen while the board is not streaming: firmware version, display name and size, Wi-Fi
// state and IP, the server it tries and how it was found, connection state and attempt count,
// and the last error (a server's REJECT reason included). Plain C++ over tft::Display; only rows
// whose text changed are redrawn, so calling show() every loop costs nothing when nothing
// changed. Assumes the adapter's 6x8 font (TftDisplay).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "display.h"
#include "text.h"

namespace board {

enum class WifiState : uint8_t { not_configured, connecting, connected, lost };

struct StatusModel {
  const char* version = "";
  const char* display = "";
  uint16_t width = 0;
  uint16_t height = 0;
  WifiState wifi = WifiState::not_configured;
  const char* ssid = "";
  uint32_t ip = 0;           // when connected
  uint32_t wifi_wait_s = 0;  // seconds connecting or lost
  const char* portal_ssid = "";  // the setup access point, "" when closed
  const char* server = "";       // "192.168.1.5:7878 (mDNS)", or "" while none is known
  const char* connection = "";   // the state machine's state
  uint32_t attempts = 0;         // connection attempts since the last stream
  const char* last_error = "";
};

constexpr size_t kStatusLineLength = 256;
constexpr size_t kStatusMaxLines = 12;

struct StatusText {
  tft::Text<kStatusLineLength> lines[kStatusMaxLines];
  uint16_t colors[kStatusMaxLines] = {};
  size_t count = 0;

  tft::Text<kStatusLineLength>& add(uint16_t color);  // a new line (the last one again when full)
};

void build_status(const StatusModel& model, StatusText& out);

class StatusScreen {
 public:
  static constexpr uint16_t kRowHeight = 10;
  static constexpr uint16_t kMargin = 2;
  static constexpr uint16_t kCharWidth = 6;

  explicit StatusScreen(tft::Display& display) : display_(display) {}

  // Draws `text` (long lines wrap), redrawing only rows that differ from what is on screen.
  void show(const StatusText& text);
  // Something else drew on the screen (a stream): the next show() clears and draws everything.
  void invalidate() { valid_ = false; }
  size_t rows_drawn() const { return rows_drawn_; }  // for tests: rows drawn by the last show()

 private:
  static constexpr size_t kMaxRows = 24;
  static constexpr size_t kMaxCols = 64;

  void draw_row(size_t row, const char* text, uint16_t color);

  tft::Display& display_;
  bool valid_ = false;
  char shown_[kMaxRows][kMaxCols + 1] = {};
  uint16_t shown_color_[kMaxRows] = {};
  size_t rows_drawn_ = 0;
};

}  // namespace board
