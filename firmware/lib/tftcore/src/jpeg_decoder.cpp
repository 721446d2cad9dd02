#include "jpeg_decoder.h"

// The board builds with -Os, which keeps even these small hot functions out of line: a call per
// pixel and per Huffman symbol, and idct8's zero inputs no longer folding away (30% more work).
#if defined(__GNUC__)
#define TFT_JPEG_INLINE inline __attribute__((always_inline))
#else
#define TFT_JPEG_INLINE inline
#endif

namespace tft {

namespace {

// ---- Tables computed at compile time from their definitions (no runtime setup, no RAM).

// kZigzag[k]: row-major position of the k-th coefficient in zigzag order (T.81 figure 5): walk the
// anti-diagonals r + c = s, upwards (r falling) when s is even, downwards when odd.
struct Zigzag {
  uint8_t at[64];
  constexpr Zigzag() : at() {
    int k = 0;
    for (int s = 0; s < 15; ++s) {
      const int lo = s < 8 ? 0 : s - 7, hi = s < 8 ? s : 7;
      for (int i = lo; i <= hi; ++i) {
        const int r = s % 2 == 0 ? lo + hi - i : i;
        at[k++] = static_cast<uint8_t>(r * 8 + s - r);
      }
    }
  }
};
constexpr Zigzag kZigzag{};

// Saturation to 0..255 for a colour sum Y + chroma offset, which lies in -227..480 by construction
// (Y is 0..255, the offsets are bounded: see Chroma), so a table lookup needs no range check.
struct Clamp {
  uint8_t at[768];  // value v at index v + 256
  constexpr Clamp() : at() {
    for (int i = 0; i < 768; ++i) at[i] = static_cast<uint8_t>(i < 256 ? 0 : i > 511 ? 255 : i - 256);
  }
};
constexpr Clamp kClamp{};
constexpr const uint8_t* kClampAt0 = kClamp.at + 256;

// ---- IDCT. The 8-point inverse DCT scaled by sqrt(8), y[n] = X0 + sqrt2 * sum_{k=1..7} Xk cos((2n+1)k pi/16),
// applied to columns then rows, gives 8x the 2-D IDCT. Even part (X0, X2, X4, X6):
//   e0,3 = (X0 + X4) +- A, e1,2 = (X0 - X4) +- B, A = sqrt2 (c2 X2 + c6 X6), B = sqrt2 (c6 X2 - c2 X6),
//   with one shared product: z = (X2 + X6) sqrt2 c6, A = z + X2 sqrt2 (c2 - c6), B = z - X6 sqrt2 (c2 + c6).
// Odd part (X1, X3, X5, X7), o_n = sqrt2 (sum of the four with cos((2n+1)k pi/16)), y_n = e_n + o_n,
// y_{7-n} = e_n - o_n. Written over the pair sums X1+X7, X3+X5, X3+X7, X1+X5 and their total (the
// Loeffler-Ligtenberg-Moschytz factorisation, 9 multiplications), solving each o_n's four
// coefficients gives the constants below (ci = cos(i pi/16)). 13-bit fixed point.
constexpr int kConstBits = 13;
constexpr int kPass1Bits = 2;  // extra precision kept between the passes
constexpr double kC1 = 0.98078528040323043, kC2 = 0.92387953251128674, kC3 = 0.83146961230254524;
constexpr double kC5 = 0.55557023301960218, kC6 = 0.38268343236508977, kC7 = 0.19509032201612825;
constexpr double kSqrt2 = 1.4142135623730951;
constexpr uint32_t fix13(double x) { return static_cast<uint32_t>(x * (1 << kConstBits) + 0.5); }
constexpr uint32_t kE1 = fix13(kSqrt2 * kC6);                     // 0.541
constexpr uint32_t kE2 = fix13(kSqrt2 * (kC2 - kC6));             // 0.765
constexpr uint32_t kE3 = fix13(kSqrt2 * (kC2 + kC6));             // 1.848
constexpr uint32_t kM5 = fix13(kSqrt2 * kC3);                     // 1.176, on X1+X3+X5+X7
constexpr uint32_t kQ17 = fix13(kSqrt2 * (kC3 - kC7));            // 0.900, subtracted, on X1+X7
constexpr uint32_t kQ35 = fix13(kSqrt2 * (kC1 + kC3));            // 2.563, subtracted, on X3+X5
constexpr uint32_t kQ37 = fix13(kSqrt2 * (kC3 + kC5));            // 1.962, subtracted, on X3+X7
constexpr uint32_t kQ15 = fix13(kSqrt2 * (kC3 - kC5));            // 0.390, subtracted, on X1+X5
constexpr uint32_t kP7 = fix13(kSqrt2 * (-kC1 + kC3 + kC5 - kC7));  // 0.299, on X7
constexpr uint32_t kP5 = fix13(kSqrt2 * (kC1 + kC3 - kC5 + kC7));   // 2.053, on X5
constexpr uint32_t kP3 = fix13(kSqrt2 * (kC1 + kC3 + kC5 - kC7));   // 3.073, on X3
constexpr uint32_t kP1 = fix13(kSqrt2 * (kC1 + kC3 - kC5 - kC7));   // 1.501, on X1
static_assert(kE1 == 4433 && kM5 == 9633 && kP3 == 25172, "IDCT constants");

// One 1-D pass over v[0..7] in place: outputs * 2^13 plus `bias`. Unsigned on purpose: arithmetic
// mod 2^32 is defined for any input, and for real data (whose result fits in 31 bits) it is exact
// even if a partial sum wraps, so hostile coefficients cost garbage pixels, never UB.
TFT_JPEG_INLINE void idct8(uint32_t* v, uint32_t bias) {
  const uint32_t z = (v[2] + v[6]) * kE1;
  const uint32_t a = z + v[2] * kE2;
  const uint32_t b = z - v[6] * kE3;
  const uint32_t t0 = ((v[0] + v[4]) << kConstBits) + bias;
  const uint32_t t1 = ((v[0] - v[4]) << kConstBits) + bias;
  const uint32_t e0 = t0 + a, e3 = t0 - a, e1 = t1 + b, e2 = t1 - b;

  const uint32_t z5 = (v[1] + v[3] + v[5] + v[7]) * kM5;
  const uint32_t z17 = (v[1] + v[7]) * kQ17;
  const uint32_t z35 = (v[3] + v[5]) * kQ35;
  const uint32_t z37 = z5 - (v[3] + v[7]) * kQ37;
  const uint32_t z15 = z5 - (v[1] + v[5]) * kQ15;
  const uint32_t o0 = v[1] * kP1 - z17 + z15;
  const uint32_t o1 = v[3] * kP3 - z35 + z37;
  const uint32_t o2 = v[5] * kP5 - z35 + z15;
  const uint32_t o3 = v[7] * kP7 - z17 + z37;

  v[0] = e0 + o0, v[7] = e0 - o0;
  v[1] = e1 + o1, v[6] = e1 - o1;
  v[2] = e2 + o2, v[5] = e2 - o2;
  v[3] = e3 + o3, v[4] = e3 - o3;
}

TFT_JPEG_INLINE uint8_t clamp_sample(int32_t v) {
  if (static_cast<uint32_t>(v) > 255u) v = ~v >> 31;  // below 0 -> 0, above 255 -> -1 -> 255
  return static_cast<uint8_t>(v);
}

// The 2-D IDCT of a block as two passes, columns then rows, each skipping what is known to be zero:
// the coefficients of a photo block at usual qualities sit in its top-left corner, and the zero
// inputs of idct8 fold away at compile time (N, M), so such a block costs far fewer operations.
// Same arithmetic as libjpeg's JDCT_ISLOW, so the samples match it exactly.

// Pass 1: columns 0..m-1 (the others are all zero), whose coefficients below row N are zero. `ac_cols`
// bit c: column c has a coefficient below row 0 (else it is flat: its DC). Clears what it reads.
template <int N>
void idct_columns(int16_t* in, int32_t* ws, uint32_t m, uint32_t ac_cols) {
  for (uint32_t c = 0; c < m; ++c) {
    int16_t* col = in + c;
    if ((ac_cols >> c & 1) == 0) {
      const int32_t dc = col[0] * (1 << kPass1Bits);
      col[0] = 0;
      for (uint32_t r = 0; r < 8; ++r) ws[r * 8 + c] = dc;
      continue;
    }
    uint32_t v[8] = {};
    for (int r = 0; r < N; ++r) {
      v[r] = static_cast<uint32_t>(static_cast<int32_t>(col[r * 8]));
      col[r * 8] = 0;  // leave the block zero for the next one
    }
    idct8(v, 1u << (kConstBits - kPass1Bits - 1));
    for (uint32_t r = 0; r < 8; ++r) ws[r * 8 + c] = static_cast<int32_t>(v[r]) >> (kConstBits - kPass1Bits);
  }
}

// Pass 2: every row, whose values past column M are zero, to samples (level shift, clamping).
template <int M>
void idct_rows(const int32_t* ws, uint8_t* out, uint32_t stride) {
  constexpr int kShift = kConstBits + kPass1Bits + 3;  // the 2-D result is 8x the IDCT
  for (int r = 0; r < 8; ++r, ws += 8, out += stride) {
    uint32_t v[8] = {};
    for (int i = 0; i < M; ++i) v[i] = static_cast<uint32_t>(ws[i]);
    idct8(v, (1u << (kShift - 1)) + (128u << kShift));  // rounding, and +128 folded in
    for (int i = 0; i < 8; ++i) out[i] = clamp_sample(static_cast<int32_t>(v[i]) >> kShift);
  }
}

// kColumnBit[z]: for a coefficient at natural position z, bit (column) if it lies below row 0.
struct ColumnBit {
  uint8_t at[64];
  constexpr ColumnBit() : at() {
    for (int z = 8; z < 64; ++z) at[z] = static_cast<uint8_t>(1 << (z % 8));
  }
};
constexpr ColumnBit kColumnBit{};

// A block whose only coefficient is DC: what the two passes give for it, without them.
void dc_block(int32_t dc, uint8_t* out, uint32_t stride) {
  const uint8_t s = clamp_sample(((dc + 4) >> 3) + 128);
  for (int r = 0; r < 8; ++r, out += stride) {
    for (int i = 0; i < 8; ++i) out[i] = s;
  }
}

TFT_JPEG_INLINE int16_t saturate16(int32_t v) {
  return static_cast<int16_t>(v < -32768 ? -32768 : v > 32767 ? 32767 : v);
}

// ---- Colour. JFIF: R = Y + 1.402 Cr', G = Y - 0.34414 Cb' - 0.71414 Cr', B = Y + 1.772 Cb'
// (Cb' = Cb - 128), products in 16-bit fixed point rounded as libjpeg does.
constexpr int32_t fix16(double x) { return static_cast<int32_t>(x * 65536 + 0.5); }
constexpr int32_t kCrR = fix16(1.402), kCbG = fix16(0.34414), kCrG = fix16(0.71414), kCbB = fix16(1.772);
constexpr int32_t kHalf = 1 << 15;
static_assert(((kCbB * -128 + kHalf) >> 16) >= -256 && ((kCbB * 127 + kHalf) >> 16) + 255 <= 511 &&
                  ((kCrR * -128 + kHalf) >> 16) >= -256 && ((kCrR * 127 + kHalf) >> 16) + 255 <= 511 &&
                  ((kHalf + (kCbG + kCrG) * 128) >> 16) + 255 <= 511 && ((kHalf - (kCbG + kCrG) * 127) >> 16) >= -256,
              "every Y + chroma offset indexes the clamp table");

// One pixel as RGB565 bytes, high = RRRRRGGG and low = GGGBBBBB, at o[hi] and o[hi ^ 1] (the pixel
// order). r, g, b: the clamp table shifted by the chroma sample's offsets, so a pixel costs Y + 3 loads.
TFT_JPEG_INLINE void put_rgb(uint8_t* o, uint32_t hi, uint32_t y, const uint8_t* r, const uint8_t* g,
                             const uint8_t* b) {
  const uint32_t rv = r[y], gv = g[y], bv = b[y];
  o[hi] = static_cast<uint8_t>((rv & 0xF8) | (gv >> 5));
  o[hi ^ 1] = static_cast<uint8_t>(((gv << 3) & 0xE0) | (bv >> 3));
}

struct Chroma {
  const uint8_t *r, *g, *b;
  TFT_JPEG_INLINE Chroma(uint32_t cb, uint32_t cr) {
    const int32_t u = static_cast<int32_t>(cb) - 128, v = static_cast<int32_t>(cr) - 128;
    r = kClampAt0 + ((kCrR * v + kHalf) >> 16);
    g = kClampAt0 + ((kHalf - kCbG * u - kCrG * v) >> 16);
    b = kClampAt0 + ((kCbB * u + kHalf) >> 16);
  }
};

inline uint16_t read_u16be(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

}  // namespace

const char* to_str(JpegError error) {
  switch (error) {
    case JpegError::none: return "none";
    case JpegError::truncated: return "jpeg_truncated";
    case JpegError::not_jpeg: return "jpeg_not_jpeg";
    case JpegError::bad_marker: return "jpeg_bad_marker";
    case JpegError::bad_segment: return "jpeg_bad_segment";
    case JpegError::unsupported_frame: return "jpeg_unsupported_frame";
    case JpegError::bad_precision: return "jpeg_bad_precision";
    case JpegError::size_mismatch: return "jpeg_size_mismatch";
    case JpegError::unsupported_components: return "jpeg_unsupported_components";
    case JpegError::bad_quant_table: return "jpeg_bad_quant_table";
    case JpegError::bad_huffman_table: return "jpeg_bad_huffman_table";
    case JpegError::missing_frame: return "jpeg_missing_frame";
    case JpegError::missing_scan: return "jpeg_missing_scan";
    case JpegError::bad_scan: return "jpeg_bad_scan";
    case JpegError::missing_table: return "jpeg_missing_table";
    case JpegError::bad_huffman_code: return "jpeg_bad_huffman_code";
    case JpegError::bad_coefficient: return "jpeg_bad_coefficient";
    case JpegError::bad_restart: return "jpeg_bad_restart";
  }
  return "?";
}

// ---- Headers.

JpegError JpegDecoder::decode(const uint8_t* data, size_t size, uint16_t width, uint16_t height, PixelOrder order,
                              JpegSink& sink) {
  JpegError error = begin(data, size, width, height, order);
  while (error == JpegError::none && !done()) error = step(sink, 0xFFFFFFFFu);
  return error;
}

JpegError JpegDecoder::fail(JpegError error) {
  state_ = State::failed;
  error_ = error;
  return error;
}

JpegError JpegDecoder::begin(const uint8_t* data, size_t size, uint16_t width, uint16_t height, PixelOrder order) {
  data_ = data;
  data_end_ = data + size;
  width_ = width;
  height_ = height;
  order_ = order;
  ncomp_ = 0;
  defined_quant_ = 0;
  defined_huff_ = 0;
  restart_interval_ = 0;
  if (size < 2 || data[0] != 0xFF || data[1] != 0xD8) return fail(JpegError::not_jpeg);
  const JpegError error = parse_headers();
  if (error != JpegError::none) return fail(error);
  state_ = State::decoding;
  error_ = JpegError::none;
  return JpegError::none;
}

// Segments from after SOI up to and including SOS; leaves the reader at the entropy data.
JpegError JpegDecoder::parse_headers() {
  const uint8_t* p = data_ + 2;
  for (;;) {
    if (p >= data_end_) return JpegError::truncated;
    if (*p != 0xFF) return JpegError::bad_marker;
    while (p < data_end_ && *p == 0xFF) ++p;  // a marker may follow any number of fill bytes
    if (p >= data_end_) return JpegError::truncated;
    const uint8_t marker = *p++;
    if (marker == 0xD9) return ncomp_ == 0 ? JpegError::missing_frame : JpegError::missing_scan;
    // Markers without a length: SOI, RSTn and TEM have no place here; FF00 is no marker at all.
    if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker <= 0x01) return JpegError::bad_marker;
    if (data_end_ - p < 2) return JpegError::truncated;
    const uint32_t length = read_u16be(p);
    if (length < 2) return JpegError::bad_segment;
    if (static_cast<size_t>(data_end_ - p) < length) return JpegError::truncated;
    const uint8_t* body = p + 2;
    const uint32_t n = length - 2;
    p += length;
    JpegError error = JpegError::none;
    if (marker == 0xC0) {
      error = ncomp_ != 0 ? JpegError::bad_marker : parse_frame(body, n);
    } else if (marker == 0xC4) {
      error = parse_huffman(body, n);
    } else if (marker == 0xDB) {
      error = parse_quant(body, n);
    } else if (marker == 0xDD) {
      if (n != 2) return JpegError::bad_segment;
      restart_interval_ = read_u16be(body);
    } else if (marker == 0xDA) {
      if (ncomp_ == 0) return JpegError::missing_frame;
      error = parse_scan(body, n);
      if (error != JpegError::none) return error;
      pos_ = p;
      return JpegError::none;
    } else if ((marker >= 0xE0 && marker <= 0xEF) || marker == 0xFE) {
      // APPn (JFIF, Exif, ICC...) and COM: nothing the board uses.
    } else if ((marker >= 0xC1 && marker <= 0xCF && marker != 0xC8) || marker == 0xDE || marker == 0xDF) {
      return JpegError::unsupported_frame;  // SOF1..15, DAC (arithmetic), DHP/EXP (hierarchical)
    } else {
      return JpegError::bad_marker;  // DNL, JPG, JPGn, reserved
    }
    if (error != JpegError::none) return error;
  }
}

JpegError JpegDecoder::parse_frame(const uint8_t* p, uint32_t n) {
  if (n < 6) return JpegError::bad_segment;
  if (p[0] != 8) return JpegError::bad_precision;
  const uint16_t lines = read_u16be(p + 1), samples = read_u16be(p + 3);
  if (lines == 0 || samples == 0 || lines != height_ || samples != width_) return JpegError::size_mismatch;
  const uint8_t count = p[5];
  if (count != 1 && count != 3) return JpegError::unsupported_components;
  if (n != 6u + 3u * count) return JpegError::bad_segment;
  for (uint8_t i = 0; i < count; ++i) {
    const uint8_t* f = p + 6 + 3 * i;
    Component& c = comp_[i];
    c = Component{};
    c.id = f[0];
    c.h = static_cast<uint8_t>(f[1] >> 4);
    c.v = static_cast<uint8_t>(f[1] & 15);
    c.tq = f[2];
    if (c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 || c.tq > 3) return JpegError::unsupported_components;
    for (uint8_t j = 0; j < i; ++j) {
      if (comp_[j].id == c.id) return JpegError::unsupported_components;
    }
  }
  if (count == 3) {
    // Y 1x1, 2x1, 1x2 or 2x2 over chroma 1x1: an MCU is at most 4 Y blocks, Cb, Cr.
    if (comp_[0].h > 2 || comp_[0].v > 2) return JpegError::unsupported_components;
    for (int i = 1; i < 3; ++i) {
      if (comp_[i].h != 1 || comp_[i].v != 1) return JpegError::unsupported_components;
    }
    mcu_w_ = static_cast<uint8_t>(8 * comp_[0].h);
    mcu_h_ = static_cast<uint8_t>(8 * comp_[0].v);
  } else {
    mcu_w_ = mcu_h_ = 8;  // one component: a non-interleaved scan of single blocks, whatever its factors
  }
  mcus_x_ = static_cast<uint16_t>((width_ + mcu_w_ - 1u) / mcu_w_);
  mcus_y_ = static_cast<uint16_t>((height_ + mcu_h_ - 1u) / mcu_h_);
  ncomp_ = count;
  return JpegError::none;
}

JpegError JpegDecoder::parse_quant(const uint8_t* p, uint32_t n) {
  if (n == 0) return JpegError::bad_segment;
  while (n > 0) {
    const uint8_t precision = static_cast<uint8_t>(p[0] >> 4), id = static_cast<uint8_t>(p[0] & 15);
    if (precision != 0 || id > 3) return JpegError::bad_quant_table;
    if (n < 65) return JpegError::bad_segment;
    for (int k = 0; k < 64; ++k) {
      if (p[1 + k] == 0) return JpegError::bad_quant_table;
      quant_[id][k] = p[1 + k];
    }
    defined_quant_ = static_cast<uint8_t>(defined_quant_ | 1u << id);
    p += 65;
    n -= 65;
  }
  return JpegError::none;
}

JpegError JpegDecoder::parse_huffman(const uint8_t* p, uint32_t n) {
  if (n == 0) return JpegError::bad_segment;
  while (n > 0) {
    if (n < 17) return JpegError::bad_segment;
    const uint8_t cls = static_cast<uint8_t>(p[0] >> 4), id = static_cast<uint8_t>(p[0] & 15);
    if (cls > 1 || id > 1) return JpegError::bad_huffman_table;
    const uint8_t* counts = p + 1;
    uint32_t total = 0;
    for (int i = 0; i < 16; ++i) total += counts[i];
    if (total > 256) return JpegError::bad_huffman_table;
    if (n < 17 + total) return JpegError::bad_segment;
    const uint8_t* symbols = p + 17;
    for (uint32_t i = 0; i < total; ++i) {
      // 8-bit samples: DC differences have at most 11 bits, AC coefficients 10.
      if (cls == 0 ? symbols[i] > 11 : (symbols[i] & 15) > 10) return JpegError::bad_huffman_table;
    }
    HuffTable& t = cls == 0 ? dc_[id] : ac_[id];
    for (uint16_t& e : t.fast) e = 0;
    // Canonical codes (T.81 annex C): consecutive within a length, doubled from one length to the next.
    uint32_t code = 0, k = 0;
    t.maxcode[0] = -1;
    t.delta[0] = 0;
    for (uint32_t len = 1; len <= 16; ++len) {
      const uint32_t m = counts[len - 1];
      if (code + m > (1u << len)) return JpegError::bad_huffman_table;  // the codes do not fit
      t.delta[len] = static_cast<int32_t>(k) - static_cast<int32_t>(code);
      t.maxcode[len] = m == 0 ? -1 : static_cast<int32_t>(code + m - 1);
      for (uint32_t i = 0; i < m; ++i, ++code, ++k) {
        if (len > kFastBits) continue;
        // Every kFastBits-bit pattern that starts with this code. For an AC coefficient whose value
        // bits follow within the pattern and fit 7 bits, the entry is the whole coefficient.
        const uint32_t rest = kFastBits - len, first = code << rest;
        const uint32_t run = symbols[k] >> 4, size = symbols[k] & 15u;
        for (uint32_t j = 0; j < (1u << rest); ++j) {
          uint32_t e = len << 8 | symbols[k];
          if (cls == 1 && size >= 1 && size <= 6 && size <= rest) {
            const uint32_t bits = j >> (rest - size);
            const int32_t v = static_cast<int32_t>(bits) - (bits >> (size - 1) ? 0 : (1 << size) - 1);
            e = kWholeCoefficient | (static_cast<uint32_t>(v) & 0x7F) << 8 | run << 4 | (len + size);
          }
          t.fast[first + j] = static_cast<uint16_t>(e);
        }
      }
      code <<= 1;
    }
    for (uint32_t i = 0; i < total; ++i) t.values[i] = symbols[i];
    t.count = static_cast<uint16_t>(total);
    defined_huff_ = static_cast<uint8_t>(defined_huff_ | 1u << (cls * 2 + id));
    p += 17 + total;
    n -= 17 + total;
  }
  return JpegError::none;
}

JpegError JpegDecoder::parse_scan(const uint8_t* p, uint32_t n) {
  if (n < 1 || n != 4u + 2u * p[0]) return JpegError::bad_segment;
  // One interleaved scan with every component, in frame order (T.81 B.2.3): the only kind a
  // decoder that keeps one MCU can draw.
  if (p[0] != ncomp_) return JpegError::bad_scan;
  for (uint8_t i = 0; i < ncomp_; ++i) {
    Component& c = comp_[i];
    if (p[1 + 2 * i] != c.id) return JpegError::bad_scan;
    c.td = static_cast<uint8_t>(p[2 + 2 * i] >> 4);
    c.ta = static_cast<uint8_t>(p[2 + 2 * i] & 15);
    if (c.td > 1 || c.ta > 1) return JpegError::bad_scan;
  }
  const uint8_t* s = p + 1 + 2 * ncomp_;
  if (s[0] != 0 || s[1] != 63 || s[2] != 0) return JpegError::bad_scan;  // Ss, Se, Ah/Al of a sequential scan
  for (uint8_t i = 0; i < ncomp_; ++i) {
    const Component& c = comp_[i];
    if (!(defined_quant_ >> c.tq & 1) || !(defined_huff_ >> c.td & 1) || !(defined_huff_ >> (2 + c.ta) & 1)) {
      return JpegError::missing_table;
    }
  }
  for (Component& c : comp_) c.pred = 0;
  end_ = data_end_;
  bits_ = 0;
  count_ = 0;
  fill_ = 0;
  mcu_ = 0;
  to_restart_ = restart_interval_;
  next_rst_ = 0;
  for (int16_t& c : coef_) c = 0;
  return JpegError::none;
}

// ---- Entropy-coded data.

void JpegDecoder::refill() {
  while (count_ <= 24) {
    uint32_t byte = 0;
    if (pos_ < end_) {
      byte = *pos_++;
      if (byte == 0xFF) {
        if (pos_ < end_ && *pos_ == 0) {
          ++pos_;  // stuffed: a data byte 0xFF
        } else {
          --pos_;  // a marker (or a lone FF at the very end): the entropy data ends in front of it
          end_ = pos_;
          byte = 0;
          fill_ += 8;
        }
      }
    } else {
      fill_ += 8;
    }
    bits_ |= byte << (24 - count_);
    count_ += 8;
  }
}

TFT_JPEG_INLINE int JpegDecoder::decode_symbol(const HuffTable& t) {
  if (count_ < 16) refill();
  const uint32_t e = t.fast[bits_ >> (32 - kFastBits)];
  if (e == 0) return decode_long(t);
  const uint32_t len = e >> 8;
  bits_ <<= len;
  count_ -= static_cast<int32_t>(len);
  return static_cast<int>(e & 0xFF);
}

// A code longer than kFastBits (rare: the long codes are the rare symbols).
int JpegDecoder::decode_long(const HuffTable& t) {
  for (int len = kFastBits + 1; len <= 16; ++len) {
    const int32_t code = static_cast<int32_t>(bits_ >> (32 - len));
    if (code <= t.maxcode[len]) {
      // Canonical codes make the index land in 0..count-1; checked anyway, the table is hostile input.
      const int32_t i = code + t.delta[len];
      if (i < 0 || i >= t.count) return -1;
      bits_ <<= len;
      count_ -= len;
      return t.values[i];
    }
  }
  return -1;
}

// The `size`-bit value after a symbol (1..11 bits): a leading 0 bit means negative (T.81 F.2.2.1).
TFT_JPEG_INLINE int32_t JpegDecoder::receive(int size) {
  if (count_ < size) refill();
  const int32_t v = static_cast<int32_t>(bits_ >> (32 - size));
  const uint32_t negative = (bits_ >> 31) - 1;  // all ones if the leading bit is 0
  bits_ <<= size;
  count_ -= size;
  return v + static_cast<int32_t>(negative & (1u - (1u << size)));  // v - (2^size - 1) if negative
}

// An error inside an MCU caused by running out of data is reported as that.
JpegError JpegDecoder::entropy_error(JpegError error) const {
  if (!overrun()) return error;
  return data_end_ - pos_ <= 1 ? JpegError::truncated : JpegError::bad_marker;
}

JpegError JpegDecoder::decode_block(Component& c, uint8_t* out, uint32_t stride) {
  const int dc_size = decode_symbol(dc_[c.td]);
  if (dc_size < 0) return JpegError::bad_huffman_code;
  int32_t pred = c.pred + (dc_size == 0 ? 0 : receive(dc_size));
  pred = pred < -32768 ? -32768 : pred > 32767 ? 32767 : pred;  // only hostile data gets near
  c.pred = pred;
  const uint16_t* q = quant_[c.tq];
  const HuffTable& ac = ac_[c.ta];
  uint32_t where = 0;    // OR of the positions of the AC coefficients: which rows and columns have any
  uint32_t ac_cols = 0;  // columns with a coefficient below row 0
  for (int k = 1; k < 64;) {
    if (count_ < 16) refill();
    const uint32_t e = ac.fast[bits_ >> (32 - kFastBits)];
    int32_t value;
    if (e & kWholeCoefficient) {  // code and value in one lookup: most coefficients
      const uint32_t used = e & 15;
      bits_ <<= used;
      count_ -= static_cast<int32_t>(used);
      k += static_cast<int>(e >> 4 & 15);
      value = static_cast<int32_t>(e << 17) >> 25;  // bits 8..14, sign-extended
    } else {
      int rs;
      if (e != 0) {
        const uint32_t len = e >> 8;
        bits_ <<= len;
        count_ -= static_cast<int32_t>(len);
        rs = static_cast<int>(e & 0xFF);
      } else {
        rs = decode_long(ac);
        if (rs < 0) return JpegError::bad_huffman_code;
      }
      const int run = rs >> 4, size = rs & 15;
      if (size == 0) {
        if (run != 15) break;  // EOB (other runs with size 0 are undefined; libjpeg too reads them as EOB)
        k += 16;               // ZRL: sixteen zeros
        continue;
      }
      k += run;
      value = receive(size);
    }
    if (k > 63) return JpegError::bad_coefficient;
    const uint8_t at = kZigzag.at[k];
    coef_[at] = saturate16(value * q[k]);
    where |= at;  // never 0: AC positions are 1..63
    ac_cols |= kColumnBit.at[at];
    ++k;
  }
  coef_[0] = saturate16(pred * q[0]);
  if (where == 0) {
    dc_block(coef_[0], out, stride);
    coef_[0] = 0;
    return JpegError::none;
  }
  // Position bits (row * 8 + column): 0x02 / 0x04 a column >= 2 / >= 4, 0x10 / 0x20 a row >= 2 / >= 4.
  const uint32_t cols = (where & 7) == 0 ? 1 : (where & 6) == 0 ? 2 : (where & 4) == 0 ? 4 : 8;
  int32_t ws[64];
  if ((where & 0x30) == 0) {
    idct_columns<2>(coef_, ws, cols, ac_cols);
  } else if ((where & 0x20) == 0) {
    idct_columns<4>(coef_, ws, cols, ac_cols);
  } else {
    idct_columns<8>(coef_, ws, cols, ac_cols);
  }
  if (cols == 1) {
    idct_rows<1>(ws, out, stride);
  } else if (cols == 2) {
    idct_rows<2>(ws, out, stride);
  } else if (cols == 4) {
    idct_rows<4>(ws, out, stride);
  } else {
    idct_rows<8>(ws, out, stride);
  }
  return JpegError::none;
}

JpegError JpegDecoder::decode_mcu(uint16_t& w, uint16_t& h) {
  const uint32_t x = (mcu_ % mcus_x_) * mcu_w_, y = (mcu_ / mcus_x_) * mcu_h_;
  w = static_cast<uint16_t>(width_ - x < mcu_w_ ? width_ - x : mcu_w_);
  h = static_cast<uint16_t>(height_ - y < mcu_h_ ? height_ - y : mcu_h_);
  JpegError error = JpegError::none;
  if (ncomp_ == 1) {
    error = decode_block(comp_[0], y_, 8);
  } else {
    for (uint32_t by = 0; by < mcu_h_ && error == JpegError::none; by += 8) {
      for (uint32_t bx = 0; bx < mcu_w_ && error == JpegError::none; bx += 8) {
        error = decode_block(comp_[0], y_ + by * mcu_w_ + bx, mcu_w_);
      }
    }
    if (error == JpegError::none) error = decode_block(comp_[1], cb_, 8);
    if (error == JpegError::none) error = decode_block(comp_[2], cr_, 8);
  }
  if (error != JpegError::none || overrun()) return entropy_error(error);
  if (ncomp_ == 1) {
    convert_grey(w, h);
  } else {
    convert_ycc(w, h);
  }
  return JpegError::none;
}

// Between restart intervals: the byte-aligned RSTn that must come next, then a fresh reader.
JpegError JpegDecoder::restart() {
  refill();
  if (count_ - fill_ >= 8) return JpegError::bad_restart;  // more data than padding before the marker
  const uint8_t* p = pos_;
  while (p < data_end_ && *p == 0xFF) ++p;
  if (p >= data_end_) return JpegError::truncated;
  if (*p != 0xD0 + next_rst_) return JpegError::bad_restart;
  pos_ = p + 1;
  end_ = data_end_;
  bits_ = 0;
  count_ = 0;
  fill_ = 0;
  for (Component& c : comp_) c.pred = 0;
  next_rst_ = static_cast<uint8_t>((next_rst_ + 1) & 7);
  to_restart_ = restart_interval_;
  return JpegError::none;
}

// After the last MCU: nothing but padding bits, then EOI.
JpegError JpegDecoder::finish() {
  refill();
  if (count_ - fill_ >= 8) return JpegError::bad_marker;
  const uint8_t* p = pos_;
  while (p < data_end_ && *p == 0xFF) ++p;
  if (p >= data_end_) return JpegError::truncated;
  return *p == 0xD9 ? JpegError::none : JpegError::bad_marker;
}

JpegError JpegDecoder::step(JpegSink& sink, uint32_t max_mcus) {
  if (state_ == State::done) return JpegError::none;
  if (state_ != State::decoding) return error_;
  const uint32_t total = static_cast<uint32_t>(mcus_x_) * mcus_y_;
  for (uint32_t i = 0; i < max_mcus && mcu_ < total; ++i) {
    if (restart_interval_ != 0 && to_restart_ == 0) {
      const JpegError error = restart();
      if (error != JpegError::none) return fail(error);
    }
    uint16_t w = 0, h = 0;
    const JpegError error = decode_mcu(w, h);
    if (error != JpegError::none) return fail(error);
    const Window window{static_cast<uint16_t>((mcu_ % mcus_x_) * mcu_w_),
                        static_cast<uint16_t>((mcu_ / mcus_x_) * mcu_h_), w, h};
    sink.draw(window, out_, order_);
    ++mcu_;
    --to_restart_;
  }
  if (mcu_ == total) {
    const JpegError error = finish();
    if (error != JpegError::none) return fail(error);
    state_ = State::done;
  }
  return JpegError::none;
}

// ---- Pixels.

// Each chroma sample covers 1, 2 or 4 pixels (replicated); rows and columns past w x h are left out.
void JpegDecoder::convert_ycc(uint16_t w, uint16_t h) {
  const uint32_t hi = order_ == PixelOrder::big_endian ? 0 : 1;
  if (mcu_w_ == 16 && mcu_h_ == 16 && w == 16 && h == 16) {
    // 4:2:0, a whole MCU: the server's default and nearly every MCU of a picture, so no checks.
    for (uint32_t cy = 0; cy < 8; ++cy) {
      const uint8_t* y0 = y_ + cy * 32;
      uint8_t* o0 = out_ + cy * 64;
      for (uint32_t cx = 0; cx < 8; ++cx, y0 += 2, o0 += 4) {
        const Chroma c(cb_[cy * 8 + cx], cr_[cy * 8 + cx]);
        put_rgb(o0, hi, y0[0], c.r, c.g, c.b);
        put_rgb(o0 + 2, hi, y0[1], c.r, c.g, c.b);
        put_rgb(o0 + 32, hi, y0[16], c.r, c.g, c.b);
        put_rgb(o0 + 34, hi, y0[17], c.r, c.g, c.b);
      }
    }
    return;
  }
  // Any other sampling, or an MCU cut by the picture's edge: pixel by pixel, short and slower.
  const uint32_t hs = mcu_w_ == 16 ? 1 : 0, vs = mcu_h_ == 16 ? 1 : 0;
  uint8_t* o = out_;
  for (uint32_t y = 0; y < h; ++y) {
    for (uint32_t x = 0; x < w; ++x, o += 2) {
      const uint32_t at = (y >> vs) * 8 + (x >> hs);
      const Chroma c(cb_[at], cr_[at]);
      put_rgb(o, hi, y_[y * mcu_w_ + x], c.r, c.g, c.b);
    }
  }
}

void JpegDecoder::convert_grey(uint16_t w, uint16_t h) {
  const uint32_t hi = order_ == PixelOrder::big_endian ? 0 : 1;
  uint8_t* o = out_;
  for (uint32_t r = 0; r < h; ++r) {
    for (uint32_t c = 0; c < w; ++c, o += 2) {
      const uint32_t g = y_[r * 8 + c];
      o[hi] = static_cast<uint8_t>((g & 0xF8) | (g >> 5));
      o[hi ^ 1] = static_cast<uint8_t>(((g << 3) & 0xE0) | (g >> 3));
    }
  }
}

}  // namespace tft
