#include "error.h"

namespace tft {

const char* to_str(Error error) {
  switch (error) {
    case Error::none: return "none";
    case Error::unknown_type: return "unknown_type";
    case Error::oversized: return "oversized";
    case Error::bad_length: return "bad_length";
    case Error::expected_accept: return "expected_accept";
    case Error::bad_version: return "bad_version";
    case Error::bad_encodings: return "bad_encodings";
    case Error::bad_buffer: return "bad_buffer";
    case Error::frame_open: return "frame_open";
    case Error::not_in_frame: return "not_in_frame";
    case Error::seq_mismatch: return "seq_mismatch";
    case Error::rect_empty: return "rect_empty";
    case Error::rect_out_of_bounds: return "rect_out_of_bounds";
    case Error::unknown_encoding: return "unknown_encoding";
    case Error::raw_size_mismatch: return "raw_size_mismatch";
    case Error::runs_partial: return "runs_partial";
    case Error::runs_overflow: return "runs_overflow";
    case Error::runs_short: return "runs_short";
    case Error::copy_size_mismatch: return "copy_size_mismatch";
    case Error::copy_out_of_bounds: return "copy_out_of_bounds";
    case Error::lz4_overflow: return "lz4_overflow";
    case Error::lz4_bad_offset: return "lz4_bad_offset";
    case Error::lz4_truncated: return "lz4_truncated";
    case Error::lz4_short: return "lz4_short";
    case Error::jpeg_size_mismatch: return "jpeg_size_mismatch";
    case Error::jpeg_malformed: return "jpeg_malformed";
    case Error::keep_unused: return "keep_unused";
    case Error::keep_bad_encoding: return "keep_bad_encoding";
    case Error::cache_size_mismatch: return "cache_size_mismatch";
    case Error::cache_out_of_bounds: return "cache_out_of_bounds";
    case Error::rice_overflow: return "rice_overflow";
    case Error::rice_truncated: return "rice_truncated";
    case Error::rice_trailing: return "rice_trailing";
    case Error::recolor_truncated: return "recolor_truncated";
    case Error::recolor_unsorted: return "recolor_unsorted";
    case Error::recolor_overflow: return "recolor_overflow";
    case Error::cells_bad_grid: return "cells_bad_grid";
    case Error::cells_size_mismatch: return "cells_size_mismatch";
    case Error::cells_overflow: return "cells_overflow";
    case Error::bad_name: return "bad_name";
    case Error::bad_size: return "bad_size";
  }
  return "?";  // a value outside the enum: memory corruption, not a protocol error
}

}  // namespace tft
