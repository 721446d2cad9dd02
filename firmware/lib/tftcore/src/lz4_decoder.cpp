#include "lz4_decoder.h"

#include "protocol.h"

namespace tft {

namespace {

// A count's continuation bytes (after a nibble of 15), added to `total` while they are 255. False
// when the piece ends first; `total` and `p` then hold what was read.
inline bool read_count(const uint8_t*& p, const uint8_t* end, uint32_t& total) {
  uint32_t more = 0;
  do {
    if (p == end) return false;
    more = *p++;
    total += more;
  } while (more == 255);
  return true;
}

// A match: `length` bytes from `distance` back. Where the source overlaps what is written the bytes
// repeat with period `distance`, so they go in steps that double, each copied from a multiple of
// the period back: no copy overlaps itself (offset 1 over 1,000 bytes takes 10 copies). Inlined
// into both paths, also at -Os.
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
inline void copy_match(uint8_t* out, uint32_t distance, uint32_t length) {
  while (length > distance) {
    __builtin_memcpy(out, out - distance, distance);
    out += distance;
    length -= distance;
    distance += distance;
  }
  __builtin_memcpy(out, out - distance, length);
}

}  // namespace

void Lz4Decoder::begin(uint32_t size, uint16_t row_pixels) {
  size_ = size;
  produced_ = 0;
  count_ = 0;
  offset_ = 0;
  token_ = 0;
  state_ = State::token;
  bands_.begin(row_pixels);  // row_pixels >= 1: rect_empty came first
}

Error Lz4Decoder::feed(const uint8_t* data, size_t size) {
  const uint8_t* p = data;
  const uint8_t* const end = data + size;
  Error error = Error::none;
  while (p != end && error == Error::none) {
    if (state_ == State::token) {
      p = sequences(p, end, error);
      if (p == end || error != Error::none) break;
    }
    p = step(p, end, error);
  }
  return error != Error::none ? fail(error) : Error::none;
}

// Whole sequences straight from the piece, with the counters in registers: the common case, as
// a piece usually holds many. Stops before a sequence whose literals and offset are not all in
// the piece (step() takes it from its token), or hands a match count the piece cuts to step().
const uint8_t* Lz4Decoder::sequences(const uint8_t* p, const uint8_t* const end, Error& error) {
  uint8_t* const out = block_;
  const uint32_t size = size_;
  const uint32_t room = room_;
  uint32_t produced = produced_;
  while (p != end) {
    const uint8_t* q = p;
    const uint32_t token = *q++;
    uint32_t literals = token >> 4;
    if (literals == 15 && !read_count(q, end, literals)) break;
    if (literals > size - produced) {
      error = Error::lz4_overflow;
      break;
    }
    if (literals <= kShort && static_cast<size_t>(end - q) >= kShort + 2 && produced + kShort <= room) {
      __builtin_memcpy(out + produced, q, kShort);  // a fixed size: no call on the host
    } else {
      if (static_cast<size_t>(end - q) < static_cast<size_t>(literals) + 2) break;
      __builtin_memcpy(out + produced, q, literals);
    }
    q += literals;
    produced += literals;
    const uint32_t offset = read_u16le(q);
    q += 2;
    p = q;  // the literals are in: from here on the sequence is this path's
    if (offset == 0 || offset > produced) {
      error = Error::lz4_bad_offset;
      break;
    }
    uint32_t length = token & 15;
    if (length == 15 && !read_count(p, end, length)) {
      token_ = static_cast<uint8_t>(token);
      offset_ = static_cast<uint16_t>(offset);
      count_ = length;
      state_ = State::match_count;
      break;
    }
    length += 4;
    if (length > size - produced) {
      error = Error::lz4_overflow;
      break;
    }
    if (length <= kShort && offset >= kShort && produced + kShort <= room) {
      __builtin_memcpy(out + produced, out + produced - offset, kShort);
    } else {
      copy_match(out + produced, offset, length);
    }
    produced += length;
    if (produced >= bands_.next()) bands_.draw(produced);
  }
  produced_ = produced;
  return p;
}

// One state of the sequence a piece cuts; consumes at least one byte.
const uint8_t* Lz4Decoder::step(const uint8_t* p, const uint8_t* end, Error& error) {
  switch (state_) {
    case State::token:
      token_ = *p++;
      count_ = token_ >> 4;
      if (count_ == 15) {
        state_ = State::literal_count;
      } else {
        begin_literals(error);
      }
      return p;
    case State::literal_count: {
      const uint8_t more = *p++;
      count_ += more;
      if (more != 255) begin_literals(error);
      return p;
    }
    case State::literals: {
      const size_t left = static_cast<size_t>(end - p);
      const uint32_t n = count_ < left ? count_ : static_cast<uint32_t>(left);
      __builtin_memcpy(block_ + produced_, p, n);
      produced_ += n;
      count_ -= n;
      if (count_ == 0) state_ = State::offset_low;
      return p + n;
    }
    case State::offset_low:
      offset_ = *p++;
      state_ = State::offset_high;
      return p;
    case State::offset_high:
      offset_ = static_cast<uint16_t>(offset_ | *p++ << 8);
      if (offset_ == 0 || offset_ > produced_) {
        error = Error::lz4_bad_offset;
        return p;
      }
      count_ = token_ & 15u;
      if (count_ == 15) {
        state_ = State::match_count;
      } else {
        match(error);
      }
      return p;
    case State::match_count: {
      const uint8_t more = *p++;
      count_ += more;
      if (more != 255) match(error);
      return p;
    }
  }
  return end;
}

void Lz4Decoder::begin_literals(Error& error) {
  if (count_ > size_ - produced_) {
    error = Error::lz4_overflow;
    return;
  }
  state_ = count_ != 0 ? State::literals : State::offset_low;
}

void Lz4Decoder::match(Error& error) {
  const uint32_t length = count_ + 4;
  if (length > size_ - produced_) {
    error = Error::lz4_overflow;
    return;
  }
  copy_match(block_ + produced_, offset_, length);
  produced_ += length;
  state_ = State::token;
  if (produced_ >= bands_.next()) bands_.draw(produced_);
}

void Lz4Decoder::flush() { bands_.flush(produced_); }

Error Lz4Decoder::fail(Error error) {
  flush();  // what was decoded before the error shows, however the payload was split
  return error;
}

Error Lz4Decoder::finish() {
  flush();
  // Between sequences, or right after a sequence's literals (the block's last sequence has no match).
  if (state_ != State::token && state_ != State::offset_low) return Error::lz4_truncated;
  return produced_ != size_ ? Error::lz4_short : Error::none;
}

}  // namespace tft
