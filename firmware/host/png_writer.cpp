#include "png_writer.h"

#include <stdio.h>
#include <zlib.h>

namespace tft::host {

namespace {

void put_u32be(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

void put_chunk(std::vector<uint8_t>& out, const char type[4], const std::vector<uint8_t>& data) {
  put_u32be(out, static_cast<uint32_t>(data.size()));
  const size_t start = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  const uLong crc = crc32(0L, out.data() + start, static_cast<uInt>(out.size() - start));
  put_u32be(out, static_cast<uint32_t>(crc));
}

// Each row: filter byte 0 (none), then RGB888 pixels.
std::vector<uint8_t> scanlines(uint16_t width, uint16_t height, const std::vector<uint16_t>& rgb565) {
  std::vector<uint8_t> raw;
  raw.reserve(static_cast<size_t>(height) * (1 + 3 * static_cast<size_t>(width)));
  for (size_t y = 0; y < height; ++y) {
    raw.push_back(0);
    for (size_t x = 0; x < width; ++x) {
      const uint16_t v = rgb565[y * width + x];
      const uint8_t r5 = v >> 11, g6 = (v >> 5) & 0x3F, b5 = v & 0x1F;
      raw.push_back(static_cast<uint8_t>(r5 << 3 | r5 >> 2));
      raw.push_back(static_cast<uint8_t>(g6 << 2 | g6 >> 4));
      raw.push_back(static_cast<uint8_t>(b5 << 3 | b5 >> 2));
    }
  }
  return raw;
}

}  // namespace

std::vector<uint8_t> encode_png(uint16_t width, uint16_t height, const std::vector<uint16_t>& rgb565) {
  static const uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  std::vector<uint8_t> out(kSignature, kSignature + 8);
  std::vector<uint8_t> ihdr;
  put_u32be(ihdr, width);
  put_u32be(ihdr, height);
  ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});  // 8 bits per channel, RGB, deflate, no filter, no interlace
  put_chunk(out, "IHDR", ihdr);
  const std::vector<uint8_t> raw = scanlines(width, height, rgb565);
  uLongf size = compressBound(static_cast<uLong>(raw.size()));
  std::vector<uint8_t> packed(size);
  if (compress2(packed.data(), &size, raw.data(), static_cast<uLong>(raw.size()), 6) != Z_OK) return {};
  packed.resize(size);
  put_chunk(out, "IDAT", packed);
  put_chunk(out, "IEND", {});
  return out;
}

bool save_png(const std::string& path, uint16_t width, uint16_t height, const std::vector<uint16_t>& rgb565) {
  const std::vector<uint8_t> png = encode_png(width, height, rgb565);
  if (png.empty()) return false;
  const std::string partial = path + ".partial";
  FILE* file = fopen(partial.c_str(), "wb");
  if (file == nullptr) return false;
  const bool written = fwrite(png.data(), 1, png.size(), file) == png.size();
  const bool closed = fclose(file) == 0;
  return written && closed && rename(partial.c_str(), path.c_str()) == 0;
}

}  // namespace tft::host
