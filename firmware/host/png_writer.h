// Writes an RGB565 framebuffer as an 8-bit RGB PNG, expanding by bit replication
// (r8 = r5 << 3 | r5 >> 2, as common/rgb565.py), so the PNG shows exactly what a panel shows.
#pragma once

#include <stdint.h>

#include <string>
#include <vector>

namespace tft::host {

// Encodes a PNG in memory (zlib's compress2 and crc32).
std::vector<uint8_t> encode_png(uint16_t width, uint16_t height, const std::vector<uint16_t>& rgb565);

// Writes `path` atomically (a .partial file, then rename) so a viewer never sees half a file.
bool save_png(const std::string& path, uint16_t width, uint16_t height, const std::vector<uint16_t>& rgb565);

}  // namespace tft::host
