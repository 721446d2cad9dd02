// Every truncation of every stream. The Python reference applies a message only once all of it
// has arrived, so after a prefix its framebuffer is the state after the last whole message (k).
// The streaming parser may also have drawn part of message k+1, so the sound check is: every
// pixel equals its value after message k or after message k+1, never anything else; ACKs and
// REJECT are those of the first k messages; no error; "incomplete" exactly inside a message.
// The states after each whole message come from a small whole-message model written here,
// itself checked against the vectors' final framebuffers.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <optional>

#include "jpeg_decoder.h"
#include "support.h"

using namespace tft;
using namespace tft::test;

namespace {

struct Snapshot {
  std::vector<uint16_t> framebuffer;
  std::vector<uint32_t> acks;
  bool rejected = false;
};

struct Model {
  std::vector<size_t> boundaries;  // byte offset after k whole messages; boundaries[0] == 0
  std::vector<Snapshot> states;    // state after k whole messages
};

uint16_t pixel_at(const uint8_t* p, bool big) { return big ? static_cast<uint16_t>(p[0] << 8 | p[1]) : static_cast<uint16_t>(p[1] << 8 | p[0]); }

// A JPEG payload's w x h pixels, row-major, by the core's decoder: its pixels are pinned against
// libjpeg by test_jpeg.cpp and by the vectors; what this model judges is when the parser draws them.
std::vector<uint16_t> jpeg_pixels(const uint8_t* data, size_t size, size_t w, size_t h, bool big) {
  struct Collect final : JpegSink {
    std::vector<uint16_t> pixels;
    size_t width = 0;
    void draw(const Window& window, const uint8_t* p, PixelOrder order) override {
      for (size_t i = 0; i < size_t{window.w} * window.h; ++i) {
        pixels[(window.y + i / window.w) * width + window.x + i % window.w] =
            pixel_at(p + 2 * i, order == PixelOrder::big_endian);
      }
    }
  } sink;
  sink.pixels.assign(w * h, 0);
  sink.width = w;
  static JpegDecoder decoder;  // 5 KB
  const PixelOrder order = big ? PixelOrder::big_endian : PixelOrder::little_endian;
  REQUIRE(decoder.decode(data, size, static_cast<uint16_t>(w), static_cast<uint16_t>(h), order, sink) ==
          JpegError::none);
  return sink.pixels;
}

// A RICE payload's w x h pixels, decoded the plain way: bit by bit, predicting from the values so far.
std::vector<uint16_t> rice_pixels(const uint8_t* data, size_t size, size_t w, size_t h) {
  size_t pos = 0;
  const auto bit = [&]() {
    REQUIRE(pos < 8 * size);
    const int b = data[pos / 8] >> (7 - pos % 8) & 1;
    ++pos;
    return b;
  };
  const auto bits = [&](int n) {
    unsigned v = 0;
    while (n-- > 0) v = v << 1 | static_cast<unsigned>(bit());
    return v;
  };
  const int shift[3] = {11, 5, 0};
  const unsigned mask[3] = {31, 63, 31};
  std::vector<unsigned> values[3];
  unsigned k[3] = {};
  for (size_t i = 0; i < w * h; ++i) {
    if (i % 32 == 0) {
      for (unsigned& kc : k) kc = bits(3);
    }
    for (int c = 0; c < 3; ++c) {
      unsigned u = 0;
      while (bit() == 0) ++u;
      u = u << k[c] | bits(static_cast<int>(k[c]));
      const std::vector<unsigned>& v = values[c];
      const size_t x = i % w, y = i / w;
      unsigned predicted = 0;
      if (y == 0) {
        predicted = x ? v[i - 1] : 0;
      } else if (x == 0) {
        predicted = v[i - w];
      } else {
        predicted = (2 * v[i - 1] + v[i - w] + (x + 1 < w ? v[i - w + 1] : v[i - w]) + 2) >> 2;
      }
      values[c].push_back((predicted + ((u >> 1) ^ (0u - (u & 1)))) & mask[c]);
    }
  }
  std::vector<uint16_t> pixels;
  for (size_t i = 0; i < w * h; ++i) {
    pixels.push_back(static_cast<uint16_t>(values[0][i] << shift[0] | values[1][i] << shift[1] | values[2][i]));
  }
  return pixels;
}

// A valid RECOLOR payload applied the plain way to `box` (the RECT's pixels as shown, row-major):
// a std::map for the table, then each patch at its counted-out position.
std::vector<uint16_t> recolor_pixels(const uint8_t* data, size_t size, std::vector<uint16_t> box, bool big) {
  REQUIRE(size >= 2);
  const size_t count = data[0] | data[1] << 8;
  REQUIRE(size >= 2 + 4 * count);
  std::map<uint16_t, uint16_t> table;
  for (size_t i = 0; i < count; ++i) table[pixel_at(data + 2 + 4 * i, big)] = pixel_at(data + 4 + 4 * i, big);
  for (uint16_t& px : box) {
    if (table.count(px)) px = table[px];
  }
  size_t pos = 2 + 4 * count, at = 0;
  while (pos < size) {
    size_t skip = 0;
    for (int shift = 0;; shift += 7) {
      REQUIRE(pos < size);
      skip |= static_cast<size_t>(data[pos] & 0x7F) << shift;
      if ((data[pos++] & 0x80) == 0) break;
    }
    at += skip;
    REQUIRE(at < box.size());
    REQUIRE(pos + 2 <= size);
    box[at++] = pixel_at(data + pos, big);
    pos += 2;
  }
  return box;
}

// The bitmap cache (CACHED) and a KEEP waiting for its RECT.
struct Cache {
  std::vector<uint16_t> pixels = std::vector<uint16_t>(kCachePixels, 0);
  std::optional<size_t> keep;
};

// Applies a valid RECT body the plain way: decode all of it, then store (and keep, after a KEEP).
void apply_rect(const DeviceVector& v, const uint8_t* body, size_t len, bool big, std::vector<uint16_t>& fb,
                Cache& cache) {
  const size_t x = body[0] | body[1] << 8, y = body[2] | body[3] << 8, w = body[4] | body[5] << 8,
               h = body[6] | body[7] << 8;
  std::vector<uint16_t> pixels;
  if (body[8] == 2) {  // COPY: read the whole source box first, as through a temporary buffer
    REQUIRE(len == 13);
    const size_t sx = body[9] | body[10] << 8, sy = body[11] | body[12] << 8;
    for (size_t i = 0; i < w * h; ++i) pixels.push_back(fb[(sy + i / w) * v.width + sx + i % w]);
  } else if (body[8] == 0) {
    for (size_t i = 9; i + 1 < len; i += 2) pixels.push_back(pixel_at(body + i, big));
  } else if (body[8] == 4) {
    pixels = jpeg_pixels(body + 9, len - 9, w, h, big);
  } else if (body[8] == 6) {
    pixels = rice_pixels(body + 9, len - 9, w, h);
  } else if (body[8] == 7) {  // RECOLOR: the box as shown, then mapped and patched
    for (size_t i = 0; i < w * h; ++i) pixels.push_back(fb[(y + i / w) * v.width + x + i % w]);
    pixels = recolor_pixels(body + 9, len - 9, pixels, big);
  } else if (body[8] == 5) {
    REQUIRE(len == 11);
    const size_t offset = body[9] | body[10] << 8;
    pixels.assign(cache.pixels.begin() + offset, cache.pixels.begin() + offset + w * h);
  } else if (body[8] == 8) {  // CELLS: each box pixel from its cell's offset
    const size_t cw = body[9], ch = body[10];
    REQUIRE(len == 11 + 2 * (w / cw) * (h / ch));
    for (size_t i = 0; i < w * h; ++i) {
      const size_t cell = i / w / ch * (w / cw) + i % w / cw;
      const size_t offset = body[11 + 2 * cell] | body[12 + 2 * cell] << 8;
      pixels.push_back(cache.pixels[offset + i / w % ch * cw + i % w % cw]);
    }
  } else if (body[8] == 3) {
    const Lz4Plain raw = lz4_plain(Bytes(body + 9, body + len), 2 * w * h);
    REQUIRE(raw.error == "none");
    for (size_t i = 0; i + 1 < raw.bytes.size(); i += 2) pixels.push_back(pixel_at(raw.bytes.data() + i, big));
  } else {
    for (size_t i = 9; i + 2 < len; i += 3) pixels.insert(pixels.end(), body[i] + 1u, pixel_at(body + i + 1, big));
  }
  REQUIRE(pixels.size() == w * h);
  for (size_t i = 0; i < pixels.size(); ++i) fb[(y + i / w) * v.width + x + i % w] = pixels[i];
  if (cache.keep) std::copy(pixels.begin(), pixels.end(), cache.pixels.begin() + *cache.keep);
  cache.keep.reset();
}

Model model_of(const DeviceVector& v) {
  Model m;
  Snapshot s;
  s.framebuffer.assign(static_cast<size_t>(v.width) * v.height, 0);
  m.boundaries.push_back(0);
  m.states.push_back(s);
  const Bytes& b = v.stream;
  bool big = true;
  Cache cache;
  size_t pos = 0;
  while (pos + 3 <= b.size() && !s.rejected) {
    const uint8_t type = b[pos];
    const size_t len = b[pos + 1] | b[pos + 2] << 8;
    REQUIRE(pos + 3 + len <= b.size());
    const uint8_t* body = b.data() + pos + 3;
    if (type == 0x10) big = (body[1] & 1) != 0;
    if (type == 0x11) s.rejected = true;
    if (type == 0x21) apply_rect(v, body, len, big, s.framebuffer, cache);
    if (type == 0x23) cache.keep = static_cast<size_t>(body[0] | body[1] << 8);
    if (type == 0x22) s.acks.push_back(static_cast<uint32_t>(body[0] | body[1] << 8 | body[2] << 16 | body[3] << 24));
    pos += 3 + len;
    m.boundaries.push_back(pos);
    m.states.push_back(s);
  }
  return m;
}

size_t whole_messages_in(const Model& m, size_t length) {
  size_t k = 0;
  while (k + 1 < m.boundaries.size() && m.boundaries[k + 1] <= length) ++k;
  return k;
}

void check_prefix(const DeviceVector& v, const Model& m, size_t length, const Splitter& split) {
  const Bytes prefix(v.stream.begin(), v.stream.begin() + static_cast<std::ptrdiff_t>(length));
  const Outcome o = run_vector(v, prefix, split);
  const size_t k = whole_messages_in(m, length);
  CAPTURE(length);
  CAPTURE(k);
  REQUIRE(o.error == Error::none);
  CHECK_FALSE(o.stalled);
  CHECK(o.violations == 0);
  CHECK(o.acks == m.states[k].acks);
  CHECK(o.rejected == m.states[k].rejected);
  CHECK(o.incomplete == (length != m.boundaries[k]));
  const std::vector<uint16_t>& before = m.states[k].framebuffer;
  const std::vector<uint16_t>& after = m.states[k + 1 < m.states.size() ? k + 1 : k].framebuffer;
  size_t wrong = 0;
  for (size_t i = 0; i < o.framebuffer.size(); ++i) wrong += o.framebuffer[i] != before[i] && o.framebuffer[i] != after[i];
  CHECK(wrong == 0);
}

}  // namespace

TEST_CASE("the whole-message model reproduces every valid vector (so it can judge prefixes)") {
  for (const auto& v : device_vectors()) {
    if (v.error) continue;
    CAPTURE(v.name);
    const Model m = model_of(v);
    CHECK(m.boundaries.back() == v.stream.size());
    CHECK(m.states.back().framebuffer == v.framebuffer);
    CHECK(m.states.back().acks == v.acks);
  }
}

TEST_CASE("every truncation of every valid stream is incomplete, never wrong") {
  size_t prefixes = 0;
  for (const auto& v : device_vectors()) {
    if (v.error) continue;
    CAPTURE(v.name);
    const Model m = model_of(v);
    for (size_t length = 0; length <= v.stream.size(); ++length, ++prefixes) {
      check_prefix(v, m, length, whole());
      check_prefix(v, m, length, one_byte());
    }
  }
  CHECK(prefixes > 500);
}

TEST_CASE("a truncated error stream reports nothing yet or the same error, never another") {
  for (const auto& v : device_vectors()) {
    if (!v.error) continue;
    CAPTURE(v.name);
    for (size_t length = 0; length <= v.stream.size(); ++length) {
      const Bytes prefix(v.stream.begin(), v.stream.begin() + static_cast<std::ptrdiff_t>(length));
      const Outcome o = run_vector(v, prefix, one_byte());
      CAPTURE(length);
      CHECK(o.violations == 0);
      if (o.error != Error::none) CHECK(std::string(to_str(o.error)) == *v.error);
    }
  }
}
