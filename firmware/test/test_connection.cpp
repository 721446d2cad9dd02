// The connection state machine with a fake clock, network and display: every path a board takes.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "backoff.h"
#include "connection.h"
#include "fakes.h"
#include "support.h"

using namespace tft;
using namespace tft::host;
using namespace tft::test;

namespace {

class Recorder : public ConnectionObserver {
 public:
  virtual ~Recorder() = default;
  void on_state(State state) override { states.push_back(state); }
  void on_frame(const FrameInfo& frame) override { frames.push_back(frame.seq); }
  std::vector<State> states;
  std::vector<uint32_t> frames;
};

// The fields of hello.json's "full" vector, so the first bytes sent can be compared to it.
ConnectionConfig full_config() {
  ConnectionConfig c;
  static const std::string token = "secret";
  c.hello.width = 240;
  c.hello.height = 240;
  c.hello.encodings = 3;
  c.hello.max_body = 16384;
  c.hello.display = "desk";
  c.hello.firmware = "fw1.0";
  c.hello.token = reinterpret_cast<const uint8_t*>(token.data());
  c.hello.token_len = token.size();
  return c;
}

struct Rig {
  explicit Rig(ConnectionConfig c = full_config()) : config(c), connection(net, display, jitter, config) {
    connection.set_observer(&recorder);
  }

  bool poll() { return connection.poll(clock.now); }
  void poll_for(uint32_t ms, uint32_t step = 10) {
    for (uint32_t t = 0; t < ms; t += step) {
      poll();
      clock.advance(step);
    }
    poll();
  }
  // Connects and delivers ACCEPT; leaves the outbox empty.
  void stream(const Bytes& accept = accept_msg(1, 3, 16384)) {
    poll();
    poll();
    REQUIRE(connection.state() == State::awaiting_accept);
    net.server_sends(accept);
    poll();
    REQUIRE(connection.state() == State::streaming);
    net.outbox.clear();
  }
  std::string sent() const { return to_hex(net.outbox); }

  FakeNetwork net;
  FakeJitter jitter;
  FakeClock clock;
  FramebufferDisplay display{240, 240};
  ConnectionConfig config;
  Connection connection;
  Recorder recorder;
};

std::string ack_hex(uint32_t seq) {
  uint8_t out[kMaxAckMessage];
  return to_hex(Bytes(out, out + build_ack(seq, nullptr, out, sizeof out)));
}

std::string full_hello_hex() {
  for (const auto& v : hello_vectors()) {
    if (v.name == "full") return to_hex(v.message);
  }
  return "";
}

}  // namespace

TEST_CASE("HELLO is the first thing sent once the link is open") {
  Rig rig;
  rig.poll();
  CHECK(rig.connection.state() == State::connecting);
  CHECK(rig.net.opens == 1);
  rig.poll();
  CHECK(rig.connection.state() == State::awaiting_accept);
  CHECK(rig.sent() == full_hello_hex());
}

TEST_CASE("HELLO waits for the stack to take it, in pieces if need be") {
  Rig rig;
  rig.net.send_room = 10;
  rig.poll();
  rig.poll();
  CHECK(rig.net.outbox.size() == 10);
  rig.net.send_room = 1000;
  rig.poll();
  CHECK(rig.sent() == full_hello_hex());
}

TEST_CASE("ACCEPT starts streaming; frames are drawn and each FRAME_END is ACKed with its seq") {
  Rig rig;
  rig.stream();
  rig.net.server_sends(cat({begin_msg(41), rect_msg(10, 20, 2, 1, 0, be_pixels({0xF800, 0x07E0})), end_msg(41)}));
  rig.poll();
  CHECK(rig.display.pixel(10, 20) == 0xF800);
  CHECK(rig.display.pixel(11, 20) == 0x07E0);
  CHECK(rig.sent() == ack_hex(41));
  CHECK(rig.recorder.frames == std::vector<uint32_t>{41});
  CHECK(rig.connection.frames() == 1);
}

TEST_CASE("many frames in one read are ACKed in order") {
  Rig rig;
  rig.stream();
  Bytes frames;
  std::string expected;
  for (uint32_t seq = 1; seq <= 20; ++seq) {
    frames = cat({frames, begin_msg(seq), end_msg(seq)});
    expected += ack_hex(seq);
  }
  rig.net.server_sends(frames);
  rig.poll_for(100);
  CHECK(rig.sent() == expected);
}

TEST_CASE("while the stack takes no ACKs, parsing pauses; none is lost") {
  Rig rig;
  rig.stream();
  rig.net.send_room = 0;
  Bytes frames;
  std::string expected;
  for (uint32_t seq = 1; seq <= 50; ++seq) {
    frames = cat({frames, begin_msg(seq), end_msg(seq)});
    expected += ack_hex(seq);
  }
  rig.net.server_sends(frames);
  rig.poll_for(200);
  CHECK(rig.net.outbox.empty());
  CHECK(rig.connection.frames() < 50);  // stopped with the ACK queue full
  rig.net.send_room = SIZE_MAX;
  rig.poll_for(200);
  CHECK(rig.sent() == expected);
  CHECK(rig.connection.state() == State::streaming);
}

TEST_CASE("one poll handles at most one receive buffer, so the loop stays responsive") {
  Rig rig;
  rig.stream();
  std::vector<uint16_t> row(240, 0x1234);
  rig.net.server_sends(begin_msg(1));
  for (uint16_t y = 0; y < 20; ++y) rig.net.server_sends(rect_msg(0, y, 240, 1, 0, be_pixels(row)));
  const size_t before = rig.net.inbox.size();
  rig.poll();
  CHECK(before - rig.net.inbox.size() <= Connection::kRxCapacity);
}

TEST_CASE("KEEPALIVE goes out after keepalive_ms without sending, not before") {
  Rig rig;
  rig.stream();
  rig.net.server_sends(cat({begin_msg(1), end_msg(1)}));
  rig.poll();
  REQUIRE(rig.sent() == ack_hex(1));  // the ACK was the last thing sent
  rig.net.outbox.clear();
  rig.clock.advance(999);
  rig.net.server_sends(msg(0x30));  // the server keeps talking, so no timeout
  rig.poll();
  CHECK(rig.net.outbox.empty());
  rig.clock.advance(1);
  rig.poll();
  CHECK(rig.sent() == "030000");
  rig.net.outbox.clear();
  rig.clock.advance(999);
  rig.poll();
  CHECK(rig.net.outbox.empty());
}

TEST_CASE("keepalive and timeout come from ACCEPT, and default when ACCEPT says 0") {
  Rig rig;
  rig.stream(accept_msg(1, 3, 16384, 0, 0));
  rig.clock.advance(rig.config.keepalive_ms);
  rig.poll();
  CHECK(rig.sent() == "030000");
  rig.clock.advance(rig.config.timeout_ms - rig.config.keepalive_ms - 1);
  rig.poll();
  CHECK(rig.connection.state() == State::streaming);
  rig.clock.advance(1);
  rig.poll();
  CHECK(rig.connection.last_drop() == Drop::silence_timeout);

  Rig quick;
  quick.stream(accept_msg(1, 3, 16384, 100, 300));
  quick.clock.advance(100);
  quick.poll();
  CHECK(quick.sent() == "030000");
  quick.clock.advance(200);
  quick.poll();
  CHECK(quick.connection.last_drop() == Drop::silence_timeout);
}

TEST_CASE("a server silent for timeout_ms is dropped, and the board reconnects with a new HELLO") {
  Rig rig;
  rig.stream();
  rig.clock.advance(3999);
  rig.poll();
  CHECK(rig.connection.state() == State::streaming);
  rig.clock.advance(1);
  rig.poll();
  CHECK(rig.connection.state() == State::backoff);
  CHECK(rig.connection.last_drop() == Drop::silence_timeout);
  CHECK(rig.net.closes >= 1);
  rig.net.outbox.clear();
  rig.clock.advance(rig.connection.retry_delay_ms());
  rig.poll();
  rig.poll();
  CHECK(rig.net.opens == 2);
  CHECK(rig.connection.state() == State::awaiting_accept);
  CHECK(rig.sent() == full_hello_hex());
}

TEST_CASE("REJECT: the reason is kept for the screen, the link closed, and the board backs off") {
  Rig rig;
  rig.poll();
  rig.poll();
  const std::string reason = "unknown display 'desk'";
  rig.net.server_sends(msg(0x11, Bytes(reason.begin(), reason.end())));
  rig.net.server_closes = true;
  rig.poll();
  CHECK(rig.connection.state() == State::backoff);
  CHECK(rig.connection.last_drop() == Drop::rejected);
  CHECK(std::string(rig.connection.reject_reason()) == reason);
  CHECK(rig.net.link == LinkStatus::closed);
  CHECK(rig.display.last_text().find("rejected: " + reason) == 0);
  CHECK(rig.connection.retry_delay_ms() == 200);
  rig.clock.advance(199);
  rig.poll();
  CHECK(rig.net.opens == 1);
  rig.clock.advance(1);
  rig.poll();
  CHECK(rig.net.opens == 2);
  CHECK(std::string(rig.connection.reject_reason()) == reason);  // still there for the screen
}

TEST_CASE("a protocol error drops the link and names the error") {
  Rig rig;
  rig.poll();
  rig.poll();
  rig.net.server_sends(begin_msg(1));
  rig.poll();
  CHECK(rig.connection.last_drop() == Drop::protocol_error);
  CHECK(rig.connection.last_error() == Error::expected_accept);
  CHECK(rig.display.last_text().find("protocol error: expected_accept") == 0);
}

TEST_CASE("connection refused, connect and accept timeouts, and a closing server each back off") {
  Rig refused;
  refused.net.on_open = LinkStatus::closed;
  refused.poll();
  refused.poll();
  CHECK(refused.connection.last_drop() == Drop::connect_failed);

  Rig hanging;
  hanging.net.on_open = LinkStatus::connecting;
  hanging.poll();
  hanging.clock.advance(4999);
  hanging.poll();
  CHECK(hanging.connection.state() == State::connecting);
  hanging.clock.advance(1);
  hanging.poll();
  CHECK(hanging.connection.last_drop() == Drop::connect_timeout);

  Rig mute;
  mute.poll();
  mute.poll();
  mute.clock.advance(5000);
  mute.poll();
  CHECK(mute.connection.last_drop() == Drop::accept_timeout);

  Rig closing;
  closing.stream();
  closing.net.server_closes = true;
  closing.poll();
  CHECK(closing.connection.last_drop() == Drop::closed_by_server);
}

TEST_CASE("backoff doubles from 200 ms up to the 5 s cap") {
  Rig rig;
  rig.net.on_open = LinkStatus::closed;
  std::vector<uint32_t> delays;
  for (int i = 0; i < 8; ++i) {
    rig.poll();  // connect
    rig.poll();  // refused
    REQUIRE(rig.connection.state() == State::backoff);
    delays.push_back(rig.connection.retry_delay_ms());
    rig.clock.advance(rig.connection.retry_delay_ms());
  }
  CHECK(delays == std::vector<uint32_t>{200, 400, 800, 1600, 3200, 5000, 5000, 5000});
}

TEST_CASE("jitter takes off at most a quarter and never pushes past the cap") {
  for (uint32_t random : {0u, 1u, 49u, 50u, 51u, 1234567u, 0xFFFFFFFFu}) {
    Backoff backoff(200, 5000);
    uint32_t plain = 200;
    for (int i = 0; i < 12; ++i) {
      const uint32_t delay = backoff.next(random);
      CAPTURE(random);
      CAPTURE(i);
      CHECK(delay <= plain);
      CHECK(delay >= plain - plain / 4);
      plain = plain * 2 > 5000 ? 5000 : plain * 2;
    }
  }
  Rig rig;
  rig.net.on_open = LinkStatus::closed;
  rig.jitter.value = 50;  // 50 % (200/4 + 1) = 50: the most it can take off 200
  rig.poll();
  rig.poll();
  CHECK(rig.connection.retry_delay_ms() == 150);
}

TEST_CASE("a successful ACCEPT resets the backoff") {
  Rig rig;
  rig.net.on_open = LinkStatus::closed;
  for (int i = 0; i < 4; ++i) {
    rig.poll();
    rig.poll();
    rig.clock.advance(rig.connection.retry_delay_ms());
  }
  CHECK(rig.connection.retry_delay_ms() == 1600);
  rig.net.on_open = LinkStatus::open;
  rig.stream();
  rig.net.server_closes = true;
  rig.poll();
  CHECK(rig.connection.retry_delay_ms() == 200);
}

TEST_CASE("a HELLO the server would refuse stops the board with the reason on screen") {
  ConnectionConfig config = full_config();
  config.hello.display = "two words";
  Rig rig(config);
  rig.poll();
  CHECK(rig.connection.state() == State::failed);
  CHECK(rig.connection.last_error() == Error::bad_name);
  CHECK(rig.net.opens == 0);
  CHECK(rig.display.last_text() == "bad config: bad_name");
  CHECK_FALSE(rig.poll());
}

TEST_CASE("the status line is drawn when not streaming and never over a picture being streamed") {
  Rig rig;
  rig.poll();
  CHECK(rig.display.last_text() == "connecting");
  rig.poll();
  CHECK(rig.display.last_text() == "awaiting_accept");
  CHECK(rig.display.pixel(0, 0) == 0x0000);
  const uint16_t below = Connection::kStatusRows;
  rig.net.server_sends(cat({accept_msg(1, 3, 16384), begin_msg(1), rect_msg(0, 0, 1, 1, 0, be_pixels({0xFFFF})),
                            rect_msg(0, below, 1, 1, 0, be_pixels({0xFFFF})), end_msg(1)}));
  rig.poll();
  CHECK(rig.display.pixel(0, 0) == 0xFFFF);
  CHECK(rig.display.last_text() == "awaiting_accept");
  rig.net.server_closes = true;
  rig.poll();
  CHECK(rig.display.last_text() == "closed_by_server; retry in 200 ms");
  CHECK(rig.display.pixel(0, 0) == 0x0000);       // the band covers the top of the stale picture
  CHECK(rig.display.pixel(0, below) == 0xFFFF);  // and only the top

  ConnectionConfig quiet = full_config();
  quiet.status_on_screen = false;
  Rig silent(quiet);
  silent.poll();
  CHECK(silent.display.last_text().empty());
}

TEST_CASE("an ACK stats source adds decode/draw time, free heap and RSSI to each ACK") {
  struct Stats : AckStatsSource {
    virtual ~Stats() = default;
    AckStats ack_stats(const FrameInfo& frame) override { return AckStats{frame.seq * 10, 2, 3, -4}; }
  } stats;
  Rig rig;
  rig.connection.set_stats_source(&stats);
  rig.stream();
  rig.net.server_sends(cat({begin_msg(5), end_msg(5)}));
  rig.poll();
  CHECK(rig.sent() == "021100" "05000000" "32000000" "02000000" "03000000" "fc");
}

TEST_CASE("state transitions are reported to the observer in order") {
  Rig rig;
  rig.stream();
  rig.net.server_closes = true;
  rig.poll();
  CHECK(rig.recorder.states ==
        std::vector<State>{State::connecting, State::awaiting_accept, State::streaming, State::backoff});
}

TEST_CASE("state and drop names are distinct words, for logs and the status screen") {
  std::vector<std::string> names;
  for (State s : {State::idle, State::connecting, State::awaiting_accept, State::streaming, State::backoff, State::failed}) {
    names.push_back(to_str(s));
  }
  for (Drop d : {Drop::none, Drop::connect_failed, Drop::connect_timeout, Drop::accept_timeout, Drop::closed_by_server,
                 Drop::silence_timeout, Drop::rejected, Drop::protocol_error}) {
    names.push_back(to_str(d));
  }
  for (size_t i = 0; i < names.size(); ++i) {
    CHECK(names[i] != "?");
    for (size_t j = i + 1; j < 6; ++j) CHECK(names[i] != names[j]);
  }
}
