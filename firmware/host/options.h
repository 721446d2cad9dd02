// The virtual device's command line.
#pragma once

#include <stdint.h>

#include <string>

#include "protocol.h"

namespace tft::host {

struct DeviceOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 7878;
  std::string display = "main";
  uint16_t width = 320;
  uint16_t height = 240;
  std::string token;
  uint16_t max_body = 16384;
  uint16_t encodings = kMaskImplemented;  // raw,runs,copy,lz4,jpeg,cached,rice,recolor,cells: the framebuffer reads back, a block buffer of max_body, a bitmap cache
  std::string png;           // empty: no PNG
  uint32_t png_every_ms = 500;
  double spi_mhz = 0;        // 0: the panel is infinitely fast
  int rx_buffer = 0;         // SO_RCVBUF; 0: OS default
  uint32_t exit_after_frames = 0;  // 0: run until a signal
};

extern const char* const kUsage;

// Parses argv into `options`; on a bad option returns false with `error` as
// "--option: expected X, got Y". Sets `help` for --help.
bool parse_options(int argc, const char* const* argv, DeviceOptions& options, std::string& error, bool& help);

}  // namespace tft::host
