#include "rice_decoder.h"

namespace tft {

namespace {

constexpr uint8_t kRiceShift[3] = {11, 5, 0};
constexpr uint16_t kRiceMask[3] = {31, 63, 31};

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
  for (size_t i = 0; i < size; ++i) {
    // A byte after the one that holds the last code's last bit: the codes ended before the payload.
    if (state_ == State::done) return fail(Error::rice_trailing);
    acc_ = acc_ << 8 | data[i];
    acc_bits_ = static_cast<uint8_t>(acc_bits_ + 8);
    if (!decode(error)) return fail(error);
  }
  return Error::none;
}

// Uses bits while a whole field is in acc_ (at most 9 + 7 bits wait, so 32 bits never overflow).
bool RiceDecoder::decode(Error& error) {
  while (true) {
    switch (state_) {
      case State::header:
        if (acc_bits_ < 9) return true;
        acc_bits_ = static_cast<uint8_t>(acc_bits_ - 9);
        k_[0] = static_cast<uint8_t>(acc_ >> (acc_bits_ + 6) & 7);
        k_[1] = static_cast<uint8_t>(acc_ >> (acc_bits_ + 3) & 7);
        k_[2] = static_cast<uint8_t>(acc_ >> acc_bits_ & 7);
        state_ = State::zeros;
        zeros_ = 0;
        break;
      case State::zeros: {
        if (acc_bits_ == 0) return true;
        const uint32_t bits = acc_ & ((1u << acc_bits_) - 1);
        // Leading zeros among the acc_bits_ (<= 16) waiting bits: a code's zero bits, up to its one
        // bit. A loop, not clz: RV32IMC has no such instruction and the core links no libgcc.
        uint8_t lead = 0;
        while (lead < acc_bits_ && (bits >> (acc_bits_ - 1 - lead) & 1u) == 0) ++lead;
        const uint32_t zeros = zeros_ + lead;
        if (zeros > static_cast<uint32_t>(kRiceMask[channel_] >> k_[channel_])) {
          error = Error::rice_overflow;
          return false;
        }
        zeros_ = static_cast<uint8_t>(zeros);
        if (bits == 0) {
          acc_bits_ = 0;
          return true;
        }
        acc_bits_ = static_cast<uint8_t>(acc_bits_ - lead - 1);  // the zeros and the one
        state_ = State::low_bits;
        break;
      }
      case State::low_bits: {
        const uint8_t k = k_[channel_];
        if (acc_bits_ < k) return true;
        acc_bits_ = static_cast<uint8_t>(acc_bits_ - k);
        finish_value(static_cast<uint32_t>(zeros_) << k | (acc_ >> acc_bits_ & ((1u << k) - 1)));
        zeros_ = 0;
        break;
      }
      case State::done:
        return true;
    }
  }
}

uint16_t RiceDecoder::channel_at(uint32_t index, uint8_t channel) const {
  const uint8_t* p = block_ + 2 * static_cast<size_t>(index);
  const uint16_t pixel = order_ == PixelOrder::big_endian ? static_cast<uint16_t>(p[0] << 8 | p[1])
                                                          : static_cast<uint16_t>(p[1] << 8 | p[0]);
  return static_cast<uint16_t>(pixel >> kRiceShift[channel] & kRiceMask[channel]);
}

uint16_t RiceDecoder::predict(uint8_t channel) const {
  if (top_row_) return x_ == 0 ? 0 : channel_at(done_ - 1, channel);
  const uint16_t up = channel_at(done_ - w_, channel);
  if (x_ == 0) return up;
  const uint16_t up_right = x_ + 1u < w_ ? channel_at(done_ - w_ + 1, channel) : up;
  return static_cast<uint16_t>((2u * channel_at(done_ - 1, channel) + up + up_right + 2) >> 2);
}

// One channel's residual u: the value, and at a pixel's third the pixel, into the block buffer.
void RiceDecoder::finish_value(uint32_t u) {
  const uint32_t residual = (u >> 1) ^ (0u - (u & 1));  // zigzag back; modulo the channel's range below
  values_[channel_] = static_cast<uint16_t>((predict(channel_) + residual) & kRiceMask[channel_]);
  if (++channel_ < 3) {
    state_ = State::zeros;
    return;
  }
  channel_ = 0;
  const uint16_t pixel = static_cast<uint16_t>(values_[0] << 11 | values_[1] << 5 | values_[2]);
  uint8_t* p = block_ + 2 * static_cast<size_t>(done_);
  p[order_ == PixelOrder::big_endian ? 0 : 1] = static_cast<uint8_t>(pixel >> 8);
  p[order_ == PixelOrder::big_endian ? 1 : 0] = static_cast<uint8_t>(pixel);
  ++done_;
  if (++x_ == w_) {
    x_ = 0;
    top_row_ = false;
  }
  if (2 * done_ >= bands_.next()) bands_.draw(2 * done_);
  state_ = done_ == area_ ? State::done : done_ % kGroupPixels == 0 ? State::header : State::zeros;
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
