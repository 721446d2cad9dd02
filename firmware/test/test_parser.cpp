// Hand-built cases around the vectors: edges of the display, limits of 16-bit fields, how pixels
// reach the display (row chunks), and the parser's own lifecycle.
#include <doctest/doctest.h>

#include <array>
#include <string>
#include <vector>

#include "support.h"

using namespace tft;
using namespace tft::test;

namespace {

// Remembers every window the parser asks for, without storing pixels (so it can be 65535 wide).
class RecordingDisplay : public Display {
 public:
  RecordingDisplay(uint16_t w, uint16_t h) : w_(w), h_(h) {}
  virtual ~RecordingDisplay() = default;
  uint16_t width() const override { return w_; }
  uint16_t height() const override { return h_; }
  void push_pixels(const Window& window, const uint8_t*, PixelOrder) override { windows.push_back(window); }
  void fill_rect(const Window&, uint16_t) override {}
  void draw_text(uint16_t, uint16_t, const char*, uint16_t, uint16_t) override {}
  std::vector<Window> windows;

 private:
  uint16_t w_, h_;
};

Bytes runs_of(std::initializer_list<std::pair<int, uint16_t>> runs) {
  Bytes out;
  for (const auto& [count, value] : runs) {
    out.push_back(static_cast<uint8_t>(count - 1));
    out.push_back(static_cast<uint8_t>(value >> 8));
    out.push_back(static_cast<uint8_t>(value));
  }
  return out;
}

}  // namespace

TEST_CASE("a rectangle touching the right and bottom edges is drawn") {
  const Bytes s = cat({accept_msg(), begin_msg(1), rect_msg(2, 1, 2, 2, 0, be_pixels({1, 2, 3, 4})), end_msg(1)});
  const Outcome o = run_stream(4, 3, 256, 3, s, whole());
  CHECK(o.error == Error::none);
  CHECK(o.framebuffer == std::vector<uint16_t>{0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4});
}

TEST_CASE("coordinates near 65535 are out of bounds, not wrapped into the display") {
  for (auto [x, y, w, h] : std::vector<std::array<uint16_t, 4>>{
           {0xFFFF, 0, 1, 1}, {0, 0xFFFF, 1, 1}, {1, 0, 0xFFFF, 1}, {0, 1, 1, 0xFFFF}, {0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF}}) {
    const Bytes s = cat({accept_msg(), begin_msg(1), rect_msg(x, y, w, h, 0, be_pixels({7}))});
    CHECK(run_stream(4, 3, 256, 3, s, whole()).error == Error::rect_out_of_bounds);
  }
}

TEST_CASE("a RAW size check on a 65535x65535 display does not overflow") {
  RecordingDisplay display(0xFFFF, 0xFFFF);
  StreamParser parser(display, ParserConfig{});
  // w*h*2 is above 2^32; a 32-bit product would wrap. The body holds 4 pixels.
  const Bytes s = cat({accept_msg(1, 3, 0xFFFF), begin_msg(1), rect_msg(0, 0, 0xFFFF, 0xFFFF, 0, be_pixels({1, 2, 3, 4}))});
  CHECK(feed_all(parser, s).event == Event::failed);
  CHECK(parser.error() == Error::raw_size_mismatch);
  CHECK(display.windows.empty());
}

TEST_CASE("oversized is decided from the header, before any body byte") {
  host::FramebufferDisplay display(4, 3);
  StreamParser parser(display, ParserConfig{3, 256});
  const Bytes s = cat({accept_msg(), Bytes{0x21, 0x2C, 0x01}});  // RECT of 300 bytes, none sent
  CHECK(feed_all(parser, s).event == Event::failed);
  CHECK(parser.error() == Error::oversized);
}

TEST_CASE("RAW pixels reach the display as row chunks: end of a row, whole rows, start of a row") {
  RecordingDisplay display(8, 8);
  StreamParser parser(display, ParserConfig{});
  std::vector<uint16_t> pixels(4 * 4);
  const Bytes s = cat({accept_msg(1, 3, 0xFFFF), begin_msg(1), rect_msg(2, 2, 4, 4, 0, be_pixels(pixels))});
  const size_t payload_start = s.size() - 32;
  feed_all(parser, Bytes(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(payload_start) + 2 * 3));  // 3 pixels
  display.windows.clear();
  feed_all(parser, Bytes(s.begin() + static_cast<std::ptrdiff_t>(payload_start) + 6, s.begin() + static_cast<std::ptrdiff_t>(payload_start) + 2 * 14));
  REQUIRE(display.windows.size() == 3);
  CHECK(display.windows[0].x == 5);  // the rest of row 0: 1 pixel
  CHECK(display.windows[0].w == 1);
  CHECK(display.windows[1].y == 3);  // rows 1 and 2 in one window
  CHECK(display.windows[1].w == 4);
  CHECK(display.windows[1].h == 2);
  CHECK(display.windows[2].y == 5);  // 2 pixels of row 3
  CHECK(display.windows[2].w == 2);
  CHECK(display.windows[2].h == 1);
}

TEST_CASE("a pixel split across two pieces is drawn once, whole") {
  const Bytes s = cat({accept_msg(), begin_msg(1), rect_msg(0, 0, 2, 1, 0, be_pixels({0x1234, 0xABCD})), end_msg(1)});
  for (size_t cut = 1; cut < s.size(); ++cut) {
    size_t first = cut;
    const Outcome o = run_stream(4, 3, 256, 3, s, [&first](size_t left) {
      const size_t n = first != 0 ? first : left;
      first = 0;
      return n;
    });
    CHECK(o.framebuffer[0] == 0x1234);
    CHECK(o.framebuffer[1] == 0xABCD);
  }
}

TEST_CASE("a run of 256 pixels crosses the strip buffer and rows") {
  const Bytes s = cat({accept_msg(1, 3, 0xFFFF), begin_msg(1), rect_msg(0, 0, 20, 13, 1, runs_of({{256, 0x0F0F}, {4, 0xF00F}})), end_msg(1)});
  const Outcome o = run_stream(20, 13, 0xFFFF, 3, s, random_pieces(3, 7));
  REQUIRE(o.error == Error::none);
  for (size_t i = 0; i < 256; ++i) CHECK(o.framebuffer[i] == 0x0F0F);
  for (size_t i = 256; i < 260; ++i) CHECK(o.framebuffer[i] == 0xF00F);
}

TEST_CASE("RUNS that overflow: the runs before are drawn, the overflowing one is not, however split") {
  const Bytes s = cat({accept_msg(), begin_msg(1), rect_msg(1, 1, 2, 1, 1, runs_of({{1, 0x1111}, {2, 0x2222}}))});
  for (const Splitter& split : {whole(), one_byte()}) {
    const Outcome o = run_stream(4, 3, 256, 3, s, split);
    CHECK(o.error == Error::runs_overflow);
    CHECK(o.violations == 0);
    CHECK(o.framebuffer == std::vector<uint16_t>{0, 0, 0, 0, 0, 0x1111, 0, 0, 0, 0, 0, 0});
  }
}

TEST_CASE("a REJECT reason is kept up to 200 bytes, cut at a UTF-8 character boundary") {
  Bytes reason(199, 'a');
  reason.insert(reason.end(), {0xC3, 0xA9, 'z'});  // 'é' straddles byte 200
  const Outcome o = run_stream(4, 3, 256, 3, msg(0x11, reason), whole());
  CHECK(o.rejected);
  CHECK(o.reason == std::string(199, 'a'));
}

TEST_CASE("a REJECT reason keeps bytes after a NUL (the screen shows up to it)") {
  const Outcome o = run_stream(4, 3, 256, 3, msg(0x11, {'a', 0, 'b'}), one_byte());
  CHECK(o.rejected);
  CHECK(o.reason == std::string("a\0b", 3));
}

TEST_CASE("an empty REJECT, or one after ACCEPT inside a frame, still rejects (as the reference)") {
  CHECK(run_stream(4, 3, 256, 3, msg(0x11), whole()).rejected);
  const Outcome o = run_stream(4, 3, 256, 3, cat({accept_msg(), begin_msg(1), msg(0x11, {'n', 'o'}), end_msg(1)}), whole());
  CHECK(o.rejected);
  CHECK(o.reason == "no");
  CHECK(o.acks.empty());  // nothing after a REJECT is applied
}

TEST_CASE("a board offering RAW only refuses an ACCEPT that picks RUNS") {
  CHECK(run_stream(4, 3, 256, 1, accept_msg(1, 3), whole()).error == Error::bad_encodings);
  CHECK(run_stream(4, 3, 256, 1, accept_msg(1, 1), whole()).error == Error::none);
}

TEST_CASE("after an error the parser takes nothing more until reset, then parses a new connection") {
  host::FramebufferDisplay display(4, 3);
  StreamParser parser(display, ParserConfig{3, 256});
  CHECK(feed_all(parser, begin_msg(1)).event == Event::failed);
  const Bytes more = accept_msg();
  const FeedResult again = parser.feed(more.data(), more.size());
  CHECK(again.consumed == 0);
  CHECK(again.event == Event::failed);
  parser.reset();
  CHECK(parser.error() == Error::none);
  CHECK(feed_all(parser, accept_msg()).event == Event::accepted);
  CHECK(parser.accept().big_endian);
  CHECK(parser.accept().keepalive_ms == 1000);
  CHECK(parser.accept().timeout_ms == 4000);
  CHECK(parser.accept().max_body == 256);
}

TEST_CASE("each FRAME_END reports the frame's sequence number, rectangles and bytes") {
  host::FramebufferDisplay display(4, 3);
  StreamParser parser(display, ParserConfig{3, 256});
  const Bytes frame = cat({begin_msg(0xDEADBEEF), rect_msg(0, 0, 1, 1, 0, be_pixels({1})), msg(0x30),
                           rect_msg(1, 0, 1, 1, 0, be_pixels({2})), end_msg(0xDEADBEEF)});
  feed_all(parser, accept_msg());
  const FeedResult r = feed_all(parser, frame);
  CHECK(r.event == Event::frame_end);
  CHECK(parser.last_frame().seq == 0xDEADBEEFu);
  CHECK(parser.last_frame().rects == 2);
  CHECK(parser.last_frame().bytes == frame.size());
}

TEST_CASE("feed stops right after an event, so the caller can ACK before reading on") {
  host::FramebufferDisplay display(4, 3);
  StreamParser parser(display, ParserConfig{3, 256});
  const Bytes s = cat({accept_msg(), begin_msg(1), end_msg(1), begin_msg(2), end_msg(2)});
  FeedResult r = parser.feed(s.data(), s.size());
  CHECK(r.event == Event::accepted);
  CHECK(r.consumed == 13);
  size_t used = r.consumed;
  r = parser.feed(s.data() + used, s.size() - used);
  CHECK(r.event == Event::frame_end);
  CHECK(parser.last_frame().seq == 1);
  used += r.consumed;
  r = parser.feed(s.data() + used, s.size() - used);
  CHECK(r.event == Event::frame_end);
  CHECK(parser.last_frame().seq == 2);
  CHECK(used + r.consumed == s.size());
}
