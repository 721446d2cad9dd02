// CELLS (encoding 8): a box drawn from cells of the bitmap cache, against a plain model (each box
// pixel looked up by its cell); cells square, not, 1x1 and the whole box; both byte orders;
// strips of 1 pixel to more than a row; every error, with nothing drawn; KEEP before it; the offer.
#include <doctest/doctest.h>

#include <vector>

#include "connection.h"
#include "fakes.h"
#include "support.h"

using namespace tft;
using namespace tft::test;

namespace {

constexpr uint16_t kMask = kMaskRaw | kMaskRuns | kMaskLz4 | kMaskCached | kMaskCells;  // 299, as the shared vectors
constexpr uint16_t kMaxBody = 4096;
// The glyphs: a 64x16 RAW RECT at (0, 0), KEEP'd at cache pixel kKeepAt, every pixel different.
constexpr uint16_t kGlyphsW = 64, kGlyphsH = 16;
constexpr uint16_t kKeepAt = 100;
constexpr uint16_t kUnkept = 0x5A5A;  // the cache's bytes where no KEEP wrote

struct Grid {
  uint8_t cell_w, cell_h;
  std::vector<uint16_t> offsets;  // row-major
};

std::vector<uint16_t> glyphs() {
  std::vector<uint16_t> pixels(uint32_t{kGlyphsW} * kGlyphsH);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint16_t>(0x8001 + 97 * i);
  return pixels;
}

Bytes pixels_in(const std::vector<uint16_t>& values, bool big) {
  Bytes out;
  for (const uint16_t v : values) {
    out.push_back(static_cast<uint8_t>(big ? v >> 8 : v));
    out.push_back(static_cast<uint8_t>(big ? v : v >> 8));
  }
  return out;
}

Bytes payload_of(const Grid& grid) {
  Bytes out{grid.cell_w, grid.cell_h};
  for (const uint16_t offset : grid.offsets) {
    out.push_back(static_cast<uint8_t>(offset));
    out.push_back(static_cast<uint8_t>(offset >> 8));
  }
  return out;
}

Bytes cells_msg(const Window& box, const Bytes& payload) {
  return rect_msg(box.x, box.y, box.w, box.h, kEncodingCells, payload);
}

// Frame 1 draws and keeps the glyphs; frame 2 is open for the RECT under test.
Bytes start(bool big = true) {
  return cat({accept_msg(big ? 1 : 0, kMask, kMaxBody), begin_msg(1), msg(kMsgKeep, Bytes{kKeepAt & 0xFF, kKeepAt >> 8}),
              rect_msg(0, 0, kGlyphsW, kGlyphsH, kEncodingRaw, pixels_in(glyphs(), big)), end_msg(1), begin_msg(2)});
}

// What the cache holds after start().
std::vector<uint16_t> cache_model() {
  std::vector<uint16_t> cache(kCachePixels, kUnkept);
  const std::vector<uint16_t> kept = glyphs();
  std::copy(kept.begin(), kept.end(), cache.begin() + kKeepAt);
  return cache;
}

// What CELLS must draw, the plain way: each box pixel from its cell's offset.
std::vector<uint16_t> drawn(std::vector<uint16_t> fb, uint16_t width, const Window& box, const Grid& grid) {
  const std::vector<uint16_t> cache = cache_model();
  const size_t columns = box.w / grid.cell_w;
  for (size_t y = 0; y < box.h; ++y) {
    for (size_t x = 0; x < box.w; ++x) {
      const size_t offset = grid.offsets[(y / grid.cell_h) * columns + x / grid.cell_w];
      fb[(box.y + y) * width + box.x + x] = cache[offset + (y % grid.cell_h) * grid.cell_w + x % grid.cell_w];
    }
  }
  return fb;
}

// Offsets spread over the glyphs, repeating, most not on a multiple of the cell's size.
Grid grid_over_glyphs(uint8_t cell_w, uint8_t cell_h, const Window& box) {
  Grid grid{cell_w, cell_h, {}};
  const uint32_t cells = (box.w / cell_w) * (box.h / cell_h);
  const uint32_t room = uint32_t{kGlyphsW} * kGlyphsH - uint32_t{cell_w} * cell_h + 1;  // offsets a cell fits at
  for (uint32_t i = 0; i < cells; ++i) grid.offsets.push_back(static_cast<uint16_t>(kKeepAt + (i * 37 + i / 3) % room));
  return grid;
}

// A board without read-back (CELLS must not read), with a block buffer of kMaxBody and the cache,
// neither zeroed, after start().
struct Board {
  Board(uint16_t w, uint16_t h, bool big = true, uint32_t strip = 0)
      : display(w, h, false), block(kMaxBody, 0xA5), cache(2 * kCachePixels, 0x5A), parser(display, config(strip)) {
    REQUIRE(feed_all(parser, start(big)).event != Event::failed);
    REQUIRE(parser.error() == Error::none);
    display.writes.clear();
    display.pushed = 0;
  }
  ParserConfig config(uint32_t strip) {
    ParserConfig c;
    c.max_body = kMaxBody;
    c.block = BlockBuffer{block.data(), block.size()};
    c.cache = BlockBuffer{cache.data(), cache.size()};
    c.copy_piece_pixels = strip;
    return c;
  }
  void feed(const Bytes& bytes, size_t piece = 0) { feed_in_pieces(parser, bytes, piece); }
  TracingDisplay display;
  std::vector<uint8_t> block, cache;  // before the parser, which is given their addresses
  StreamParser parser;
};

// One CELLS RECT on a fresh 80x48 board; checks it against the plain model, each pixel pushed once.
void check_cells(const Window& box, const Grid& grid, bool big = true, uint32_t strip = 0, size_t piece = 0) {
  Board board(80, 48, big, strip);
  const std::vector<uint16_t> before = board.display.pixels();
  board.feed(cat({cells_msg(box, payload_of(grid)), end_msg(2)}), piece);
  CHECK(board.parser.error() == Error::none);
  CHECK(board.parser.last_frame().rects == 1);
  CHECK(board.display.pixels() == drawn(before, 80, box, grid));
  CHECK(board.display.pushed == uint32_t{box.w} * box.h);
  CHECK(board.display.violations() == 0);  // no window outside, no read
}

// The error of a payload on a 16x8 box at (2, 20) (4x4 cells: 8 of them), whole and byte by byte;
// nothing drawn.
void check_error(const Bytes& payload, Error want) {
  for (const size_t piece : {size_t{0}, size_t{1}}) {
    CAPTURE(piece);
    Board board(80, 48);
    const std::vector<uint16_t> before = board.display.pixels();
    board.feed(cells_msg(Window{2, 20, 16, 8}, payload), piece);
    CHECK(board.parser.error() == want);
    CHECK(board.display.pixels() == before);
    CHECK(board.display.writes.empty());
  }
}

Grid four_by_four(std::vector<uint16_t> offsets) { return Grid{4, 4, std::move(offsets)}; }

}  // namespace

TEST_CASE("CELLS draws each cell from the pixels a KEEP stored, in both byte orders, however split") {
  for (const bool big : {true, false}) {
    CAPTURE(big);
    const Window box{3, 16, 48, 32};
    for (const size_t piece : {size_t{0}, size_t{1}, size_t{7}}) {
      CAPTURE(piece);
      check_cells(box, grid_over_glyphs(8, 16, box), big, 0, piece);  // taller than wide, as a terminal's
    }
    check_cells(box, grid_over_glyphs(16, 8, box), big);
    check_cells(Window{10, 20, 30, 24}, grid_over_glyphs(5, 3, Window{10, 20, 30, 24}), big);
  }
}

TEST_CASE("1x1 cells pick single pixels, the cache's first and last among them") {
  const Window box{7, 30, 5, 3};
  Grid grid = grid_over_glyphs(1, 1, box);
  grid.offsets.front() = 0;
  grid.offsets.back() = kCachePixels - 1;
  for (const bool big : {true, false}) check_cells(box, grid, big);
}

TEST_CASE("one cell as large as the box, up to the whole cache") {
  check_cells(Window{20, 17, 40, 20}, Grid{40, 20, {kKeepAt + 3}});
  check_cells(Window{0, 47, 80, 1}, Grid{80, 1, {kKeepAt + 1024 - 80}});  // ends at the glyphs' last pixel
  // 128x128 = the whole cache, drawn from offset 0 (half of it never kept).
  Board board(128, 128);
  const std::vector<uint16_t> before = board.display.pixels();
  const Grid whole{128, 128, {0}};
  board.feed(cat({cells_msg(Window{0, 0, 128, 128}, payload_of(whole)), end_msg(2)}));
  CHECK(board.parser.error() == Error::none);
  CHECK(board.display.pixels() == drawn(before, 128, Window{0, 0, 128, 128}, whole));
}

TEST_CASE("CELLS goes through strips of any size: whole rows in one window when a row fits") {
  const Window box{3, 16, 48, 32};  // 1,536 pixels, more than the 256-pixel strip
  const Grid grid = grid_over_glyphs(8, 16, box);
  for (const uint32_t strip : {1u, 2u, 7u, 8u, 47u, 48u, 49u, 100u, 0u}) {
    CAPTURE(strip);
    check_cells(box, grid, true, strip);
    check_cells(box, grid, false, strip, 5);
    const uint32_t limit = strip == 0 ? RectCopier::kStripPixels : strip;
    Board board(80, 48, true, strip);
    board.feed(cells_msg(box, payload_of(grid)));
    REQUIRE(board.parser.error() == Error::none);
    uint32_t covered = 0;
    for (const Window& w : board.display.writes) {
      CHECK(uint32_t{w.w} * w.h <= limit);
      CHECK((w.x >= box.x && w.y >= box.y && w.x + w.w <= box.x + box.w && w.y + w.h <= box.y + box.h));
      if (box.w <= limit) CHECK(w.w == box.w);
      covered += uint32_t{w.w} * w.h;
    }
    CHECK(covered == uint32_t{box.w} * box.h);
    if (box.w <= limit) CHECK(board.display.writes.size() == (box.h + limit / box.w - 1) / (limit / box.w));
  }
}

TEST_CASE("CELLS on rows wider than the strip: a 320-wide terminal line") {
  Board board(320, 32);
  const Window box{0, 16, 320, 16};
  const Grid grid = grid_over_glyphs(8, 16, box);
  const std::vector<uint16_t> before = board.display.pixels();
  board.feed(cells_msg(box, payload_of(grid)));
  REQUIRE(board.parser.error() == Error::none);
  CHECK(board.display.pixels() == drawn(before, 320, box, grid));
  CHECK(board.display.pushed == 320u * 16);
}

TEST_CASE("a CELLS RECT is drawn only once its last byte is in, then at once") {
  Board board(80, 48);
  const std::vector<uint16_t> before = board.display.pixels();
  const Window box{0, 16, 80, 32};
  const Grid grid = grid_over_glyphs(8, 16, box);
  const Bytes rect = cells_msg(box, payload_of(grid));
  for (size_t i = 0; i + 1 < rect.size(); ++i) {
    CHECK(board.parser.feed(&rect[i], 1).consumed == 1);
    REQUIRE(board.parser.error() == Error::none);
  }
  CHECK(board.display.writes.empty());
  CHECK(board.parser.incomplete());
  CHECK(board.parser.feed(&rect.back(), 1).consumed == 1);
  CHECK_FALSE(board.parser.incomplete());
  CHECK(board.display.pixels() == drawn(before, 80, box, grid));
}

TEST_CASE("cells_bad_grid: no cell size, a side of 0, a side that does not divide the box's") {
  const Bytes eight_offsets = payload_of(four_by_four(std::vector<uint16_t>(8, kKeepAt)));
  const auto with_size = [&](uint8_t w, uint8_t h) {
    Bytes payload = eight_offsets;
    payload[0] = w;
    payload[1] = h;
    return payload;
  };
  check_error(Bytes{}, Error::cells_bad_grid);
  check_error(Bytes{4}, Error::cells_bad_grid);
  check_error(with_size(0, 4), Error::cells_bad_grid);
  check_error(with_size(4, 0), Error::cells_bad_grid);
  check_error(with_size(3, 4), Error::cells_bad_grid);   // 16 % 3
  check_error(with_size(4, 3), Error::cells_bad_grid);   // 8 % 3
  check_error(with_size(32, 8), Error::cells_bad_grid);  // wider than the box
  check_error(Bytes{0, 0}, Error::cells_bad_grid);
  // The grid comes first: a bad one with the wrong number of offsets too.
  check_error(Bytes{0, 4, 1, 2, 3}, Error::cells_bad_grid);
}

TEST_CASE("cells_size_mismatch: not exactly one offset per cell") {
  check_error(Bytes{4, 4}, Error::cells_size_mismatch);
  check_error(payload_of(four_by_four(std::vector<uint16_t>(7, kKeepAt))), Error::cells_size_mismatch);
  check_error(payload_of(four_by_four(std::vector<uint16_t>(9, kKeepAt))), Error::cells_size_mismatch);
  check_error(cat({payload_of(four_by_four(std::vector<uint16_t>(8, kKeepAt))), Bytes{0}}), Error::cells_size_mismatch);
  // 1x1 cells: 128 offsets for the 16x8 box, not 8.
  check_error(payload_of(Grid{1, 1, std::vector<uint16_t>(8, kKeepAt)}), Error::cells_size_mismatch);
  // The size comes before the offsets: a cell past the cache and an offset too many.
  check_error(payload_of(four_by_four(std::vector<uint16_t>(9, 0xFFFF))), Error::cells_size_mismatch);
}

TEST_CASE("cells_overflow: any cell past the cache's end; a cell ending at its last pixel is fine") {
  constexpr uint16_t kLastFit = kCachePixels - 16;  // a 4x4 cell from there ends at the last pixel
  std::vector<uint16_t> offsets(8, kKeepAt);
  offsets.back() = kLastFit + 1;
  check_error(payload_of(four_by_four(offsets)), Error::cells_overflow);
  offsets.back() = kKeepAt;
  offsets.front() = 0xFFFF;
  check_error(payload_of(four_by_four(offsets)), Error::cells_overflow);
  offsets.front() = kCachePixels;
  check_error(payload_of(four_by_four(offsets)), Error::cells_overflow);
  // A cell larger than the cache (160x128 = 20,480 pixels) overflows from offset 0.
  Board large(160, 128);
  large.feed(cells_msg(Window{0, 0, 160, 128}, payload_of(Grid{160, 128, {0}})));
  CHECK(large.parser.error() == Error::cells_overflow);
  CHECK(large.display.writes.empty());
  // The last cell ending at the cache's last pixel is drawn.
  offsets.front() = kKeepAt;
  offsets.back() = kLastFit;
  check_cells(Window{2, 20, 16, 8}, four_by_four(offsets));
}

TEST_CASE("a CELLS payload is bounded by max_body like any body") {
  Board board(80, 48);
  // 1x1 cells over a 64x32 box: 2 + 4,096 bytes, past max_body - 9.
  board.feed(cells_msg(Window{0, 16, 64, 32}, payload_of(Grid{1, 1, std::vector<uint16_t>(64 * 32, kKeepAt)})));
  CHECK(board.parser.error() == Error::oversized);
  CHECK(board.display.writes.empty());
  // The largest that fits: 2,042 cells, 4,086 bytes + the RECT header's 9 = 4,095.
  Board fits(2042, 16);
  fits.feed(cells_msg(Window{0, 0, 2042, 1}, payload_of(Grid{1, 1, std::vector<uint16_t>(2042, kKeepAt + 5)})));
  CHECK(fits.parser.error() == Error::none);
  CHECK(fits.display.pixel(2041, 0) == glyphs()[5]);
}

TEST_CASE("a CELLS RECT after a KEEP is keep_bad_encoding") {
  Board board(80, 48);
  board.feed(cat({msg(kMsgKeep, Bytes{0, 0}), cells_msg(Window{0, 0, 4, 4}, payload_of(Grid{4, 4, {kKeepAt}}))}));
  CHECK(board.parser.error() == Error::keep_bad_encoding);
  CHECK(board.display.writes.empty());
}

TEST_CASE("CELLS is offered only with the cache, CACHED and the block buffer, and refused without") {
  std::vector<uint8_t> block(256), cache(2 * kCachePixels);
  const BlockBuffer with_block{block.data(), 256}, short_block{block.data(), 255};
  const BlockBuffer with_cache{cache.data(), cache.size()}, short_cache{cache.data(), cache.size() - 1};
  host::FramebufferDisplay blind(4, 3, false);
  const auto offers = [&](uint16_t mask, const BlockBuffer& b, const BlockBuffer& c) {
    return (encodings_for(blind, mask, b, 256, c) & kMaskCells) != 0;
  };
  CHECK(offers(kMaskImplemented, with_block, with_cache));  // no read-back needed
  CHECK(offers(kMaskRaw | kMaskCached | kMaskCells, with_block, with_cache));
  CHECK_FALSE(offers(kMaskRaw | kMaskCells, with_block, with_cache));  // not without CACHED
  CHECK_FALSE(offers(kMaskImplemented, short_block, with_cache));
  CHECK_FALSE(offers(kMaskImplemented, BlockBuffer{nullptr, 256}, with_cache));
  CHECK_FALSE(offers(kMaskImplemented, with_block, short_cache));
  CHECK_FALSE(offers(kMaskImplemented, with_block, BlockBuffer{}));

  // An ACCEPT with it is refused without either half.
  for (const bool has_block : {false, true}) {
    CAPTURE(has_block);
    ParserConfig config;
    config.max_body = 256;
    config.block = has_block ? with_block : BlockBuffer{};
    config.cache = has_block ? BlockBuffer{} : with_cache;
    StreamParser parser(blind, config);
    CHECK(feed_all(parser, accept_msg(1, kMaskRaw | kMaskCached | kMaskCells, 256)).event == Event::failed);
    CHECK(parser.error() == Error::bad_encodings);
  }
  // Chosen without CACHED, where its cells live: refused too.
  {
    Board board(80, 48);
    StreamParser parser(board.display, board.config(0));
    CHECK(feed_all(parser, accept_msg(1, kMaskRaw | kMaskCells, kMaxBody)).event == Event::failed);
    CHECK(parser.error() == Error::bad_encodings);
  }
  // Not accepted: a CELLS RECT is unknown_encoding.
  Board board(80, 48);
  StreamParser parser(board.display, board.config(0));
  feed_all(parser, cat({accept_msg(1, kMaskRaw | kMaskCached, kMaxBody), begin_msg(1),
                        cells_msg(Window{0, 0, 4, 4}, payload_of(Grid{4, 4, {0}}))}));
  CHECK(parser.error() == Error::unknown_encoding);
}

TEST_CASE("a board says CELLS in its HELLO only with the block buffer and the cache, and draws it") {
  host::FakeJitter jitter;
  std::vector<uint8_t> block(1024), cache(2 * kCachePixels);
  for (const bool with_block : {false, true}) {
    for (const bool with_cache : {false, true}) {
      CAPTURE(with_block);
      CAPTURE(with_cache);
      host::FakeNetwork net;
      host::FramebufferDisplay display(40, 20, false);
      ConnectionConfig config = desk_config(40, 20, 1024, with_block ? &block : nullptr);
      if (with_cache) config.cache = BlockBuffer{cache.data(), cache.size()};
      Connection connection(net, display, jitter, config);
      connection.poll(1000);
      connection.poll(1000);
      const bool offered = (offered_encodings(net.outbox) & kMaskCells) != 0;
      CHECK(offered == (with_block && with_cache));
      // Two pixels kept at 7, then a 4x1 box of two 2x1 cells: the second one swapped.
      net.server_sends(cat({accept_msg(1, kMaskRaw | kMaskCached | kMaskCells, 1024), begin_msg(5),
                            msg(kMsgKeep, Bytes{7, 0}), rect_msg(0, 0, 2, 1, 0, be_pixels({0xF800, 0x001F})),
                            msg(kMsgKeep, Bytes{9, 0}), rect_msg(0, 1, 2, 1, 0, be_pixels({0x001F, 0xF800})),
                            cells_msg(Window{0, 2, 4, 1}, payload_of(Grid{2, 1, {7, 9}})), end_msg(5)}));
      connection.poll(1000);
      connection.poll(1000);
      if (offered) {
        CHECK(connection.state() == State::streaming);
        CHECK(connection.frames() == 1);
        const uint16_t row[] = {0xF800, 0x001F, 0x001F, 0xF800};
        for (uint16_t x = 0; x < 4; ++x) CHECK(display.pixel(x, 2) == row[x]);
      } else {
        CHECK(connection.last_error() == Error::bad_encodings);
      }
      CHECK(display.violations() == 0);
    }
  }
}
