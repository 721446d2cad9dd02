#include "session_monitor.h"

#include <string.h>

#include "log.h"

namespace board {

void SessionMonitor::begin_poll() { poll_start_us_ = probe_.micros(); }

void SessionMonitor::end_poll(bool busy) {
  if (busy) busy_us_ += probe_.micros() - poll_start_us_;
}

void SessionMonitor::note_error(const char* text) {
  if (strcmp(text, error_.c_str()) == 0) return;  // the loop notes a condition every pass: log it once
  error_ = Text();
  error_.add(text);
  BOARD_LOG_W("board", "%s", error_.c_str());
}

void SessionMonitor::note_link_lost() {
  link_lost_ = true;
  note_error("Wi-Fi lost");
}

void SessionMonitor::on_state(tft::State state) {
  BOARD_LOG_D("conn", "state %s", tft::to_str(state));
  switch (state) {
    case tft::State::connecting:
      ++attempts_;
      streamed_ = false;
      break;
    case tft::State::streaming:
      BOARD_LOG_I("conn", "streaming (keepalive %u ms, max body %u)", connection_->accept().keepalive_ms,
            connection_->accept().max_body);
      attempts_ = 0;
      failures_ = 0;
      streamed_ = true;
      error_ = Text();
      busy_us_ = 0;
      probe_.take_draw_us();  // the status screen's drawing is not a frame's
      break;
    case tft::State::backoff:
      if (!streamed_) ++failures_;
      describe_drop();
      break;
    case tft::State::failed:
      error_ = Text();
      error_.add("bad setting: ").add(tft::to_str(connection_->last_error()));
      BOARD_LOG_E("conn", "%s (HELLO would be refused; fix it on the console)", error_.c_str());
      break;
    case tft::State::idle:
    case tft::State::awaiting_accept:
      break;
  }
}

void SessionMonitor::describe_drop() {
  const tft::Drop drop = connection_->last_drop();
  error_ = Text();
  if (link_lost_) {
    link_lost_ = false;  // the server did nothing wrong: the link went first
    error_.add("Wi-Fi lost; session ended (").add(tft::to_str(drop)).add(")");
  } else if (drop == tft::Drop::rejected) {
    error_.add("rejected: ").add(connection_->reject_reason());
  } else if (drop == tft::Drop::protocol_error) {
    error_.add("protocol error: ").add(tft::to_str(connection_->last_error()));
    const tft::JpegError jpeg = connection_->last_jpeg_error();
    if (jpeg != tft::JpegError::none) error_.add(" (").add(tft::to_str(jpeg)).add(")");  // the decoder's reason
  } else {
    error_.add(tft::to_str(drop));
    const char* detail = network_error_ != nullptr ? network_error_() : "";
    if ((drop == tft::Drop::connect_failed || drop == tft::Drop::closed_by_server) && detail[0] != '\0') {
      error_.add(" (").add(detail).add(")");
    }
  }
  BOARD_LOG_W("conn", "%s; retry in %u ms", error_.c_str(), static_cast<unsigned>(connection_->retry_delay_ms()));
}

void SessionMonitor::on_frame(const tft::FrameInfo& frame) {
  ++frames_;
  BOARD_LOG_D("conn", "frame %u: %u rects, %u bytes", static_cast<unsigned>(frame.seq), static_cast<unsigned>(frame.rects),
        static_cast<unsigned>(frame.bytes));
}

tft::AckStats SessionMonitor::ack_stats(const tft::FrameInfo&) {
  // Called inside a poll: count that poll up to now, and let the rest of it count for the next frame.
  const uint32_t now = probe_.micros();
  const uint32_t busy = busy_us_ + (now - poll_start_us_);
  const uint32_t draw = probe_.take_draw_us();
  busy_us_ = 0;
  poll_start_us_ = now;
  tft::AckStats stats{};
  stats.draw_us = draw;
  stats.decode_us = busy > draw ? busy - draw : 0;
  stats.free_heap = probe_.free_heap();
  stats.rssi_dbm = probe_.rssi();
  return stats;
}

}  // namespace board
