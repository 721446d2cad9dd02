#include "options.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "board_messages.h"

namespace tft::host {

const char* const kUsage =
    "usage: virtual_device [--host 127.0.0.1] [--port 7878] [--display main] [--size 320x240]\n"
    "                      [--token T] [--max-body 16384] [--encodings raw,runs,copy,lz4,jpeg,cached,rice,recolor,cells]\n"
    "                      [--png PATH] [--png-every-ms 500] [--spi-mhz 0] [--rx-buffer BYTES]\n"
    "                      [--exit-after-frames 0]\n"
    "A board of protocol v1 on this machine: connects to the egress, keeps a framebuffer, saves it\n"
    "as PNG (every --png-every-ms, on SIGUSR1, at exit). --encodings: what it offers (default all;\n"
    "copy = a panel that reads back; lz4, jpeg, rice = a block buffer of --max-body bytes; recolor = both;\n"
    "cached = a 32 KB bitmap cache). --spi-mhz models\n"
    "the panel's bus (0 = instant): a pixel written costs 16 bits / clock; a COPY also reads its\n"
    "source first, 24 bits per pixel (RAMRD returns 3 bytes) at min(clock, 20 MHz), as panels\n"
    "read slower than they write.\n"
    "--rx-buffer: the board's TCP receive window.\n"
    "Exit codes: 0 stopped by signal or after --exit-after-frames, 2 bad option, 3 rejected.\n";

namespace {

bool parse_uint(const char* text, unsigned long max, unsigned long& out) {
  if (text == nullptr || *text < '0' || *text > '9') return false;
  char* end = nullptr;
  errno = 0;
  out = strtoul(text, &end, 10);
  return errno == 0 && *end == '\0' && out <= max;
}

bool parse_size(const char* text, uint16_t& width, uint16_t& height) {
  const char* x = strchr(text, 'x');
  if (x == nullptr) return false;
  const std::string w(text, x);
  unsigned long wv = 0, hv = 0;
  if (!parse_uint(w.c_str(), 65535, wv) || !parse_uint(x + 1, 65535, hv)) return false;
  width = static_cast<uint16_t>(wv);
  height = static_cast<uint16_t>(hv);
  return true;
}

bool parse_encodings(const char* text, uint16_t& mask) {
  mask = 0;
  std::string list(text);
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    const std::string name = list.substr(start, comma - start);
    if (name == "raw") {
      mask |= kMaskRaw;
    } else if (name == "runs") {
      mask |= kMaskRuns;
    } else if (name == "copy") {
      mask |= kMaskCopy;
    } else if (name == "lz4") {
      mask |= kMaskLz4;
    } else if (name == "jpeg") {
      mask |= kMaskJpeg;
    } else if (name == "cached") {
      mask |= kMaskCached;
    } else if (name == "rice") {
      mask |= kMaskRice;
    } else if (name == "recolor") {
      mask |= kMaskRecolor;
    } else if (name == "cells") {
      mask |= kMaskCells;
    } else {
      return false;
    }
    start = comma + 1;
  }
  return true;
}

bool parse_one(const std::string& name, const char* value, DeviceOptions& o) {
  unsigned long n = 0;
  if (name == "--host") return (o.host = value, !o.host.empty());
  if (name == "--port") return parse_uint(value, 65535, n) && n > 0 && (o.port = static_cast<uint16_t>(n), true);
  if (name == "--display") return (o.display = value, true);
  if (name == "--size") return parse_size(value, o.width, o.height);
  if (name == "--token") return (o.token = value, true);
  if (name == "--max-body") return parse_uint(value, 65535, n) && (o.max_body = static_cast<uint16_t>(n), true);
  if (name == "--encodings") return parse_encodings(value, o.encodings);
  if (name == "--png") return (o.png = value, true);
  if (name == "--png-every-ms") return parse_uint(value, 86400000, n) && (o.png_every_ms = static_cast<uint32_t>(n), true);
  if (name == "--rx-buffer") return parse_uint(value, 1 << 30, n) && (o.rx_buffer = static_cast<int>(n), true);
  if (name == "--exit-after-frames") {
    return parse_uint(value, 0xFFFFFFFFul, n) && (o.exit_after_frames = static_cast<uint32_t>(n), true);
  }
  if (name == "--spi-mhz") {
    char* end = nullptr;
    o.spi_mhz = strtod(value, &end);
    return *value != '\0' && *end == '\0' && o.spi_mhz >= 0 && o.spi_mhz <= 1000;
  }
  return false;
}

bool known_option(const std::string& name) {
  static const char* const kNames[] = {"--host",  "--port",      "--display", "--size",         "--token",
                                       "--max-body", "--encodings", "--png",  "--png-every-ms", "--spi-mhz",
                                       "--rx-buffer", "--exit-after-frames"};
  for (const char* known : kNames) {
    if (name == known) return true;
  }
  return false;
}

const char* expectation(const std::string& name) {
  if (name == "--size") return "WIDTHxHEIGHT";
  if (name == "--encodings") return "a list of raw,runs,copy,lz4,jpeg,cached,rice,recolor,cells";
  if (name == "--spi-mhz") return "a clock in MHz, 0..1000 (0 = instant)";
  if (name == "--port") return "a port 1..65535";
  if (name == "--host") return "a host name or address";
  return "a number in range";
}

// The HELLO the options make must be one the server accepts: say which option is wrong.
bool check_hello_fields(const DeviceOptions& o, std::string& error) {
  HelloInfo hello;
  hello.width = o.width;
  hello.height = o.height;
  hello.encodings = o.encodings;
  hello.max_body = o.max_body;
  hello.display = o.display.c_str();
  hello.firmware = "virtual-1";
  hello.token = reinterpret_cast<const uint8_t*>(o.token.data());
  hello.token_len = o.token.size();
  switch (check_hello(hello)) {
    case Error::none: return true;
    case Error::bad_name: error = "--display: expected 1..32 of [A-Za-z0-9_.-], got '" + o.display + "'"; break;
    case Error::bad_length: error = "--token: expected at most 64 bytes, got " + std::to_string(o.token.size()); break;
    case Error::bad_encodings: error = "--encodings: expected a list including raw"; break;
    case Error::bad_buffer: error = "--max-body: expected 64..65535, got " + std::to_string(o.max_body); break;
    default: error = "--size: expected 1..4096 x 1..4096, got " + std::to_string(o.width) + "x" + std::to_string(o.height); break;
  }
  return false;
}

}  // namespace

bool parse_options(int argc, const char* const* argv, DeviceOptions& options, std::string& error, bool& help) {
  help = false;
  for (int i = 1; i < argc; ++i) {
    const std::string name = argv[i];
    if (name == "--help" || name == "-h") {
      help = true;
      return true;
    }
    if (!known_option(name)) {
      error = "unknown option " + name;
      return false;
    }
    if (i + 1 >= argc) {
      error = name + ": expected " + expectation(name) + ", got nothing";
      return false;
    }
    const char* value = argv[++i];
    if (!parse_one(name, value, options)) {
      error = name + ": expected " + expectation(name) + ", got '" + value + "'";
      return false;
    }
  }
  return check_hello_fields(options, error);
}

}  // namespace tft::host
