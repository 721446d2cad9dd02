// Wire protocol v1 (docs/protocol.md), the C++ twin of common/protocol.py.
// Pinned by the shared vectors in tests/vectors/. Integers are read byte by byte, little-endian:
// no packed-struct overlays, so alignment and host endianness never matter.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace tft {

constexpr uint8_t kVersion = 1;
constexpr size_t kHeaderSize = 3;  // type u8, body length u16

// Board -> server.
constexpr uint8_t kMsgHello = 0x01;
constexpr uint8_t kMsgAck = 0x02;
constexpr uint8_t kMsgBoardKeepalive = 0x03;

// Server -> board.
constexpr uint8_t kMsgAccept = 0x10;
constexpr uint8_t kMsgReject = 0x11;
constexpr uint8_t kMsgFrameBegin = 0x20;
constexpr uint8_t kMsgRect = 0x21;
constexpr uint8_t kMsgFrameEnd = 0x22;
constexpr uint8_t kMsgKeep = 0x23;  // cache offset u16: the next RECT's pixels also go to the bitmap cache
constexpr uint8_t kMsgServerKeepalive = 0x30;

// Encodings: the wire value is the bit number in an encoding mask.
constexpr uint8_t kEncodingRaw = 0;
constexpr uint8_t kEncodingRuns = 1;
constexpr uint8_t kEncodingCopy = 2;  // pixels the panel already shows; needs a Display that reads back
constexpr uint8_t kEncodingLz4 = 3;   // LZ4 block sequences; needs a buffer of one RECT's bytes
constexpr uint8_t kEncodingJpeg = 4;  // a baseline JPEG of the RECT (lossy); the same buffer holds it whole
constexpr uint8_t kEncodingCached = 5;  // pixels a KEEP put in the board's bitmap cache; needs that cache
constexpr uint8_t kEncodingRice = 6;    // predicted, Rice-coded pixels (photos); decodes into the block buffer
constexpr uint8_t kEncodingRecolor = 7;  // the box as shown, colours mapped by a table; reads back, block buffer
constexpr uint8_t kEncodingCells = 8;    // a grid of cells from the bitmap cache (terminal text); cache, block buffer
constexpr uint16_t kMaskRaw = 1u << kEncodingRaw;
constexpr uint16_t kMaskRuns = 1u << kEncodingRuns;
constexpr uint16_t kMaskCopy = 1u << kEncodingCopy;
constexpr uint16_t kMaskLz4 = 1u << kEncodingLz4;
constexpr uint16_t kMaskJpeg = 1u << kEncodingJpeg;
constexpr uint16_t kMaskCached = 1u << kEncodingCached;
constexpr uint16_t kMaskRice = 1u << kEncodingRice;
constexpr uint16_t kMaskRecolor = 1u << kEncodingRecolor;
constexpr uint16_t kMaskCells = 1u << kEncodingCells;
// What this core decodes.
constexpr uint16_t kMaskImplemented =
    kMaskRaw | kMaskRuns | kMaskCopy | kMaskLz4 | kMaskJpeg | kMaskCached | kMaskRice | kMaskRecolor | kMaskCells;

constexpr uint8_t kFlagBigEndian = 0x01;

constexpr size_t kAcceptBody = 10;  // version u8, flags u8, encodings, max_body, keepalive_ms, timeout_ms u16
constexpr size_t kSeqBody = 4;
constexpr size_t kRectHeader = 9;   // x, y, w, h u16, encoding u8
constexpr size_t kRunSize = 3;      // (count-1) u8, pixel u16
constexpr size_t kCopyBody = 4;     // COPY payload: src_x, src_y u16
constexpr size_t kCacheOffsetBody = 2;  // KEEP's body and a CACHED RECT's payload: offset u16 in pixels
constexpr size_t kCellsHeader = 2;       // a CELLS payload's cell width and height u8, before its offsets
constexpr uint32_t kCachePixels = 16384;  // the bitmap cache a board offering CACHED keeps: 32 KB
constexpr size_t kAckBody = 4;
constexpr size_t kAckStatsBody = 17;  // seq, decode_us, draw_us, free_heap u32, rssi_dbm i8
constexpr size_t kMaxHelloBody = 160;
constexpr uint16_t kMinBoardBody = 64;
constexpr size_t kMaxRejectReason = 200;
constexpr size_t kMaxDisplayName = 32;
constexpr size_t kMaxFirmware = 32;
constexpr size_t kMaxToken = 64;
constexpr uint16_t kMaxDisplaySide = 4096;

inline uint16_t read_u16le(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }

inline uint32_t read_u32le(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

inline void write_u16le(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}

inline void write_u32le(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// What the server chose in ACCEPT.
struct Accept {
  uint8_t version = 0;
  bool big_endian = false;
  uint16_t encodings = 0;
  uint16_t max_body = 0;
  uint16_t keepalive_ms = 0;
  uint16_t timeout_ms = 0;
};

}  // namespace tft
