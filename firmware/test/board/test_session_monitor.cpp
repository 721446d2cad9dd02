// The session monitor with the real state machine over the core's scripted network: attempts,
// error text (REJECT reason included), and the numbers in each ACK.
#include <doctest/doctest.h>

#include <string>

#include "board_test_support.h"
#include "connection.h"
#include "fakes.h"
#include "framebuffer_display.h"
#include "session_monitor.h"

using namespace board_test;

namespace {

class TestProbe : public board::BoardProbe {
 public:
  virtual ~TestProbe() = default;
  uint32_t us = 0;
  uint32_t draw = 0;
  uint32_t micros() override { return us; }
  uint32_t take_draw_us() override {
    const uint32_t d = draw;
    draw = 0;
    return d;
  }
  uint32_t free_heap() override { return 150000; }
  int8_t rssi() override { return -55; }
};

const char* no_detail() { return "refused"; }

tft::ConnectionConfig config() {
  static uint8_t block[4096];  // a board's block buffer: LZ4 and JPEG offered
  tft::ConnectionConfig c;
  c.block = tft::BlockBuffer{block, sizeof block};
  c.hello.width = 16;
  c.hello.height = 8;
  c.hello.max_body = 4096;
  c.hello.display = "main";
  c.hello.firmware = "fw";
  c.status_on_screen = false;
  return c;
}

struct Rig {
  tft::host::FakeNetwork net;
  tft::host::FakeJitter jitter;
  tft::host::FramebufferDisplay display{16, 8};
  TestProbe probe;
  board::SessionMonitor monitor{probe};
  tft::Connection connection{net, display, jitter, config()};
  uint32_t now = 1000;
  Rig() {
    monitor.attach(&connection, no_detail);
    connection.set_observer(&monitor);
    connection.set_stats_source(&monitor);
  }
  void poll() {
    monitor.begin_poll();
    monitor.end_poll(connection.poll(now));
  }
  void server_sends(const std::string& bytes) { net.server_sends(std::vector<uint8_t>(bytes.begin(), bytes.end())); }
};

}  // namespace

TEST_CASE("attempts count connects until a stream starts; a refused connect reads with its reason") {
  Rig r;
  r.net.on_open = tft::LinkStatus::closed;
  r.poll();  // idle -> connecting
  r.poll();  // refused -> backoff
  CHECK(r.monitor.attempts() == 1);
  CHECK(r.monitor.failures_in_row() == 1);
  CHECK(std::string(r.monitor.last_error()) == "connect_failed (refused)");
  r.now += 10000;
  r.poll();
  r.poll();
  CHECK(r.monitor.attempts() == 2);
  r.net.on_open = tft::LinkStatus::open;
  r.now += 10000;
  r.poll();  // connecting
  r.poll();  // open: HELLO
  r.server_sends(accept(4096));
  r.poll();
  CHECK(r.connection.state() == tft::State::streaming);
  CHECK(r.monitor.attempts() == 0);
  CHECK(r.monitor.failures_in_row() == 0);
  CHECK(std::string(r.monitor.last_error()).empty());
}

TEST_CASE("a REJECT's reason is the last error") {
  Rig r;
  r.poll();
  r.poll();
  r.server_sends(reject("display 'main' is 320x240, board is 16x8"));
  r.poll();
  CHECK(r.connection.state() == tft::State::backoff);
  CHECK(std::string(r.monitor.last_error()) == "rejected: display 'main' is 320x240, board is 16x8");
}

TEST_CASE("a JPEG the core refuses reads with the decoder's reason") {
  Rig r;
  r.poll();
  r.poll();
  r.server_sends(accept(4096, 0x11) + seq_message(0x20, 1));
  r.poll();
  REQUIRE(r.connection.state() == tft::State::streaming);
  // An 8x8 RECT whose JPEG payload is a GIF's signature.
  r.server_sends(message(0x21, {0, 0, 0, 0, 8, 0, 8, 0, 4, 'G', 'I', 'F', '8', '9', 'a'}));
  r.poll();
  CHECK(r.connection.state() == tft::State::backoff);
  CHECK(std::string(r.monitor.last_error()) == "protocol error: jpeg_malformed (jpeg_not_jpeg)");
}

TEST_CASE("each ACK carries draw time, the rest of the worked time as decode, free heap and RSSI") {
  Rig r;
  r.poll();
  r.poll();
  r.server_sends(accept(4096));
  r.poll();
  r.net.outbox.clear();
  r.server_sends(seq_message(0x20, 5) + raw_rect(0, 0, 4, 2, 0xF800) + seq_message(0x22, 5));
  r.monitor.begin_poll();
  r.probe.us = 700;   // the poll took 700 us so far ...
  r.probe.draw = 300;  // ... 300 of them pushing pixels
  r.monitor.end_poll(r.connection.poll(r.now));
  r.connection.poll(r.now);  // flush the ACK
  const std::vector<uint8_t>& ack = r.net.outbox;
  REQUIRE(ack.size() == 20);
  CHECK(ack[0] == 0x02);
  CHECK(ack[1] == 17);
  CHECK(tft::read_u32le(&ack[3]) == 5);
  CHECK(tft::read_u32le(&ack[7]) == 400);   // decode_us
  CHECK(tft::read_u32le(&ack[11]) == 300);  // draw_us
  CHECK(tft::read_u32le(&ack[15]) == 150000);
  CHECK(static_cast<int8_t>(ack[19]) == -55);
  CHECK(r.monitor.frames() == 1);
}

TEST_CASE("the board's own errors are kept until the session gets further") {
  Rig r;
  r.monitor.note_error("Wi-Fi lost");
  r.monitor.note_error("Wi-Fi lost");
  CHECK(std::string(r.monitor.last_error()) == "Wi-Fi lost");
  r.monitor.clear_error();
  CHECK(std::string(r.monitor.last_error()).empty());
}

TEST_CASE("a session that ends because Wi-Fi went down is not blamed on the server") {
  Rig r;
  r.poll();
  r.poll();
  r.server_sends(accept(4096));
  r.poll();
  REQUIRE(r.connection.state() == tft::State::streaming);
  r.monitor.note_link_lost();
  CHECK(std::string(r.monitor.last_error()) == "Wi-Fi lost");
  r.net.link = tft::LinkStatus::closed;  // what the board's network reports once the link is gone
  r.poll();
  CHECK(r.connection.state() == tft::State::backoff);
  CHECK(std::string(r.monitor.last_error()) == "Wi-Fi lost; session ended (closed_by_server)");
  r.now += 10000;
  r.net.on_open = tft::LinkStatus::closed;
  r.poll();
  r.poll();
  CHECK(std::string(r.monitor.last_error()) == "connect_failed (refused)");
}
