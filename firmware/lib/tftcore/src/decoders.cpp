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
  missing_ = area;
  run_fill_ = 0;
  strip_count_ = 0;
}

// One whole run at `run`, with the counters in registers (the caller stores them back). False on
// runs_overflow, after drawing the strip. Inlined into feed()'s loop, also at -Os.
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
inline bool RunsDecoder::emit_run(const uint8_t* run, uint32_t& missing, uint32_t& strip_count) {
  const uint32_t count = run[0] + 1u;
  if (count > missing || count >= kFillPixels || strip_count + count > kStripPixels) {
    // The rare cases, off the short-run path: draw the strip first, so row-major order holds
    // and what is on screen never depends on how the bytes were split.
    strip_count_ = strip_count;
    flush();
    strip_count = 0;
    if (count > missing) return false;
    if (count >= kFillPixels) {
      missing -= count;
      out_.fill(run + 1, count);
      return true;
    }
  }
  missing -= count;
  uint16_t* out = strip_ + strip_count;
  strip_count += count;
  uint8_t* first = reinterpret_cast<uint8_t*>(out);
  first[0] = run[1];  // wire byte order, as pushed
  first[1] = run[2];
  const uint16_t pixel = out[0];
  for (uint32_t i = 1; i < count; ++i) out[i] = pixel;
  return true;
}

Error RunsDecoder::feed(const uint8_t* data, size_t size) {
  uint32_t missing = missing_;
  uint32_t strip_count = strip_count_;
  bool ok = true;
  // A run split across pieces: gather its missing bytes first.
  while (run_fill_ != 0 && size > 0) {
    run_[run_fill_++] = *data++;
    --size;
    if (run_fill_ < kRunSize) continue;
    run_fill_ = 0;
    ok = emit_run(run_, missing, strip_count);
  }
  // Whole runs straight from the piece.
  const uint8_t* const whole_end = data + (size - size % kRunSize);
  for (; ok && data != whole_end; data += kRunSize) ok = emit_run(data, missing, strip_count);
  missing_ = missing;
  strip_count_ = strip_count;
  if (!ok) return Error::runs_overflow;
  // The start of a run the next piece completes.
  for (size_t i = 0; i < size % kRunSize; ++i) run_[run_fill_++] = data[i];
  return Error::none;
}

void RunsDecoder::flush() {
  out_.push(reinterpret_cast<const uint8_t*>(strip_), strip_count_);
  strip_count_ = 0;
}

Error RunsDecoder::finish() {
  flush();
  return missing_ != 0 ? Error::runs_short : Error::none;
}

}  // namespace tft
