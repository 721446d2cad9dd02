// The TFT_eSPI adapter: windows, byte order on the bus, word-aligned buffers, transactions.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "board_test_support.h"
#include "stream_parser.h"
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

TEST_CASE("without TFTSTREAM_PANEL_READBACK the panel is never read and COPY is not offered") {
  fake::reset();
  TFT_eSPI tft;
  board::TftDisplay display(tft);  // the build flag's default: off in these tests, as on most boards
  display.begin(1);
  CHECK_FALSE(display.can_read());
  CHECK(tft::encodings_for(display, tft::kMaskImplemented) == (tft::kMaskRaw | tft::kMaskRuns));
  uint8_t out[4] = {};
  display.read_pixels(tft::Window{0, 0, 2, 1}, out, tft::PixelOrder::big_endian);
  CHECK(fake::state().panel.reads.empty());
}

TEST_CASE("read-back: checked at begin, then readRect's values come back in the wire's byte order") {
  fake::reset();
  TFT_eSPI tft;
  board::TftDisplay display(tft, true);
  display.begin(1);
  REQUIRE(display.can_read());
  auto& panel = fake::state().panel;
  REQUIRE(panel.reads.size() == 1);  // the check: a few pixels written and read back
  CHECK(panel.calls.back() == "fillRect 0 0 320 240 0x0000");  // then cleared
  const uint8_t wire[] = {0xF8, 0x00, 0x07, 0xE0, 0x00, 0x1F, 0x12, 0x34};
  display.push_pixels(tft::Window{5, 6, 2, 2}, wire, tft::PixelOrder::big_endian);
  uint8_t out[8] = {};
  display.read_pixels(tft::Window{5, 6, 2, 2}, out, tft::PixelOrder::big_endian);
  CHECK(std::vector<uint8_t>(out, out + 8) == std::vector<uint8_t>(wire, wire + 8));
  display.read_pixels(tft::Window{5, 6, 2, 2}, out, tft::PixelOrder::little_endian);
  CHECK(std::vector<uint8_t>(out, out + 8) == std::vector<uint8_t>{0x00, 0xF8, 0xE0, 0x07, 0x1F, 0x00, 0x34, 0x12});
  CHECK_FALSE(panel.unaligned_read);
}

TEST_CASE("read-back of a large window goes through the stage in pieces, every pixel in place") {
  fake::reset();
  TFT_eSPI tft;
  board::TftDisplay display(tft, true);
  display.begin(1);  // 320x240
  std::vector<uint8_t> wire(2 * 300 * 3);
  for (size_t i = 0; i < wire.size(); ++i) wire[i] = static_cast<uint8_t>(i * 13 + i / 256);
  display.push_pixels(tft::Window{10, 20, 300, 3}, wire.data(), tft::PixelOrder::big_endian);
  fake::state().panel.reads.clear();
  std::vector<uint8_t> out(wire.size() + 1);
  display.read_pixels(tft::Window{10, 20, 300, 3}, out.data() + 1, tft::PixelOrder::big_endian);  // odd address
  CHECK(std::vector<uint8_t>(out.begin() + 1, out.end()) == wire);
  const auto& reads = fake::state().panel.reads;
  REQUIRE(reads.size() == 6);  // rows wider than the 256-pixel stage: 256 + 44 each
  CHECK(reads[0].w == 256);
  CHECK(reads[1].x == 266);
  CHECK(reads[1].w == 44);
  CHECK_FALSE(fake::state().panel.unaligned_read);
}

TEST_CASE("read-back that fails its check at begin (MISO not wired) turns COPY off") {
  fake::reset();
  fake::state().panel.miso_wired = false;
  TFT_eSPI tft;
  board::TftDisplay display(tft, true);
  display.begin(1);
  CHECK_FALSE(display.can_read());
  CHECK(tft::encodings_for(display, tft::kMaskImplemented) == (tft::kMaskRaw | tft::kMaskRuns));
}
