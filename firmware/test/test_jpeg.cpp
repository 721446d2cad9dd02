// Baseline JPEG decoder: Pillow-made pictures against libjpeg's own decode (test/jpeg/, written by
// scripts/make_jpeg_vectors.py), every truncation, byte flips and random corruption (no crash, no
// pixel outside the picture, nothing wrong drawn before a cut), each rejection with its error, and
// hand-built streams whose pixels are known exactly.
#include <doctest/doctest.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "framebuffer_display.h"
#include "jpeg_decoder.h"

using namespace tft;

namespace {

using Bytes = std::vector<uint8_t>;

std::string data_dir() {
  const std::string here = __FILE__;
  return here.substr(0, here.find_last_of('/') + 1) + "jpeg/";
}

Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot open " << path);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

Bytes read_gz(const std::string& path, size_t size) {
  gzFile f = gzopen(path.c_str(), "rb");
  REQUIRE_MESSAGE(f != nullptr, "cannot open " << path);
  Bytes out(size + 1);
  const int n = gzread(f, out.data(), static_cast<unsigned>(out.size()));
  gzclose(f);
  REQUIRE(n == static_cast<int>(size));  // exactly w * h * 3, not more
  out.resize(size);
  return out;
}

struct Vector {
  std::string name;
  uint16_t width, height;
  Bytes jpeg, rgb;  // rgb: libjpeg's decode, RGB888
};

const std::vector<Vector>& vectors() {
  static const std::vector<Vector> all = [] {
    std::vector<Vector> v;
    std::ifstream index(data_dir() + "index.txt");
    std::string line;
    while (std::getline(index, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream fields(line);
      Vector vec;
      fields >> vec.name >> vec.width >> vec.height;
      vec.jpeg = read_file(data_dir() + vec.name + ".jpg");
      vec.rgb = read_gz(data_dir() + vec.name + ".rgb.gz", size_t{vec.width} * vec.height * 3);
      v.push_back(std::move(vec));
    }
    return v;
  }();
  return all;
}

const Vector& vector_named(const std::string& name) {
  for (const Vector& v : vectors()) {
    if (v.name == name) return v;
  }
  FAIL("no vector " << name);
  return vectors().front();
}

// Collects what the decoder draws into a w x h picture of RGB565 values, and checks each window.
class Picture : public JpegSink {
 public:
  Picture(uint16_t w, uint16_t h) : width(w), height(h), pixels(size_t{w} * h, 0), writes(size_t{w} * h, 0) {}
  void draw(const Window& win, const uint8_t* px, PixelOrder order) override {
    ++windows;
    if (win.w == 0 || win.h == 0 || win.w > 16 || win.h > 16 || win.x + win.w > width || win.y + win.h > height) {
      ++violations;
      return;
    }
    for (uint16_t r = 0; r < win.h; ++r) {
      for (uint16_t c = 0; c < win.w; ++c, px += 2) {
        const size_t at = size_t(win.y + r) * width + win.x + c;
        pixels[at] = order == PixelOrder::big_endian ? static_cast<uint16_t>(px[0] << 8 | px[1])
                                                     : static_cast<uint16_t>(px[1] << 8 | px[0]);
        ++writes[at];
      }
    }
  }
  bool each_pixel_once() const {
    for (uint8_t n : writes) {
      if (n != 1) return false;
    }
    return true;
  }

  uint16_t width, height;
  std::vector<uint16_t> pixels;
  std::vector<uint8_t> writes;
  uint32_t windows = 0, violations = 0;
};

JpegDecoder& decoder() {
  static JpegDecoder d;  // as on the board: static storage, reused for every picture
  return d;
}

JpegError decode(const Bytes& jpeg, Picture& out, PixelOrder order = PixelOrder::big_endian) {
  return decoder().decode(jpeg.data(), jpeg.size(), out.width, out.height, order, out);
}

uint16_t rgb565(uint8_t r, uint8_t g, uint8_t b) {
  return static_cast<uint16_t>((r >> 3) << 11 | (g >> 2) << 5 | b >> 3);
}

// Decoder error alone: our RGB565 against libjpeg's RGB888 truncated to RGB565 the same way.
struct Accuracy {
  int max_diff[3] = {0, 0, 0};  // in 5/6/5-bit units
  double psnr = INFINITY;       // dB, both sides expanded to 8 bits by bit replication
};

Accuracy compare(const Vector& v, const Picture& p) {
  Accuracy a;
  double squared = 0;
  for (size_t i = 0; i < p.pixels.size(); ++i) {
    const uint16_t ours = p.pixels[i], ref = rgb565(v.rgb[3 * i], v.rgb[3 * i + 1], v.rgb[3 * i + 2]);
    const int shifts[3] = {11, 5, 0}, bits[3] = {5, 6, 5};
    for (int ch = 0; ch < 3; ++ch) {
      const int mask = (1 << bits[ch]) - 1;
      const int x = ours >> shifts[ch] & mask, y = ref >> shifts[ch] & mask;
      a.max_diff[ch] = std::max(a.max_diff[ch], std::abs(x - y));
      const int x8 = x << (8 - bits[ch]) | x >> (2 * bits[ch] - 8), y8 = y << (8 - bits[ch]) | y >> (2 * bits[ch] - 8);
      squared += (x8 - y8) * (x8 - y8);
    }
  }
  if (squared > 0) a.psnr = 10 * std::log10(255.0 * 255.0 * 3 * double(p.pixels.size()) / squared);
  return a;
}

// ---- JPEG surgery: a file as its segments plus the entropy data (from after SOS to the end).
struct Segment {
  uint8_t marker;
  Bytes body;
};
struct Parts {
  std::vector<Segment> segments;  // SOS last
  Bytes scan;
};

Parts split(const Bytes& jpeg) {
  Parts parts;
  size_t p = 2;
  for (;;) {
    REQUIRE(jpeg.at(p) == 0xFF);
    const uint8_t marker = jpeg.at(p + 1);
    const size_t length = size_t{jpeg.at(p + 2)} << 8 | jpeg.at(p + 3);
    parts.segments.push_back({marker, Bytes(jpeg.begin() + long(p) + 4, jpeg.begin() + long(p + 2 + length))});
    p += 2 + length;
    if (marker == 0xDA) break;
  }
  parts.scan.assign(jpeg.begin() + long(p), jpeg.end());
  return parts;
}

Bytes join(const Parts& parts) {
  Bytes out{0xFF, 0xD8};
  for (const Segment& s : parts.segments) {
    const size_t length = s.body.size() + 2;
    out.insert(out.end(), {0xFF, s.marker, uint8_t(length >> 8), uint8_t(length)});
    out.insert(out.end(), s.body.begin(), s.body.end());
  }
  out.insert(out.end(), parts.scan.begin(), parts.scan.end());
  return out;
}

Segment& segment(Parts& parts, uint8_t marker) {
  for (Segment& s : parts.segments) {
    if (s.marker == marker) return s;
  }
  FAIL("no segment " << int(marker));
  return parts.segments.front();
}

JpegError decode_as(const Bytes& jpeg, uint16_t w, uint16_t h, Picture* out = nullptr) {
  Picture local(w, h);
  Picture& p = out != nullptr ? *out : local;
  const JpegError error = decoder().decode(jpeg.data(), jpeg.size(), w, h, PixelOrder::big_endian, p);
  CHECK(p.violations == 0);
  return error;
}

JpegError decode_parts(const Parts& parts, uint16_t w, uint16_t h) { return decode_as(join(parts), w, h); }

// ---- Hand-built greyscale streams: one quant table, tiny Huffman tables, entropy bits spelled out.
struct Bits {
  Bytes bytes;
  uint32_t acc = 0;
  int n = 0;
  Bits& put(const char* bits) {
    for (; *bits != '\0'; ++bits) {
      if (*bits == ' ') continue;
      acc = acc << 1 | uint32_t(*bits == '1');
      if (++n == 8) flush_byte();
    }
    return *this;
  }
  void flush_byte() {
    bytes.push_back(uint8_t(acc));
    if (uint8_t(acc) == 0xFF) bytes.push_back(0x00);  // stuffing
    acc = 0;
    n = 0;
  }
  Bytes done() {
    while (n != 0) put("1");  // pad with 1 bits
    return bytes;
  }
};

// `dc` and `ac`: the counts per code length (up to 16) and symbols of each table.
Bytes grey_jpeg(uint16_t w, uint16_t h, uint8_t q0, const Bytes& dc_counts, const Bytes& dc_symbols,
                const Bytes& ac_counts, const Bytes& ac_symbols, const Bytes& entropy, uint16_t restart = 0) {
  Parts parts;
  Bytes dqt{0x00};
  dqt.push_back(q0);
  dqt.resize(65, 1);
  parts.segments.push_back({0xDB, dqt});
  parts.segments.push_back({0xC0, {8, uint8_t(h >> 8), uint8_t(h), uint8_t(w >> 8), uint8_t(w), 1, 1, 0x11, 0}});
  for (int cls = 0; cls < 2; ++cls) {
    Bytes dht{uint8_t(cls << 4)};
    Bytes counts = cls == 0 ? dc_counts : ac_counts;
    counts.resize(16, 0);
    dht.insert(dht.end(), counts.begin(), counts.end());
    const Bytes& symbols = cls == 0 ? dc_symbols : ac_symbols;
    dht.insert(dht.end(), symbols.begin(), symbols.end());
    parts.segments.push_back({0xC4, dht});
  }
  if (restart != 0) parts.segments.push_back({0xDD, {uint8_t(restart >> 8), uint8_t(restart)}});
  parts.segments.push_back({0xDA, {1, 1, 0x00, 0, 63, 0}});
  parts.scan = entropy;
  parts.scan.insert(parts.scan.end(), {0xFF, 0xD9});
  return join(parts);
}

uint16_t grey565(int g) { return rgb565(uint8_t(g), uint8_t(g), uint8_t(g)); }

// DC table: category 0 is '0', category 5 is '10'. AC table: EOB is '0', run 15 + size 1 is '10'.
const Bytes kDcCounts{1, 1}, kDcSymbols{0, 5}, kAcCounts{1, 1}, kAcSymbols{0x00, 0xF1};

}  // namespace

TEST_CASE("every Pillow vector decodes to exactly libjpeg's pixels, each pixel drawn once") {
  REQUIRE(vectors().size() >= 15);
  for (const Vector& v : vectors()) {
    CAPTURE(v.name);
    Picture p(v.width, v.height);
    REQUIRE(decode(v.jpeg, p) == JpegError::none);
    CHECK(decoder().done());
    CHECK(p.violations == 0);
    CHECK(p.each_pixel_once());
    const Accuracy a = compare(v, p);
    INFO("max difference R " << a.max_diff[0] << " G " << a.max_diff[1] << " B " << a.max_diff[2] << ", PSNR "
                              << a.psnr << " dB");
    // The IDCT (JDCT_ISLOW's constants and rounding), the chroma replication and the colour
    // conversion do libjpeg's integer arithmetic, so the pixels are identical, and a change that
    // alters one shows here. A faster, inexact IDCT (AAN) would move a channel by one step on a
    // rounding boundary: for that, the bound to accept is 1 step per channel and PSNR >= 45 dB.
    CHECK(a.max_diff[0] == 0);
    CHECK(a.max_diff[1] == 0);
    CHECK(a.max_diff[2] == 0);
    CHECK(a.psnr >= 45.0);
  }
}

TEST_CASE("the byte order is the caller's: little-endian output is the big-endian bytes swapped") {
  const Vector& v = vector_named("q85_444_64x48");
  Picture big(v.width, v.height), little(v.width, v.height);
  REQUIRE(decode(v.jpeg, big, PixelOrder::big_endian) == JpegError::none);
  REQUIRE(decode(v.jpeg, little, PixelOrder::little_endian) == JpegError::none);
  CHECK(big.pixels == little.pixels);  // Picture reads each in its own order: same values
}

TEST_CASE("the display sink draws the picture at its rectangle and nowhere else") {
  const Vector& v = vector_named("q50_420_17x33");
  Picture direct(v.width, v.height);
  REQUIRE(decode(v.jpeg, direct) == JpegError::none);
  host::FramebufferDisplay display(40, 50);
  display.fill_rect(Window{0, 0, 40, 50}, 0x1234);
  const Window rect{5, 9, v.width, v.height};
  JpegDisplaySink sink(display, rect);
  REQUIRE(decoder().decode(v.jpeg.data(), v.jpeg.size(), v.width, v.height, PixelOrder::little_endian, sink) ==
          JpegError::none);
  CHECK(display.violations() == 0);
  for (uint16_t y = 0; y < 50; ++y) {
    for (uint16_t x = 0; x < 40; ++x) {
      const bool inside = x >= rect.x && x < rect.x + rect.w && y >= rect.y && y < rect.y + rect.h;
      const uint16_t want = inside ? direct.pixels[size_t{uint16_t(y - rect.y)} * v.width + (x - rect.x)] : 0x1234;
      REQUIRE(display.pixel(x, y) == want);
    }
  }
  // A window the decoder never produces, outside the rectangle: dropped, not drawn.
  const uint8_t px[2] = {0xAB, 0xCD};
  sink.draw(Window{17, 0, 1, 1}, px, PixelOrder::big_endian);
  sink.draw(Window{0, 30, 1, 4}, px, PixelOrder::big_endian);
  CHECK(display.pixel(5 + 16, 9) != 0xABCD);
  CHECK(display.violations() == 0);
}

TEST_CASE("decoding in slices of MCUs gives the same picture; an error sticks") {
  for (const char* name : {"q85_420_40x24_rst1", "q85_gray_20x20_rst2", "q95_444_17x33"}) {
    const Vector& v = vector_named(name);
    CAPTURE(v.name);
    Picture whole(v.width, v.height);
    REQUIRE(decode(v.jpeg, whole) == JpegError::none);
    for (uint32_t slice : {1u, 2u, 7u}) {
      Picture p(v.width, v.height);
      JpegDecoder& d = decoder();
      REQUIRE(d.begin(v.jpeg.data(), v.jpeg.size(), v.width, v.height, PixelOrder::big_endian) == JpegError::none);
      uint32_t steps = 0;
      while (!d.done()) {
        const uint32_t before = p.windows;
        REQUIRE(d.step(p, slice) == JpegError::none);
        CHECK(p.windows - before <= slice);
        REQUIRE(++steps < 10000);
      }
      CHECK(d.step(p, 1) == JpegError::none);  // done stays done and draws nothing
      CHECK(p.pixels == whole.pixels);
      CHECK(p.each_pixel_once());
    }
  }
  Bytes cut = vector_named("q85_444_64x48").jpeg;
  cut.resize(cut.size() / 2);
  Picture p(64, 48);
  JpegDecoder& d = decoder();
  REQUIRE(d.begin(cut.data(), cut.size(), 64, 48, PixelOrder::big_endian) == JpegError::none);
  JpegError error = JpegError::none;
  while (error == JpegError::none && !d.done()) error = d.step(p, 5);
  CHECK(error == JpegError::truncated);
  const uint32_t drawn = p.windows;
  CHECK(d.step(p, 5) == JpegError::truncated);
  CHECK(p.windows == drawn);
  CHECK_FALSE(d.done());
}

TEST_CASE("a picture cut at any length is an error, and what was drawn before the cut is right") {
  for (const Vector& v : vectors()) {
    CAPTURE(v.name);
    Picture whole(v.width, v.height);
    REQUIRE(decode(v.jpeg, whole) == JpegError::none);
    // Every length for the small ones; for the big ones every 61st and the whole last 300 bytes.
    const size_t n = v.jpeg.size();
    for (size_t len = 0; len < n; ++len) {
      if (n > 3000 && len % 61 != 0 && len + 300 < n) continue;
      CAPTURE(len);
      const Bytes cut(v.jpeg.begin(), v.jpeg.begin() + long(len));
      Picture p(v.width, v.height);
      const JpegError error = decoder().decode(cut.data(), cut.size(), v.width, v.height, PixelOrder::big_endian, p);
      REQUIRE(error != JpegError::none);
      REQUIRE(p.violations == 0);
      size_t wrong = 0;
      for (size_t i = 0; i < p.pixels.size(); ++i) wrong += p.writes[i] != 0 && p.pixels[i] != whole.pixels[i];
      REQUIRE(wrong == 0);
    }
  }
}

TEST_CASE("flipped bytes never crash nor draw outside the picture") {
  for (const char* name : {"q85_420_7x5", "q50_gray_7x5", "q85_420_40x24_rst1", "q85_444_24x16_rst5",
                           "q85_422_33x17", "q85_gray_20x20_rst2"}) {
    const Vector& v = vector_named(name);
    CAPTURE(v.name);
    for (size_t i = 0; i < v.jpeg.size(); ++i) {
      for (const uint8_t flip : {0x01, 0x80, 0xFF}) {
        Bytes bad = v.jpeg;
        bad[i] ^= flip;
        Picture p(v.width, v.height);
        decoder().decode(bad.data(), bad.size(), v.width, v.height, PixelOrder::big_endian, p);
        REQUIRE(p.violations == 0);
      }
    }
  }
}

TEST_CASE("random corruption, and random bytes after a valid header, never crash") {
  std::mt19937 rng(20240611);
  const Vector& v = vector_named("q85_420_64x48_optimized");
  for (int round = 0; round < 1500; ++round) {
    Bytes bad = v.jpeg;
    const int changes = 1 + int(rng() % 8);
    for (int c = 0; c < changes; ++c) bad[rng() % bad.size()] = uint8_t(rng());
    if (round % 5 == 0) bad.resize(rng() % bad.size());
    Picture p(v.width, v.height);
    decoder().decode(bad.data(), bad.size(), v.width, v.height, PixelOrder::big_endian, p);
    REQUIRE(p.violations == 0);
  }
  // Valid headers, then noise as entropy data (with some 0xFF bytes, so markers appear).
  const Parts parts = split(v.jpeg);
  for (int round = 0; round < 300; ++round) {
    Parts noisy = parts;
    noisy.scan.resize(rng() % 3000);
    for (uint8_t& b : noisy.scan) b = rng() % 16 == 0 ? 0xFF : uint8_t(rng());
    Picture p(v.width, v.height);
    const Bytes bytes = join(noisy);
    decoder().decode(bytes.data(), bytes.size(), v.width, v.height, PixelOrder::big_endian, p);
    REQUIRE(p.violations == 0);
  }
}

TEST_CASE("a frame whose size is not the rectangle's is refused before anything is drawn") {
  const Vector& v = vector_named("q85_422_64x48");
  const std::vector<std::pair<uint16_t, uint16_t>> sizes{{63, 48}, {65, 48}, {64, 47}, {48, 64}, {0, 0}};
  for (const auto& [w, h] : sizes) {
    Picture p(w, h);
    CHECK(decoder().decode(v.jpeg.data(), v.jpeg.size(), w, h, PixelOrder::big_endian, p) == JpegError::size_mismatch);
    CHECK(p.windows == 0);
  }
  Parts parts = split(v.jpeg);
  Segment& sof = segment(parts, 0xC0);
  sof.body[1] = sof.body[2] = 0;  // 0 lines: the height would come in a DNL segment
  CHECK(decode_parts(parts, 64, 48) == JpegError::size_mismatch);
}

TEST_CASE("progressive, arithmetic, extended and 12-bit frames are refused") {
  const Bytes progressive = read_file(data_dir() + "progressive.jpg");
  Picture p(32, 16);
  CHECK(decode(progressive, p) == JpegError::unsupported_frame);
  CHECK(p.windows == 0);

  const Parts base = split(vector_named("q85_444_64x48").jpeg);
  for (const uint8_t marker : {0xC1, 0xC2, 0xC3, 0xC5, 0xC9, 0xCA, 0xCB, 0xCD, 0xCF}) {
    Parts parts = base;
    segment(parts, 0xC0).marker = marker;
    CHECK(decode_parts(parts, 64, 48) == JpegError::unsupported_frame);
  }
  Parts dac = base;
  dac.segments.insert(dac.segments.begin(), Segment{0xCC, {0x00, 0x10}});
  CHECK(decode_parts(dac, 64, 48) == JpegError::unsupported_frame);
  Parts twelve = base;
  segment(twelve, 0xC0).body[0] = 12;
  CHECK(decode_parts(twelve, 64, 48) == JpegError::bad_precision);
}

TEST_CASE("components and sampling the board cannot draw are refused") {
  const Parts base = split(vector_named("q85_420_7x5").jpeg);  // Y 2x2, Cb 1x1, Cr 1x1
  auto with = [&](int at, uint8_t value) {
    Parts parts = base;
    segment(parts, 0xC0).body[size_t(at)] = value;
    return decode_parts(parts, 7, 5);
  };
  CHECK(with(7, 0x41) == JpegError::unsupported_components);   // Y 4x1 (4:1:1)
  CHECK(with(7, 0x13) == JpegError::unsupported_components);   // Y 1x3
  CHECK(with(10, 0x22) == JpegError::unsupported_components);  // Cb 2x2
  CHECK(with(7, 0x01) == JpegError::unsupported_components);   // a factor of 0
  CHECK(with(8, 4) == JpegError::unsupported_components);      // quant table 4
  CHECK(with(9, 1) == JpegError::unsupported_components);      // Cb's id repeats Y's
  CHECK(with(5, 2) == JpegError::unsupported_components);      // 2 components
  CHECK(with(5, 4) == JpegError::unsupported_components);      // 4 (CMYK)
  Parts h2v1 = base;
  segment(h2v1, 0xC0).body[7] = 0x21;  // Y 2x1 is 4:2:2: the headers are fine (the data then is not)
  const Bytes h2v1_bytes = join(h2v1);
  CHECK(decoder().begin(h2v1_bytes.data(), h2v1_bytes.size(), 7, 5, PixelOrder::big_endian) == JpegError::none);
  Parts short_sof = base;
  segment(short_sof, 0xC0).body.pop_back();
  CHECK(decode_parts(short_sof, 7, 5) == JpegError::bad_segment);
}

TEST_CASE("malformed or missing tables are refused") {
  const Parts base = split(vector_named("q85_444_24x16_rst5").jpeg);
  {
    Parts parts = base;
    segment(parts, 0xDB).body[0] = 0x10;  // 16-bit values
    CHECK(decode_parts(parts, 24, 16) == JpegError::bad_quant_table);
    segment(parts, 0xDB).body[0] = 0x04;  // table 4
    CHECK(decode_parts(parts, 24, 16) == JpegError::bad_quant_table);
    segment(parts, 0xDB).body[0] = 0x00;
    segment(parts, 0xDB).body[10] = 0;  // a zero step
    CHECK(decode_parts(parts, 24, 16) == JpegError::bad_quant_table);
    segment(parts, 0xDB).body.resize(40);
    CHECK(decode_parts(parts, 24, 16) == JpegError::bad_segment);
  }
  {
    Parts parts = base;
    segment(parts, 0xC4).body[0] = 0x02;  // DC table 2: not baseline
    CHECK(decode_parts(parts, 24, 16) == JpegError::bad_huffman_table);
    segment(parts, 0xC4).body[0] = 0x20;  // class 2
    CHECK(decode_parts(parts, 24, 16) == JpegError::bad_huffman_table);
  }
  {
    // Three 1-bit codes cannot exist; nor can a DC category of 12 or an AC size of 11.
    auto with_table = [&](uint8_t class_id, Bytes counts, const Bytes& symbols) {
      Parts parts = base;
      Bytes body{class_id};
      counts.resize(16, 0);
      body.insert(body.end(), counts.begin(), counts.end());
      body.insert(body.end(), symbols.begin(), symbols.end());
      parts.segments.insert(parts.segments.end() - 1, Segment{0xC4, body});
      return decode_parts(parts, 24, 16);
    };
    CHECK(with_table(0x00, {3}, {0, 1, 2}) == JpegError::bad_huffman_table);
    CHECK(with_table(0x00, {1, 1}, {0, 12}) == JpegError::bad_huffman_table);
    CHECK(with_table(0x10, {1, 1}, {0x00, 0x0B}) == JpegError::bad_huffman_table);
    CHECK(with_table(0x10, Bytes(16, 17), Bytes(272, 1)) == JpegError::bad_huffman_table);  // 272 codes
    CHECK(with_table(0x10, {0, 2}, {0x01}) == JpegError::bad_segment);  // 2 codes, 1 symbol
  }
  for (const uint8_t marker : {0xC4, 0xDB}) {
    Parts parts = base;
    for (auto it = parts.segments.begin(); it != parts.segments.end();) {
      it = it->marker == marker ? parts.segments.erase(it) : it + 1;
    }
    CHECK(decode_parts(parts, 24, 16) == JpegError::missing_table);
  }
}

TEST_CASE("markers, segments and scans out of place are refused") {
  const Bytes good = vector_named("q85_444_24x16_rst5").jpeg;
  const Parts base = split(good);
  CHECK(decode_as(Bytes{}, 24, 16) == JpegError::not_jpeg);
  CHECK(decode_as(Bytes{0xFF}, 24, 16) == JpegError::not_jpeg);
  CHECK(decode_as(Bytes(good.begin() + 2, good.end()), 24, 16) == JpegError::not_jpeg);
  CHECK(decode_as(Bytes{0xFF, 0xD8}, 24, 16) == JpegError::truncated);
  CHECK(decode_as(Bytes{0xFF, 0xD8, 0xFF, 0xD9}, 24, 16) == JpegError::missing_frame);
  CHECK(decode_as(Bytes{0xFF, 0xD8, 0x00, 0xFF, 0xD9}, 24, 16) == JpegError::bad_marker);
  CHECK(decode_as(Bytes{0xFF, 0xD8, 0xFF, 0xD8}, 24, 16) == JpegError::bad_marker);
  CHECK(decode_as(Bytes{0xFF, 0xD8, 0xFF, 0xD0}, 24, 16) == JpegError::bad_marker);
  CHECK(decode_as(Bytes{0xFF, 0xD8, 0xFF, 0xDC, 0x00, 0x04, 0x00, 0x10}, 24, 16) == JpegError::bad_marker);  // DNL
  CHECK(decode_as(Bytes{0xFF, 0xD8, 0xFF, 0xFE, 0x00, 0x01}, 24, 16) == JpegError::bad_segment);
  CHECK(decode_as(Bytes{0xFF, 0xD8, 0xFF, 0xFE, 0x00, 0x08, 0x00}, 24, 16) == JpegError::truncated);

  Parts with_fill = base;  // fill bytes before a marker, APPn and COM: all fine
  Bytes filled = join(with_fill);
  filled.insert(filled.begin() + 2, {0xFF, 0xFF, 0xFF, 0xFE, 0x00, 0x05, 'h', 'i', '!', 0xFF, 0xE5, 0x00, 0x02});
  CHECK(decode_as(filled, 24, 16) == JpegError::none);

  Parts eoi_early = base;
  eoi_early.segments.pop_back();  // no SOS
  eoi_early.scan = {0xFF, 0xD9};
  CHECK(decode_parts(eoi_early, 24, 16) == JpegError::missing_scan);
  Parts sos_first = base;
  std::swap(sos_first.segments.front(), sos_first.segments.back());
  CHECK(decode_parts(sos_first, 24, 16) == JpegError::missing_frame);
  Parts two_sof = base;
  const Segment sof = segment(two_sof, 0xC0);
  two_sof.segments.insert(two_sof.segments.end() - 1, sof);
  CHECK(decode_parts(two_sof, 24, 16) == JpegError::bad_marker);
  Parts dri = base;
  segment(dri, 0xDD).body.push_back(0);
  CHECK(decode_parts(dri, 24, 16) == JpegError::bad_segment);

  auto scan_with = [&](size_t at, uint8_t value) {
    Parts parts = base;
    segment(parts, 0xDA).body.at(at) = value;
    return decode_parts(parts, 24, 16);
  };
  Parts copy = base;
  const Bytes sos = segment(copy, 0xDA).body;  // 3, (id, tables) x 3, 0, 63, 0
  REQUIRE(sos.size() == 10);
  CHECK(scan_with(0, 1) == JpegError::bad_segment);  // says 1 component, holds 3
  CHECK(scan_with(7, 1) == JpegError::bad_scan);     // Ss = 1: a progressive scan
  CHECK(scan_with(8, 5) == JpegError::bad_scan);     // Se = 5
  CHECK(scan_with(9, 0x01) == JpegError::bad_scan);  // Al = 1
  CHECK(scan_with(1, sos[3]) == JpegError::bad_scan);  // component order changed
  CHECK(scan_with(2, 0x22) == JpegError::bad_scan);  // Huffman table 2
  Parts one = base;
  segment(one, 0xDA).body = {1, sos[1], sos[2], 0, 63, 0};  // one component of three: not interleaved
  CHECK(decode_parts(one, 24, 16) == JpegError::bad_scan);

  Bytes no_eoi = good;
  no_eoi.resize(no_eoi.size() - 2);
  CHECK(decode_as(no_eoi, 24, 16) == JpegError::truncated);
  Bytes other_end = good;
  other_end.back() = 0xD8;
  CHECK(decode_as(other_end, 24, 16) == JpegError::bad_marker);
  Bytes extra = good;
  extra.insert(extra.end() - 2, {0x12, 0x34});  // entropy data past the last MCU
  CHECK(decode_as(extra, 24, 16) == JpegError::bad_marker);
  Bytes after_eoi = good;
  after_eoi.insert(after_eoi.end(), {1, 2, 3});  // after EOI: not the decoder's business
  CHECK(decode_as(after_eoi, 24, 16) == JpegError::none);
}

TEST_CASE("restart markers must come in sequence, byte-aligned, with nothing before them") {
  const Bytes good = vector_named("q85_420_40x24_rst1").jpeg;  // a restart after every MCU
  std::vector<size_t> rst;
  const size_t scan_start = good.size() - split(good).scan.size();
  for (size_t i = scan_start; i + 1 < good.size(); ++i) {
    if (good[i] == 0xFF && good[i + 1] >= 0xD0 && good[i + 1] <= 0xD7) rst.push_back(i);
  }
  REQUIRE(rst.size() == 5);  // 3 x 2 MCUs
  Bytes wrong = good;
  wrong[rst[3] + 1] = 0xD0;  // RST0 where RST3 belongs
  Picture p(40, 24);
  CHECK(decode_as(wrong, 40, 24, &p) == JpegError::bad_restart);
  CHECK(p.windows == 4);  // the MCUs before it are drawn
  Bytes missing = good;
  missing.erase(missing.begin() + long(rst[2]), missing.begin() + long(rst[2] + 2));
  CHECK(decode_as(missing, 40, 24) == JpegError::bad_restart);
  Bytes filled = good;
  filled.insert(filled.begin() + long(rst[2]), {0xFF, 0xFF});  // fill bytes before RSTn are allowed
  CHECK(decode_as(filled, 40, 24) == JpegError::none);
  Bytes early = good;
  early[rst[0] + 1] = 0xD9;  // EOI in place of RST0
  CHECK(decode_as(early, 40, 24) == JpegError::bad_restart);
}

TEST_CASE("hand-built streams: DC values, prediction, restart, and bad entropy data") {
  // 8x8 grey, step 8, DC +22: every sample (176 + 4) / 8 + 128 = 150.
  Bytes one = grey_jpeg(8, 8, 8, kDcCounts, kDcSymbols, kAcCounts, kAcSymbols, Bits().put("10 10110  0").done());
  Picture p(8, 8);
  REQUIRE(decode(one, p) == JpegError::none);
  CHECK(p.pixels == std::vector<uint16_t>(64, grey565(150)));
  // DC -22 (a leading 0 bit: 9 - 31): 128 - 22 = 106.
  Bytes neg = grey_jpeg(8, 8, 8, kDcCounts, kDcSymbols, kAcCounts, kAcSymbols, Bits().put("10 01001  0").done());
  REQUIRE(decode(neg, p) == JpegError::none);
  CHECK(p.pixels == std::vector<uint16_t>(64, grey565(106)));

  // 16x8: the second block's DC is predicted from the first (+22 +22 -> 172)...
  Bytes two = grey_jpeg(16, 8, 8, kDcCounts, kDcSymbols, kAcCounts, kAcSymbols,
                        Bits().put("10 10110 0  10 10110 0").done());
  Picture q(16, 8);
  REQUIRE(decode(two, q) == JpegError::none);
  CHECK(q.pixels[0] == grey565(150));
  CHECK(q.pixels[8] == grey565(172));
  // ...unless a restart in between resets the prediction.
  Bytes entropy = Bits().put("10 10110 0").done();
  entropy.insert(entropy.end(), {0xFF, 0xD0});
  const Bytes second = Bits().put("10 10110 0").done();
  entropy.insert(entropy.end(), second.begin(), second.end());
  Bytes restarted = grey_jpeg(16, 8, 8, kDcCounts, kDcSymbols, kAcCounts, kAcSymbols, entropy, 1);
  REQUIRE(decode(restarted, q) == JpegError::none);
  CHECK(q.pixels[0] == grey565(150));
  CHECK(q.pixels[8] == grey565(150));

  // 7x3: clipped to the picture, every pixel once; white saturates (DC 127 * 8 -> 255).
  Bytes small = grey_jpeg(7, 3, 8, kDcCounts, {0x00, 0x07}, kAcCounts, kAcSymbols, Bits().put("10 1111111 0").done());
  Picture s(7, 3);
  REQUIRE(decode(small, s) == JpegError::none);
  CHECK(s.each_pixel_once());
  CHECK(s.pixels == std::vector<uint16_t>(21, 0xFFFF));

  // A run of 15 zeros four times from coefficient 1 passes the 64th coefficient.
  Bytes past = grey_jpeg(8, 8, 8, kDcCounts, kDcSymbols, kAcCounts, kAcSymbols, Bits().put("0 101 101 101 101").done());
  CHECK(decode(past, p) == JpegError::bad_coefficient);
  // '11' is no code of the AC table.
  Bytes nocode = grey_jpeg(8, 8, 8, kDcCounts, kDcSymbols, kAcCounts, kAcSymbols, Bits().put("0 11 0").done());
  CHECK(decode(nocode, p) == JpegError::bad_huffman_code);
  // Data for half a block, then EOI: the block needed bits that are not there.
  Bytes cut = grey_jpeg(16, 8, 8, kDcCounts, kDcSymbols, kAcCounts, kAcSymbols, Bits().put("10 10110 0  10 1").done());
  Picture c(16, 8);
  CHECK(decode(cut, c) == JpegError::bad_marker);
  CHECK(c.windows == 1);
  // An empty scan.
  CHECK(decode(grey_jpeg(8, 8, 8, kDcCounts, kDcSymbols, kAcCounts, kAcSymbols, {}), p) == JpegError::bad_marker);
}

TEST_CASE("every error has a distinct jpeg_ name") {
  std::vector<std::string> names;
  for (int e = 0; e <= int(JpegError::bad_restart); ++e) names.push_back(to_str(JpegError(e)));
  CHECK(names.front() == "none");
  for (size_t i = 1; i < names.size(); ++i) {
    CHECK(names[i].rfind("jpeg_", 0) == 0);
    for (size_t j = 0; j < i; ++j) CHECK(names[i] != names[j]);
  }
  CHECK(std::string(to_str(JpegError::truncated)) == "jpeg_truncated");
}
