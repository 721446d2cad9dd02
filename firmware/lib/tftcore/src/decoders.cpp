#include "decoders.h"

#include "protocol.h"

namespace tft {

void RawDecoder::feed(const uint8_t* data, size_t size) {
  if (size == 0) return;
  if (has_carry_) {
    carry_[1] = data[0];
    out_.push(carry_, 1);
    has_carry_ = false;
    ++data;
    --size;
  }
  out_.push(data, static_cast<uint32_t>(size / 2));
  if (size % 2 != 0) {
    carry_[0] = data[size - 1];
    has_carry_ = true;
  }
}

void RunsDecoder::begin(uint32_t area) {
  area_ = area;
  covered_ = 0;
  run_fill_ = 0;
  strip_count_ = 0;
}

Error RunsDecoder::feed(const uint8_t* data, size_t size) {
  for (size_t i = 0; i < size; ++i) {
    run_[run_fill_++] = data[i];
    if (run_fill_ < kRunSize) continue;
    run_fill_ = 0;
    const Error error = emit_run();
    if (error != Error::none) return error;
  }
  return Error::none;
}

Error RunsDecoder::emit_run() {
  const uint32_t count = run_[0] + 1u;
  if (count > area_ - covered_) {
    flush();  // draw the runs before it, so what is on screen never depends on how bytes were split
    return Error::runs_overflow;
  }
  covered_ += count;
  for (uint32_t i = 0; i < count; ++i) {
    strip_[2 * strip_count_] = run_[1];
    strip_[2 * strip_count_ + 1] = run_[2];
    if (++strip_count_ == kStripPixels) flush();
  }
  return Error::none;
}

void RunsDecoder::flush() {
  out_.push(strip_, strip_count_);
  strip_count_ = 0;
}

Error RunsDecoder::finish() {
  flush();
  return covered_ < area_ ? Error::runs_short : Error::none;
}

}  // namespace tft
