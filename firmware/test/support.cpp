#include "support.h"

#include <algorithm>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace tft::test {

ConnectionConfig desk_config(uint16_t width, uint16_t height, uint16_t max_body, std::vector<uint8_t>* block) {
  ConnectionConfig config;
  config.hello.width = width;
  config.hello.height = height;
  config.hello.encodings = kMaskImplemented;
  config.hello.max_body = max_body;
  config.hello.display = "desk";
  if (block != nullptr) config.block = BlockBuffer{block->data(), block->size()};
  return config;
}

uint16_t offered_encodings(const std::vector<uint8_t>& sent) {
  if (sent.size() < 14) throw std::runtime_error("no HELLO sent");  // header 3, magic 4, version, w, h, mask
  return read_u16le(sent.data() + 12);
}

namespace {

nlohmann::json read_json(const std::string& file) {
  const std::string path = std::string(TFT_VECTORS_DIR) + "/" + file;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  return nlohmann::json::parse(in);
}

std::vector<uint16_t> parse_rows(const nlohmann::json& rows) {
  std::vector<uint16_t> out;
  for (const auto& row : rows) {
    std::istringstream words(row.get<std::string>());
    std::string word;
    while (words >> word) out.push_back(static_cast<uint16_t>(std::stoul(word, nullptr, 16)));
  }
  return out;
}

uint16_t mask_of(const nlohmann::json& names) {
  uint16_t mask = 0;
  for (const auto& name : names) {
    mask |= name == "RAW" ? 1 : name == "RUNS" ? 2 : name == "COPY" ? 4 : name == "LZ4" ? 8 : 0x8000;
  }
  return mask;
}

}  // namespace

Bytes from_hex(const std::string& hex) {
  Bytes out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  return out;
}

std::string to_hex(const Bytes& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

const std::vector<DeviceVector>& device_vectors() {
  static const std::vector<DeviceVector> vectors = [] {
    std::vector<DeviceVector> out;
    for (const auto& j : read_json("device_stream.json")) {
      DeviceVector v;
      v.name = j.at("name");
      v.width = j.at("width");
      v.height = j.at("height");
      v.max_body = j.at("max_body");
      v.encodings = j.at("encodings");
      v.stream = from_hex(j.at("hex"));
      if (j.contains("error")) {
        v.error = j.at("error").get<std::string>();
      } else {
        const auto& d = j.at("decoded");
        v.framebuffer = parse_rows(d.at("framebuffer"));
        v.acks = d.at("acks").get<std::vector<uint32_t>>();
        if (!d.at("rejected").is_null()) v.rejected = d.at("rejected").get<std::string>();
      }
      out.push_back(v);
    }
    return out;
  }();
  return vectors;
}

const std::vector<HelloVector>& hello_vectors() {
  static const std::vector<HelloVector> vectors = [] {
    std::vector<HelloVector> out;
    for (const auto& j : read_json("hello.json")) {
      HelloVector v;
      v.name = j.at("name");
      v.message = from_hex(j.at("hex"));
      if (j.contains("error")) {
        v.error = j.at("error").get<std::string>();
      } else {
        const auto& d = j.at("decoded");
        v.width = d.at("width");
        v.height = d.at("height");
        v.max_body = d.at("max_body");
        v.encodings = mask_of(d.at("encodings"));
        v.display = d.at("display");
        v.firmware = d.at("firmware");
        v.token = d.at("token");
      }
      out.push_back(v);
    }
    return out;
  }();
  return vectors;
}

Splitter whole() {
  return [](size_t left) { return left; };
}

Splitter one_byte() {
  return [](size_t) { return size_t{1}; };
}

Splitter random_pieces(uint32_t seed, size_t max_piece) {
  auto rng = std::make_shared<std::mt19937>(seed);
  return [rng, max_piece](size_t) { return std::uniform_int_distribution<size_t>(1, max_piece)(*rng); };
}

Outcome run_stream(uint16_t width, uint16_t height, uint16_t max_body, uint16_t encodings, const Bytes& stream,
                   const Splitter& split) {
  host::FramebufferDisplay display(width, height);
  ParserConfig config;
  config.encodings = encodings;
  config.max_body = max_body;
  // LZ4's buffer, as a board gives it: max_body bytes exactly (ASan sees a byte past it), and not
  // zeroed (a byte read before it is written shows as a wrong pixel).
  std::vector<uint8_t> block(max_body, 0xA5);
  config.block = BlockBuffer{block.data(), block.size()};
  std::vector<uint8_t> cache(2 * kCachePixels, 0xA5);  // the bitmap cache, not zeroed either
  config.cache = BlockBuffer{cache.data(), cache.size()};
  StreamParser parser(display, config);
  Outcome o;
  size_t pos = 0;
  bool stopped = false;
  while (pos < stream.size() && !stopped) {
    size_t piece = split(stream.size() - pos);
    if (piece > stream.size() - pos) piece = stream.size() - pos;
    size_t used = 0;
    while (used < piece && !stopped) {
      const FeedResult r = parser.feed(stream.data() + pos + used, piece - used);
      used += r.consumed;
      if (r.event == Event::frame_end) o.acks.push_back(parser.last_frame().seq);
      stopped = r.event == Event::failed || parser.rejected() || parser.error() != Error::none;
      if (r.consumed == 0 && !stopped) {
        o.stalled = true;
        stopped = true;
      }
    }
    pos += piece;
  }
  o.error = parser.error();
  o.rejected = parser.rejected();
  o.reason.assign(parser.reject_reason(), parser.reject_reason_size());
  o.framebuffer = display.pixels();
  o.violations = display.violations();
  o.incomplete = parser.incomplete();
  return o;
}

Outcome run_vector(const DeviceVector& v, const Bytes& stream, const Splitter& split) {
  return run_stream(v.width, v.height, v.max_body, v.encodings, stream, split);
}

Bytes msg(uint8_t type, const Bytes& body) {
  Bytes out{type, static_cast<uint8_t>(body.size()), static_cast<uint8_t>(body.size() >> 8)};
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

namespace {
void u16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v));
  b.push_back(static_cast<uint8_t>(v >> 8));
}
void u32(Bytes& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
}  // namespace

Bytes accept_msg(uint8_t flags, uint16_t mask, uint16_t max_body, uint16_t keepalive_ms, uint16_t timeout_ms) {
  Bytes body{1, flags};
  u16(body, mask);
  u16(body, max_body);
  u16(body, keepalive_ms);
  u16(body, timeout_ms);
  return msg(0x10, body);
}

Bytes begin_msg(uint32_t seq) {
  Bytes body;
  u32(body, seq);
  return msg(0x20, body);
}

Bytes end_msg(uint32_t seq) {
  Bytes body;
  u32(body, seq);
  return msg(0x22, body);
}

Bytes rect_msg(uint16_t x, uint16_t y, uint16_t w, uint16_t h, uint8_t encoding, const Bytes& payload) {
  Bytes body;
  u16(body, x);
  u16(body, y);
  u16(body, w);
  u16(body, h);
  body.push_back(encoding);
  body.insert(body.end(), payload.begin(), payload.end());
  return msg(0x21, body);
}

Bytes be_pixels(const std::vector<uint16_t>& values) {
  Bytes out;
  for (uint16_t v : values) {
    out.push_back(static_cast<uint8_t>(v >> 8));
    out.push_back(static_cast<uint8_t>(v));
  }
  return out;
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

FeedResult feed_all(StreamParser& parser, const Bytes& bytes) {
  size_t used = 0;
  FeedResult r{0, Event::none};
  while (used < bytes.size()) {
    r = parser.feed(bytes.data() + used, bytes.size() - used);
    used += r.consumed;
    if (r.event == Event::failed || r.consumed == 0) break;
  }
  return r;
}

void feed_in_pieces(StreamParser& parser, const Bytes& bytes, size_t piece) {
  for (size_t pos = 0; pos < bytes.size();) {
    const size_t n = piece == 0 || piece > bytes.size() - pos ? bytes.size() - pos : piece;
    const FeedResult r = feed_all(parser, Bytes(bytes.begin() + static_cast<std::ptrdiff_t>(pos),
                                                 bytes.begin() + static_cast<std::ptrdiff_t>(pos + n)));
    if (r.event == Event::failed) return;
    pos += n;
  }
}

namespace {

ParserConfig buffered_config(std::vector<uint8_t>& block, uint16_t max_body, uint16_t encodings) {
  ParserConfig config;
  config.encodings = encodings;
  config.max_body = max_body;
  config.block = BlockBuffer{block.data(), block.size()};
  return config;
}

}  // namespace

BufferedParser::BufferedParser(Display& display, uint16_t max_body, uint16_t encodings)
    : block(max_body, 0xA5), parser(display, buffered_config(block, max_body, encodings)) {}

Lz4Plain lz4_plain(const Bytes& payload, size_t size) {
  Lz4Plain r{"none", {}};
  Bytes& out = r.bytes;
  size_t pos = 0;
  // A nibble, then while it is 15 the next byte added (15 again if that byte is 255).
  const auto count = [&](size_t nibble, size_t& total) {
    total = nibble;
    while (nibble == 15) {
      if (pos >= payload.size()) return false;
      nibble = payload[pos++];
      total += nibble;
      nibble = nibble == 255 ? 15 : 0;
    }
    return true;
  };
  const auto fail = [&](const char* code) {
    r.error = code;
    return r;
  };
  while (pos < payload.size()) {
    const uint8_t token = payload[pos++];
    size_t literals = 0;
    if (!count(token >> 4, literals)) return fail("lz4_truncated");
    if (out.size() + literals > size) return fail("lz4_overflow");
    const size_t here = std::min(literals, payload.size() - pos);
    out.insert(out.end(), payload.begin() + static_cast<std::ptrdiff_t>(pos),
               payload.begin() + static_cast<std::ptrdiff_t>(pos + here));
    pos += here;
    if (here < literals) return fail("lz4_truncated");
    if (pos == payload.size()) break;
    if (pos + 2 > payload.size()) return fail("lz4_truncated");
    const size_t offset = payload[pos] | payload[pos + 1] << 8;
    pos += 2;
    if (offset == 0 || offset > out.size()) return fail("lz4_bad_offset");
    size_t length = 0;
    if (!count(token & 15, length)) return fail("lz4_truncated");
    length += 4;
    if (out.size() + length > size) return fail("lz4_overflow");
    for (size_t i = 0; i < length; ++i) out.push_back(out[out.size() - offset]);  // byte by byte: overlap repeats
  }
  return out.size() != size ? fail("lz4_short") : r;
}

}  // namespace tft::test
