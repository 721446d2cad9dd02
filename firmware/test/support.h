// Test helpers: the shared vectors (tests/vectors/*.json, read at run time), a runner that feeds
// a stream to the parser in chosen pieces, and server messages spelled out byte by byte.
#pragma once

#include <stdint.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "connection.h"
#include "error.h"
#include "framebuffer_display.h"
#include "stream_parser.h"

namespace tft::test {

using Bytes = std::vector<uint8_t>;

Bytes from_hex(const std::string& hex);
std::string to_hex(const Bytes& bytes);

struct DeviceVector {
  std::string name;
  uint16_t width, height, max_body, encodings;
  Bytes stream;
  std::optional<std::string> error;  // set for "error" vectors
  std::vector<uint16_t> framebuffer;  // "decoded" vectors: row-major
  std::vector<uint32_t> acks;
  std::optional<std::string> rejected;
};

struct HelloVector {
  std::string name;
  Bytes message;
  std::optional<std::string> error;
  // decoded fields (valid vectors)
  uint16_t width = 0, height = 0, max_body = 0, encodings = 0;
  std::string display, firmware, token;
};

const std::vector<DeviceVector>& device_vectors();
const std::vector<HelloVector>& hello_vectors();

struct Outcome {
  Error error = Error::none;
  std::vector<uint32_t> acks;
  bool rejected = false;
  std::string reason;
  std::vector<uint16_t> framebuffer;
  uint32_t violations = 0;  // windows the parser tried to draw outside the display
  bool incomplete = false;
  bool stalled = false;     // feed() took nothing without stopping: would hang a board

  bool operator==(const Outcome& o) const {
    return error == o.error && acks == o.acks && rejected == o.rejected && reason == o.reason &&
           framebuffer == o.framebuffer && violations == o.violations;
  }
};

// Returns the size of the next piece given how many bytes are left.
using Splitter = std::function<size_t(size_t left)>;
Splitter whole();
Splitter one_byte();
Splitter random_pieces(uint32_t seed, size_t max_piece);

Outcome run_stream(uint16_t width, uint16_t height, uint16_t max_body, uint16_t encodings, const Bytes& stream,
                   const Splitter& split);
Outcome run_vector(const DeviceVector& v, const Bytes& stream, const Splitter& split);

// Server messages, built by hand (independently of the core).
Bytes msg(uint8_t type, const Bytes& body = {});
Bytes accept_msg(uint8_t flags = 1, uint16_t mask = 3, uint16_t max_body = 256, uint16_t keepalive_ms = 1000,
                 uint16_t timeout_ms = 4000);
Bytes begin_msg(uint32_t seq);
Bytes end_msg(uint32_t seq);
Bytes rect_msg(uint16_t x, uint16_t y, uint16_t w, uint16_t h, uint8_t encoding, const Bytes& payload);
Bytes be_pixels(const std::vector<uint16_t>& values);
Bytes cat(std::initializer_list<Bytes> parts);

// A framebuffer that remembers the windows read from and pushed to it, and the pixels pushed.
class TracingDisplay : public host::FramebufferDisplay {
 public:
  TracingDisplay(uint16_t w, uint16_t h, bool readable = true) : FramebufferDisplay(w, h, readable) {}
  void push_pixels(const Window& window, const uint8_t* pixels, PixelOrder order) override {
    writes.push_back(window);
    pushed += static_cast<uint32_t>(window.w) * window.h;
    FramebufferDisplay::push_pixels(window, pixels, order);
  }
  void read_pixels(const Window& window, uint8_t* pixels, PixelOrder order) override {
    reads.push_back(window);
    FramebufferDisplay::read_pixels(window, pixels, order);
  }
  std::vector<Window> reads, writes;
  uint32_t pushed = 0;
};

// Feeds all of `bytes`, calling again after each event, until they are used up or the parser fails
// (or stops consuming); the last call's result.
FeedResult feed_all(StreamParser& parser, const Bytes& bytes);

// Feeds `bytes` in pieces of `piece` bytes (0: whole), each with feed_all, stopping at an error.
void feed_in_pieces(StreamParser& parser, const Bytes& bytes, size_t piece);

// A parser with a block buffer as a board gives it: max_body bytes exactly, not zeroed (0xA5: a byte
// read before it is written shows as a wrong pixel).
struct BufferedParser {
  BufferedParser(Display& display, uint16_t max_body, uint16_t encodings);
  std::vector<uint8_t> block;  // before the parser, which is given its address
  StreamParser parser;
};

// A board "desk" of width x height that offers every encoding the core implements (the connection
// drops those its display or buffers cannot take) and announces max_body; `block`, if given, is its
// block buffer.
ConnectionConfig desk_config(uint16_t width, uint16_t height, uint16_t max_body, std::vector<uint8_t>* block = nullptr);

// The encodings in the HELLO a connection has sent (its first message, in `sent`).
uint16_t offered_encodings(const std::vector<uint8_t>& sent);

// LZ4 the plain way, a transcription of common/encodings.py decode_lz4 (independent of the core):
// `error` is "none" or the first error's code; `bytes` what stream order produced before it
// (a truncated run of literals included, as a streaming decoder has them).
struct Lz4Plain {
  std::string error;
  Bytes bytes;
};
Lz4Plain lz4_plain(const Bytes& payload, size_t size);

}  // namespace tft::test
