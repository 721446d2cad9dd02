// Baseline JPEG for the opt-in lossy encoding: the server saves a photo/video RECT with Pillow
// (baseline, 4:2:0 by default), the board receives the whole payload into a buffer and this draws
// it, one MCU (at most 16x16 pixels) at a time, through a JpegSink.
//
// What it takes: SOF0 (baseline sequential DCT, Huffman, 8-bit samples), 1 component (grey) or 3
// (YCbCr as JFIF: Y sampled 1x1, 2x1, 1x2 or 2x2, Cb and Cr 1x1) in one interleaved scan; DQT with
// 8-bit tables, DHT, DRI with RSTn markers, APPn/COM skipped, EOI. Anything else is a JpegError,
// never a guess: other SOFs (progressive, arithmetic, lossless, 12-bit), a frame size other than
// the RECT's, tables that are missing or malformed, entropy data that is cut, corrupt or followed
// by anything but EOI.
//
// How it decodes: chroma is replicated over its 2x2 / 2x1 pixels (libjpeg with
// do_fancy_upsampling = FALSE; the smoothing filter libjpeg uses by default needs the next MCU row);
// integer IDCT (the LLM factorisation, 13-bit constants, 2 extra bits between the passes, as
// libjpeg's JDCT_ISLOW); JFIF YCbCr->RGB in 16-bit fixed point; RGB565 by truncation. The same
// integer arithmetic as libjpeg, so the RGB888 before truncation equals libjpeg's own decode
// (JDCT_ISLOW, no fancy upsampling) of every test picture, pixel for pixel.
//
// Safety: every read is bounds-checked against `size`; the entropy decoder pads the data with zero
// bits after its end and fails with `truncated` when an MCU needed any of them, before that MCU is
// drawn (so a cut payload draws the MCUs before the cut and returns an error; a stream cut anywhere,
// even inside the final EOI, is an error). Hostile coefficients are saturated to 16 bits and the
// IDCT computes modulo 2^32, so garbage decodes to garbage pixels, never to undefined behaviour.
// Every loop is bounded by the data (each MCU consumes at least 2 bits) and the picture size.
//
// Memory: no allocation; the decoder object holds everything (Huffman lookup tables, quantisation
// tables, one block of coefficients, one MCU of samples and of RGB565 output): see sizeof in the
// README. Keep it in static storage, not on a task's stack.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "display.h"

namespace tft {

// to_str() gives "jpeg_<name>": the detail behind the protocol's two codes, jpeg_size_mismatch
// (size_mismatch) and jpeg_malformed (any other), kept for logs (StreamParser::jpeg_error).
enum class JpegError : uint8_t {
  none,
  truncated,               // the data ends before the picture does: inside a segment, the entropy data, or before EOI
  not_jpeg,                // it does not start with SOI (FF D8)
  bad_marker,              // no marker where one must be, a marker out of place (SOI, RSTn, DNL, unknown, a
                           // second SOF), a marker inside an MCU's entropy data, or anything but EOI after the scan
  bad_segment,             // a segment length too small for its content or not matching it (SOF, DQT, DHT, DRI, SOS)
  unsupported_frame,       // SOF1..SOF15 (extended, progressive, lossless, hierarchical, arithmetic) or DAC
  bad_precision,           // sample precision other than 8 bits
  size_mismatch,           // the frame's size is not the RECT's width x height (0 lines, DNL, included)
  unsupported_components,  // not 1 or 3 components, sampling other than above, repeated ids, quant table id > 3
  bad_quant_table,         // DQT: 16-bit values, table id > 3, a zero value
  bad_huffman_table,       // DHT: class > 1, id > 1, more than 256 codes, codes that do not fit their lengths,
                           // a DC category > 11 or an AC size > 10 (impossible with 8-bit samples)
  missing_frame,           // SOS or EOI before SOF
  missing_scan,            // EOI before SOS
  bad_scan,                // SOS: not all the frame's components in frame order, table id > 1, not Ss=0 Se=63 Ah=Al=0
  missing_table,           // a quantisation or Huffman table the scan uses is not defined
  bad_huffman_code,        // bits that are no code of the table
  bad_coefficient,         // an AC run past the 64th coefficient
  bad_restart,             // RSTn missing, out of sequence, or entropy data left before it
};

const char* to_str(JpegError error);

// Receives the decoded picture one MCU at a time, left to right, top to bottom, with the same
// contract as Display::push_pixels: `window` is relative to the picture's top-left corner and
// already clipped to it (at most 16x16 pixels); `pixels` holds window.w * window.h RGB565 values,
// row-major, 2 bytes each in `order`.
class JpegSink {
 public:
  virtual void draw(const Window& window, const uint8_t* pixels, PixelOrder order) = 0;

 protected:
  ~JpegSink() = default;  // not virtual: never deleted through this interface
};

// The usual sink: the picture's pixels go to `rect` of the display (a RECT the parser validated).
// A window outside `rect` is dropped, so a decoder bug can cost pixels but never draw elsewhere.
class JpegDisplaySink final : public JpegSink {
 public:
  JpegDisplaySink(Display& display, const Window& rect) : display_(display), rect_(rect) {}
  void draw(const Window& window, const uint8_t* pixels, PixelOrder order) override {
    if (window.x >= rect_.w || window.y >= rect_.h || window.w > rect_.w - window.x ||
        window.h > rect_.h - window.y) {
      return;
    }
    const Window at{static_cast<uint16_t>(rect_.x + window.x), static_cast<uint16_t>(rect_.y + window.y), window.w,
                    window.h};
    display_.push_pixels(at, pixels, order);
  }

 private:
  Display& display_;
  Window rect_;
};

class JpegDecoder {
 public:
  // The whole picture at once: begin() then step() until done.
  JpegError decode(const uint8_t* data, size_t size, uint16_t width, uint16_t height, PixelOrder order,
                   JpegSink& sink);

  // The same in slices, so a caller can return to its loop between them. begin() reads every
  // segment up to the scan and checks it; `data` must stay valid and unchanged until done() or an
  // error. step() decodes and draws up to `max_mcus` MCUs (a 320x240 4:2:0 picture has 300); once
  // the last one is drawn it checks that EOI follows, then done() is true. After an error, step()
  // returns it again and draws nothing.
  JpegError begin(const uint8_t* data, size_t size, uint16_t width, uint16_t height, PixelOrder order);
  JpegError step(JpegSink& sink, uint32_t max_mcus);
  bool done() const { return state_ == State::done; }

 private:
  static constexpr int kFastBits = 8;  // Huffman codes up to this long decode with one table lookup
  // In an AC table's `fast`: the entry is a whole coefficient, code and value bits together.
  static constexpr uint32_t kWholeCoefficient = 0x8000;

  struct HuffTable {
    // Next kFastBits bits -> (code length << 8) | symbol, or 0: a longer code. AC tables:
    // kWholeCoefficient | value (7 bits, signed) << 8 | run << 4 | bits used, when they fit.
    uint16_t fast[1 << kFastBits];
    int32_t maxcode[17];            // per length: the largest code, -1 if none (codes longer than kFastBits)
    int32_t delta[17];              // per length: index in `values` of a code = code + delta
    uint16_t count;                 // number of codes
    uint8_t values[256];            // symbols in code order
  };
  struct Component {
    uint8_t id, h, v, tq;  // frame: id, sampling factors, quantisation table
    uint8_t td, ta;        // scan: DC and AC Huffman tables
    int32_t pred;          // DC prediction
  };
  enum class State : uint8_t { idle, decoding, done, failed };

  JpegError parse_headers();
  JpegError parse_frame(const uint8_t* p, uint32_t n);
  JpegError parse_quant(const uint8_t* p, uint32_t n);
  JpegError parse_huffman(const uint8_t* p, uint32_t n);
  JpegError parse_scan(const uint8_t* p, uint32_t n);
  JpegError decode_mcu(uint16_t& w, uint16_t& h);
  JpegError decode_block(Component& c, uint8_t* out, uint32_t stride);
  JpegError restart();
  JpegError finish();
  JpegError entropy_error(JpegError error) const;
  void convert_ycc(uint16_t w, uint16_t h);
  void convert_grey(uint16_t w, uint16_t h);
  JpegError fail(JpegError error);

  // Bit reader over the entropy-coded data, MSB first, 0xFF00 unstuffed. It stops in front of a
  // marker (pos_ on its 0xFF) or at the end of the data and from then on supplies zero bits,
  // counted in fill_: more consumed than supplied means the MCU ran past its data.
  void refill();
  int decode_symbol(const HuffTable& table);
  int decode_long(const HuffTable& table);
  int32_t receive(int size);
  bool overrun() const { return fill_ > count_; }

  const uint8_t* data_ = nullptr;
  const uint8_t* data_end_ = nullptr;
  const uint8_t* pos_ = nullptr;
  const uint8_t* end_ = nullptr;  // where the reader stops: data_end_, or a marker it met
  uint32_t bits_ = 0;             // valid bits at the top
  int32_t count_ = 0;             // how many, including fill_
  int32_t fill_ = 0;              // zero bits supplied after the data

  uint16_t width_ = 0, height_ = 0;
  PixelOrder order_ = PixelOrder::big_endian;
  State state_ = State::idle;
  JpegError error_ = JpegError::not_jpeg;
  uint8_t ncomp_ = 0;
  uint8_t mcu_w_ = 8, mcu_h_ = 8;  // pixels
  uint8_t defined_quant_ = 0;      // bit i: quant table i defined
  uint8_t defined_huff_ = 0;       // bit (class * 2 + id)
  uint8_t next_rst_ = 0;
  uint16_t restart_interval_ = 0;  // MCUs between RSTn markers, 0: none
  uint16_t mcus_x_ = 0, mcus_y_ = 0;
  uint32_t mcu_ = 0;               // next MCU to decode
  uint32_t to_restart_ = 0;        // MCUs before the next RSTn
  Component comp_[3] = {};

  HuffTable dc_[2] = {}, ac_[2] = {};
  uint16_t quant_[4][64] = {};  // zigzag order, as in DQT
  int16_t coef_[64] = {};       // one block, natural order, dequantised; all zero between blocks
  uint8_t y_[256] = {};         // one MCU of samples: Y (stride mcu_w_), Cb, Cr
  uint8_t cb_[64] = {}, cr_[64] = {};
  uint8_t out_[512] = {};       // one MCU of RGB565, clipped, packed
};

}  // namespace tft
