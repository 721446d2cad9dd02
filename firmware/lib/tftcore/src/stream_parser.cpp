#include "stream_parser.h"

namespace tft {

namespace {

bool known_type(uint8_t type) {
  switch (type) {
    case kMsgAccept:
    case kMsgReject:
    case kMsgFrameBegin:
    case kMsgRect:
    case kMsgFrameEnd:
    case kMsgKeep:
    case kMsgServerKeepalive:
      return true;
    default:
      return false;
  }
}

// A reason cut at 200 bytes must not end inside a UTF-8 character: drop a dangling lead sequence.
uint16_t utf8_boundary(const char* text, uint16_t len) {
  uint16_t start = len;
  while (start > 0 && (static_cast<uint8_t>(text[start - 1]) & 0xC0) == 0x80) --start;
  if (start == 0) return len;
  const uint8_t lead = static_cast<uint8_t>(text[start - 1]);
  const uint16_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
  return len - (start - 1) < need ? static_cast<uint16_t>(start - 1) : len;
}

size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

// 64 bits: an offset near 0xFFFF plus a huge (display-bounded) area must not wrap.
bool in_cache(uint16_t offset, uint32_t area) { return static_cast<uint64_t>(offset) + area <= kCachePixels; }

}  // namespace

StreamParser::StreamParser(Display& display, const ParserConfig& config)
    : display_(display),
      config_(config),
      writer_(display),
      raw_(writer_),
      runs_(writer_),
      copier_(display),
      recolor_(display, copier_),
      lz4_(writer_, config.block),
      rice_(writer_, config.block) {
  // Never agree to an encoding this core cannot decode, nor to COPY or RECOLOR on a display it
  // cannot read, nor to LZ4, RICE, JPEG, RECOLOR or CELLS without a buffer for a whole RECT, nor to
  // CACHED or CELLS without the cache.
  config_.encodings = encodings_for(display, config_.encodings & kMaskImplemented, config_.block, config_.max_body,
                                    config_.cache);
  copier_.set_piece_limit(config.copy_piece_pixels);  // RECOLOR's and CELLS' pieces too: they borrow the strip
}

void StreamParser::reset() {
  phase_ = Phase::header;
  error_ = Error::none;
  jpeg_error_ = JpegError::none;
  header_fill_ = 0;
  body_fill_ = 0;
  accepted_ = false;
  accept_ = Accept{};
  rejected_ = false;
  reason_[0] = '\0';
  reason_len_ = 0;
  in_frame_ = false;
  frame_ = FrameInfo{0, 0, 0};
  keep_pending_ = false;
}

FeedResult StreamParser::feed(const uint8_t* data, size_t size) {
  if (phase_ == Phase::stopped) return {0, error_ != Error::none ? Event::failed : Event::none};
  size_t used = 0;
  Event event = Event::none;
  while (used < size && event == Event::none && phase_ != Phase::stopped) {
    used += step(data + used, size - used, event);
  }
  // Show what arrived; the next piece may be late.
  if (phase_ == Phase::runs_payload) runs_.flush();
  if (phase_ == Phase::lz4_payload) lz4_.flush();
  if (phase_ == Phase::rice_payload) rice_.flush();
  return {used, event};
}

size_t StreamParser::step(const uint8_t* data, size_t size, Event& event) {
  switch (phase_) {
    case Phase::header: return take_header(data, size, event);
    case Phase::fixed_body: return take_fixed(data, size, event);
    case Phase::reject_body: return take_reject(data, size, event);
    case Phase::rect_header: return take_rect_header(data, size, event);
    case Phase::raw_payload: return take_raw(data, size, event);
    case Phase::runs_payload: return take_streamed(runs_, data, size, event);
    case Phase::copy_payload: return take_copy(data, size, event);
    case Phase::lz4_payload: return take_streamed(lz4_, data, size, event);
    case Phase::jpeg_payload: return take_collected(data, size, event);
    case Phase::cached_payload: return take_cached(data, size, event);
    case Phase::rice_payload: return take_streamed(rice_, data, size, event);
    case Phase::recolor_payload: return take_collected(data, size, event);
    case Phase::cells_payload: return take_collected(data, size, event);
    case Phase::stopped: break;
  }
  return 0;
}

size_t StreamParser::take_header(const uint8_t* data, size_t size, Event& event) {
  size_t n = 0;
  while (n < size && header_fill_ < kHeaderSize) header_[header_fill_++] = data[n++];
  if (header_fill_ == kHeaderSize) {
    header_fill_ = 0;
    type_ = header_[0];
    body_len_ = read_u16le(header_ + 1);
    body_left_ = body_len_;
    body_fill_ = 0;
    event = begin_message();
  }
  return n;
}

// The reference's _check_header, in its order.
Error StreamParser::check_header() const {
  if (!known_type(type_)) return Error::unknown_type;
  if (body_len_ > config_.max_body) return Error::oversized;
  if (!accepted_ && type_ != kMsgAccept && type_ != kMsgReject) return Error::expected_accept;
  return Error::none;
}

// Everything the header decides, in the order the reference checks it once the body is in:
// deciding early changes when an error shows, never which error.
Event StreamParser::begin_message() {
  const Error error = check_header();
  if (error != Error::none) return fail(error);
  if (keep_pending_ && type_ != kMsgRect && type_ != kMsgReject) return fail(Error::keep_unused);
  switch (type_) {
    case kMsgAccept:
      if (accepted_) return fail(Error::expected_accept);
      if (body_len_ != kAcceptBody) return fail(Error::bad_length);
      phase_ = Phase::fixed_body;
      return Event::none;
    case kMsgReject:
      reason_len_ = 0;
      phase_ = Phase::reject_body;
      return body_len_ == 0 ? finish_reject() : Event::none;
    case kMsgServerKeepalive:
      if (body_len_ != 0) return fail(Error::bad_length);
      return finish_message(Event::none);
    case kMsgFrameBegin:
      if (body_len_ != kSeqBody) return fail(Error::bad_length);
      if (in_frame_) return fail(Error::frame_open);
      phase_ = Phase::fixed_body;
      return Event::none;
    case kMsgFrameEnd:
      if (body_len_ != kSeqBody) return fail(Error::bad_length);
      if (!in_frame_) return fail(Error::not_in_frame);
      phase_ = Phase::fixed_body;
      return Event::none;
    case kMsgKeep:
      if (body_len_ != kCacheOffsetBody) return fail(Error::bad_length);
      if (!in_frame_) return fail(Error::not_in_frame);
      if ((accept_.encodings & kMaskCached) == 0) return fail(Error::unknown_encoding);
      phase_ = Phase::fixed_body;
      return Event::none;
    default:  // kMsgRect: known_type() let nothing else through
      if (!in_frame_) return fail(Error::not_in_frame);
      if (body_len_ < kRectHeader) return fail(Error::bad_length);
      phase_ = Phase::rect_header;
      return Event::none;
  }
}

size_t StreamParser::copy_body(const uint8_t* data, size_t size, size_t want) {
  const size_t n = min_size(size, want - body_fill_);
  for (size_t i = 0; i < n; ++i) body_[body_fill_++] = data[i];
  body_left_ = static_cast<uint16_t>(body_left_ - n);
  return n;
}

size_t StreamParser::take_fixed(const uint8_t* data, size_t size, Event& event) {
  const size_t n = copy_body(data, size, body_len_);
  if (body_left_ == 0) event = finish_fixed();
  return n;
}

Event StreamParser::finish_fixed() {
  if (type_ == kMsgAccept) return apply_accept();
  if (type_ == kMsgKeep) {
    keep_pending_ = true;
    keep_offset_ = read_u16le(body_);
    return finish_message(Event::none);
  }
  const uint32_t seq = read_u32le(body_);
  if (type_ == kMsgFrameBegin) {
    in_frame_ = true;
    frame_ = FrameInfo{seq, 0, 0};
    return finish_message(Event::none);
  }
  if (seq != frame_.seq) return fail(Error::seq_mismatch);
  const Event event = finish_message(Event::frame_end);
  in_frame_ = false;
  return event;
}

Event StreamParser::apply_accept() {
  const uint8_t version = body_[0];
  const uint16_t mask = read_u16le(body_ + 2);
  const uint16_t max_body = read_u16le(body_ + 4);
  if (version != kVersion) return fail(Error::bad_version);
  if ((mask & ~config_.encodings) != 0 || (mask & kMaskRaw) == 0) return fail(Error::bad_encodings);
  if ((mask & kMaskCells) != 0 && (mask & kMaskCached) == 0) return fail(Error::bad_encodings);  // cells live there
  if (max_body > config_.max_body) return fail(Error::bad_buffer);
  accept_.version = version;
  accept_.big_endian = (body_[1] & kFlagBigEndian) != 0;
  accept_.encodings = mask;
  accept_.max_body = max_body;
  accept_.keepalive_ms = read_u16le(body_ + 6);
  accept_.timeout_ms = read_u16le(body_ + 8);
  accepted_ = true;
  return finish_message(Event::accepted);
}

size_t StreamParser::take_reject(const uint8_t* data, size_t size, Event& event) {
  const size_t n = min_size(size, body_left_);
  for (size_t i = 0; i < n && reason_len_ < kMaxRejectReason; ++i) reason_[reason_len_++] = static_cast<char>(data[i]);
  body_left_ = static_cast<uint16_t>(body_left_ - n);  // bytes past 200 are skipped, not kept
  if (body_left_ == 0) event = finish_reject();
  return n;
}

Event StreamParser::finish_reject() {
  if (body_len_ > kMaxRejectReason) reason_len_ = utf8_boundary(reason_, reason_len_);
  reason_[reason_len_] = '\0';
  rejected_ = true;
  phase_ = Phase::stopped;  // as the reference: nothing after a REJECT is applied
  return Event::rejected;
}

size_t StreamParser::take_rect_header(const uint8_t* data, size_t size, Event& event) {
  const size_t n = copy_body(data, size, kRectHeader);
  if (body_fill_ == kRectHeader) event = begin_rect();
  return n;
}

Window StreamParser::rect_window() const {
  return Window{read_u16le(body_), read_u16le(body_ + 2), read_u16le(body_ + 4), read_u16le(body_ + 6)};
}

PixelOrder StreamParser::pixel_order() const {
  return accept_.big_endian ? PixelOrder::big_endian : PixelOrder::little_endian;
}

// The whole RECT is judged here, before its first pixel: nothing bad reaches the display. (A
// COPY's source box is judged once its 4 bytes are in, still before any pixel moves.)
Event StreamParser::begin_rect() {
  const Window rect = rect_window();
  const uint8_t encoding = body_[8];
  if (rect.w == 0 || rect.h == 0) return fail(Error::rect_empty);
  if (static_cast<uint32_t>(rect.x) + rect.w > display_.width() ||
      static_cast<uint32_t>(rect.y) + rect.h > display_.height()) {
    return fail(Error::rect_out_of_bounds);
  }
  const uint16_t usable = accept_.encodings & kMaskImplemented;
  if (encoding >= 16 || ((usable >> encoding) & 1u) == 0) return fail(Error::unknown_encoding);
  const uint32_t area = static_cast<uint32_t>(rect.w) * rect.h;
  const uint32_t payload = body_left_;
  uint8_t* keep = nullptr;  // where this RECT's pixels go besides the display
  if (keep_pending_) {
    keep_pending_ = false;
    if (encoding != kEncodingRaw && encoding != kEncodingRuns && encoding != kEncodingLz4 &&
        encoding != kEncodingRice) {
      return fail(Error::keep_bad_encoding);
    }
    if (!in_cache(keep_offset_, area)) return fail(Error::cache_out_of_bounds);
    keep = config_.cache.data + 2 * static_cast<size_t>(keep_offset_);
  }
  if (encoding == kEncodingCached) {
    if (payload != kCacheOffsetBody) return fail(Error::cache_size_mismatch);
    phase_ = Phase::cached_payload;
    return Event::none;
  }
  if (encoding == kEncodingCopy) {
    if (payload != kCopyBody) return fail(Error::copy_size_mismatch);
    phase_ = Phase::copy_payload;
    return Event::none;
  }
  if (encoding == kEncodingJpeg) {
    // Collected whole in the block buffer: at most max_body - 9 bytes (check_header), and the
    // parser has JPEG only with a buffer of max_body (encodings_for). Judged once it is all in.
    phase_ = Phase::jpeg_payload;
    return payload == 0 ? finish_jpeg() : Event::none;
  }
  if (encoding == kEncodingRecolor) {
    // Collected whole like JPEG (same bound, same buffer), judged once it is all in.
    phase_ = Phase::recolor_payload;
    return payload == 0 ? finish_recolor() : Event::none;
  }
  if (encoding == kEncodingCells) {
    phase_ = Phase::cells_payload;  // as RECOLOR
    return payload == 0 ? finish_cells() : Event::none;
  }
  const PixelOrder order = pixel_order();
  writer_.begin(rect, order, keep);
  if (encoding == kEncodingRaw) {
    // Compare halves: 2 * area could overflow 32 bits for a huge (and already bounded) rect.
    if (payload % 2 != 0 || payload / 2 != area) return fail(Error::raw_size_mismatch);
    raw_.begin();
    phase_ = Phase::raw_payload;
    return Event::none;
  }
  if (encoding == kEncodingLz4) {
    // It decodes to what a RAW RECT would carry, which must fit a body too: 9 + 2 * area <= max_body
    // (a server splits blocks so), hence fits the block buffer (encodings_for). Halves again; and
    // max_body >= body_len_ >= 9 here.
    if (area > (config_.max_body - kRectHeader) / 2) return fail(Error::oversized);
    lz4_.begin(2 * area, rect.w);
    phase_ = Phase::lz4_payload;
    return payload == 0 ? finish_streamed(lz4_) : Event::none;
  }
  if (encoding == kEncodingRice) {
    if (area > (config_.max_body - kRectHeader) / 2) return fail(Error::oversized);  // as LZ4: the block buffer
    rice_.begin(rect.w, rect.h, order);
    phase_ = Phase::rice_payload;
    return payload == 0 ? finish_streamed(rice_) : Event::none;
  }
  if (payload % kRunSize != 0) return fail(Error::runs_partial);
  runs_.begin(area);
  phase_ = Phase::runs_payload;
  return payload == 0 ? finish_streamed(runs_) : Event::none;
}

size_t StreamParser::take_raw(const uint8_t* data, size_t size, Event& event) {
  const size_t n = min_size(size, body_left_);
  raw_.feed(data, n);
  body_left_ = static_cast<uint16_t>(body_left_ - n);
  if (body_left_ == 0) event = finish_rect();
  return n;
}

// RUNS, LZ4 and RICE payloads: whatever the piece holds of the body to the decoder, which reports
// the first error in stream order; its finish() judges the end.
template <class Decoder>
size_t StreamParser::take_streamed(Decoder& decoder, const uint8_t* data, size_t size, Event& event) {
  const size_t n = min_size(size, body_left_);
  const Error error = decoder.feed(data, n);
  if (error != Error::none) {
    event = fail(error);
    return n;
  }
  body_left_ = static_cast<uint16_t>(body_left_ - n);
  if (body_left_ == 0) event = finish_streamed(decoder);
  return n;
}

template <class Decoder>
Event StreamParser::finish_streamed(Decoder& decoder) {
  const Error error = decoder.finish();
  return error != Error::none ? fail(error) : finish_rect();
}

// JPEG, RECOLOR and CELLS payloads: into the block buffer as they arrive, used once the last byte is in.
size_t StreamParser::take_collected(const uint8_t* data, size_t size, Event& event) {
  const size_t n = min_size(size, body_left_);
  const size_t at = static_cast<size_t>(body_len_ - kRectHeader - body_left_);
  __builtin_memcpy(config_.block.data + at, data, n);
  body_left_ = static_cast<uint16_t>(body_left_ - n);
  if (body_left_ == 0) {
    event = phase_ == Phase::jpeg_payload      ? finish_jpeg()
            : phase_ == Phase::recolor_payload ? finish_recolor()
                                               : finish_cells();
  }
  return n;
}

// The whole picture, MCU by MCU into the RECT, in this feed() call (see the header). On an error
// the MCUs before it are drawn, the same however the payload was split.
Event StreamParser::finish_jpeg() {
  const Window rect = rect_window();
  JpegDisplaySink sink(display_, rect);
  const PixelOrder order = pixel_order();
  jpeg_error_ = jpeg_.decode(config_.block.data, body_len_ - kRectHeader, rect.w, rect.h, order, sink);
  if (jpeg_error_ == JpegError::none) return finish_rect();
  return fail(jpeg_error_ == JpegError::size_mismatch ? Error::jpeg_size_mismatch : Error::jpeg_malformed);
}

// The whole payload is checked before a pixel changes; then the box is recolored in this feed()
// call, as a COPY is moved.
Event StreamParser::finish_recolor() {
  const Window rect = rect_window();
  const size_t size = body_len_ - kRectHeader;
  const PixelOrder order = pixel_order();
  const Error error = RecolorDecoder::check(config_.block.data, size, static_cast<uint32_t>(rect.w) * rect.h, order);
  if (error != Error::none) return fail(error);
  recolor_.apply(rect, config_.block.data, size, order);
  return finish_rect();
}

// Checked whole before a pixel changes, then drawn from the cache in this feed() call. The cache's
// pixels are in the ACCEPT's order, as KEEP stored them and CACHED draws them.
Event StreamParser::finish_cells() {
  const Window rect = rect_window();
  const Error error = check_cells(config_.block.data, body_len_ - kRectHeader, rect.w, rect.h);
  if (error != Error::none) return fail(error);
  draw_cells(writer_, copier_, rect, pixel_order(), config_.block.data, config_.cache.data);
  return finish_rect();
}

size_t StreamParser::take_copy(const uint8_t* data, size_t size, Event& event) {
  const size_t n = copy_body(data, size, kRectHeader + kCopyBody);
  if (body_left_ == 0) event = finish_copy();
  return n;
}

// The source box, computed in 32 bits: src_x 0xFFFF plus a width must not wrap into the display.
Event StreamParser::finish_copy() {
  const Window to = rect_window();
  const uint16_t from_x = read_u16le(body_ + kRectHeader);
  const uint16_t from_y = read_u16le(body_ + kRectHeader + 2);
  if (static_cast<uint32_t>(from_x) + to.w > display_.width() ||
      static_cast<uint32_t>(from_y) + to.h > display_.height()) {
    return fail(Error::copy_out_of_bounds);
  }
  copier_.copy(to, from_x, from_y);
  return finish_rect();
}

size_t StreamParser::take_cached(const uint8_t* data, size_t size, Event& event) {
  const size_t n = copy_body(data, size, kRectHeader + kCacheOffsetBody);
  if (body_left_ == 0) event = finish_cached();
  return n;
}

// Drawn from the cache through the writer, in the row windows any RECT gets.
Event StreamParser::finish_cached() {
  const Window rect = rect_window();
  const uint16_t offset = read_u16le(body_ + kRectHeader);
  const uint32_t area = static_cast<uint32_t>(rect.w) * rect.h;
  if (!in_cache(offset, area)) return fail(Error::cache_out_of_bounds);
  writer_.begin(rect, pixel_order());
  writer_.push(config_.cache.data + 2 * static_cast<size_t>(offset), area);
  return finish_rect();
}

Event StreamParser::finish_rect() {
  ++frame_.rects;
  return finish_message(Event::none);
}

Event StreamParser::finish_message(Event event) {
  if (in_frame_) frame_.bytes += static_cast<uint32_t>(kHeaderSize + body_len_);
  phase_ = Phase::header;
  return event;
}

Event StreamParser::fail(Error error) {
  error_ = error;
  phase_ = Phase::stopped;
  return Event::failed;
}

}  // namespace tft
