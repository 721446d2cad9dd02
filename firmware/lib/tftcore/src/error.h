// Errors with stable names: each equals a `code` of common/protocol.py's ProtocolError, so a
// C++ failure and a Python failure on the same bytes print the same word (pinned by the vectors).
#pragma once

#include <stdint.h>

namespace tft {

enum class Error : uint8_t {
  none,
  // Framing and order of server messages.
  unknown_type,
  oversized,
  bad_length,
  expected_accept,
  bad_version,
  bad_encodings,
  bad_buffer,
  frame_open,
  not_in_frame,
  seq_mismatch,
  // Rectangles and their pixel payloads.
  rect_empty,
  rect_out_of_bounds,
  unknown_encoding,
  raw_size_mismatch,
  runs_partial,
  runs_overflow,
  runs_short,
  copy_size_mismatch,
  copy_out_of_bounds,
  lz4_overflow,
  lz4_bad_offset,
  lz4_truncated,
  lz4_short,
  jpeg_size_mismatch,  // the JPEG's frame is not the RECT's w x h (JpegError::size_mismatch)
  jpeg_malformed,      // any other JpegError: the parser keeps which one (StreamParser::jpeg_error)
  keep_unused,         // a KEEP not followed by a RECT
  keep_bad_encoding,   // a KEEP before a RECT that is not RAW, RUNS, LZ4 or RICE
  cache_size_mismatch,  // a CACHED payload that is not 2 bytes
  cache_out_of_bounds,  // pixels past the end of the bitmap cache
  rice_overflow,        // a RICE code longer than its channel's values can need
  rice_truncated,       // a RICE payload that ends inside a header or a code
  rice_trailing,        // bytes after a RICE payload's last code
  recolor_truncated,    // a RECOLOR payload shorter than its count and table, or that ends inside a patch
  recolor_unsorted,     // a RECOLOR table `from` not above the one before
  recolor_overflow,     // a RECOLOR skip of more than 4 bytes, or a patch at or past w*h
  cells_bad_grid,       // a CELLS payload without its cell size, a side 0, or one that does not divide the RECT's
  cells_size_mismatch,  // a CELLS payload that is not the cell size and one offset per cell
  cells_overflow,       // a CELLS cell past the end of the bitmap cache
  // The board's own HELLO fields (the server's parse_hello codes).
  bad_name,
  bad_size,
};

const char* to_str(Error error);

}  // namespace tft
