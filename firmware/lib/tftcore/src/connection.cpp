#include "connection.h"

#include "text.h"

namespace tft {

const char* to_str(State state) {
  switch (state) {
    case State::idle: return "idle";
    case State::connecting: return "connecting";
    case State::awaiting_accept: return "awaiting_accept";
    case State::streaming: return "streaming";
    case State::backoff: return "backoff";
    case State::failed: return "failed";
  }
  return "?";
}

const char* to_str(Drop drop) {
  switch (drop) {
    case Drop::none: return "none";
    case Drop::connect_failed: return "connect_failed";
    case Drop::connect_timeout: return "connect_timeout";
    case Drop::accept_timeout: return "accept_timeout";
    case Drop::closed_by_server: return "closed_by_server";
    case Drop::silence_timeout: return "silence_timeout";
    case Drop::rejected: return "rejected";
    case Drop::protocol_error: return "protocol_error";
  }
  return "?";
}

namespace {

ParserConfig parser_config(const ConnectionConfig& connection) {
  ParserConfig config;
  config.encodings = connection.hello.encodings;
  config.max_body = connection.hello.max_body;
  config.block = connection.block;
  config.cache = connection.cache;
  return config;
}

}  // namespace

Connection::Connection(Network& network, Display& display, JitterSource& jitter, const ConnectionConfig& config)
    : network_(network),
      display_(display),
      jitter_(jitter),
      config_(config),
      parser_(display, parser_config(config)),
      backoff_(config.backoff_base_ms, config.backoff_cap_ms) {
  // COPY and RECOLOR read the panel back, LZ4, RICE, JPEG, RECOLOR and CELLS need the block buffer,
  // CACHED and CELLS the cache: a board without must not offer them (the parser, built from the same
  // mask, refuses an ACCEPT that picks them anyway).
  config_.hello.encodings =
      encodings_for(display, config_.hello.encodings, config.block, config.hello.max_body, config.cache);
}

bool Connection::poll(uint32_t now) {
  switch (state_) {
    case State::idle:
      start_connect(now);
      return true;
    case State::backoff:
      if (now - since_ < retry_delay_ms_) return false;
      start_connect(now);
      return true;
    case State::connecting:
      return poll_connecting(now);
    case State::awaiting_accept:
    case State::streaming:
      return poll_session(now);
    case State::failed:
      break;
  }
  return false;
}

void Connection::start_connect(uint32_t now) {
  last_error_ = check_hello(config_.hello);
  if (last_error_ != Error::none) {
    set_state(State::failed);  // a bad name or size will not get better by retrying: say so on screen
    return;
  }
  parser_.reset();
  rx_begin_ = rx_end_ = 0;
  tx_len_ = 0;
  since_ = now;
  network_.open();
  set_state(State::connecting);
}

bool Connection::poll_connecting(uint32_t now) {
  switch (network_.status()) {
    case LinkStatus::open:
      tx_len_ = build_hello(config_.hello, tx_, kTxCapacity);
      since_ = last_heard_ = last_sent_ = now;
      set_state(State::awaiting_accept);
      flush_tx();
      return true;
    case LinkStatus::closed:
      drop(Drop::connect_failed, now);
      return true;
    case LinkStatus::connecting:
      if (now - since_ < config_.connect_timeout_ms) return false;
      drop(Drop::connect_timeout, now);
      return true;
  }
  return false;
}

bool Connection::poll_session(uint32_t now) {
  bool busy = flush_tx();
  if (in_session()) busy |= pump_rx(now);
  if (in_session()) check_timers(now);
  return busy || !in_session();
}

bool Connection::flush_tx() {
  if (tx_len_ == 0) return false;
  const size_t sent = network_.send(tx_, tx_len_);
  for (size_t i = sent; i < tx_len_; ++i) tx_[i - sent] = tx_[i];
  tx_len_ -= sent;
  return sent > 0;
}

// One receive per poll at most; parsing pauses while the ACK queue is full (the server then
// sees a full TCP window instead of the board losing an ACK).
bool Connection::pump_rx(uint32_t now) {
  if (rx_begin_ == rx_end_) {
    const size_t n = network_.receive(rx_, kRxCapacity);
    if (n == 0) {
      if (network_.status() != LinkStatus::closed) return false;
      drop(Drop::closed_by_server, now);
      return true;
    }
    rx_begin_ = 0;
    rx_end_ = n;
    last_heard_ = now;
    bytes_received_ += n;
  }
  bool fed = false;
  while (rx_begin_ < rx_end_ && kTxCapacity - tx_len_ >= kMaxAckMessage) {
    const FeedResult result = parser_.feed(rx_ + rx_begin_, rx_end_ - rx_begin_);
    rx_begin_ += result.consumed;
    fed = true;
    if (!handle(result.event, now) || result.consumed == 0) break;
  }
  return fed;
}

// Returns false when the session ended.
bool Connection::handle(Event event, uint32_t now) {
  switch (event) {
    case Event::none:
      return true;
    case Event::accepted:
      on_accepted();
      return true;
    case Event::frame_end:
      queue_ack();
      ++frames_;
      if (observer_ != nullptr) observer_->on_frame(parser_.last_frame());
      return true;
    case Event::rejected: {
      const char* reason = parser_.reject_reason();
      size_t i = 0;
      for (; reason[i] != '\0' && i < kMaxRejectReason; ++i) reason_[i] = reason[i];
      reason_[i] = '\0';
      drop(Drop::rejected, now);
      return false;
    }
    case Event::failed:
      last_error_ = parser_.error();
      last_jpeg_error_ = parser_.jpeg_error();
      drop(Drop::protocol_error, now);
      return false;
  }
  return false;
}

void Connection::on_accepted() {
  const Accept& accept = parser_.accept();
  keepalive_ms_ = accept.keepalive_ms != 0 ? accept.keepalive_ms : config_.keepalive_ms;
  timeout_ms_ = accept.timeout_ms != 0 ? accept.timeout_ms : config_.timeout_ms;
  backoff_.reset();  // the server is back: the next loss starts again from the base delay
  set_state(State::streaming);
}

void Connection::queue_ack() {
  uint8_t ack[kMaxAckMessage];
  AckStats stats{};
  if (stats_source_ != nullptr) stats = stats_source_->ack_stats(parser_.last_frame());
  const size_t n = build_ack(parser_.last_frame().seq, stats_source_ != nullptr ? &stats : nullptr, ack, sizeof ack);
  queue(ack, n);  // room was checked before feeding
}

bool Connection::queue(const uint8_t* data, size_t size) {
  if (kTxCapacity - tx_len_ < size) return false;
  for (size_t i = 0; i < size; ++i) tx_[tx_len_ + i] = data[i];
  tx_len_ += size;
  return true;
}

void Connection::check_timers(uint32_t now) {
  if (state_ == State::awaiting_accept) {
    if (now - since_ >= config_.accept_timeout_ms) drop(Drop::accept_timeout, now);
    return;
  }
  if (now - last_heard_ >= timeout_ms_) {
    drop(Drop::silence_timeout, now);
    return;
  }
  if (tx_len_ == 0 && now - last_sent_ >= keepalive_ms_) {
    uint8_t keepalive[kHeaderSize];
    queue(keepalive, build_keepalive(keepalive, sizeof keepalive));
  }
  if (tx_len_ != 0) {
    last_sent_ = now;  // anything queued counts as sending: ACKs make keepalives unnecessary
    flush_tx();
  }
}

void Connection::drop(Drop reason, uint32_t now) {
  network_.close();
  last_drop_ = reason;
  if (reason != Drop::protocol_error) {
    last_error_ = Error::none;
    last_jpeg_error_ = JpegError::none;
  }
  rx_begin_ = rx_end_ = 0;
  tx_len_ = 0;
  retry_delay_ms_ = backoff_.next(jitter_.next_u32());
  since_ = now;
  set_state(State::backoff);
}

void Connection::set_state(State state) {
  state_ = state;
  if (observer_ != nullptr) observer_->on_state(state);
  if (config_.status_on_screen && state != State::streaming) show_status();
}

void Connection::show_status() {
  Text<kMaxRejectReason + 48> text;
  if (state_ == State::failed) {
    text.add("bad config: ").add(to_str(last_error_));
  } else if (state_ == State::backoff) {
    if (last_drop_ == Drop::rejected) {
      text.add("rejected: ").add(reason_);
    } else if (last_drop_ == Drop::protocol_error) {
      text.add("protocol error: ").add(to_str(last_error_));
      if (last_jpeg_error_ != JpegError::none) text.add(" (").add(to_str(last_jpeg_error_)).add(")");
    } else {
      text.add(to_str(last_drop_));
    }
    text.add("; retry in ").add(retry_delay_ms_).add(" ms");
  } else {
    text.add(to_str(state_));
  }
  const uint16_t rows = display_.height() < kStatusRows ? display_.height() : kStatusRows;
  display_.fill_rect(Window{0, 0, display_.width(), rows}, 0x0000);
  display_.draw_text(2, 2, text.c_str(), 0xFFFF, 0x0000);
}

}  // namespace tft
