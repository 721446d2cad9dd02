#include "backoff.h"

namespace tft {

uint32_t Backoff::next(uint32_t random) {
  uint32_t delay = base_ms_;
  for (uint32_t i = 0; i < failures_ && delay < cap_ms_; ++i) delay *= 2;  // stops before it can overflow
  if (delay > cap_ms_) delay = cap_ms_;
  if (failures_ < 32) ++failures_;
  const uint32_t spread = delay / 4;
  return delay - random % (spread + 1);
}

}  // namespace tft
