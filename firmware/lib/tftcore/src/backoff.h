// Capped exponential backoff with jitter, for reconnecting to the server.
#pragma once

#include <stdint.h>

namespace tft {

class Backoff {
 public:
  Backoff(uint32_t base_ms, uint32_t cap_ms) : base_ms_(base_ms), cap_ms_(cap_ms < base_ms ? base_ms : cap_ms) {}

  void reset() { failures_ = 0; }
  uint32_t failures() const { return failures_; }

  // The wait before the next attempt: base * 2^failures up to the cap, less up to a quarter at
  // random so boards that lost the same server do not all return in the same millisecond.
  // Never above the cap, never below three quarters of the un-jittered value.
  uint32_t next(uint32_t random);

 private:
  uint32_t base_ms_;
  uint32_t cap_ms_;
  uint32_t failures_ = 0;
};

}  // namespace tft
