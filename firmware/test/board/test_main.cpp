// setup() and loop() end to end on the fakes: a configured board joins Wi-Fi, finds the server by
// mDNS, says HELLO, draws a frame and ACKs it with stats; loses the server, then Wi-Fi, and says so
// on screen; the console changes a setting. (Board globals live once per process: one scenario.)
#include <doctest/doctest.h>

#include <string>

#include "board_test_support.h"

void setup();
void loop();

using namespace board_test;

namespace {

void loop_for(uint32_t ms) {
  const unsigned long until = millis() + ms;
  while (millis() < until) loop();
}

bool screen_says(const std::string& text) {
  for (const std::string& t : fake::state().panel.texts) {
    if (contains(t, text)) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("a configured board streams, reports its losses on screen, and takes console commands") {
  fake::reset();
  auto& nvs = fake::state().nvs["tftstream"];
  nvs["ssid"] = "home";
  nvs["password"] = "goodpassword";
  nvs["display"] = "main";
  fake::state().mdns = {{"pc", ip(192, 168, 1, 5), 7878, {{"v", "1"}, {"displays", "main,side"}}}};

  setup();
  CHECK(fake::state().wifi_ssid == "home");
  CHECK(fake::state().hostname == "tftstream-9abc");
  CHECK(fake::state().wdt_added);
  CHECK(fake::state().wdt_timeout_ms == 20000);
  loop_for(50);
  CHECK(screen_says("Wi-Fi: connecting to home"));

  fake::state().wifi_status = WL_CONNECTED;
  fake::state().local_ip = ip(192, 168, 1, 23);
  loop_for(50);
  CHECK(fake::state().mdns_begun);
  CHECK(fake::state().last_connect == "192.168.1.5:7878");
  CHECK(fake::state().nodelay);
  CHECK_FALSE(fake::state().sleep);  // power save off for the session
  const std::string& sent = fake::state().sent;
  REQUIRE(sent.size() > 8);
  CHECK(sent[0] == 0x01);
  CHECK(sent.substr(3, 4) == "TFTS");
  CHECK(contains(sent, "main"));
  CHECK(contains(sent, "tftstream-0.1.0"));
  CHECK(static_cast<uint8_t>(sent[8]) + 256 * static_cast<uint8_t>(sent[9]) == 320);  // width after rotation
  // RAW + RUNS + LZ4 + JPEG + RICE (its static block buffer holds max_body) + CACHED (its static 32 KB
  // cache) + CELLS (both); no COPY, no RECOLOR without TFTSTREAM_PANEL_READBACK.
  CHECK(static_cast<uint8_t>(sent[12]) == 123);
  CHECK(static_cast<uint8_t>(sent[13]) == 1);

  fake::state().sent.clear();
  fake::state().to_receive = accept(4096, 27) + seq_message(0x20, 1) + lz4_rect(100, 100, 60, 30, 0xF800) +
                              jpeg_rect(200, 50) + raw_rect(10, 20, 2, 2, 0x07E0) + seq_message(0x22, 1);
  loop_for(20);
  const std::string ack = fake::state().sent;
  REQUIRE(ack.size() >= 20);
  CHECK(ack[0] == 0x02);
  CHECK(ack[1] == 17);
  CHECK(static_cast<uint8_t>(ack[3]) == 1);
  CHECK(static_cast<int8_t>(ack[19]) == -60);  // RSSI
  CHECK(fake::state().panel.windows.back().x == 10);
  CHECK(fake::state().panel.pushed.size() >= 8 + 2 * 60 * 30 + 2 * 16 * 16);
  const auto& panel = fake::state().panel;
  CHECK(panel.memory[static_cast<size_t>(129) * panel.memory_width + 159] == 0xF800);  // the LZ4 RECT's last pixel
  CHECK(panel.memory[static_cast<size_t>(50) * panel.memory_width + 200] == 0xF800);   // the JPEG's first
  CHECK(panel.memory[static_cast<size_t>(65) * panel.memory_width + 215] == 0xF800);   // and last

  fake::state().panel.texts.clear();
  fake::state().connect_ok = false;  // the server is gone: reconnects are refused
  fake::state().peer_closed = true;
  loop_for(300);
  CHECK(screen_says("closed_by_server (closed by server)"));
  CHECK(fake::state().sleep);  // back on between sessions

  fake::state().wifi_status = WL_DISCONNECTED;
  loop_for(300);
  CHECK(screen_says("Wi-Fi: lost home, reconnecting"));
  CHECK(screen_says("last error: Wi-Fi lost"));
  CHECK(fake::state().last_connect == "192.168.1.5:7878");
  fake::state().last_connect.clear();
  loop_for(6000);
  CHECK(fake::state().last_connect.empty());  // no server attempts while Wi-Fi is down

  fake::state().serial_in = "display side\n";
  loop_for(5);
  CHECK(nvs["display"] == "side");
  const int feeds = fake::state().wdt_resets;
  loop_for(10);
  CHECK(fake::state().wdt_resets > feeds);  // every loop feeds the watchdog
}
