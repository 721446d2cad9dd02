// RECOLOR (encoding 7): the box as the panel shows it, its colours mapped through a table and some
// pixels patched, against a plain model (the whole box, a std::map, positions counted by hand);
// patches and their LEB128 skips; both byte orders; every error, in stream order, with nothing
// changed; strips smaller than a row, than the box and than one pixel row's chunk; the offer.
#include <doctest/doctest.h>

#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "connection.h"
#include "fakes.h"
#include "support.h"

using namespace tft;
using namespace tft::test;

namespace {

constexpr uint16_t kMask = kMaskRaw | kMaskRuns | kMaskCopy | kMaskRecolor;  // as the shared vectors
constexpr uint16_t kMaxBody = 4096;

using Table = std::vector<std::pair<uint16_t, uint16_t>>;
struct Patch {
  uint32_t skip;
  uint16_t pixel;
};
using Patches = std::vector<Patch>;

void pixel_to(Bytes& out, uint16_t v, bool big) {
  out.push_back(static_cast<uint8_t>(big ? v >> 8 : v));
  out.push_back(static_cast<uint8_t>(big ? v : v >> 8));
}

// LEB128: 7 bits a byte, least significant first, the high bit on all but the last.
Bytes leb128(uint32_t v) {
  Bytes out;
  do {
    const uint8_t low = v & 0x7F;
    v >>= 7;
    out.push_back(static_cast<uint8_t>(low | (v != 0 ? 0x80 : 0)));
  } while (v != 0);
  return out;
}

Bytes payload_of(const Table& table, const Patches& patches, bool big = true) {
  Bytes out{static_cast<uint8_t>(table.size()), static_cast<uint8_t>(table.size() >> 8)};
  for (const auto& [from, to] : table) {
    pixel_to(out, from, big);
    pixel_to(out, to, big);
  }
  for (const Patch& p : patches) {
    const Bytes skip = leb128(p.skip);
    out.insert(out.end(), skip.begin(), skip.end());
    pixel_to(out, p.pixel, big);
  }
  return out;
}

// What RECOLOR must do, the plain way: the whole box, the patch positions counted out.
std::vector<uint16_t> recolored(std::vector<uint16_t> fb, uint16_t width, const Window& box, const Table& table,
                                const Patches& patches) {
  const std::map<uint16_t, uint16_t> map(table.begin(), table.end());
  std::map<uint32_t, uint16_t> patched;
  uint32_t at = 0;
  for (const Patch& p : patches) {
    at += p.skip;
    patched[at] = p.pixel;
    ++at;
  }
  for (uint32_t i = 0; i < uint32_t{box.w} * box.h; ++i) {
    uint16_t& px = fb[static_cast<size_t>(box.y + i / box.w) * width + box.x + i % box.w];
    if (patched.count(i)) {
      px = patched[i];
    } else if (map.count(px)) {
      px = map.at(px);
    }
  }
  return fb;
}

// Flat areas of five colours (so the memo matters) with every tenth pixel numbered (so a pixel
// that lands in the wrong place shows).
std::vector<uint16_t> picture(uint16_t w, uint16_t h) {
  static const uint16_t kColors[] = {0x0000, 0xFFFF, 0xF800, 0x07E0, 0x001F};
  std::vector<uint16_t> pixels(static_cast<size_t>(w) * h);
  for (size_t i = 0; i < pixels.size(); ++i) {
    const size_t x = i % w, y = i / w;
    pixels[i] = i % 10 == 3 ? static_cast<uint16_t>(0x2000 + i) : kColors[(x / 4 + y / 3) % 5];
  }
  return pixels;
}

// A board that reads back, with a block buffer of kMaxBody (not zeroed), showing picture().
struct Board {
  explicit Board(uint16_t w, uint16_t h, uint32_t strip = 0, bool readable = true)
      : display(w, h, readable), block(kMaxBody, 0xA5), parser(display, config(strip)) {
    if (readable) display.push_pixels(Window{0, 0, w, h}, be_pixels(picture(w, h)).data(), PixelOrder::big_endian);
    display.reads.clear();
    display.writes.clear();
    display.pushed = 0;
  }
  ParserConfig config(uint32_t strip) {
    ParserConfig c;
    c.max_body = kMaxBody;
    c.block = BlockBuffer{block.data(), block.size()};
    c.copy_piece_pixels = strip;
    return c;
  }
  void feed(const Bytes& bytes, size_t piece = 0) { feed_in_pieces(parser, bytes, piece); }
  TracingDisplay display;
  std::vector<uint8_t> block;
  StreamParser parser;
};

Bytes start(bool big = true) { return cat({accept_msg(big ? 1 : 0, kMask, kMaxBody), begin_msg(1)}); }

Bytes recolor_msg(const Window& box, const Bytes& payload) {
  return rect_msg(box.x, box.y, box.w, box.h, kEncodingRecolor, payload);
}

// Runs one RECOLOR RECT on a fresh board; checks the result against the plain model.
void check_recolor(uint16_t w, uint16_t h, const Window& box, const Table& table, const Patches& patches,
                   bool big = true, uint32_t strip = 0, size_t piece = 0) {
  Board board(w, h, strip);
  const std::vector<uint16_t> before = board.display.pixels();
  board.feed(cat({start(big), recolor_msg(box, payload_of(table, patches, big)), end_msg(1)}), piece);
  CHECK(board.parser.error() == Error::none);
  CHECK(board.parser.last_frame().rects == 1);
  CHECK(board.display.pixels() == recolored(before, w, box, table, patches));
  CHECK(board.display.violations() == 0);
}

// The first error of a payload on a 10x4 box at (1, 2) of a 12x8 display, and nothing changed.
void check_error(const Bytes& payload, Error want, bool big = true) {
  for (const size_t piece : {size_t{0}, size_t{1}}) {
    CAPTURE(piece);
    Board board(12, 8);
    const std::vector<uint16_t> before = board.display.pixels();
    board.feed(cat({start(big), recolor_msg(Window{1, 2, 10, 4}, payload)}), piece);
    CHECK(board.parser.error() == want);
    CHECK(board.display.pixels() == before);
    CHECK(board.display.writes.empty());
    CHECK(board.display.reads.empty());
  }
}

}  // namespace

TEST_CASE("RECOLOR maps every colour of the table and leaves the others, in both byte orders") {
  const Table table{{0x0000, 0x1111}, {0x07E0, 0x2222}, {0xF800, 0x001F}, {0xFFFF, 0x0000}};
  for (const bool big : {true, false}) {
    CAPTURE(big);
    check_recolor(40, 30, Window{3, 4, 30, 20}, table, {}, big);
    check_recolor(40, 30, Window{0, 0, 40, 30}, table, {}, big, 0, 1);
    check_recolor(40, 30, Window{39, 29, 1, 1}, table, {}, big);
    check_recolor(40, 30, Window{5, 5, 7, 3}, {{0x001F, 0x001F}}, {}, big);  // onto itself
    check_recolor(40, 30, Window{5, 5, 7, 3}, {{0x0001, 0x0002}}, {}, big);  // a colour not shown
  }
}

TEST_CASE("RECOLOR patches: the first at 0, adjacent ones, the last pixel, skips of 2 and 3 bytes") {
  const Table table{{0x0000, 0xAAAA}, {0xFFFF, 0x5555}};
  for (const bool big : {true, false}) {
    CAPTURE(big);
    // 10x5 box: positions 0, 1, 2 (skips of 0), 7, then 49 = the last.
    check_recolor(40, 30, Window{2, 3, 10, 5}, table, {{0, 0x1234}, {0, 0x2345}, {0, 0x3456}, {4, 0}, {41, 0xFEDC}}, big);
    // Patches only (no table), on pixels the table would not have touched either.
    check_recolor(40, 30, Window{2, 3, 10, 5}, {}, {{3, 0x0000}, {9, 0xFFFF}}, big);
    // The single pixel of a 1x1 box.
    check_recolor(40, 30, Window{7, 7, 1, 1}, table, {{0, 0x4321}}, big);
  }
  // Skip 200 (2 bytes) and 20000 (3 bytes): positions 200 and 20201 of a 200x110 box.
  REQUIRE(leb128(200).size() == 2);
  REQUIRE(leb128(20000).size() == 3);
  check_recolor(200, 120, Window{0, 5, 200, 110}, table, {{200, 0x0F0F}, {20000, 0xF0F0}});
  check_recolor(200, 120, Window{0, 5, 200, 110}, table, {{200, 0x0F0F}, {20000, 0xF0F0}}, false, 7, 3);
  // Up to the last pixel of that box: 21999.
  check_recolor(200, 120, Window{0, 5, 200, 110}, table, {{200, 0x0F0F}, {20000, 0xF0F0}, {1797, 0x1111}});
}

TEST_CASE("RECOLOR goes through strips of any size, each box pixel read once and written once") {
  const Table table{{0x0000, 0x1111}, {0x07E0, 0x2222}, {0xFFFF, 0x3333}};
  const Patches patches{{0, 0x0101}, {38, 0x0202}, {0, 0x0303}, {300, 0x0404}};
  const Window box{3, 2, 33, 25};  // 825 pixels, more than the 256-pixel strip
  for (const uint32_t strip : {1u, 2u, 7u, 32u, 33u, 34u, 100u, 0u}) {
    CAPTURE(strip);
    const uint32_t limit = strip == 0 ? RectCopier::kStripPixels : strip;
    check_recolor(40, 30, box, table, patches, true, strip);
    Board board(40, 30, strip);
    board.feed(cat({start(), recolor_msg(box, payload_of(table, patches))}));
    REQUIRE(board.parser.error() == Error::none);
    // The same windows read and written, in row-major order, each within the strip, covering the box.
    REQUIRE(board.display.reads.size() == board.display.writes.size());
    uint32_t covered = 0;
    for (size_t i = 0; i < board.display.reads.size(); ++i) {
      const Window& r = board.display.reads[i];
      const Window& wr = board.display.writes[i];
      CHECK((r.x == wr.x && r.y == wr.y && r.w == wr.w && r.h == wr.h));
      CHECK(uint32_t{r.w} * r.h <= limit);
      CHECK((r.x >= box.x && r.y >= box.y && r.x + r.w <= box.x + box.w && r.y + r.h <= box.y + box.h));
      covered += uint32_t{r.w} * r.h;
    }
    CHECK(covered == uint32_t{box.w} * box.h);
  }
}

TEST_CASE("RECOLOR on a box wider than the strip: rows go in chunks") {
  const Table table{{0x0000, 0x1111}, {0xF800, 0x07E0}};
  const Patches patches{{255, 0x0101}, {0, 0x0202}, {43, 0x0303}};  // either side of the chunk edge, row 1's start
  check_recolor(300, 4, Window{0, 0, 300, 4}, table, patches);
  Board board(300, 4);
  board.feed(cat({start(), recolor_msg(Window{0, 0, 300, 4}, payload_of(table, patches))}));
  CHECK(board.display.reads.size() == 8);  // 256 + 44 per row
}

TEST_CASE("a RECOLOR RECT is drawn only once its last byte is in, then at once") {
  const Table table{{0x0000, 0x1111}, {0xFFFF, 0x2222}};
  const Bytes payload = payload_of(table, {{5, 0x0505}, {1000, 0x0606}});
  const Window box{0, 0, 40, 30};
  Board board(40, 30);
  const std::vector<uint16_t> before = board.display.pixels();
  board.feed(start());
  const Bytes rect = recolor_msg(box, payload);
  for (size_t i = 0; i + 1 < rect.size(); ++i) {
    CHECK(board.parser.feed(&rect[i], 1).consumed == 1);
    REQUIRE(board.parser.error() == Error::none);
  }
  CHECK(board.display.pixels() == before);
  CHECK(board.display.reads.empty());
  CHECK(board.parser.incomplete());
  CHECK(board.parser.feed(&rect.back(), 1).consumed == 1);
  CHECK_FALSE(board.parser.incomplete());
  CHECK(board.display.pixels() == recolored(before, 40, box, table, {{5, 0x0505}, {1000, 0x0606}}));
}

TEST_CASE("an empty table and no patches change nothing and read nothing") {
  Board board(12, 8);
  const std::vector<uint16_t> before = board.display.pixels();
  board.feed(cat({start(), recolor_msg(Window{0, 0, 12, 8}, Bytes{0, 0}), end_msg(1)}));
  CHECK(board.parser.error() == Error::none);
  CHECK(board.parser.last_frame().rects == 1);
  CHECK(board.display.pixels() == before);
  CHECK(board.display.reads.empty());
}

TEST_CASE("recolor_truncated: no count, a short table, a skip or a pixel cut") {
  check_error(Bytes{}, Error::recolor_truncated);
  check_error(Bytes{1}, Error::recolor_truncated);
  Bytes short_table = payload_of({{1, 2}, {3, 4}}, {});
  short_table.pop_back();
  check_error(short_table, Error::recolor_truncated);
  check_error(Bytes{3, 0, 0, 1, 0, 2}, Error::recolor_truncated);  // count 3, one pair and a bit
  check_error(Bytes{0, 1}, Error::recolor_truncated);               // count 256, nothing
  check_error(cat({payload_of({{1, 2}}, {}), Bytes{0x85}}), Error::recolor_truncated);              // skip cut
  check_error(cat({payload_of({{1, 2}}, {}), Bytes{0x85, 0x80, 0x80}}), Error::recolor_truncated);  // 3 bytes, cut
  check_error(cat({payload_of({}, {{4, 0x1234}}), Bytes{0x02}}), Error::recolor_truncated);         // no pixel
  check_error(cat({payload_of({}, {{4, 0x1234}}), Bytes{0x02, 0x55}}), Error::recolor_truncated);   // half a pixel
}

TEST_CASE("recolor_unsorted: a from equal to or below the one before, as numbers in the ACCEPT order") {
  check_error(payload_of({{5, 1}, {5, 2}}, {}), Error::recolor_unsorted);
  check_error(payload_of({{1, 1}, {9, 2}, {8, 3}}, {}), Error::recolor_unsorted);
  check_error(payload_of({{0xFFFF, 1}, {0, 2}}, {}), Error::recolor_unsorted);
  // 0x00FF then 0x0100: sorted as numbers; the same bytes read in the other order are 0xFF00, 0x0001.
  const Bytes bytes = payload_of({{0x00FF, 1}, {0x0100, 2}}, {}, true);
  check_error(bytes, Error::recolor_unsorted, false);
  Board board(12, 8);
  board.feed(cat({start(true), recolor_msg(Window{1, 2, 10, 4}, bytes)}));
  CHECK(board.parser.error() == Error::none);
}

TEST_CASE("recolor_overflow: a skip of 5 bytes, a patch at or past w*h") {
  // The 10x4 box has 40 pixels: 39 is the last.
  check_error(payload_of({}, {{40, 1}}), Error::recolor_overflow);
  check_error(payload_of({}, {{39, 1}, {0, 2}}), Error::recolor_overflow);
  check_error(payload_of({}, {{10, 1}, {28, 2}, {0, 3}}), Error::recolor_overflow);
  check_error(payload_of({}, {{0x0FFFFFFF, 1}}), Error::recolor_overflow);  // the largest skip does not wrap
  check_error(Bytes{0, 0, 0x80, 0x80, 0x80, 0x80, 0x00, 0x12, 0x34}, Error::recolor_overflow);  // 5 bytes
  check_error(Bytes{0, 0, 0x81, 0x80, 0x80, 0x80}, Error::recolor_overflow);  // a 4th byte that says "more"
  // The position is judged before the pixel: a patch past the box without its pixel.
  check_error(Bytes{0, 0, 40}, Error::recolor_overflow);
  // A good patch, a good pixel: the last one is fine.
  Board board(12, 8);
  board.feed(cat({start(), recolor_msg(Window{1, 2, 10, 4}, payload_of({}, {{39, 1}}))}));
  CHECK(board.parser.error() == Error::none);
}

TEST_CASE("RECOLOR errors come in stream order: table size, then order, then each patch") {
  // A table too short for its count, unsorted in what there is: truncated (its size is judged first).
  check_error(Bytes{3, 0, 0, 9, 0, 0, 0, 1, 0, 0}, Error::recolor_truncated);
  // An unsorted table before a patch past the box: unsorted.
  check_error(payload_of({{5, 1}, {4, 2}}, {{99, 1}}), Error::recolor_unsorted);
  // A patch past the box before a cut skip: overflow.
  check_error(cat({payload_of({}, {{50, 1}}), Bytes{0x80}}), Error::recolor_overflow);
  // A good patch, then a cut one: truncated.
  check_error(cat({payload_of({}, {{3, 1}}), Bytes{0x01, 0x00}}), Error::recolor_truncated);
}

TEST_CASE("a RECOLOR payload is bounded by max_body like any body") {
  Board board(12, 8);
  Bytes payload = payload_of({}, {});
  payload.resize(kMaxBody - kRectHeader + 1, 0);
  board.feed(cat({start(), recolor_msg(Window{0, 0, 12, 8}, payload)}));
  CHECK(board.parser.error() == Error::oversized);
}

TEST_CASE("a RECOLOR RECT after a KEEP is keep_bad_encoding") {
  std::vector<uint8_t> block(kMaxBody), cache(2 * kCachePixels);
  host::FramebufferDisplay display(12, 8);
  ParserConfig config;
  config.max_body = kMaxBody;
  config.block = BlockBuffer{block.data(), block.size()};
  config.cache = BlockBuffer{cache.data(), cache.size()};
  StreamParser parser(display, config);
  const Bytes keep = msg(kMsgKeep, Bytes{0, 0});
  feed_all(parser, cat({accept_msg(1, kMask | kMaskCached, kMaxBody), begin_msg(1), keep,
                        recolor_msg(Window{0, 0, 2, 2}, Bytes{0, 0})}));
  CHECK(parser.error() == Error::keep_bad_encoding);
}

TEST_CASE("RECOLOR is offered only on a display that reads back with a block buffer, and refused without") {
  uint8_t storage[256];
  host::FramebufferDisplay sighted(4, 3), blind(4, 3, false);
  CHECK((encodings_for(sighted, kMaskImplemented, BlockBuffer{storage, 256}, 256) & kMaskRecolor) != 0);
  CHECK((encodings_for(sighted, kMaskImplemented, BlockBuffer{storage, 255}, 256) & kMaskRecolor) == 0);
  CHECK((encodings_for(sighted, kMaskImplemented, BlockBuffer{nullptr, 256}, 256) & kMaskRecolor) == 0);
  CHECK((encodings_for(sighted, kMaskImplemented) & kMaskRecolor) == 0);
  CHECK((encodings_for(blind, kMaskImplemented, BlockBuffer{storage, 256}, 256) & kMaskRecolor) == 0);

  // An ACCEPT with it is refused the way COPY is, and the display is never read.
  for (const bool readable : {false, true}) {
    CAPTURE(readable);
    host::FramebufferDisplay display(4, 3, readable);
    ParserConfig config;
    config.max_body = 256;
    config.block = BlockBuffer{readable ? nullptr : storage, 256};  // the other half missing each time
    StreamParser parser(display, config);
    CHECK(feed_all(parser, accept_msg(1, kMaskRaw | kMaskRecolor, 256)).event == Event::failed);
    CHECK(parser.error() == Error::bad_encodings);
    CHECK(display.read_calls() == 0);
  }
  // Not accepted: a RECOLOR RECT is unknown_encoding.
  Board board(4, 3);
  feed_all(board.parser, cat({accept_msg(1, kMaskRaw | kMaskCopy, kMaxBody), begin_msg(1),
                              recolor_msg(Window{0, 0, 1, 1}, Bytes{0, 0})}));
  CHECK(board.parser.error() == Error::unknown_encoding);
}

TEST_CASE("a board says RECOLOR in its HELLO only when its panel reads back and it has the block buffer") {
  host::FakeJitter jitter;
  std::vector<uint8_t> block(1024);
  for (const bool readable : {false, true}) {
    for (const bool with_buffer : {false, true}) {
      CAPTURE(readable);
      CAPTURE(with_buffer);
      host::FakeNetwork net;
      host::FramebufferDisplay display(240, 240, readable);
      const ConnectionConfig config = desk_config(240, 240, 1024, with_buffer ? &block : nullptr);
      Connection connection(net, display, jitter, config);
      connection.poll(1000);
      connection.poll(1000);
      const bool offered = (offered_encodings(net.outbox) & kMaskRecolor) != 0;
      CHECK(offered == (readable && with_buffer));
      net.server_sends(cat({accept_msg(1, kMaskRaw | kMaskRecolor, 1024), begin_msg(5),
                            rect_msg(0, 0, 1, 1, 0, be_pixels({0xF800})),
                            recolor_msg(Window{0, 0, 2, 1}, payload_of({{0x0000, 0x07E0}, {0xF800, 0x001F}}, {})),
                            end_msg(5)}));
      connection.poll(1000);
      connection.poll(1000);
      if (offered) {
        CHECK(connection.state() == State::streaming);
        CHECK(connection.frames() == 1);
        CHECK(display.pixel(0, 0) == 0x001F);
        CHECK(display.pixel(1, 0) == 0x07E0);
      } else {
        CHECK(connection.last_error() == Error::bad_encodings);
        CHECK(display.violations() == 0);
      }
    }
  }
}
