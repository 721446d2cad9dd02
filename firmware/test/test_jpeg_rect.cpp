// JPEG (encoding 4) through the parser, beyond the shared vectors: Pillow pictures of test/jpeg/
// drawn at an offset with libjpeg's pixels and nothing outside the RECT, a payload split across
// many network pieces (nothing drawn before its last byte), the block buffer that makes a board
// offer JPEG, each error on the RECT's last byte with the decoder's reason kept, and a session
// that draws a JPEG and then ends on a broken one.
#include <doctest/doctest.h>
#include <zlib.h>

#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "connection.h"
#include "fakes.h"
#include "support.h"

using namespace tft;
using namespace tft::test;

namespace {

constexpr uint16_t kJpegMask = kMaskRaw | kMaskRuns | kMaskJpeg;
constexpr uint16_t kBackground = 0x5555;

std::string jpeg_dir() {
  const std::string here = __FILE__;
  return here.substr(0, here.find_last_of('/') + 1) + "jpeg/";
}

Bytes jpeg_file(const std::string& name) {
  std::ifstream in(jpeg_dir() + name + ".jpg", std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot open " << name);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// libjpeg's decode of test/jpeg/NAME.jpg (RGB888, no fancy upsampling: the core's arithmetic),
// truncated to RGB565 as the core does.
std::vector<uint16_t> libjpeg_pixels(const std::string& name, uint16_t w, uint16_t h) {
  gzFile f = gzopen((jpeg_dir() + name + ".rgb.gz").c_str(), "rb");
  REQUIRE_MESSAGE(f != nullptr, "cannot open " << name);
  Bytes rgb(size_t{w} * h * 3);
  const int n = gzread(f, rgb.data(), static_cast<unsigned>(rgb.size()));
  gzclose(f);
  REQUIRE(n == static_cast<int>(rgb.size()));
  std::vector<uint16_t> out;
  for (size_t i = 0; i < rgb.size(); i += 3) {
    out.push_back(static_cast<uint16_t>((rgb[i] >> 3) << 11 | (rgb[i + 1] >> 2) << 5 | rgb[i + 2] >> 3));
  }
  return out;
}

// A traced framebuffer painted kBackground first, so a pixel drawn outside the RECT shows.
class BackgroundDisplay : public TracingDisplay {
 public:
  BackgroundDisplay(uint16_t w, uint16_t h) : TracingDisplay(w, h) { fill_rect(Window{0, 0, w, h}, kBackground); }
};

// A parser with a block buffer of exactly max_body bytes (ASan sees a byte past it), as a board has it.
struct Board : BufferedParser {
  explicit Board(Display& display, uint16_t max_body = 4096, uint16_t encodings = kJpegMask)
      : BufferedParser(display, max_body, encodings) {}
};

Bytes jpeg_start(uint8_t flags = 1, uint16_t max_body = 4096) {
  return cat({accept_msg(flags, kJpegMask, max_body), begin_msg(1)});
}

// The picture at (x, y) of the display, the background elsewhere.
void check_drawn(const TracingDisplay& display, const std::vector<uint16_t>& picture, const Window& at) {
  size_t wrong = 0;
  for (uint16_t py = 0; py < display.height(); ++py) {
    for (uint16_t px = 0; px < display.width(); ++px) {
      const bool inside = px >= at.x && px < at.x + at.w && py >= at.y && py < at.y + at.h;
      const uint16_t want = inside ? picture[static_cast<size_t>(py - at.y) * at.w + (px - at.x)] : kBackground;
      wrong += display.pixel(px, py) != want;
    }
  }
  CHECK(wrong == 0);
  CHECK(display.violations() == 0);
}

struct Picture {
  const char* name;
  uint16_t w, h;
};

}  // namespace

TEST_CASE("a JPEG RECT draws libjpeg's pixels inside its box, in MCU windows, each pixel once, nothing outside") {
  for (const Picture& p : {Picture{"q50_420_17x33", 17, 33}, Picture{"q85_444_64x48", 64, 48},
                           Picture{"q85_422_33x17", 33, 17}, Picture{"q85_gray_20x20_rst2", 20, 20},
                           Picture{"q85_420_1x1", 1, 1}}) {
    CAPTURE(p.name);
    const Window at{7, 5, p.w, p.h};
    BackgroundDisplay display(static_cast<uint16_t>(p.w + 11), static_cast<uint16_t>(p.h + 9));
    Board board(display);
    const Bytes rect = rect_msg(at.x, at.y, p.w, p.h, kEncodingJpeg, jpeg_file(p.name));
    const Bytes stream = cat({jpeg_start(), rect, end_msg(1)});
    CHECK(feed_all(board.parser, stream).event == Event::frame_end);
    CHECK(board.parser.error() == Error::none);
    CHECK(board.parser.jpeg_error() == JpegError::none);
    check_drawn(display, libjpeg_pixels(p.name, p.w, p.h), at);
    CHECK(display.pushed == static_cast<uint32_t>(p.w) * p.h);
    for (const Window& w : display.writes) {
      CHECK(w.w <= 16);
      CHECK(w.h <= 16);
      CHECK(w.x >= at.x);
      CHECK(w.y >= at.y);
      CHECK(w.x + w.w <= at.x + at.w);
      CHECK(w.y + w.h <= at.y + at.h);
    }
  }
}

TEST_CASE("JPEG RECTs one after another each bring their own tables") {
  BackgroundDisplay display(40, 40);
  Board board(display);
  const Bytes stream = cat({jpeg_start(), rect_msg(0, 0, 20, 20, kEncodingJpeg, jpeg_file("q85_gray_20x20_rst2")),
                            rect_msg(20, 2, 17, 33, kEncodingJpeg, jpeg_file("q50_420_17x33")),
                            rect_msg(1, 30, 7, 5, kEncodingJpeg, jpeg_file("q85_420_7x5")), end_msg(1)});
  CHECK(feed_all(board.parser, stream).event == Event::frame_end);
  CHECK(board.parser.last_frame().rects == 3);
  const std::vector<uint16_t> grey = libjpeg_pixels("q85_gray_20x20_rst2", 20, 20);
  const std::vector<uint16_t> colour = libjpeg_pixels("q50_420_17x33", 17, 33);
  const std::vector<uint16_t> small = libjpeg_pixels("q85_420_7x5", 7, 5);
  CHECK(display.pixel(19, 19) == grey.back());
  CHECK(display.pixel(20, 2) == colour.front());
  CHECK(display.pixel(36, 34) == colour.back());
  CHECK(display.pixel(1, 30) == small.front());
  CHECK(display.pixel(7, 34) == small.back());
}

TEST_CASE("a JPEG split across many network pieces is drawn once, when its last byte arrives") {
  const Bytes jpeg = jpeg_file("q95_420_120x90");
  const std::vector<uint16_t> picture = libjpeg_pixels("q95_420_120x90", 120, 90);
  // The largest payload a board of this max_body takes: the block buffer is full to its last byte.
  const auto max_body = static_cast<uint16_t>(kRectHeader + jpeg.size());
  const Bytes rect = rect_msg(0, 0, 120, 90, kEncodingJpeg, jpeg);
  const size_t header = kHeaderSize + kRectHeader;
  std::mt19937 rng(7);
  for (const size_t piece : {size_t{1}, size_t{3}, size_t{64}, size_t{536}, size_t{1460}, size_t{0}}) {
    CAPTURE(piece);  // 0: random pieces of 1..700 bytes
    BackgroundDisplay display(120, 90);
    Board board(display, max_body);
    REQUIRE(feed_all(board.parser, cat({jpeg_start(1, max_body), Bytes(rect.begin(), rect.begin() + header)})).event ==
            Event::none);
    size_t fed = 0, pieces = 0;
    while (fed < jpeg.size()) {
      const size_t want = piece != 0 ? piece : std::uniform_int_distribution<size_t>(1, 700)(rng);
      const size_t n = std::min(want, jpeg.size() - fed);
      const FeedResult r = board.parser.feed(jpeg.data() + fed, n);
      REQUIRE(r.consumed == n);
      REQUIRE(r.event == Event::none);
      fed += n;
      ++pieces;
      if (fed < jpeg.size()) REQUIRE(display.writes.empty());  // a JPEG is judged whole
    }
    CHECK(pieces >= (piece == 1460 ? 3u : 7u));
    CHECK(feed_all(board.parser, end_msg(1)).event == Event::frame_end);
    CHECK(board.parser.error() == Error::none);
    CHECK(display.pushed == 120u * 90u);
    check_drawn(display, picture, Window{0, 0, 120, 90});
  }
}

TEST_CASE("JPEG pixels keep their value in either byte order") {
  const std::vector<uint16_t> picture = libjpeg_pixels("q85_420_7x5", 7, 5);
  for (const uint8_t flags : {uint8_t{0}, uint8_t{1}}) {
    CAPTURE(int(flags));
    BackgroundDisplay display(7, 5);
    Board board(display);
    feed_all(board.parser, cat({jpeg_start(flags), rect_msg(0, 0, 7, 5, kEncodingJpeg, jpeg_file("q85_420_7x5"))}));
    CHECK(board.parser.error() == Error::none);
    check_drawn(display, picture, Window{0, 0, 7, 5});
  }
}

TEST_CASE("JPEG is offered only with a block buffer of max_body bytes, and refused without") {
  host::FramebufferDisplay display(4, 3, false);  // no read-back: no COPY either
  uint8_t storage[256];
  CHECK(encodings_for(display, kMaskImplemented, BlockBuffer{storage, 256}, 256) ==
        (kMaskRaw | kMaskRuns | kMaskLz4 | kMaskJpeg | kMaskRice));
  CHECK(encodings_for(display, kMaskImplemented, BlockBuffer{storage, 255}, 256) == (kMaskRaw | kMaskRuns));
  CHECK(encodings_for(display, kMaskImplemented, BlockBuffer{nullptr, 256}, 256) == (kMaskRaw | kMaskRuns));
  CHECK(encodings_for(display, kMaskImplemented) == (kMaskRaw | kMaskRuns));

  for (const size_t size : {size_t{0}, size_t{255}, size_t{256}}) {
    CAPTURE(size);
    ParserConfig config;
    config.max_body = 256;
    config.block = BlockBuffer{size != 0 ? storage : nullptr, size};
    StreamParser parser(display, config);
    const FeedResult r = feed_all(parser, accept_msg(1, kMaskRaw | kMaskJpeg, 256));
    CHECK(r.event == (size == 256 ? Event::accepted : Event::failed));
    if (size != 256) CHECK(parser.error() == Error::bad_encodings);
  }

  StreamParser raw_runs(display, ParserConfig{});  // no buffer: a JPEG RECT is not an accepted encoding
  feed_all(raw_runs, cat({accept_msg(1, 3), begin_msg(1)}));
  CHECK(feed_all(raw_runs, rect_msg(0, 0, 4, 3, kEncodingJpeg, Bytes{0xFF, 0xD8})).event == Event::failed);
  CHECK(raw_runs.error() == Error::unknown_encoding);
}

TEST_CASE("each JPEG error fires on the RECT's last byte, fed one byte at a time, the decoder's reason kept") {
  const Bytes whole = jpeg_file("q85_444_64x48");
  const Bytes three_quarters(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(whole.size() * 3 / 4));
  struct Case {
    const char* what;
    Bytes payload;
    uint16_t w, h;
    Error error;
    JpegError reason;
    bool draws;  // the MCUs before the error
  };
  const std::vector<Case> cases = {
      {"another size", jpeg_file("q85_444_24x16_rst5"), 16, 24, Error::jpeg_size_mismatch, JpegError::size_mismatch,
       false},
      {"cut in the entropy data", three_quarters, 64, 48, Error::jpeg_malformed, JpegError::truncated, true},
      {"cut before EOI", Bytes(whole.begin(), whole.end() - 2), 64, 48, Error::jpeg_malformed, JpegError::truncated,
       true},
      {"not a JPEG", cat({Bytes{'G', 'I', 'F', '8', '9', 'a'}, Bytes(40, 0)}), 64, 48, Error::jpeg_malformed,
       JpegError::not_jpeg, false},
      {"progressive", jpeg_file("progressive"), 32, 16, Error::jpeg_malformed, JpegError::unsupported_frame, false},
      {"empty", Bytes{}, 8, 8, Error::jpeg_malformed, JpegError::not_jpeg, false},
  };
  const std::vector<uint16_t> picture = libjpeg_pixels("q85_444_64x48", 64, 48);
  for (const Case& c : cases) {
    CAPTURE(c.what);
    BackgroundDisplay display(64, 48);
    Board board(display);
    REQUIRE(feed_all(board.parser, jpeg_start()).event == Event::none);
    const Bytes rect = rect_msg(0, 0, c.w, c.h, kEncodingJpeg, c.payload);
    for (size_t i = 0; i < rect.size(); ++i) {
      const FeedResult r = board.parser.feed(&rect[i], 1);
      REQUIRE(r.consumed == 1);
      if (i + 1 < rect.size()) {
        REQUIRE(r.event == Event::none);
      } else {
        CHECK(r.event == Event::failed);
      }
    }
    CHECK(board.parser.error() == c.error);
    CHECK(board.parser.jpeg_error() == c.reason);
    CHECK(display.violations() == 0);
    CHECK(display.writes.empty() == !c.draws);
    if (c.draws) {
      CHECK(display.pixel(0, 0) == picture[0]);  // the first MCU, as libjpeg has it
      CHECK(display.pixel(63, 7) == picture[7 * 64 + 63]);
    }
    const uint8_t more = 0x20;
    CHECK(board.parser.feed(&more, 1).consumed == 0);  // stopped
    board.parser.reset();
    CHECK(board.parser.jpeg_error() == JpegError::none);
  }
}

TEST_CASE("a board with a block buffer says JPEG in its HELLO, draws JPEG RECTs, and names a broken one") {
  host::FakeJitter jitter;
  host::FakeNetwork net;
  BackgroundDisplay display(64, 48);
  std::vector<uint8_t> block(2048);
  const ConnectionConfig config = desk_config(64, 48, 2048, &block);
  Connection connection(net, display, jitter, config);
  connection.poll(1000);
  connection.poll(1000);
  CHECK((offered_encodings(net.outbox) & kMaskJpeg) != 0);

  const Bytes jpeg = jpeg_file("q85_444_64x48");
  net.server_sends(cat({accept_msg(1, kJpegMask, 2048), begin_msg(5), rect_msg(0, 0, 64, 48, kEncodingJpeg, jpeg),
                        end_msg(5)}));
  connection.poll(1000);
  connection.poll(1000);
  CHECK(connection.state() == State::streaming);
  CHECK(connection.frames() == 1);
  check_drawn(display, libjpeg_pixels("q85_444_64x48", 64, 48), Window{0, 0, 64, 48});

  net.server_sends(cat({begin_msg(6), rect_msg(0, 0, 64, 48, kEncodingJpeg, Bytes(jpeg.begin(), jpeg.end() - 2))}));
  connection.poll(1000);
  connection.poll(1000);
  CHECK(connection.last_drop() == Drop::protocol_error);
  CHECK(connection.last_error() == Error::jpeg_malformed);
  CHECK(connection.last_jpeg_error() == JpegError::truncated);
  CHECK(display.last_text().find("protocol error: jpeg_malformed (jpeg_truncated)") != std::string::npos);
}
