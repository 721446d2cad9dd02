// Incremental parser of the server -> board byte stream (protocol v1), drawing as it goes.
//
// Bytes may arrive in any pieces, down to one at a time. Checks run in the order of the Python
// reference (devices/reference_display.py BoardStream) and give the same Error for every shared
// vector: type, then length against the board's max_body, then ACCEPT-first, then the message's
// own checks. A RECT is fully validated (inside the display, accepted encoding, payload size)
// from its 9-byte header, before its first pixel is drawn; pixels then go straight to the display.
// A COPY RECT waits for its 4 payload bytes (the source box, checked then), and is then copied
// at once, inside the feed() call that brought its last byte. An LZ4 RECT decodes into the
// board's block buffer (matches reach back anywhere in the RECT) and is drawn from there as it
// decodes. A JPEG RECT is collected whole in the same buffer and decoded and drawn (16x16 MCU
// windows) inside the feed() call that brings its last byte: ~6 M instructions for 320x240, some
// 40-60 ms on an ESP32-C3, while Wi-Fi and lwIP go on receiving in their own task. A RECOLOR RECT
// is collected the same way, checked whole, then its box is read back, mapped and written back
// through COPY's strip in that same feed() call. A CELLS RECT too is collected and checked whole,
// then drawn from the bitmap cache through that strip in that call.
//
// One difference is inherent to streaming: an error the reference finds only once a whole body is
// buffered (RUNS that overflow or stop short, LZ4 sequences that overflow, point before the RECT
// or stop short), this parser finds when the offending run or sequence arrives.
// The code is the same, but what came before it is already drawn, and a stream cut inside a bad
// message may already report the error where the reference still says "incomplete".
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "cells_decoder.h"
#include "decoders.h"
#include "display.h"
#include "error.h"
#include "jpeg_decoder.h"
#include "lz4_decoder.h"
#include "protocol.h"
#include "rect_copier.h"
#include "recolor_decoder.h"
#include "rect_writer.h"
#include "rice_decoder.h"

namespace tft {

struct ParserConfig {
  uint16_t encodings = kMaskImplemented;  // the mask the board offered in HELLO
  uint16_t max_body = 0xFFFF;             // the largest body the board offered in HELLO
  // COPY's, RECOLOR's and CELLS' pieces (they share the strip): see RectCopier::set_piece_limit.
  uint32_t copy_piece_pixels = RectCopier::kStripPixels;
  // LZ4's, RICE's, JPEG's, RECOLOR's and CELLS': the board's storage, at least max_body bytes (else
  // none of them); outlives the parser.
  BlockBuffer block{};
  // The bitmap cache KEEP fills and CACHED and CELLS draw from: 2 * kCachePixels bytes (else neither),
  // kept across frames for the server, which alone decides what goes where; outlives the parser.
  BlockBuffer cache{};
};

// What a board may offer on `display`: `mask` without COPY and RECOLOR when the display cannot read
// back, without LZ4, RICE, JPEG, RECOLOR and CELLS unless `block` holds `max_body` bytes (an LZ4 or
// RICE RECT decodes to at most max_body - 9 bytes, a JPEG, RECOLOR or CELLS RECT carries at most that
// many). Without a `cache` of 2 * kCachePixels bytes, no CACHED, and no CELLS without CACHED (its
// cells are what KEEPs put in the cache). The board's HELLO and the parser both apply it, so the
// server never gets to choose them then.
inline uint16_t encodings_for(const Display& display, uint16_t mask, const BlockBuffer& block = BlockBuffer{},
                              uint16_t max_body = 0, const BlockBuffer& cache = BlockBuffer{}) {
  if (!display.can_read()) mask = static_cast<uint16_t>(mask & ~(kMaskCopy | kMaskRecolor));
  if (block.data == nullptr || block.size < max_body) {
    mask = static_cast<uint16_t>(mask & ~(kMaskLz4 | kMaskJpeg | kMaskRice | kMaskRecolor | kMaskCells));
  }
  if (cache.data == nullptr || cache.size < 2 * kCachePixels) mask = static_cast<uint16_t>(mask & ~kMaskCached);
  if ((mask & kMaskCached) == 0) mask = static_cast<uint16_t>(mask & ~kMaskCells);
  return mask;
}

enum class Event : uint8_t {
  none,       // all bytes used, nothing to report
  accepted,   // ACCEPT applied: accept() holds the server's choices
  rejected,   // REJECT: reject_reason() says why; the parser stops
  frame_end,  // FRAME_END: acknowledge last_frame().seq
  failed,     // protocol error: error() says which; the parser stops
};

struct FeedResult {
  size_t consumed;  // bytes used; less than given when an event ends the call early
  Event event;
};

struct FrameInfo {
  uint32_t seq;
  uint32_t rects;
  uint32_t bytes;  // of all messages from FRAME_BEGIN to FRAME_END
};

class StreamParser {
 public:
  // The display's size bounds every RECT; `config` is what the board said in its HELLO.
  StreamParser(Display& display, const ParserConfig& config);

  // Forget the connection: call before feeding a new one.
  void reset();

  // Applies bytes until they run out or an event happens; call again with the rest.
  // After `failed` or `rejected` it consumes nothing.
  FeedResult feed(const uint8_t* data, size_t size);

  Error error() const { return error_; }
  // Why the last JPEG RECT failed (jpeg_size_mismatch, jpeg_malformed), for logs; none otherwise.
  JpegError jpeg_error() const { return jpeg_error_; }
  bool accepted() const { return accepted_; }
  const Accept& accept() const { return accept_; }
  bool rejected() const { return rejected_; }
  // The REJECT body's first 200 bytes (cut at a UTF-8 boundary), NUL-terminated for the screen;
  // the size counts any NUL the server put inside.
  const char* reject_reason() const { return reason_; }
  uint16_t reject_reason_size() const { return reason_len_; }
  bool in_frame() const { return in_frame_; }
  const FrameInfo& last_frame() const { return frame_; }
  // True when the bytes so far end inside a message (the reference's `incomplete`).
  bool incomplete() const { return phase_ != Phase::stopped && (phase_ != Phase::header || header_fill_ != 0); }

 private:
  enum class Phase : uint8_t {
    header, fixed_body, reject_body, rect_header, raw_payload, runs_payload, copy_payload, lz4_payload,
    jpeg_payload, cached_payload, rice_payload, recolor_payload, cells_payload, stopped
  };

  size_t step(const uint8_t* data, size_t size, Event& event);
  size_t take_header(const uint8_t* data, size_t size, Event& event);
  size_t take_fixed(const uint8_t* data, size_t size, Event& event);
  size_t take_reject(const uint8_t* data, size_t size, Event& event);
  size_t take_rect_header(const uint8_t* data, size_t size, Event& event);
  size_t take_raw(const uint8_t* data, size_t size, Event& event);
  size_t take_copy(const uint8_t* data, size_t size, Event& event);
  template <class Decoder>
  size_t take_streamed(Decoder& decoder, const uint8_t* data, size_t size, Event& event);
  template <class Decoder>
  Event finish_streamed(Decoder& decoder);
  size_t take_collected(const uint8_t* data, size_t size, Event& event);
  size_t take_cached(const uint8_t* data, size_t size, Event& event);

  Error check_header() const;
  Event begin_message();
  Event finish_fixed();
  Event apply_accept();
  Event finish_reject();
  Window rect_window() const;
  PixelOrder pixel_order() const;  // of the pixels in RECT payloads and the cache, as ACCEPT said
  Event begin_rect();
  Event finish_copy();
  Event finish_jpeg();
  Event finish_recolor();
  Event finish_cells();
  Event finish_cached();
  Event finish_rect();
  Event finish_message(Event event);
  Event fail(Error error);
  size_t copy_body(const uint8_t* data, size_t size, size_t want);

  Display& display_;
  ParserConfig config_;
  RectWriter writer_;
  RawDecoder raw_;
  RunsDecoder runs_;
  RectCopier copier_;
  RecolorDecoder recolor_;  // borrows copier_'s strip (so does CELLS, draw_cells)
  Lz4Decoder lz4_;
  RiceDecoder rice_;
  // 5.3 KB (tables, one MCU): here rather than on a stack, in the parser a board keeps static.
  JpegDecoder jpeg_;
  JpegError jpeg_error_ = JpegError::none;

  Phase phase_ = Phase::header;
  Error error_ = Error::none;
  uint8_t header_[kHeaderSize] = {};
  uint8_t header_fill_ = 0;
  uint8_t type_ = 0;
  uint16_t body_len_ = 0;
  uint16_t body_left_ = 0;  // body bytes not yet consumed
  static constexpr size_t kFixedBody = kRectHeader + kCopyBody;  // the largest: a COPY RECT's whole body
  static_assert(kFixedBody >= kAcceptBody && kFixedBody >= kSeqBody && kCopyBody >= kCacheOffsetBody,
                "body_ holds every fixed part");
  uint8_t body_[kFixedBody] = {};  // the fixed part being read: ACCEPT body, seq, RECT header (+ COPY source)
  uint8_t body_fill_ = 0;

  bool accepted_ = false;
  Accept accept_{};
  bool rejected_ = false;
  char reason_[kMaxRejectReason + 1] = {};
  uint16_t reason_len_ = 0;
  bool in_frame_ = false;
  FrameInfo frame_{0, 0, 0};
  bool keep_pending_ = false;  // a KEEP came: the next message is its RECT
  uint16_t keep_offset_ = 0;
};

}  // namespace tft
