#include "rice_decoder.h"

namespace tft {

namespace {

constexpr uint8_t kRiceShift[3] = {11, 5, 0};
constexpr uint16_t kRiceMask[3] = {31, 63, 31};

// Leading zero bits of a non-zero x. RV32IMC has no instruction for it and the core links no
// libgcc, so there it is a binary search; elsewhere the compiler's.
inline uint32_t leading_zeros(uint32_t x) {
#if defined(__riscv) && !defined(__riscv_zbb)
  uint32_t n = 0;
  if ((x & 0xFFFF0000u) == 0) n += 16, x <<= 16;
  if ((x & 0xFF000000u) == 0) n += 8, x <<= 8;
  if ((x & 0xF0000000u) == 0) n += 4, x <<= 4;
  if ((x & 0xC0000000u) == 0) n += 2, x <<= 2;
  if ((x & 0x80000000u) == 0) n += 1;
  return n;
#else
  return static_cast<uint32_t>(__builtin_clz(x));
#endif
}


}  // namespace

void RiceDecoder::begin(uint16_t w, uint16_t h, PixelOrder order) {
  w_ = w;
  area_ = static_cast<uint32_t>(w) * h;
  order_ = order;
  done_ = 0;
  x_ = 0;
  top_row_ = true;
  acc_ = 0;
  acc_bits_ = 0;
  state_ = State::header;
  channel_ = 0;
  zeros_ = 0;
  bands_.begin(w);  // w >= 1: rect_empty came first
}

Error RiceDecoder::feed(const uint8_t* data, size_t size) {
  Error error = Error::none;
  const uint8_t* p = data;
  const uint8_t* const end = data + size;
  while (p != end) {
    // A byte after the one that holds the last code's last bit: the codes ended before the payload.
    if (state_ == State::done) return fail(Error::rice_trailing);
    if (channel_ == 0 && zeros_ == 0 && (state_ == State::header || state_ == State::zeros)) {
      p = whole_pixels(p, end, error);
      if (error != Error::none) return fail(error);
      if (p == end) break;
    }
    while (p != end && acc_bits_ <= 24) {
      acc_ = acc_ << 8 | *p++;
      acc_bits_ = static_cast<uint8_t>(acc_bits_ + 8);
    }
    if (!decode(error)) return fail(error);
  }
  if (state_ == State::done && acc_bits_ >= 8) return fail(Error::rice_trailing);
  return Error::none;
}

// The slow path's work for whole pixels, with the bit buffer, the counters and the pixel to the
// left in registers and the prediction inline. Starts and stops at a pixel's first code (or its
// group's header), so decode() takes over with no field half read.
const uint8_t* RiceDecoder::whole_pixels(const uint8_t* p, const uint8_t* end, Error& error) {
  uint32_t acc = acc_;
  uint32_t bits = acc_bits_;
  const uint32_t first = done_;
  uint32_t done = done_;
  uint32_t x = x_;
  bool top_row = top_row_;
  const uint32_t w = w_, area = area_;
  uint8_t* const block = block_;
  const uint32_t high = order_ == PixelOrder::big_endian ? 0 : 1;  // where a pixel's high byte is
  uint32_t r = left_[0], g = left_[1], b = left_[2];
  uint32_t kr = k_[0], kg = k_[1], kb = k_[2];
  uint32_t next_band = bands_.next();
  // Reads bytes until the buffer holds more than 24 bits.
#define TFT_RICE_REFILL() \
  while (bits <= 24) acc = acc << 8 | *p++, bits += 8
  // One code with parameter K into U, or rice_overflow past LIMIT zero bits.
#define TFT_RICE_CODE(K, LIMIT, U)                                                  \
  {                                                                                \
    uint32_t zeros = 0;                                                            \
    uint32_t waiting;                                                              \
    for (;;) { /* the zero bits, a buffer's worth at a time */                     \
      TFT_RICE_REFILL();                                                           \
      waiting = acc << (32 - bits);                                                \
      if (waiting != 0) break;                                                     \
      zeros += bits;                                                               \
      bits = 0;                                                                    \
      if (zeros > (LIMIT) >> (K)) break;                                           \
    }                                                                              \
    if (waiting != 0) {                                                            \
      const uint32_t lead = leading_zeros(waiting);                                \
      zeros += lead;                                                               \
      bits -= lead + 1;                                                            \
    }                                                                              \
    if (zeros > (LIMIT) >> (K)) {                                                  \
      error = Error::rice_overflow;                                                \
      break;                                                                       \
    }                                                                              \
    if (bits < (K)) TFT_RICE_REFILL();                                             \
    bits -= (K);                                                                   \
    U = zeros << (K) | (acc >> bits & ((1u << (K)) - 1));                          \
  }
  bool header = state_ == State::header;  // else the slow path has read it (and predicted the pixel)
  while (done != area && static_cast<size_t>(end - p) >= kFastBytes) {
    TFT_RICE_REFILL();
    if (header) {  // its group's header
      bits -= 9;
      kr = static_cast<uint32_t>(acc >> (bits + 6) & 7);
      kg = static_cast<uint32_t>(acc >> (bits + 3) & 7);
      kb = static_cast<uint32_t>(acc >> bits & 7);
    }
    uint32_t ur, ug, ub;
    TFT_RICE_CODE(kr, 31u, ur)
    TFT_RICE_CODE(kg, 63u, ug)
    TFT_RICE_CODE(kb, 31u, ub)
    // The predictions (the slow path's predict()), then the values.
    if (top_row) {
      if (x == 0) r = g = b = 0;
    } else {
      const uint8_t* above = block + 2 * static_cast<size_t>(done - w);
      const uint32_t up = static_cast<uint32_t>(above[high] << 8 | above[1 - high]);
      const uint32_t up_right = x + 1 < w ? static_cast<uint32_t>(above[2 + high] << 8 | above[3 - high]) : up;
      if (x == 0) {
        r = up >> 11, g = up >> 5 & 63, b = up & 31;
      } else {
        r = (2 * r + (up >> 11) + (up_right >> 11) + 2) >> 2;
        g = (2 * g + (up >> 5 & 63) + (up_right >> 5 & 63) + 2) >> 2;
        b = (2 * b + (up & 31) + (up_right & 31) + 2) >> 2;
      }
    }
    r = (r + ((ur >> 1) ^ (0u - (ur & 1)))) & 31;
    g = (g + ((ug >> 1) ^ (0u - (ug & 1)))) & 63;
    b = (b + ((ub >> 1) ^ (0u - (ub & 1)))) & 31;
    const uint32_t pixel = r << 11 | g << 5 | b;
    uint8_t* q = block + 2 * static_cast<size_t>(done);
    q[high] = static_cast<uint8_t>(pixel >> 8);
    q[1 - high] = static_cast<uint8_t>(pixel);
    ++done;
    header = done % kGroupPixels == 0;
    if (++x == w) x = 0, top_row = false;
    if (2 * done >= next_band) {
      bands_.draw(2 * done);
      next_band = bands_.next();
    }
  }
#undef TFT_RICE_CODE
#undef TFT_RICE_REFILL
  acc_ = acc;
  acc_bits_ = static_cast<uint8_t>(bits);
  done_ = done;
  x_ = static_cast<uint16_t>(x);
  top_row_ = top_row;
  left_[0] = static_cast<uint16_t>(r), left_[1] = static_cast<uint16_t>(g), left_[2] = static_cast<uint16_t>(b);
  k_[0] = static_cast<uint8_t>(kr), k_[1] = static_cast<uint8_t>(kg), k_[2] = static_cast<uint8_t>(kb);
  if (error == Error::none && done_ != first) after_pixel();  // the slow path takes over from here
  return p;
}

// Uses bits while a whole field is in acc_.
bool RiceDecoder::decode(Error& error) {
  while (true) {
    if (state_ == State::zeros) {
      if (acc_bits_ == 0) return true;
      const uint32_t waiting = acc_ << (32 - acc_bits_);  // the unused bits, from the top
      const uint32_t lead = waiting == 0 ? acc_bits_ : leading_zeros(waiting);
      const uint32_t zeros = zeros_ + lead;
      if (zeros > static_cast<uint32_t>(kRiceMask[channel_] >> k_[channel_])) {
        error = Error::rice_overflow;
        return false;
      }
      zeros_ = static_cast<uint8_t>(zeros);
      if (waiting == 0) {
        acc_bits_ = 0;
        return true;
      }
      acc_bits_ = static_cast<uint8_t>(acc_bits_ - lead - 1);  // the zeros and the one
      state_ = State::low_bits;
    }
    if (state_ == State::low_bits) {
      const uint8_t k = k_[channel_];
      if (acc_bits_ < k) return true;
      acc_bits_ = static_cast<uint8_t>(acc_bits_ - k);
      finish_value(static_cast<uint32_t>(zeros_) << k | static_cast<uint32_t>(acc_ >> acc_bits_ & ((1u << k) - 1)));
      continue;
    }
    if (state_ == State::header) {
      if (acc_bits_ < 9) return true;
      acc_bits_ = static_cast<uint8_t>(acc_bits_ - 9);
      k_[0] = static_cast<uint8_t>(acc_ >> (acc_bits_ + 6) & 7);
      k_[1] = static_cast<uint8_t>(acc_ >> (acc_bits_ + 3) & 7);
      k_[2] = static_cast<uint8_t>(acc_ >> acc_bits_ & 7);
      predict();
      state_ = State::zeros;
      continue;
    }
    return true;  // done
  }
}

uint16_t RiceDecoder::pixel_at(uint32_t index) const {
  const uint8_t* p = block_ + 2 * static_cast<size_t>(index);
  return order_ == PixelOrder::big_endian ? static_cast<uint16_t>(p[0] << 8 | p[1])
                                          : static_cast<uint16_t>(p[1] << 8 | p[0]);
}

void RiceDecoder::predict() {
  zeros_ = 0;
  channel_ = 0;
  if (top_row_) {
    for (int c = 0; c < 3; ++c) predicted_[c] = x_ == 0 ? 0 : left_[c];
    return;
  }
  const uint16_t up = pixel_at(done_ - w_);
  const uint16_t up_right = x_ + 1u < w_ ? pixel_at(done_ - w_ + 1) : up;
  for (int c = 0; c < 3; ++c) {
    const uint16_t b = up >> kRiceShift[c] & kRiceMask[c];
    const uint16_t d = up_right >> kRiceShift[c] & kRiceMask[c];
    predicted_[c] = x_ == 0 ? b : static_cast<uint16_t>((2u * left_[c] + b + d + 2) >> 2);
  }
}

// One channel's residual u; at a pixel's third, the pixel into the block buffer.
void RiceDecoder::finish_value(uint32_t u) {
  const uint32_t residual = (u >> 1) ^ (0u - (u & 1));  // zigzag back; modulo the channel's range below
  left_[channel_] = static_cast<uint16_t>((predicted_[channel_] + residual) & kRiceMask[channel_]);
  zeros_ = 0;
  if (++channel_ < 3) {
    state_ = State::zeros;
    return;
  }
  const uint16_t pixel = static_cast<uint16_t>(left_[0] << 11 | left_[1] << 5 | left_[2]);
  uint8_t* p = block_ + 2 * static_cast<size_t>(done_);
  p[order_ == PixelOrder::big_endian ? 0 : 1] = static_cast<uint8_t>(pixel >> 8);
  p[order_ == PixelOrder::big_endian ? 1 : 0] = static_cast<uint8_t>(pixel);
  ++done_;
  if (++x_ == w_) {
    x_ = 0;
    top_row_ = false;
  }
  if (2 * done_ >= bands_.next()) bands_.draw(2 * done_);
  after_pixel();
}

// After a whole pixel: the end, the next group's header, or the next pixel's codes (predicted).
void RiceDecoder::after_pixel() {
  if (done_ == area_) {
    state_ = State::done;
  } else if (done_ % kGroupPixels == 0) {
    state_ = State::header;
  } else {
    predict();
    state_ = State::zeros;
  }
}

Error RiceDecoder::fail(Error error) {
  flush();
  return error;
}

Error RiceDecoder::finish() {
  flush();
  return state_ == State::done ? Error::none : Error::rice_truncated;
}

}  // namespace tft
