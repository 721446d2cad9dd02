// RECOLOR (encoding 7): the RECT's box as the panel shows it, its colours mapped through a table
// and some pixels patched. Payload: `count u16` (little-endian), `count` pairs `from, to` (pixels
// in the ACCEPT byte order, `from` strictly increasing as numbers), then patches to the payload's
// end: `skip` (LEB128, at most 4 bytes) and a pixel; the first patch is at box position `skip`,
// each later one `skip + 1` after the one before (positions row-major in the w x h box).
//
// The parser collects the whole payload in the block buffer (like JPEG); check() judges all of it
// before a pixel changes, in stream order as the reference does, so the first error is the same
// however it was split. apply() then reads the box back through a small strip (the one COPY uses:
// both run whole inside one feed() call, never together), maps it and pushes it back: no
// allocation, no whole-box buffer. The table sits in the block buffer and is searched in place.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "display.h"
#include "error.h"
#include "rect_copier.h"

namespace tft {

class RecolorDecoder {
 public:
  // Borrows `copier`'s strip, in pieces of its piece limit (tests and the fuzzer shrink them).
  RecolorDecoder(Display& display, RectCopier& copier) : display_(display), copier_(copier) {}

  // The first problem of `payload` in stream order for a box of `area` pixels, or Error::none.
  static Error check(const uint8_t* payload, size_t size, uint32_t area, PixelOrder order);
  // Recolors `box` (inside the display, which can read) by a payload check() accepted for its area.
  void apply(const Window& box, const uint8_t* payload, size_t size, PixelOrder order);

 private:
  void recolor_piece(const Window& piece, uint32_t first);
  void map_pixels(uint8_t* p, uint32_t count);
  inline void map_one(uint8_t* p, uint16_t& in, uint16_t& out);
  uint16_t lookup(uint16_t value) const;
  void next_patch(uint32_t from);

  Display& display_;
  RectCopier& copier_;

  // The RECT being recolored.
  const uint8_t* table_ = nullptr;  // count pairs of 4 bytes, in the block buffer
  uint16_t count_ = 0;
  bool big_ = true;                   // the payload's byte order (the ACCEPT's)
  const uint8_t* patch_ = nullptr;    // the skip of the patch after the pending one
  const uint8_t* end_ = nullptr;
  uint32_t patch_at_ = 0;             // the pending patch's box position (kNoPatch: none left)
  uint16_t patch_pixel_ = 0;
  // One-entry memo of the last lookup: flat areas repeat one colour, so most pixels skip the search.
  // Both as the strip holds them (big-endian bytes, copied into a uint16_t as they lie).
  uint16_t memo_in_ = 0;
  uint16_t memo_out_ = 0;
  // Behind the memo, earlier lookups by a hash of the colour: text and antialiased edges switch
  // colours every few pixels, among few colours, so most changes of colour skip the search too.
  struct Mapped {
    uint16_t in, out;  // the memo's form
  };
  static constexpr uint32_t kMappedSlots = 64;  // 256 bytes of RAM
  Mapped mapped_[kMappedSlots] = {};
};

}  // namespace tft
