// COPY (encoding 2): every overlap direction against a copy through a temporary buffer, with
// strips smaller than a row and larger than the box, the order of the pieces, the checks and
// when they fire, and a display that cannot read back.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "connection.h"
#include "fakes.h"
#include "support.h"

using namespace tft;
using namespace tft::test;

namespace {

constexpr uint16_t kW = 40, kH = 30;

Bytes u16le(uint16_t a, uint16_t b) {
  return Bytes{static_cast<uint8_t>(a), static_cast<uint8_t>(a >> 8),  //
               static_cast<uint8_t>(b), static_cast<uint8_t>(b >> 8)};
}

Bytes copy_msg(uint16_t x, uint16_t y, uint16_t w, uint16_t h, uint16_t src_x, uint16_t src_y) {
  return rect_msg(x, y, w, h, 2, u16le(src_x, src_y));
}

// Every pixel different, so a pixel copied from the wrong place shows.
std::vector<uint16_t> numbered(uint16_t w, uint16_t h) {
  std::vector<uint16_t> pixels(static_cast<size_t>(w) * h);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint16_t>(0x1000 + i);
  return pixels;
}

// What COPY must do, the plain way: the whole source box into a buffer, then into place.
std::vector<uint16_t> copied(std::vector<uint16_t> fb, uint16_t width, uint16_t x, uint16_t y, uint16_t w, uint16_t h,
                             uint16_t sx, uint16_t sy) {
  std::vector<uint16_t> box;
  for (uint16_t r = 0; r < h; ++r) {
    for (uint16_t c = 0; c < w; ++c) box.push_back(fb[static_cast<size_t>(sy + r) * width + sx + c]);
  }
  for (uint16_t r = 0; r < h; ++r) {
    for (uint16_t c = 0; c < w; ++c) {
      fb[static_cast<size_t>(y + r) * width + x + c] = box[static_cast<size_t>(r) * w + c];
    }
  }
  return fb;
}

// ACCEPT (big-endian, RAW+RUNS+COPY) and a frame whose first RECT numbers every pixel.
Bytes numbered_start(uint16_t w, uint16_t h) {
  return cat({accept_msg(1, 7, 0xFFFF), begin_msg(1), rect_msg(0, 0, w, h, 0, be_pixels(numbered(w, h)))});
}

bool overlaps(const Window& a, const Window& b) {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

}  // namespace

TEST_CASE("COPY in every direction equals a copy through a temporary buffer, whatever the strip") {
  const int offsets[] = {-7, -1, 0, 1, 7};
  const uint32_t strips[] = {1, 7, 39, 40, 41, 120, 0};  // 0: the full strip (256 pixels)
  size_t cases = 0;
  for (int ox : offsets) {
    for (int oy : offsets) {
      // A 26x16 box inside the 40x30 display, moved by (ox, oy): still inside.
      const uint16_t sx = 7, sy = 7, w = 26, h = 16;
      const uint16_t x = static_cast<uint16_t>(sx + ox), y = static_cast<uint16_t>(sy + oy);
      for (uint32_t strip : strips) {
        CAPTURE(ox);
        CAPTURE(oy);
        CAPTURE(strip);
        TracingDisplay display(kW, kH);
        ParserConfig config;
        config.copy_piece_pixels = strip;
        StreamParser parser(display, config);
        feed_all(parser, numbered_start(kW, kH));
        display.reads.clear();
        display.writes.clear();
        const FeedResult r = feed_all(parser, cat({copy_msg(x, y, w, h, sx, sy), end_msg(1)}));
        REQUIRE(r.event == Event::frame_end);
        CHECK(display.pixels() == copied(numbered(kW, kH), kW, x, y, w, h, sx, sy));
        CHECK(display.violations() == 0);
        CHECK(parser.last_frame().rects == 2);
        const uint32_t limit = strip == 0 ? RectCopier::kStripPixels : strip;
        size_t too_big = 0, reads_overwritten = 0;
        for (const Window& read : display.reads) too_big += static_cast<uint32_t>(read.w) * read.h > limit;
        // No piece reads what an earlier piece wrote (a stronger statement than the result).
        REQUIRE(display.writes.size() == display.reads.size());
        for (size_t i = 0; i < display.reads.size(); ++i) {
          for (size_t j = 0; j < i; ++j) reads_overwritten += overlaps(display.reads[i], display.writes[j]);
        }
        CHECK(too_big == 0);
        CHECK(reads_overwritten == 0);
        if (ox == 0 && oy == 0) CHECK(display.reads.empty());  // onto itself: nothing to move
        ++cases;
      }
    }
  }
  CHECK(cases == 5 * 5 * 7);
}

TEST_CASE("a row wider than the strip goes in chunks, ordered away from the overlap") {
  TracingDisplay display(kW, kH);
  ParserConfig config;
  config.copy_piece_pixels = 16;
  StreamParser parser(display, config);
  feed_all(parser, numbered_start(kW, kH));
  display.reads.clear();
  feed_all(parser, cat({copy_msg(3, 0, 37, 2, 0, 0), end_msg(1)}));  // right by 3: chunks right-to-left
  REQUIRE(display.reads.size() == 6);                                 // 2 rows x (16 + 16 + 5)
  CHECK(display.reads[0].x == 21);
  CHECK(display.reads[0].w == 16);
  CHECK(display.reads[1].x == 5);
  CHECK(display.reads[2].x == 0);
  CHECK(display.reads[2].w == 5);
  CHECK(display.reads[0].y == 0);  // same rows: top-down
  CHECK(display.reads[3].y == 1);
  CHECK(display.pixels() == copied(numbered(kW, kH), kW, 3, 0, 37, 2, 0, 0));
}

TEST_CASE("a box larger than the strip moves in bands of whole rows, bottom-up when moving down") {
  TracingDisplay display(kW, kH);
  StreamParser parser(display, ParserConfig{});  // the full 256-pixel strip: 6 rows of 40
  feed_all(parser, numbered_start(kW, kH));
  display.reads.clear();
  display.writes.clear();
  feed_all(parser, cat({copy_msg(0, 1, kW, 29, 0, 0), end_msg(1)}));  // scroll down by one row
  REQUIRE(display.reads.size() == 5);                                  // 6 + 6 + 6 + 6 + 5 rows
  CHECK(display.reads[0].y == 23);
  CHECK(display.reads[0].h == 6);
  CHECK(display.reads[0].w == kW);
  CHECK(display.reads[4].y == 0);
  CHECK(display.reads[4].h == 5);
  CHECK(display.writes.size() == 5);
  CHECK(display.pixels() == copied(numbered(kW, kH), kW, 0, 1, kW, 29, 0, 0));

  TracingDisplay wide(300, 4);  // a row of 290 is wider than the 256-pixel strip
  StreamParser wide_parser(wide, ParserConfig{});
  feed_all(wide_parser, numbered_start(300, 4));
  wide.reads.clear();
  feed_all(wide_parser, cat({copy_msg(0, 0, 290, 3, 10, 1), end_msg(1)}));  // up and to the left
  REQUIRE(wide.reads.size() == 6);                                           // 3 rows x (256 + 34)
  CHECK(wide.reads[0].x == 10);
  CHECK(wide.reads[0].w == 256);
  CHECK(wide.reads[0].y == 1);
  CHECK(wide.reads[1].x == 266);
  CHECK(wide.pixels() == copied(numbered(300, 4), 300, 0, 0, 290, 3, 10, 1));
  CHECK(wide.violations() == 0);
}

TEST_CASE("COPY pixels keep their value in either byte order") {
  for (uint8_t flags : {uint8_t{0}, uint8_t{1}}) {
    host::FramebufferDisplay display(4, 1);
    StreamParser parser(display, ParserConfig{});
    const Bytes pixels = flags == 1 ? be_pixels({0x1234, 0xABCD}) : Bytes{0x34, 0x12, 0xCD, 0xAB};
    feed_all(parser,
             cat({accept_msg(flags, 7), begin_msg(1), rect_msg(0, 0, 2, 1, 0, pixels), copy_msg(2, 0, 2, 1, 0, 0)}));
    CHECK(display.pixels() == std::vector<uint16_t>{0x1234, 0xABCD, 0x1234, 0xABCD});
  }
}

TEST_CASE("a COPY payload of the wrong size fails from the header, before any payload byte") {
  for (uint16_t payload : {0, 3, 5, 100}) {
    CAPTURE(payload);
    TracingDisplay display(4, 3);
    StreamParser parser(display, ParserConfig{});
    feed_all(parser, cat({accept_msg(1, 7), begin_msg(1)}));
    const Bytes rect = rect_msg(0, 0, 1, 1, 2, Bytes(payload, 0));
    for (size_t i = 0; i < kHeaderSize + kRectHeader; ++i) {
      const FeedResult r = parser.feed(&rect[i], 1);
      CHECK(r.consumed == 1);
      if (i + 1 < kHeaderSize + kRectHeader) CHECK(r.event == Event::none);
      if (i + 1 == kHeaderSize + kRectHeader) CHECK(r.event == Event::failed);
    }
    CHECK(parser.error() == Error::copy_size_mismatch);
    CHECK(display.reads.empty());
  }
}

TEST_CASE("a COPY source outside the display fails once its 4th byte arrives, nothing moved") {
  struct Case {
    uint16_t w, h, sx, sy;
  };
  for (const Case& c : {Case{2, 1, 3, 0}, Case{1, 2, 0, 2}, Case{2, 1, 0xFFFF, 0}, Case{1, 1, 0, 0xFFFF},
                        Case{4, 3, 1, 0}, Case{1, 1, 4, 0}}) {
    CAPTURE(c.sx);
    CAPTURE(c.sy);
    TracingDisplay display(4, 3);
    StreamParser parser(display, ParserConfig{});
    feed_all(parser, cat({accept_msg(1, 7), begin_msg(1)}));
    const Bytes rect = copy_msg(0, 0, c.w, c.h, c.sx, c.sy);
    for (size_t i = 0; i + 1 < rect.size(); ++i) {
      const FeedResult r = parser.feed(&rect[i], 1);
      REQUIRE(r.event == Event::none);
      CHECK(parser.incomplete());
    }
    CHECK(parser.feed(&rect.back(), 1).event == Event::failed);
    CHECK(parser.error() == Error::copy_out_of_bounds);
    CHECK(display.reads.empty());
    CHECK(display.writes.empty());
  }
}

TEST_CASE("the source bytes may come in any pieces; the copy happens when the last one is in") {
  const Bytes s = cat({numbered_start(4, 3), copy_msg(1, 1, 3, 2, 0, 0), end_msg(1)});
  const std::vector<uint16_t> want = copied(numbered(4, 3), 4, 1, 1, 3, 2, 0, 0);
  for (const Splitter& split : {whole(), one_byte(), random_pieces(7, 3)}) {
    const Outcome o = run_stream(4, 3, 0xFFFF, 7, s, split);
    CHECK(o.error == Error::none);
    CHECK(o.framebuffer == want);
    CHECK(o.acks == std::vector<uint32_t>{1});
  }
}

TEST_CASE("a display that cannot read back: COPY is not offered, not accepted, never read") {
  host::FramebufferDisplay blind(4, 3, false);
  CHECK(encodings_for(blind, kMaskImplemented) == (kMaskRaw | kMaskRuns));
  host::FramebufferDisplay sighted(4, 3);
  CHECK(encodings_for(sighted, kMaskImplemented) == (kMaskRaw | kMaskRuns | kMaskCopy));  // no block buffer: no LZ4

  StreamParser parser(blind, ParserConfig{});  // the config offers 7; the display says otherwise
  CHECK(feed_all(parser, accept_msg(1, 7)).event == Event::failed);
  CHECK(parser.error() == Error::bad_encodings);

  StreamParser raw_runs(blind, ParserConfig{});
  feed_all(raw_runs, cat({accept_msg(1, 3), begin_msg(1)}));
  CHECK(feed_all(raw_runs, copy_msg(0, 0, 1, 1, 1, 1)).event == Event::failed);
  CHECK(raw_runs.error() == Error::unknown_encoding);
  CHECK(blind.read_calls() == 0);
  CHECK(blind.violations() == 0);
}

TEST_CASE("a board whose display cannot read back says RAW+RUNS in its HELLO, and refuses COPY") {
  host::FakeNetwork net;
  host::FakeJitter jitter;
  host::FramebufferDisplay blind(240, 240, false);
  const ConnectionConfig config = desk_config(240, 240, 1024);
  Connection connection(net, blind, jitter, config);
  connection.poll(1000);
  connection.poll(1000);
  CHECK(offered_encodings(net.outbox) == (kMaskRaw | kMaskRuns));
  net.server_sends(accept_msg(1, 7, 1024));
  connection.poll(1000);
  CHECK(connection.last_drop() == Drop::protocol_error);
  CHECK(connection.last_error() == Error::bad_encodings);

  host::FakeNetwork net2;
  host::FramebufferDisplay sighted(240, 240);
  Connection reading(net2, sighted, jitter, config);
  reading.poll(1000);
  reading.poll(1000);
  CHECK(offered_encodings(net2.outbox) == (kMaskRaw | kMaskRuns | kMaskCopy));
  net2.server_sends(cat({accept_msg(1, 7, 1024), begin_msg(5), rect_msg(0, 0, 1, 1, 0, be_pixels({0xF800})),
                         copy_msg(1, 1, 1, 1, 0, 0), end_msg(5)}));
  reading.poll(1000);
  reading.poll(1000);
  CHECK(reading.state() == State::streaming);
  CHECK(reading.frames() == 1);
  CHECK(sighted.pixel(1, 1) == 0xF800);
}
