// The TFT_eSPI adapter: windows, byte order on the bus, word-aligned buffers, transactions.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "board_test_support.h"
#include "tft_display.h"

TEST_CASE("begin sets the rotation, clears the screen and reports the rotated size") {
  fake::reset();
  TFT_eSPI tft;  // 240x320 panel (test build flags)
  board::TftDisplay display(tft);
  display.begin(1);
  CHECK(display.width() == 320);
  CHECK(display.height() == 240);
  CHECK_FALSE(fake::state().panel.swap_bytes);
  const auto& calls = fake::state().panel.calls;
  REQUIRE(calls.size() >= 3);
  CHECK(calls[0] == "init");
  CHECK(calls[1] == "rotation 1");
  CHECK(calls.back() == "fillRect 0 0 320 240 0x0000");
}

TEST_CASE("big-endian pixels reach the bus byte for byte; little-endian ones are swapped first") {
  fake::reset();
  TFT_eSPI tft;
  board::TftDisplay display(tft);
  display.begin(0);
  const uint8_t wire[] = {0xF8, 0x00, 0x07, 0xE0, 0x00, 0x1F};  // red, green, blue
  display.push_pixels(tft::Window{1, 2, 3, 1}, wire, tft::PixelOrder::big_endian);
  CHECK(fake::state().panel.pushed == std::vector<uint8_t>(wire, wire + 6));
  fake::state().panel.pushed.clear();
  const uint8_t little[] = {0x00, 0xF8, 0xE0, 0x07, 0x1F, 0x00};
  display.push_pixels(tft::Window{1, 2, 3, 1}, little, tft::PixelOrder::little_endian);
  CHECK(fake::state().panel.pushed == std::vector<uint8_t>(wire, wire + 6));
  REQUIRE(fake::state().panel.windows.size() == 2);
  CHECK(fake::state().panel.windows[0].x == 1);
  CHECK(fake::state().panel.windows[0].y == 2);
  CHECK(fake::state().panel.windows[0].w == 3);
  CHECK(fake::state().panel.windows[0].h == 1);
}

TEST_CASE("any source alignment and any size: word-aligned pushes inside one transaction, every byte once") {
  fake::reset();
  TFT_eSPI tft;
  board::TftDisplay display(tft);
  display.begin(0);
  std::vector<uint8_t> buffer(2 * 700 + 1);
  for (size_t i = 0; i < buffer.size(); ++i) buffer[i] = static_cast<uint8_t>(i * 7);
  const uint8_t* odd = buffer.data() + 1;  // as the network hands pixels over: any offset
  display.push_pixels(tft::Window{0, 0, 35, 20}, odd, tft::PixelOrder::big_endian);
  const auto& panel = fake::state().panel;
  CHECK_FALSE(panel.unaligned_push);
  CHECK(panel.pushes_outside_transaction == 0);
  CHECK_FALSE(panel.in_transaction);
  CHECK(panel.pushed == std::vector<uint8_t>(odd, odd + 2 * 700));
}

TEST_CASE("drawing time adds up until taken") {
  fake::reset();
  TFT_eSPI tft;
  board::TftDisplay display(tft);
  display.begin(0);
  display.take_draw_us();
  fake::state().panel.cost_us = 50;
  display.fill_rect(tft::Window{0, 0, 10, 10}, 0xFFFF);
  const uint8_t pixel[] = {0, 0};
  display.push_pixels(tft::Window{0, 0, 1, 1}, pixel, tft::PixelOrder::big_endian);
  CHECK(display.take_draw_us() == 100);
  CHECK(display.take_draw_us() == 0);
  display.draw_text(2, 3, "hello", 0xFFFF, 0);
  CHECK(fake::state().panel.texts.back() == "hello");
}
