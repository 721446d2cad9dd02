#include "recolor_decoder.h"

#include "protocol.h"

namespace tft {

namespace {

constexpr size_t kPair = 4;             // from, to: 2 bytes each
constexpr int kMaxSkipBytes = 4;        // LEB128 of at most 28 bits
constexpr uint32_t kNoPatch = 0xFFFFFFFF;  // above any box position (w * h < 2^32)

uint16_t read_pixel(const uint8_t* p, bool big) {
  return big ? static_cast<uint16_t>(p[0] << 8 | p[1]) : static_cast<uint16_t>(p[1] << 8 | p[0]);
}

enum class Skip : uint8_t { ok, truncated, too_long };

// One LEB128 skip at `p`, which it moves past it. A 4th byte that still says "more" is too long
// whether or not the payload has a 5th: the reference decides at that byte too.
Skip read_skip(const uint8_t*& p, const uint8_t* end, uint32_t& skip) {
  skip = 0;
  for (int i = 0; i < kMaxSkipBytes; ++i) {
    if (p == end) return Skip::truncated;
    const uint8_t byte = *p++;
    skip |= static_cast<uint32_t>(byte & 0x7F) << (7 * i);
    if ((byte & 0x80) == 0) return Skip::ok;
  }
  return Skip::too_long;
}

// `pixel` as the strip holds it: its big-endian bytes, copied into a uint16_t as they lie (the memo's form).
uint16_t as_in_strip(uint16_t pixel) {
  const uint8_t bytes[2] = {static_cast<uint8_t>(pixel >> 8), static_cast<uint8_t>(pixel)};
  uint16_t raw;
  __builtin_memcpy(&raw, bytes, 2);
  return raw;
}

uint32_t min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }

}  // namespace

// Front to back, the first problem met: the table's size, its order entry by entry, then each
// patch (its skip, its position, its pixel), as the reference walks it.
Error RecolorDecoder::check(const uint8_t* payload, size_t size, uint32_t area, PixelOrder order) {
  if (size < 2) return Error::recolor_truncated;
  const uint16_t count = read_u16le(payload);
  if ((size - 2) / kPair < count) return Error::recolor_truncated;
  const bool big = order == PixelOrder::big_endian;
  const uint8_t* p = payload + 2;
  for (uint16_t i = 1; i < count; ++i) {
    if (read_pixel(p + kPair * i, big) <= read_pixel(p + kPair * (i - 1), big)) return Error::recolor_unsorted;
  }
  p += kPair * count;
  const uint8_t* const end = payload + size;
  uint32_t from = 0;  // the position a skip of 0 lands on; never above area, so area - from never wraps
  while (p != end) {
    uint32_t skip = 0;
    const Skip read = read_skip(p, end, skip);
    if (read == Skip::too_long) return Error::recolor_overflow;
    if (read == Skip::truncated) return Error::recolor_truncated;
    if (skip >= area - from) return Error::recolor_overflow;
    if (end - p < 2) return Error::recolor_truncated;
    p += 2;
    from += skip + 1;
  }
  return Error::none;
}

void RecolorDecoder::apply(const Window& box, const uint8_t* payload, size_t size, PixelOrder order) {
  big_ = order == PixelOrder::big_endian;
  count_ = read_u16le(payload);
  table_ = payload + 2;
  patch_ = table_ + kPair * count_;
  end_ = payload + size;
  if (count_ == 0 && patch_ == end_) return;  // nothing maps, nothing patched: spare the panel a read
  next_patch(0);
  memo_in_ = as_in_strip(0);
  memo_out_ = as_in_strip(lookup(0));
  for (Mapped& slot : mapped_) slot = {memo_in_, memo_out_};  // right for colour 0 in any slot
  // Row-major pieces, so each covers consecutive box positions: bands of whole rows when a row
  // fits the strip, else one row in chunks. Nothing is written before it is read (same box).
  const uint32_t limit = copier_.piece_limit();
  const bool row_fits = box.w <= limit;
  const uint32_t piece_w = row_fits ? box.w : limit;
  const uint32_t piece_h = row_fits ? limit / box.w : 1;
  for (uint32_t row = 0; row < box.h; row += piece_h) {
    const uint32_t h = min_u32(piece_h, box.h - row);
    for (uint32_t col = 0; col < box.w; col += piece_w) {
      const uint32_t w = min_u32(piece_w, box.w - col);
      const Window piece{static_cast<uint16_t>(box.x + col), static_cast<uint16_t>(box.y + row),
                         static_cast<uint16_t>(w), static_cast<uint16_t>(h)};
      recolor_piece(piece, row * box.w + col);
    }
  }
}

// The pixels of `piece` (box positions from `first` on): mapped, the pending patches set.
void RecolorDecoder::recolor_piece(const Window& piece, uint32_t first) {
  // Big-endian both ways, as RectCopier: what a panel sends and takes.
  uint8_t* const strip = copier_.strip();
  display_.read_pixels(piece, strip, PixelOrder::big_endian);
  const uint32_t n = static_cast<uint32_t>(piece.w) * piece.h;
  uint32_t i = 0;
  for (;;) {
    // Earlier pieces used up the patches before `first`, so patch_at_ - first does not wrap.
    const uint32_t stop = min_u32(patch_at_ - first, n);
    map_pixels(strip + 2 * i, stop - i);
    if (stop == n) break;
    strip[2 * stop] = static_cast<uint8_t>(patch_pixel_ >> 8);
    strip[2 * stop + 1] = static_cast<uint8_t>(patch_pixel_);
    i = stop + 1;
    next_patch(patch_at_ + 1);
  }
  display_.push_pixels(piece, strip, PixelOrder::big_endian);
}

// The hot loop. The memo holds the strip's two bytes as they lie (a uint16_t in host order, moved
// with memcpy: no overlay). Where two pixels in a row are the memo's colour (flat areas, most of a
// dashboard) they take one 32-bit load, compare and store; the strip is 2-aligned, so a first odd
// pixel goes alone and the pairs are 4-aligned (else -Os copies through the stack). The memo
// lives in locals: the strip's bytes may alias members, which would make the compiler reload and
// store them for every pixel.
void RecolorDecoder::map_pixels(uint8_t* p, uint32_t count) {
  if (count_ == 0) return;
  uint16_t in = memo_in_, out = memo_out_;
  uint8_t* const end = p + 2 * count;
  if ((reinterpret_cast<uintptr_t>(p) & 2) != 0 && p != end) {
    map_one(p, in, out);
    p += 2;
  }
  uint32_t in_twice = static_cast<uint32_t>(in) << 16 | in, out_twice = static_cast<uint32_t>(out) << 16 | out;
  for (; end - p >= 4; p += 4) {
    uint8_t* const pair = static_cast<uint8_t*>(__builtin_assume_aligned(p, 4));
    uint32_t two;
    __builtin_memcpy(&two, pair, 4);
    if (two == in_twice) {
      __builtin_memcpy(pair, &out_twice, 4);
    } else {
      map_one(pair, in, out);
      map_one(pair + 2, in, out);
      in_twice = static_cast<uint32_t>(in) << 16 | in;
      out_twice = static_cast<uint32_t>(out) << 16 | out;
    }
  }
  if (p != end) map_one(p, in, out);
  memo_in_ = in;
  memo_out_ = out;
}

// One pixel: the memo, else the slot its colour hashes to, else the search (which fills the slot).
void RecolorDecoder::map_one(uint8_t* p, uint16_t& in, uint16_t& out) {
  uint16_t raw;
  __builtin_memcpy(&raw, p, 2);
  if (raw != in) {
    in = raw;
    Mapped& slot = mapped_[(raw * 40503u >> 10) % kMappedSlots];  // Fibonacci hashing: 2^16 / golden ratio
    if (slot.in != raw) slot = {raw, as_in_strip(lookup(static_cast<uint16_t>(p[0] << 8 | p[1])))};  // big-endian
    out = slot.out;
  }
  __builtin_memcpy(p, &out, 2);
}

// Binary search of the sorted `from`s where they lie in the block buffer; a colour not in the
// table stays.
uint16_t RecolorDecoder::lookup(uint16_t value) const {
  uint32_t low = 0, high = count_;
  while (low < high) {
    const uint32_t mid = (low + high) / 2;
    const uint8_t* pair = table_ + kPair * mid;
    const uint16_t from = read_pixel(pair, big_);
    if (from == value) return read_pixel(pair + 2, big_);
    if (from < value) {
      low = mid + 1;
    } else {
      high = mid;
    }
  }
  return value;
}

// The next patch, its skip counted from box position `from` (check() accepted every patch).
void RecolorDecoder::next_patch(uint32_t from) {
  if (patch_ == end_) {
    patch_at_ = kNoPatch;
    return;
  }
  uint32_t skip = 0;
  read_skip(patch_, end_, skip);
  patch_at_ = from + skip;
  patch_pixel_ = read_pixel(patch_, big_);
  patch_ += 2;
}

}  // namespace tft
