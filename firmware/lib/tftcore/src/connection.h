// The board's side of a session, as a state machine driven by poll(now_ms):
//
//   idle -> connecting -> awaiting_accept -> streaming
//              ^              |                  |
//              +-- backoff <--+------------------+   (refused, timeout, REJECT, protocol error, closed)
//
// It sends HELLO on connect, waits for ACCEPT/REJECT, applies frames as they arrive, ACKs each
// FRAME_END, sends KEEPALIVE after keepalive_ms without sending, drops a server silent for
// timeout_ms, and reconnects after a capped exponential backoff with jitter. poll() never blocks
// and handles at most one receive buffer, so the board's loop stays responsive.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "backoff.h"
#include "board_messages.h"
#include "display.h"
#include "error.h"
#include "platform.h"
#include "stream_parser.h"

namespace tft {

enum class State : uint8_t { idle, connecting, awaiting_accept, streaming, backoff, failed };

// Why the last session ended (for the status screen and logs).
enum class Drop : uint8_t {
  none,
  connect_failed,    // refused or unreachable
  connect_timeout,
  accept_timeout,    // connected, but no ACCEPT/REJECT in time
  closed_by_server,
  silence_timeout,   // nothing from the server for timeout_ms
  rejected,          // REJECT: reject_reason() says why
  protocol_error,    // last_error() says which
};

const char* to_str(State state);
const char* to_str(Drop drop);

struct ConnectionConfig {
  HelloInfo hello;  // its strings and token must outlive the Connection; sent without COPY and RECOLOR if the
                    // display cannot read back, without LZ4, RICE, JPEG, RECOLOR and CELLS unless `block`
                    // holds max_body, without CACHED and CELLS unless `cache` is there (encodings_for)
  BlockBuffer block{};  // LZ4's, RICE's, JPEG's, RECOLOR's, CELLS' buffer (a static array of max_body bytes); must outlive the Connection
  BlockBuffer cache{};  // the bitmap cache (2 * kCachePixels bytes, else no CACHED, no CELLS); must outlive the Connection
  uint32_t connect_timeout_ms = 5000;
  uint32_t accept_timeout_ms = 5000;
  uint32_t backoff_base_ms = 200;
  uint32_t backoff_cap_ms = 5000;
  uint16_t keepalive_ms = 1000;  // used when ACCEPT says 0
  uint16_t timeout_ms = 4000;    // used when ACCEPT says 0
  bool status_on_screen = true;  // draw a status line when not streaming
};

class ConnectionObserver {
 public:
  virtual void on_state(State state) = 0;
  virtual void on_frame(const FrameInfo& frame) = 0;

 protected:
  ~ConnectionObserver() = default;
};

// Optional: numbers a board adds to each ACK (decode/draw time, free heap, RSSI).
class AckStatsSource {
 public:
  virtual AckStats ack_stats(const FrameInfo& frame) = 0;

 protected:
  ~AckStatsSource() = default;
};

class Connection {
 public:
  Connection(Network& network, Display& display, JitterSource& jitter, const ConnectionConfig& config);

  void set_observer(ConnectionObserver* observer) { observer_ = observer; }
  void set_stats_source(AckStatsSource* source) { stats_source_ = source; }

  // Does what is due at `now_ms`; returns true if it did any work (call again soon).
  bool poll(uint32_t now_ms);

  State state() const { return state_; }
  Drop last_drop() const { return last_drop_; }
  Error last_error() const { return last_error_; }  // the protocol error, or the bad HELLO field in `failed`
  // With last_error() jpeg_malformed or jpeg_size_mismatch: the decoder's reason, for logs.
  JpegError last_jpeg_error() const { return last_jpeg_error_; }
  const char* reject_reason() const { return reason_; }
  uint32_t retry_delay_ms() const { return retry_delay_ms_; }
  const Accept& accept() const { return parser_.accept(); }
  uint32_t frames() const { return frames_; }
  uint64_t bytes_received() const { return bytes_received_; }
  size_t tx_pending() const { return tx_len_; }

  static constexpr size_t kRxCapacity = 1024;
  static constexpr size_t kTxCapacity = kMaxHelloMessage + 2 * kMaxAckMessage;
  static constexpr uint16_t kStatusRows = 12;

 private:
  bool poll_connecting(uint32_t now);
  bool poll_session(uint32_t now);
  void start_connect(uint32_t now);
  bool flush_tx();
  bool pump_rx(uint32_t now);
  bool handle(Event event, uint32_t now);
  void on_accepted();
  void queue_ack();
  bool queue(const uint8_t* data, size_t size);
  void check_timers(uint32_t now);
  void drop(Drop reason, uint32_t now);
  void set_state(State state);
  void show_status();
  bool in_session() const { return state_ == State::awaiting_accept || state_ == State::streaming; }

  Network& network_;
  Display& display_;
  JitterSource& jitter_;
  ConnectionConfig config_;
  ConnectionObserver* observer_ = nullptr;
  AckStatsSource* stats_source_ = nullptr;
  StreamParser parser_;
  Backoff backoff_;

  State state_ = State::idle;
  Drop last_drop_ = Drop::none;
  Error last_error_ = Error::none;
  JpegError last_jpeg_error_ = JpegError::none;
  char reason_[kMaxRejectReason + 1] = {};
  uint32_t since_ = 0;  // when the current state began
  uint32_t retry_delay_ms_ = 0;
  uint32_t last_heard_ = 0;
  uint32_t last_sent_ = 0;
  uint16_t keepalive_ms_ = 0;
  uint16_t timeout_ms_ = 0;
  uint32_t frames_ = 0;
  uint64_t bytes_received_ = 0;

  uint8_t rx_[kRxCapacity] = {};
  size_t rx_begin_ = 0;
  size_t rx_end_ = 0;
  uint8_t tx_[kTxCapacity] = {};
  size_t tx_len_ = 0;
};

}  // namespace tft
