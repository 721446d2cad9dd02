// Fakes for driving the core in tests: a clock moved by hand, a scripted network, fixed jitter.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <vector>

#include "platform.h"

namespace tft::host {

class FakeNetwork : public Network {
 public:
  virtual ~FakeNetwork() = default;

  // Scripted behaviour.
  LinkStatus on_open = LinkStatus::open;  // what open() leads to: open, closed (refused), connecting (hangs)
  std::vector<uint8_t> inbox;             // bytes the server has sent and the board not yet received
  size_t max_chunk = SIZE_MAX;            // largest piece one receive() returns
  size_t send_room = SIZE_MAX;            // bytes send() still takes before the "stack" is full
  bool server_closes = false;             // once inbox is drained, the link closes

  // What happened.
  std::vector<uint8_t> outbox;  // everything the board sent, all connections
  int opens = 0;
  int closes = 0;
  LinkStatus link = LinkStatus::closed;

  void server_sends(const std::vector<uint8_t>& bytes) { inbox.insert(inbox.end(), bytes.begin(), bytes.end()); }

  void open() override {
    ++opens;
    link = on_open;
    inbox.clear();
    server_closes = false;
  }
  LinkStatus status() override { return link; }
  size_t send(const uint8_t* data, size_t size) override {
    if (link != LinkStatus::open) return 0;
    const size_t n = size < send_room ? size : send_room;
    outbox.insert(outbox.end(), data, data + n);
    send_room -= n;
    return n;
  }
  size_t receive(uint8_t* buffer, size_t capacity) override {
    if (link != LinkStatus::open) return 0;
    size_t n = inbox.size() < capacity ? inbox.size() : capacity;
    if (n > max_chunk) n = max_chunk;
    for (size_t i = 0; i < n; ++i) buffer[i] = inbox[i];
    inbox.erase(inbox.begin(), inbox.begin() + static_cast<std::ptrdiff_t>(n));
    if (n == 0 && server_closes) link = LinkStatus::closed;
    return n;
  }
  void close() override {
    ++closes;
    link = LinkStatus::closed;
  }
};

class FakeClock : public Clock {
 public:
  virtual ~FakeClock() = default;
  uint32_t now = 1000;  // not 0: a few bugs hide behind "time zero"
  uint32_t now_ms() override { return now; }
  uint32_t advance(uint32_t ms) { return now += ms; }
};

class FakeJitter : public JitterSource {
 public:
  virtual ~FakeJitter() = default;
  uint32_t value = 0;
  uint32_t next_u32() override { return value; }
};

}  // namespace tft::host
