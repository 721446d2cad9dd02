// Every shared vector of tests/vectors/device_stream.json, fed whole, one byte at a time and in
// random pieces: same framebuffer, ACKs and REJECT reason as the Python reference, or the same
// error code by name.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "support.h"

using namespace tft;
using namespace tft::test;

namespace {

void check_against_vector(const DeviceVector& v, const Outcome& o) {
  CHECK_FALSE(o.stalled);
  CHECK(o.violations == 0);
  if (v.error) {
    CHECK(std::string(to_str(o.error)) == *v.error);
    return;
  }
  CHECK(o.error == Error::none);
  CHECK(o.framebuffer == v.framebuffer);
  CHECK(o.acks == v.acks);
  CHECK(o.rejected == v.rejected.has_value());
  if (v.rejected) CHECK(o.reason == *v.rejected);
  CHECK_FALSE(o.incomplete);
}

}  // namespace

TEST_CASE("the shared vectors are there and cover errors and pictures") {
  const auto& vectors = device_vectors();
  REQUIRE(vectors.size() >= 30);
  size_t errors = 0;
  for (const auto& v : vectors) errors += v.error.has_value();
  CHECK(errors > 10);
  CHECK(errors < vectors.size());
}

TEST_CASE("every vector fed whole matches the Python reference") {
  for (const auto& v : device_vectors()) {
    CAPTURE(v.name);
    check_against_vector(v, run_vector(v, v.stream, whole()));
  }
}

TEST_CASE("every vector fed one byte at a time matches the Python reference") {
  for (const auto& v : device_vectors()) {
    CAPTURE(v.name);
    check_against_vector(v, run_vector(v, v.stream, one_byte()));
  }
}

TEST_CASE("every vector fed in random pieces matches the Python reference") {
  for (const auto& v : device_vectors()) {
    for (uint32_t seed = 1; seed <= 25; ++seed) {
      CAPTURE(v.name);
      CAPTURE(seed);
      check_against_vector(v, run_vector(v, v.stream, random_pieces(seed, 1 + seed % 9)));
    }
  }
}

TEST_CASE("every vector cut in two at every byte matches the Python reference") {
  for (const auto& v : device_vectors()) {
    for (size_t cut = 1; cut < v.stream.size(); ++cut) {
      CAPTURE(v.name);
      CAPTURE(cut);
      size_t first = cut;
      check_against_vector(v, run_vector(v, v.stream, [&first](size_t left) {
                             const size_t n = first != 0 ? first : left;
                             first = 0;
                             return n;
                           }));
    }
  }
}

TEST_CASE("the COPY vectors are there, offered by a board that reads back") {
  size_t copies = 0, errors = 0;
  for (const auto& v : device_vectors()) {
    if (v.name.find("copy_") == std::string::npos) continue;
    CAPTURE(v.name);
    CHECK(v.encodings == 7);
    ++copies;
    errors += v.error.has_value();
  }
  CHECK(copies >= 16);
  CHECK(errors >= 7);
}

TEST_CASE("the LZ4 vectors are there, offered by a board with a block buffer") {
  size_t lz4 = 0, errors = 0;
  for (const auto& v : device_vectors()) {
    if (v.name.find("lz4_") == std::string::npos || v.name.find("cached") != std::string::npos) continue;
    CAPTURE(v.name);
    CHECK(v.encodings == (kMaskRaw | kMaskRuns | kMaskLz4));
    ++lz4;
    errors += v.error.has_value();
  }
  CHECK(lz4 >= 18);
  CHECK(errors >= 10);
}

TEST_CASE("the JPEG vectors are there, offered by a board with a block buffer") {
  size_t jpeg = 0, errors = 0;
  for (const auto& v : device_vectors()) {
    if (v.name.find("jpeg_") == std::string::npos) continue;
    CAPTURE(v.name);
    CHECK(v.encodings == (kMaskRaw | kMaskJpeg));
    ++jpeg;
    errors += v.error.has_value();
  }
  CHECK(jpeg >= 8);
  CHECK(errors >= 5);
}

TEST_CASE("the RECOLOR vectors are there, offered by a board that reads back and has a block buffer") {
  size_t recolor = 0, errors = 0;
  std::set<std::string> codes;
  for (const auto& v : device_vectors()) {
    if (v.name.find("recolor_") == std::string::npos) continue;
    CAPTURE(v.name);
    CHECK((v.encodings & (kMaskRaw | kMaskCopy | kMaskRecolor)) == (kMaskRaw | kMaskCopy | kMaskRecolor));
    ++recolor;
    errors += v.error.has_value();
    if (v.error) codes.insert(*v.error);
  }
  CHECK(recolor >= 20);
  CHECK(errors >= 10);
  for (const char* code : {"recolor_truncated", "recolor_unsorted", "recolor_overflow", "keep_bad_encoding"}) {
    CHECK_MESSAGE(codes.count(code) == 1, code);
  }
}

TEST_CASE("every Python error code of the vectors has the same name in the Error enum") {
  std::set<std::string> names;
  for (int e = static_cast<int>(Error::none); e <= static_cast<int>(Error::bad_size); ++e) {
    names.insert(to_str(static_cast<Error>(e)));
  }
  CHECK(names.size() == static_cast<size_t>(Error::bad_size) + 1);  // all distinct, none "?"
  CHECK(names.count("?") == 0);
  for (const auto& v : device_vectors()) {
    if (v.error) CHECK_MESSAGE(names.count(*v.error) == 1, *v.error);
  }
  for (const char* code : {"unknown_type", "oversized", "bad_length", "expected_accept", "bad_version", "bad_encodings",
                           "bad_buffer", "frame_open", "not_in_frame", "seq_mismatch", "rect_empty",
                           "rect_out_of_bounds", "unknown_encoding", "raw_size_mismatch", "runs_partial",
                           "runs_overflow", "runs_short", "copy_size_mismatch", "copy_out_of_bounds", "lz4_overflow",
                           "lz4_bad_offset", "lz4_truncated", "lz4_short", "jpeg_size_mismatch",
                           "jpeg_malformed", "recolor_truncated", "recolor_unsorted", "recolor_overflow"}) {
    CHECK_MESSAGE(names.count(code) == 1, code);
  }
}
