// The bitmap cache (KEEP, CACHED) beyond the shared vectors: when a board offers it, that what a
// KEEP stores is exactly what was drawn, and that a CACHED RECT goes through the usual row windows.
#include <doctest/doctest.h>

#include <vector>

#include "support.h"

using namespace tft;
using namespace tft::test;

namespace {

constexpr uint16_t kCachedMask = kMaskRaw | kMaskRuns | kMaskCached;

Bytes le16(uint16_t v) { return {static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8)}; }

Bytes keep_msg(uint16_t offset) { return msg(kMsgKeep, le16(offset)); }

Bytes cached_msg(uint16_t x, uint16_t y, uint16_t w, uint16_t h, uint16_t offset) {
  return rect_msg(x, y, w, h, kEncodingCached, le16(offset));
}

// A RUNS entry: count - 1, then the pixel in the wire order.
Bytes run(uint8_t count, uint16_t pixel, bool big) {
  return big ? Bytes{static_cast<uint8_t>(count - 1), static_cast<uint8_t>(pixel >> 8), static_cast<uint8_t>(pixel)}
             : Bytes{static_cast<uint8_t>(count - 1), static_cast<uint8_t>(pixel), static_cast<uint8_t>(pixel >> 8)};
}

}  // namespace

TEST_CASE("CACHED is offered only with a cache of 2 * kCachePixels bytes, and refused without") {
  host::FramebufferDisplay display(4, 3);
  std::vector<uint8_t> cache(2 * kCachePixels);
  CHECK((encodings_for(display, kMaskImplemented) & kMaskCached) == 0);
  CHECK((encodings_for(display, kMaskImplemented, {}, 0, BlockBuffer{cache.data(), cache.size() - 1}) & kMaskCached) == 0);
  CHECK((encodings_for(display, kMaskImplemented, {}, 0, BlockBuffer{nullptr, cache.size()}) & kMaskCached) == 0);
  CHECK((encodings_for(display, kMaskImplemented, {}, 0, BlockBuffer{cache.data(), cache.size()}) & kMaskCached) != 0);

  StreamParser without(display, ParserConfig{});  // no cache: ACCEPT naming CACHED is refused
  CHECK(feed_all(without, accept_msg(1, kCachedMask)).event == Event::failed);
  CHECK(without.error() == Error::bad_encodings);
}

TEST_CASE("a KEEP stores the RECT's pixels in wire order, runs and pieces alike, and CACHED draws them in row windows") {
  for (const bool big : {true, false}) {
    CAPTURE(big);
    TracingDisplay display(8, 4);
    std::vector<uint8_t> cache(2 * kCachePixels, 0xA5);
    ParserConfig config;
    config.cache = BlockBuffer{cache.data(), cache.size()};
    StreamParser parser(display, config);
    const Bytes runs = cat({run(5, 0x1234, big), run(3, 0xABCD, big)});  // 2 rows of 4
    const Bytes stream = cat({accept_msg(big ? 1 : 0, kCachedMask), begin_msg(1), keep_msg(9),
                              rect_msg(0, 0, 4, 2, kEncodingRuns, runs), cached_msg(2, 1, 6, 1, 10), end_msg(1)});
    for (size_t i = 0; i < stream.size(); ++i) REQUIRE(parser.feed(stream.data() + i, 1).event != Event::failed);
    REQUIRE(parser.error() == Error::none);
    const uint8_t hi = big ? 0x12 : 0x34, lo = big ? 0x34 : 0x12;
    CHECK(cache[18] == hi);
    CHECK(cache[19] == lo);
    CHECK(cache[2 * 9 + 2 * 5] == (big ? 0xAB : 0xCD));
    CHECK(cache[2 * 17] == 0xA5);  // nothing past the RECT's 8 pixels
    // The CACHED RECT: pixels 10..15 of the cache = 4 of 0x1234 then 2 of 0xABCD, in one window.
    const uint16_t expected[] = {0x1234, 0x1234, 0x1234, 0x1234, 0xABCD, 0xABCD};
    for (uint16_t x = 2; x < 8; ++x) CHECK(display.pixel(x, 1) == expected[x - 2]);
    REQUIRE(!display.writes.empty());
    CHECK(display.writes.back().x == 2);
    CHECK(display.writes.back().w == 6);
  }
}
