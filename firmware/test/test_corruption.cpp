// Targeted corruptions: each byte of each vector flipped in turn (all bits, lowest bit, highest
// bit). Whatever comes out, the parser must not crash (ASan/UBSan watch), never draw outside the
// display, never stall, and reach the same result however the bytes are split.
#include <doctest/doctest.h>

#include <string>

#include "support.h"

using namespace tft;
using namespace tft::test;

TEST_CASE("flipping any byte of any vector errors or draws in bounds, the same in any pieces") {
  size_t streams = 0, errors = 0;
  for (const auto& v : device_vectors()) {
    CAPTURE(v.name);
    for (size_t i = 0; i < v.stream.size(); ++i) {
      for (uint8_t flip : {uint8_t{0xFF}, uint8_t{0x01}, uint8_t{0x80}}) {
        Bytes bad = v.stream;
        bad[i] ^= flip;
        CAPTURE(i);
        CAPTURE(int(flip));
        const Outcome at_once = run_vector(v, bad, whole());
        const Outcome bytewise = run_vector(v, bad, one_byte());
        const Outcome pieces = run_vector(v, bad, random_pieces(static_cast<uint32_t>(i * 7 + flip), 5));
        CHECK(at_once.violations == 0);
        CHECK_FALSE(at_once.stalled);
        CHECK_FALSE(bytewise.stalled);
        CHECK(at_once == bytewise);
        CHECK(at_once == pieces);
        CHECK(std::string(to_str(at_once.error)) != "?");
        ++streams;
        errors += at_once.error != Error::none;
      }
    }
  }
  MESSAGE(streams << " corrupted streams, " << errors << " rejected with an error");
  CHECK(errors > 0);
}

TEST_CASE("random garbage after a valid ACCEPT never draws out of bounds") {
  uint32_t state = 12345;
  for (int round = 0; round < 2000; ++round) {
    Bytes stream = accept_msg();
    const size_t extra = 1 + round % 64;
    for (size_t i = 0; i < extra; ++i) {
      state = state * 1103515245u + 12345u;
      stream.push_back(static_cast<uint8_t>(state >> 16));
    }
    // Give the garbage a plausible start half of the time so it reaches the RECT checks.
    if (round % 2 == 0) stream.insert(stream.begin() + 13, {0x20, 4, 0, 1, 0, 0, 0, 0x21});
    const Outcome o = run_stream(4, 3, 256, 3, stream, one_byte());
    CHECK(o.violations == 0);
    CHECK_FALSE(o.stalled);
  }
}
