// LZ4 (encoding 3) beyond the shared vectors: counts continued over many bytes, overlapping
// matches across a large RECT, blocks written by the real LZ4 library (test/lz4/blocks.json, from
// scripts/make_lz4_blocks.py) split everywhere and equal to RAW of the same pixels, corrupted
// blocks against a plain decoder, every error firing on the byte that decides it, how decoded
// pixels reach the display, the RECT size check, and a board without a block buffer.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "connection.h"
#include "fakes.h"
#include "support.h"

using namespace tft;
using namespace tft::test;

namespace {

constexpr uint16_t kMaxBody = 16384;
constexpr uint16_t kLz4Mask = kMaskRaw | kMaskRuns | kMaskLz4;  // 11, as the shared LZ4 vectors

// The bytes after a count nibble of 15: as many 255s as fit, then the rest.
Bytes count_bytes(size_t extra) {
  Bytes out(extra / 255, 255);
  out.push_back(static_cast<uint8_t>(extra % 255));
  return out;
}

// One sequence written by hand; without an offset it has no match (a block's last sequence).
Bytes seq(const Bytes& literals, std::optional<uint16_t> offset = std::nullopt, size_t match = 4) {
  const size_t lit_nibble = literals.size() < 15 ? literals.size() : 15;
  const size_t match_nibble = !offset ? 0 : match - 4 < 15 ? match - 4 : 15;
  Bytes out{static_cast<uint8_t>(lit_nibble << 4 | match_nibble)};
  if (lit_nibble == 15) out = cat({out, count_bytes(literals.size() - 15)});
  out = cat({out, literals});
  if (offset) {
    out.push_back(static_cast<uint8_t>(*offset));
    out.push_back(static_cast<uint8_t>(*offset >> 8));
    if (match_nibble == 15) out = cat({out, count_bytes(match - 4 - 15)});
  }
  return out;
}

Bytes counting(size_t n, uint8_t first = 0) {
  Bytes out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(first + i * 7);
  return out;
}

Bytes lz4_start(uint8_t flags = 1, uint16_t max_body = kMaxBody) {
  return cat({accept_msg(flags, kLz4Mask, max_body), begin_msg(1)});
}

Bytes lz4_frame(uint16_t w, uint16_t h, const Bytes& payload, uint16_t max_body = kMaxBody) {
  return cat({lz4_start(1, max_body), rect_msg(0, 0, w, h, kEncodingLz4, payload), end_msg(1)});
}

std::vector<uint16_t> be_values(const Bytes& raw) {
  std::vector<uint16_t> out;
  for (size_t i = 0; i + 1 < raw.size(); i += 2) out.push_back(static_cast<uint16_t>(raw[i] << 8 | raw[i + 1]));
  return out;
}

// A w x h display after an LZ4 RECT covering it, against the pixels `raw` holds. The board's
// block buffer has max_body bytes.
void check_decodes(uint16_t w, uint16_t h, const Bytes& payload, const Bytes& raw, const Splitter& split,
                   uint16_t max_body = kMaxBody) {
  const Outcome o = run_stream(w, h, max_body, kLz4Mask, lz4_frame(w, h, payload, max_body), split);
  CHECK(o.error == Error::none);
  CHECK_FALSE(o.stalled);
  CHECK(o.violations == 0);
  CHECK(o.acks == std::vector<uint32_t>{1});
  CHECK(o.framebuffer == be_values(raw));
}

std::vector<Splitter> splitters() {
  std::vector<Splitter> out{whole(), one_byte()};
  for (uint32_t seed = 1; seed <= 6; ++seed) out.push_back(random_pieces(seed, seed * seed * 40));
  return out;
}

// A parser with a block buffer of max_body, as a board has it.
struct Board : BufferedParser {
  explicit Board(Display& display, uint16_t max_body = kMaxBody, uint16_t encodings = kLz4Mask)
      : BufferedParser(display, max_body, encodings) {}
};

struct Picture {
  std::string name;
  uint16_t width, height;
  Bytes raw;
  std::vector<std::pair<std::string, Bytes>> blocks;
};

const std::vector<Picture>& library_blocks() {
  static const std::vector<Picture> pictures = [] {
    std::string path = __FILE__;
    path = path.substr(0, path.find_last_of('/') + 1) + "lz4/blocks.json";
    std::ifstream in(path);
    REQUIRE_MESSAGE(in.good(), "cannot read " << path);
    std::vector<Picture> out;
    for (const auto& j : nlohmann::json::parse(in)) {
      Picture p{j.at("name"), j.at("width"), j.at("height"), from_hex(j.at("raw")), {}};
      for (const auto& [mode, hex] : j.at("blocks").items()) p.blocks.emplace_back(mode, from_hex(hex));
      out.push_back(p);
    }
    return out;
  }();
  return pictures;
}

}  // namespace

TEST_CASE("counts continue over bytes of 255: literal runs and matches longer than 270") {
  CHECK(count_bytes(0) == Bytes{0});  // a count of exactly 15: the nibble, then a 0
  CHECK(count_bytes(255) == Bytes{255, 0});  // 270: a 255 must be followed by a byte
  CHECK(count_bytes(520) == (Bytes{255, 255, 10}));
  // 100x10 pixels = 2,000 bytes.
  const Bytes payload = cat({
      seq(counting(535), 535, 274),      // 535 literals (15 + 255 + 255 + 10), a 274 match (4 + 15 + 255 + 0)
      seq(counting(15, 3), 1, 19),       // exactly 15 literals (15 + 0), a 19 match (4 + 15 + 0) of the last byte
      seq(counting(270, 9), 300, 290),   // 270 literals (15 + 255 + 0), a 290 match reaching across them
      seq({}, 1000, 4 + 15 + 255 * 2),   // no literals, a 529 match: 255, 255, 0
      seq(counting(2000 - 1932, 5)),     // the last literals, no match
  });
  const Lz4Plain plain = lz4_plain(payload, 2000);
  REQUIRE(plain.error == "none");
  for (const Splitter& split : splitters()) check_decodes(100, 10, payload, plain.bytes, split);
}

TEST_CASE("offsets 1, 2 and 3 fill a RECT of 16 KB, overlapping all the way") {
  const size_t size = 2 * 160 * 51;
  Bytes pixel_fill, period;
  for (size_t i = 0; i < size; ++i) pixel_fill.push_back(i % 2 == 0 ? 0x12 : 0x34);
  for (size_t i = 0; i + 5 < size; ++i) period.push_back(static_cast<uint8_t>(1 + i % 3));
  period = cat({period, Bytes{4, 5, 6, 7, 8}});
  REQUIRE(period.size() == size);
  for (const Splitter& split : splitters()) {
    check_decodes(160, 51, seq({0xAB}, 1, size - 1), Bytes(size, 0xAB), split);
    check_decodes(160, 51, seq({0x12, 0x34}, 2, size - 2), pixel_fill, split);
    // Pixels that straddle the period: the match's copies never fall on pixel boundaries.
    check_decodes(160, 51, cat({seq({1, 2, 3}, 3, size - 3 - 5), seq({4, 5, 6, 7, 8})}), period, split);
  }
}

TEST_CASE("blocks of the real LZ4 library decode to their RAW bytes, in any pieces, as RAW does") {
  size_t blocks = 0;
  for (const Picture& p : library_blocks()) {
    const Bytes as_raw = cat({lz4_start(), rect_msg(0, 0, p.width, p.height, kEncodingRaw, p.raw), end_msg(1)});
    const Outcome raw = run_stream(p.width, p.height, kMaxBody, kLz4Mask, as_raw, whole());
    REQUIRE(raw.error == Error::none);
    REQUIRE(raw.framebuffer == be_values(p.raw));
    for (const auto& [mode, block] : p.blocks) {
      CAPTURE(p.name);
      CAPTURE(mode);
      CHECK(lz4_plain(block, p.raw.size()).bytes == p.raw);
      for (const Splitter& split : splitters()) check_decodes(p.width, p.height, block, p.raw, split);
      // A buffer no larger than the RECT (max_body = 9 + 2*w*h, or the block's body if larger):
      // short copies near its end take the exact path (ASan sees a byte past the buffer).
      const uint16_t tight = static_cast<uint16_t>(kRectHeader + std::max(p.raw.size(), block.size()));
      for (const Splitter& split : {whole(), one_byte()}) check_decodes(p.width, p.height, block, p.raw, split, tight);
      const Bytes stream = lz4_frame(p.width, p.height, block);
      for (size_t cut = 1; cut < stream.size(); cut += 1 + cut / 97) {  // cut in two, all over the block
        size_t first = cut;
        const Outcome o = run_stream(p.width, p.height, kMaxBody, kLz4Mask, stream, [&first](size_t left) {
          const size_t n = first != 0 ? first : left;
          first = 0;
          return n;
        });
        CHECK(o.framebuffer == raw.framebuffer);
      }
      ++blocks;
    }
  }
  CHECK(blocks >= 7);
}

TEST_CASE("short copies never write past the block buffer, even where a RECT fills it") {
  // A match near the end: 16 literals and a 4-byte match, then another 4-byte match 16 back that
  // ends the 24-byte RECT; the buffer (max_body 33) has 13 bytes after its start, not 16.
  Bytes ramp(16);
  for (size_t i = 0; i < ramp.size(); ++i) ramp[i] = static_cast<uint8_t>(0x10 + i);
  const Bytes late_match = cat({seq(ramp, 16, 4), seq({}, 16, 4)});
  check_decodes(12, 1, late_match, cat({ramp, Bytes(ramp.begin(), ramp.begin() + 8)}), whole(), 33);
  // Literals near the end, with 16 more payload bytes behind them (a match count that overflows).
  const Bytes late_literals = cat({seq({7}, 1, 83), Bytes{0x2F, 1, 2, 2, 0}, Bytes(15, 0xFF), Bytes{0}});
  REQUIRE(lz4_plain(late_literals, 90).error == "lz4_overflow");
  const Outcome o = run_stream(45, 1, 99, kLz4Mask, lz4_frame(45, 1, late_literals, 99), whole());
  CHECK(o.error == Error::lz4_overflow);
  CHECK(o.framebuffer[41] == 0x0707);
  CHECK(o.framebuffer[42] == 0x0102);
  CHECK(o.framebuffer[43] == 0);
}

TEST_CASE("a corrupted block gives the plain decoder's first error and draws what came before it") {
  size_t errors = 0, cases = 0;
  for (const Picture& p : library_blocks()) {
    const Bytes& block = p.blocks.front().second;
    for (size_t i = 0; i < block.size(); i += 1 + i / 50) {
      for (uint8_t flip : {uint8_t{0xFF}, uint8_t{0x01}, uint8_t{0x40}}) {
        Bytes bad = block;
        bad[i] ^= flip;
        CAPTURE(p.name);
        CAPTURE(i);
        CAPTURE(int(flip));
        const Lz4Plain plain = lz4_plain(bad, p.raw.size());
        std::vector<uint16_t> drawn = be_values(plain.bytes);  // whole pixels before the error
        drawn.resize(p.raw.size() / 2, 0);
        const Bytes stream = lz4_frame(p.width, p.height, bad);
        for (const Splitter& split : {whole(), one_byte(), random_pieces(static_cast<uint32_t>(i), 50)}) {
          const Outcome o = run_stream(p.width, p.height, kMaxBody, kLz4Mask, stream, split);
          CHECK(std::string(to_str(o.error)) == plain.error);
          CHECK(o.framebuffer == drawn);
          CHECK(o.violations == 0);
        }
        errors += plain.error != "none";
        ++cases;
      }
    }
  }
  MESSAGE(cases << " corrupted blocks, " << errors << " with an error");
  CHECK(errors > cases / 4);
}

TEST_CASE("each LZ4 error fires on the byte that decides it, fed one byte at a time") {
  struct Case {
    const char* what;
    uint16_t w, h;
    Bytes payload;
    Error error;
    size_t decided_at;  // payload index; the payload's end for lz4_truncated and lz4_short
    uint16_t first_pixel;  // drawn before the error (0: none)
  };
  const Case cases[] = {
      {"literals overflow, from the token", 1, 1, {0x30, 'a', 'b', 'c'}, Error::lz4_overflow, 0, 0},
      {"literals overflow, from the count byte", 10, 1, {0xF0, 0x06}, Error::lz4_overflow, 1, 0},
      {"literals overflow, from the byte after a 255", 100, 1, {0xF0, 0xFF, 0x00}, Error::lz4_overflow, 2, 0},
      {"offset 0", 2, 1, {0x20, 'a', 'b', 0x00, 0x00}, Error::lz4_bad_offset, 4, 0x6162},
      {"offset before the RECT", 2, 1, {0x20, 'a', 'b', 0x03, 0x00}, Error::lz4_bad_offset, 4, 0x6162},
      {"offset high byte", 2, 1, {0x20, 'a', 'b', 0x02, 0x01}, Error::lz4_bad_offset, 4, 0x6162},
      {"match overflow, from the offset", 2, 1, {0x20, 'a', 'b', 0x01, 0x00}, Error::lz4_overflow, 4, 0x6162},
      {"match overflow, from its count", 10, 1, {0x2F, 'a', 'b', 0x01, 0x00, 0x03}, Error::lz4_overflow, 5, 0x6162},
      {"truncated in a literal count", 4, 3, {0xF0, 0xFF}, Error::lz4_truncated, 1, 0},
      {"truncated in literals", 4, 3, {0x40, 'a', 'b', 'c'}, Error::lz4_truncated, 3, 0x6162},
      {"truncated in the offset", 4, 3, {0x20, 'a', 'b', 0x01}, Error::lz4_truncated, 3, 0x6162},
      {"truncated in a match count", 4, 3, {0x2F, 'a', 'b', 0x02, 0x00, 0xFF}, Error::lz4_truncated, 5, 0x6162},
      {"short, after literals", 2, 1, {0x20, 'a', 'b'}, Error::lz4_short, 2, 0x6162},
      {"short, after a match", 4, 3, {0x20, 'a', 'b', 0x02, 0x00}, Error::lz4_short, 4, 0x6162},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    const Lz4Plain plain = lz4_plain(c.payload, 2u * c.w * c.h);
    CHECK(plain.error == to_str(c.error));  // the plain decoder (the reference's rules) agrees
    TracingDisplay display(100, 3);
    Board board(display);
    REQUIRE(feed_all(board.parser, lz4_start()).event == Event::none);
    const Bytes rect = rect_msg(0, 0, c.w, c.h, kEncodingLz4, c.payload);
    const size_t header = kHeaderSize + kRectHeader;
    for (size_t i = 0; i < rect.size(); ++i) {
      const FeedResult r = board.parser.feed(&rect[i], 1);
      CHECK(r.consumed == 1);
      if (i < header + c.decided_at) {
        REQUIRE(r.event == Event::none);
      } else {
        CHECK(r.event == Event::failed);
        break;
      }
    }
    CHECK(board.parser.error() == c.error);
    CHECK(display.pixel(0, 0) == c.first_pixel);
    CHECK(display.violations() == 0);
  }
}

TEST_CASE("an empty payload is lz4_short at once; a match cannot reach into the RECT before") {
  host::FramebufferDisplay display(4, 3);
  Board board(display);
  CHECK(feed_all(board.parser, cat({lz4_start(), rect_msg(0, 0, 1, 1, kEncodingLz4, {})})).event == Event::failed);
  CHECK(board.parser.error() == Error::lz4_short);

  Board second(display);
  const Bytes first_rect = rect_msg(0, 0, 2, 1, kEncodingLz4, seq({1, 2, 3, 4}));
  const Bytes reaching_back = rect_msg(2, 0, 2, 1, kEncodingLz4, seq({5}, 2, 4));  // 1 byte produced, offset 2
  CHECK(feed_all(second.parser, cat({lz4_start(), first_rect, reaching_back})).event == Event::failed);
  CHECK(second.parser.error() == Error::lz4_bad_offset);
  CHECK(display.pixel(0, 0) == 0x0102);
  CHECK(display.pixel(1, 0) == 0x0304);
}

TEST_CASE("an LZ4 RECT decoding to more than a RAW body could carry fails from its header: oversized") {
  // max_body 256: a RAW RECT carries at most 247 bytes of pixels, so 123 pixels (246 bytes) at most.
  for (const uint16_t w : {uint16_t{123}, uint16_t{124}, uint16_t{200}}) {
    CAPTURE(w);
    host::FramebufferDisplay display(200, 2);
    Board board(display, 256);
    REQUIRE(feed_all(board.parser, cat({accept_msg(1, kLz4Mask, 256), begin_msg(1)})).event == Event::none);
    const Bytes rect = rect_msg(0, 0, w, 1, kEncodingLz4, seq({9, 8}, 2, 2u * w - 2));
    const size_t header = kHeaderSize + kRectHeader;
    FeedResult r{0, Event::none};
    for (size_t i = 0; i < header; ++i) r = board.parser.feed(&rect[i], 1);
    if (w == 123) {
      CHECK(r.event == Event::none);
      CHECK(feed_all(board.parser, Bytes(rect.begin() + header, rect.end())).event == Event::none);
      CHECK(board.parser.error() == Error::none);
      CHECK(display.pixel(122, 0) == 0x0908);
    } else {
      CHECK(r.event == Event::failed);  // on the header's last byte, before any payload
      CHECK(board.parser.error() == Error::oversized);
      CHECK(display.push_calls() == 0);
    }
  }
}

TEST_CASE("decoded pixels reach the display in bands of whole rows, and all of them by each piece's end") {
  const Picture& dashboard = library_blocks().front();
  REQUIRE(dashboard.name == "dashboard");
  const Bytes& block = dashboard.blocks.front().second;
  const uint16_t w = dashboard.width, h = dashboard.height;
  const Bytes rect = rect_msg(0, 0, w, h, kEncodingLz4, block);
  const size_t header = kHeaderSize + kRectHeader;

  // Whole: bands of whole rows (2 rows = 320 >= 256 pixels; more when one match spans several), one
  // window each, each pixel once.
  TracingDisplay at_once(w, h);
  Board board(at_once);
  feed_all(board.parser, cat({lz4_start(), rect}));
  CHECK(at_once.pixels() == be_values(dashboard.raw));
  CHECK(at_once.pushed == static_cast<uint32_t>(w) * h);
  MESSAGE(at_once.writes.size() << " windows for " << h << " rows");
  CHECK(at_once.writes.size() > 10);
  for (const Window& window : at_once.writes) {
    CHECK(window.x == 0);
    CHECK(window.w == w);
  }

  // In pieces: after each, every whole pixel decoded so far is on the display, none twice.
  for (const size_t piece : {size_t{1}, size_t{5}, size_t{64}, size_t{333}}) {
    CAPTURE(piece);
    TracingDisplay display(w, h);
    Board pieces(display);
    feed_all(pieces.parser, cat({lz4_start(), Bytes(rect.begin(), rect.begin() + header)}));
    size_t fed = 0;
    while (fed < block.size()) {
      const size_t n = std::min(piece, block.size() - fed);
      REQUIRE(pieces.parser.feed(block.data() + fed, n).consumed == n);
      fed += n;
      const Lz4Plain so_far = lz4_plain(Bytes(block.begin(), block.begin() + static_cast<std::ptrdiff_t>(fed)),
                                        dashboard.raw.size());
      REQUIRE(display.pushed == so_far.bytes.size() / 2);
    }
    CHECK(display.pixels() == be_values(dashboard.raw));
  }
}

TEST_CASE("LZ4 pixels keep their value in either byte order") {
  for (uint8_t flags : {uint8_t{0}, uint8_t{1}}) {
    host::FramebufferDisplay display(4, 1);
    Board board(display);
    const Bytes pixels = flags == 1 ? Bytes{0x12, 0x34, 0xAB, 0xCD} : Bytes{0x34, 0x12, 0xCD, 0xAB};
    feed_all(board.parser, cat({lz4_start(flags), rect_msg(0, 0, 4, 1, kEncodingLz4, seq(pixels, 4, 4))}));
    CHECK(display.pixels() == std::vector<uint16_t>{0x1234, 0xABCD, 0x1234, 0xABCD});
  }
}

TEST_CASE("LZ4 is offered only with a block buffer of max_body bytes, and refused without") {
  host::FramebufferDisplay display(4, 3);
  uint8_t storage[256];
  // (JPEG shares the buffer and the rule: test_jpeg_rect.cpp.)
  CHECK(encodings_for(display, kMaskImplemented) == (kMaskRaw | kMaskRuns | kMaskCopy));
  CHECK(encodings_for(display, kMaskImplemented, BlockBuffer{storage, 255}, 256) == (kMaskRaw | kMaskRuns | kMaskCopy));  // nor RICE
  CHECK(encodings_for(display, kMaskImplemented, BlockBuffer{storage, 256}, 256) ==
        (kMaskImplemented & ~(kMaskCached | kMaskCells)));  // no cache: neither
  CHECK(encodings_for(display, kMaskImplemented, BlockBuffer{nullptr, 256}, 256) == (kMaskRaw | kMaskRuns | kMaskCopy));

  for (const size_t size : {size_t{0}, size_t{255}, size_t{256}}) {
    CAPTURE(size);
    ParserConfig config;
    config.max_body = 256;
    config.block = BlockBuffer{size != 0 ? storage : nullptr, size};
    StreamParser parser(display, config);
    const FeedResult r = feed_all(parser, accept_msg(1, kLz4Mask, 256));
    CHECK(r.event == (size == 256 ? Event::accepted : Event::failed));
    if (size != 256) CHECK(parser.error() == Error::bad_encodings);
  }

  StreamParser raw_runs(display, ParserConfig{});  // no buffer: an LZ4 RECT is not an accepted encoding
  feed_all(raw_runs, cat({accept_msg(1, 3), begin_msg(1)}));
  CHECK(feed_all(raw_runs, rect_msg(0, 0, 1, 1, kEncodingLz4, seq({1, 2}))).event == Event::failed);
  CHECK(raw_runs.error() == Error::unknown_encoding);
}

TEST_CASE("a board with a block buffer says LZ4 in its HELLO and draws LZ4 RECTs") {
  host::FakeJitter jitter;
  std::vector<uint8_t> block(1024);
  for (const bool with_buffer : {false, true}) {
    CAPTURE(with_buffer);
    host::FakeNetwork net;
    host::FramebufferDisplay display(240, 240);
    const ConnectionConfig config = desk_config(240, 240, 1024, with_buffer ? &block : nullptr);
    Connection connection(net, display, jitter, config);
    connection.poll(1000);
    connection.poll(1000);
    CHECK(offered_encodings(net.outbox) ==
          (with_buffer ? kMaskImplemented & ~(kMaskCached | kMaskCells)
                       : kMaskImplemented & ~(kMaskLz4 | kMaskJpeg | kMaskRice | kMaskRecolor | kMaskCached | kMaskCells)));
    net.server_sends(cat({accept_msg(1, kLz4Mask, 1024), begin_msg(5),
                          rect_msg(0, 0, 20, 10, kEncodingLz4, seq({0xF8, 0x00}, 2, 398)), end_msg(5)}));
    connection.poll(1000);
    connection.poll(1000);
    if (with_buffer) {
      CHECK(connection.state() == State::streaming);
      CHECK(connection.frames() == 1);
      CHECK(display.pixel(19, 9) == 0xF800);
    } else {
      CHECK(connection.last_drop() == Drop::protocol_error);
      CHECK(connection.last_error() == Error::bad_encodings);
    }
  }
}
