// The status screen: what it says in each situation, and that it redraws only what changed.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "board_test_support.h"
#include "status_screen.h"

using board_test::contains;

namespace {

class RecordingDisplay : public tft::Display {
 public:
  virtual ~RecordingDisplay() = default;
  RecordingDisplay(uint16_t w, uint16_t h) : w_(w), h_(h) {}
  uint16_t width() const override { return w_; }
  uint16_t height() const override { return h_; }
  void push_pixels(const tft::Window&, const uint8_t*, tft::PixelOrder) override {}
  void fill_rect(const tft::Window& window, uint16_t) override {
    ++fills;
    if (window.x + window.w > w_ || window.y + window.h > h_) ++outside;
  }
  void draw_text(uint16_t x, uint16_t y, const char* text, uint16_t, uint16_t) override {
    texts.push_back(text);
    if (x + 6 * std::string(text).size() > w_ || y + 8 > h_) ++outside;
  }
  std::vector<std::string> texts;
  int fills = 0;
  int outside = 0;

 private:
  uint16_t w_, h_;
};

std::string joined(const board::StatusText& text) {
  std::string all;
  for (size_t i = 0; i < text.count; ++i) all += std::string(text.lines[i].c_str()) + "\n";
  return all;
}

board::StatusModel connected_model() {
  board::StatusModel m;
  m.version = "0.1.0";
  m.display = "main";
  m.width = 320;
  m.height = 240;
  m.wifi = board::WifiState::connected;
  m.ssid = "home";
  m.ip = board_test::ip(192, 168, 1, 23);
  m.server = "192.168.1.5:7878 (mDNS)";
  m.connection = "backoff";
  m.attempts = 3;
  return m;
}

}  // namespace

TEST_CASE("connected: version, display, Wi-Fi and IP, server, state with attempts, last error") {
  board::StatusModel m = connected_model();
  m.last_error = "rejected: display 'main' is 320x240, board is 240x240";
  board::StatusText text;
  board::build_status(m, text);
  const std::string all = joined(text);
  CHECK(contains(all, "tftstream 0.1.0\n"));
  CHECK(contains(all, "display main 320x240\n"));
  CHECK(contains(all, "Wi-Fi: home, IP 192.168.1.23\n"));
  CHECK(contains(all, "server 192.168.1.5:7878 (mDNS)\n"));
  CHECK(contains(all, "connection: backoff, attempt 3\n"));
  CHECK(contains(all, "last error: rejected: display 'main' is 320x240, board is 240x240\n"));
}

TEST_CASE("a fresh board says how to set it up; a lost network says so") {
  board::StatusModel m;
  m.portal_ssid = "tftstream-9abc";
  board::StatusText text;
  board::build_status(m, text);
  std::string all = joined(text);
  CHECK(contains(all, "Wi-Fi: not set up"));
  CHECK(contains(all, "setup: join Wi-Fi \"tftstream-9abc\""));
  CHECK(contains(all, "http://192.168.4.1"));
  CHECK_FALSE(contains(all, "server"));
  m = connected_model();
  m.wifi = board::WifiState::lost;
  m.wifi_wait_s = 7;
  board::build_status(m, text);
  all = joined(text);
  CHECK(contains(all, "Wi-Fi: lost home, reconnecting (7 s)"));
  CHECK_FALSE(contains(all, "connection:"));
}

TEST_CASE("show draws every row once, then only the rows that changed") {
  RecordingDisplay display(320, 240);
  board::StatusScreen screen(display);
  board::StatusModel m = connected_model();
  board::StatusText text;
  board::build_status(m, text);
  screen.show(text);
  CHECK(screen.rows_drawn() == text.count);
  CHECK(display.texts.size() == text.count);
  screen.show(text);
  CHECK(screen.rows_drawn() == 0);
  m.attempts = 4;
  board::build_status(m, text);
  screen.show(text);
  CHECK(screen.rows_drawn() == 1);
  CHECK(display.texts.back() == "connection: backoff, attempt 4");
  screen.invalidate();  // a stream drew over it
  screen.show(text);
  CHECK(screen.rows_drawn() == text.count);
  CHECK(display.outside == 0);
}

TEST_CASE("long lines wrap at the panel width, rows that disappear are cleared, nothing leaves the panel") {
  RecordingDisplay display(160, 128);  // 26 columns, 12 rows
  board::StatusScreen screen(display);
  board::StatusModel m = connected_model();
  m.last_error = "rejected: display 'side' is 160x128, board is 240x240; check tftstream.toml";
  board::StatusText text;
  board::build_status(m, text);
  screen.show(text);
  for (const std::string& row : display.texts) CHECK(row.size() <= 26);
  CHECK(display.texts.back() == "ream.toml");  // the last of the error's rows of 26 columns
  const size_t error_rows = (std::string("last error: ").size() + std::string(m.last_error).size() + 25) / 26;
  REQUIRE(error_rows == 4);
  m.last_error = "";
  board::build_status(m, text);
  screen.show(text);
  CHECK(screen.rows_drawn() == error_rows);  // only the error's rows change: cleared
  CHECK(display.outside == 0);
}
