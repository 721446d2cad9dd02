#include "status_screen.h"

#include <string.h>

#include "discovery.h"

namespace board {

namespace {

constexpr uint16_t kBlack = 0x0000;
constexpr uint16_t kWhite = 0xFFFF;
constexpr uint16_t kCyan = 0x07FF;
constexpr uint16_t kYellow = 0xFFE0;
constexpr uint16_t kGreen = 0x07E0;

}  // namespace

tft::Text<kStatusLineLength>& StatusText::add(uint16_t color) {
  if (count < kStatusMaxLines) ++count;
  colors[count - 1] = color;
  lines[count - 1] = tft::Text<kStatusLineLength>();
  return lines[count - 1];
}

void build_status(const StatusModel& m, StatusText& out) {
  out.count = 0;
  out.add(kCyan).add("tftstream ").add(m.version);
  out.add(kWhite).add("display ").add(m.display).add(" ").add(m.width).add("x").add(m.height);
  switch (m.wifi) {
    case WifiState::not_configured:
      out.add(kYellow).add("Wi-Fi: not set up");
      break;
    case WifiState::connecting:
      out.add(kWhite).add("Wi-Fi: connecting to ").add(m.ssid).add(" (").add(m.wifi_wait_s).add(" s)");
      break;
    case WifiState::lost:
      out.add(kYellow).add("Wi-Fi: lost ").add(m.ssid).add(", reconnecting (").add(m.wifi_wait_s).add(" s)");
      break;
    case WifiState::connected: {
      char ip[16];
      format_ip(m.ip, ip);
      out.add(kGreen).add("Wi-Fi: ").add(m.ssid).add(", IP ").add(ip);
      break;
    }
  }
  if (m.portal_ssid[0] != '\0') {
    out.add(kYellow).add("setup: join Wi-Fi \"").add(m.portal_ssid).add("\"");
    out.add(kYellow).add("then open http://192.168.4.1");
    out.add(kWhite).add("or USB serial 115200: type help");
  }
  if (m.wifi == WifiState::connected) {
    if (m.server[0] != '\0') {
      out.add(kWhite).add("server ").add(m.server);
    } else {
      out.add(kWhite).add("server: looking for _tftstream._tcp");
    }
    out.add(kWhite).add("connection: ").add(m.connection).add(", attempt ").add(m.attempts);
  }
  if (m.last_error[0] != '\0') out.add(kYellow).add("last error: ").add(m.last_error);
}

void StatusScreen::draw_row(size_t row, const char* text, uint16_t color) {
  const uint16_t y = static_cast<uint16_t>(kMargin + row * kRowHeight);
  if (y + kRowHeight > display_.height()) return;
  display_.fill_rect(tft::Window{0, y, display_.width(), kRowHeight}, kBlack);
  if (text[0] != '\0') display_.draw_text(kMargin, static_cast<uint16_t>(y + 1), text, color, kBlack);
  ++rows_drawn_;
}

void StatusScreen::show(const StatusText& text) {
  rows_drawn_ = 0;
  const size_t usable_cols = display_.width() > 2 * kMargin ? (display_.width() - 2 * kMargin) / kCharWidth : 0;
  const size_t cols = usable_cols < kMaxCols ? usable_cols : kMaxCols;
  const size_t max_rows = display_.height() > kMargin ? (display_.height() - kMargin) / kRowHeight : 0;
  const size_t rows = max_rows < kMaxRows ? max_rows : kMaxRows;
  if (cols == 0 || rows == 0) return;
  if (!valid_) {
    display_.fill_rect(tft::Window{0, 0, display_.width(), display_.height()}, kBlack);
    memset(shown_, 0, sizeof shown_);
    valid_ = true;
  }
  size_t row = 0;
  for (size_t line = 0; line < text.count && row < rows; ++line) {
    const char* p = text.lines[line].c_str();
    size_t left = text.lines[line].size();
    do {  // an empty line still takes a row
      const size_t n = left < cols ? left : cols;
      char piece[kMaxCols + 1];
      memcpy(piece, p, n);
      piece[n] = '\0';
      if (strcmp(piece, shown_[row]) != 0 || shown_color_[row] != text.colors[line]) {
        draw_row(row, piece, text.colors[line]);
        memcpy(shown_[row], piece, n + 1);
        shown_color_[row] = text.colors[line];
      }
      p += n;
      left -= n;
      ++row;
    } while (left > 0 && row < rows);
  }
  for (; row < rows; ++row) {
    if (shown_[row][0] == '\0') continue;
    draw_row(row, "", kBlack);
    shown_[row][0] = '\0';
  }
}

}  // namespace board
