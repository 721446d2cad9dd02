// Watches the connection for the board: counts attempts, keeps the last error as text for the
// status screen and the log, and fills each ACK with decode/draw time, free heap and RSSI.
// Plain C++: the hardware readings come through BoardProbe.
//
// Timing: poll time that did work (begin_poll/end_poll around connection.poll) is split at each
// ACK; draw_us is what the display spent pushing pixels in that time, decode_us the rest
// (receiving, parsing, decoding). Idle polls are not counted.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "connection.h"
#include "text.h"

namespace board {

class BoardProbe {
 public:
  virtual uint32_t micros() = 0;
  virtual uint32_t take_draw_us() = 0;
  virtual uint32_t free_heap() = 0;
  virtual int8_t rssi() = 0;

 protected:
  ~BoardProbe() = default;
};

class SessionMonitor : public tft::ConnectionObserver, public tft::AckStatsSource {
 public:
  explicit SessionMonitor(BoardProbe& probe) : probe_(probe) {}
  virtual ~SessionMonitor() = default;

  void attach(const tft::Connection* connection, const char* (*network_error)()) {
    connection_ = connection;
    network_error_ = network_error;
  }

  void begin_poll();
  void end_poll(bool busy);

  // The board's own errors (Wi-Fi lost, no server found) for the same line on screen.
  void note_error(const char* text);
  void clear_error() { error_ = Text(); }
  // Wi-Fi went down: says so now, and names the session's end (seen when Wi-Fi is back) after it.
  void note_link_lost();

  const char* last_error() const { return error_.c_str(); }
  uint32_t attempts() const { return attempts_; }          // since the last stream started
  uint32_t failures_in_row() const { return failures_; }   // drops without a stream in between
  uint32_t frames() const { return frames_; }

  void on_state(tft::State state) override;
  void on_frame(const tft::FrameInfo& frame) override;
  tft::AckStats ack_stats(const tft::FrameInfo& frame) override;

 private:
  using Text = tft::Text<256>;

  void describe_drop();

  BoardProbe& probe_;
  const tft::Connection* connection_ = nullptr;
  const char* (*network_error_)() = nullptr;
  Text error_;
  uint32_t attempts_ = 0;
  uint32_t failures_ = 0;
  uint32_t frames_ = 0;
  bool streamed_ = false;   // the current session reached streaming
  bool link_lost_ = false;  // Wi-Fi went down since the last drop
  uint32_t poll_start_us_ = 0;
  uint32_t busy_us_ = 0;  // worked-on poll time since the last ACK
};

}  // namespace board
