// Host pieces of the virtual device: its command line and its PNG writer.
#include <doctest/doctest.h>

#include <zlib.h>

#include <string>
#include <vector>

#include "framebuffer_display.h"
#include "options.h"
#include "png_writer.h"

using namespace tft::host;

namespace {

bool parse(std::vector<const char*> args, DeviceOptions& o, std::string& error) {
  o = DeviceOptions{};
  args.insert(args.begin(), "virtual_device");
  bool help = false;
  return parse_options(static_cast<int>(args.size()), args.data(), o, error, help);
}

uint32_t be32(const std::vector<uint8_t>& b, size_t at) {
  return static_cast<uint32_t>(b[at] << 24 | b[at + 1] << 16 | b[at + 2] << 8 | b[at + 3]);
}

}  // namespace

TEST_CASE("the command line sets every option") {
  DeviceOptions o;
  std::string error;
  REQUIRE(parse({"--host", "10.0.0.2", "--port", "9000", "--display", "desk", "--size", "240x135", "--token", "T",
                 "--max-body", "4096", "--png", "/tmp/x.png", "--png-every-ms", "0", "--spi-mhz", "26.7",
                 "--rx-buffer", "5760", "--exit-after-frames", "3", "--encodings", "raw"},
                o, error));
  CHECK(o.host == "10.0.0.2");
  CHECK(o.port == 9000);
  CHECK(o.display == "desk");
  CHECK(o.width == 240);
  CHECK(o.height == 135);
  CHECK(o.token == "T");
  CHECK(o.max_body == 4096);
  CHECK(o.png == "/tmp/x.png");
  CHECK(o.png_every_ms == 0);
  CHECK(o.spi_mhz == doctest::Approx(26.7));
  CHECK(o.rx_buffer == 5760);
  CHECK(o.exit_after_frames == 3);
  CHECK(o.encodings == 1);
}

TEST_CASE("the virtual device offers every encoding by default, COPY, LZ4, JPEG, CACHED, RICE, RECOLOR and CELLS included; --encodings picks") {
  DeviceOptions o;
  std::string error;
  REQUIRE(parse({}, o, error));
  CHECK(o.encodings == tft::kMaskImplemented);
  CHECK(o.encodings == 511);
  REQUIRE(parse({"--encodings", "raw,copy"}, o, error));
  CHECK(o.encodings == (tft::kMaskRaw | tft::kMaskCopy));
  REQUIRE(parse({"--encodings", "raw,runs,copy"}, o, error));
  CHECK(o.encodings == 7);
  REQUIRE(parse({"--encodings", "raw,lz4"}, o, error));
  CHECK(o.encodings == (tft::kMaskRaw | tft::kMaskLz4));
  REQUIRE(parse({"--encodings", "raw,runs,copy,lz4"}, o, error));
  CHECK(o.encodings == 15);
  REQUIRE(parse({"--encodings", "raw,jpeg"}, o, error));
  CHECK(o.encodings == (tft::kMaskRaw | tft::kMaskJpeg));
  REQUIRE(parse({"--encodings", "raw,runs,copy,lz4,jpeg,cached,rice"}, o, error));
  CHECK(o.encodings == 127);
  REQUIRE(parse({"--encodings", "raw,copy,recolor"}, o, error));
  CHECK(o.encodings == (tft::kMaskRaw | tft::kMaskCopy | tft::kMaskRecolor));
  REQUIRE(parse({"--encodings", "raw,runs,copy,lz4,jpeg,cached,rice,recolor"}, o, error));
  CHECK(o.encodings == 255);
  REQUIRE(parse({"--encodings", "raw,runs,copy,lz4,jpeg,cached,rice,recolor,cells"}, o, error));
  CHECK(o.encodings == 511);
  CHECK(std::string(kUsage).find("--encodings raw,runs,copy,lz4,jpeg,cached,rice,recolor,cells") != std::string::npos);
}

TEST_CASE("the framebuffer reads back what it shows, in either byte order, and counts it") {
  FramebufferDisplay display(3, 2);
  const uint8_t big[] = {0x12, 0x34, 0xAB, 0xCD};
  display.push_pixels(tft::Window{1, 1, 2, 1}, big, tft::PixelOrder::big_endian);
  uint8_t out[4] = {};
  display.read_pixels(tft::Window{1, 1, 2, 1}, out, tft::PixelOrder::big_endian);
  CHECK(std::vector<uint8_t>(out, out + 4) == std::vector<uint8_t>{0x12, 0x34, 0xAB, 0xCD});
  display.read_pixels(tft::Window{1, 1, 2, 1}, out, tft::PixelOrder::little_endian);
  CHECK(std::vector<uint8_t>(out, out + 4) == std::vector<uint8_t>{0x34, 0x12, 0xCD, 0xAB});
  CHECK(display.pixels_read() == 4);
  CHECK(display.read_calls() == 2);
  CHECK(display.violations() == 0);
  display.read_pixels(tft::Window{2, 1, 2, 1}, out, tft::PixelOrder::big_endian);  // one column outside
  CHECK(display.violations() == 1);

  FramebufferDisplay blind(3, 2, false);  // a panel without MISO: any read is the core's mistake
  CHECK_FALSE(blind.can_read());
  blind.read_pixels(tft::Window{0, 0, 1, 1}, out, tft::PixelOrder::big_endian);
  CHECK(blind.violations() == 1);
}

TEST_CASE("a bad option is named with what was expected and what was given") {
  DeviceOptions o;
  std::string error;
  CHECK_FALSE(parse({"--size", "320by240"}, o, error));
  CHECK(error == "--size: expected WIDTHxHEIGHT, got '320by240'");
  CHECK_FALSE(parse({"--display", "my desk"}, o, error));
  CHECK(error == "--display: expected 1..32 of [A-Za-z0-9_.-], got 'my desk'");
  CHECK_FALSE(parse({"--encodings", "runs"}, o, error));
  CHECK(error == "--encodings: expected a list including raw");
  CHECK_FALSE(parse({"--encodings", "raw,png"}, o, error));
  CHECK(error == "--encodings: expected a list of raw,runs,copy,lz4,jpeg,cached,rice,recolor,cells, got 'raw,png'");
  CHECK_FALSE(parse({"--max-body", "63"}, o, error));
  CHECK_FALSE(parse({"--port", "0"}, o, error));
  CHECK_FALSE(parse({"--bogus", "1"}, o, error));
  CHECK(error == "unknown option --bogus");
  CHECK_FALSE(parse({"--port"}, o, error));
}

TEST_CASE("PNG: 8-bit RGB by bit replication, valid chunks, pixels in row order") {
  const std::vector<uint16_t> pixels{0xF800, 0x07E0, 0x001F, 0xFFFF, 0x0000, 0x8410};
  const std::vector<uint8_t> png = encode_png(3, 2, pixels);
  REQUIRE(png.size() > 8 + 25);
  CHECK(std::vector<uint8_t>(png.begin(), png.begin() + 8) == std::vector<uint8_t>{0x89, 'P', 'N', 'G', 13, 10, 26, 10});
  CHECK(be32(png, 16) == 3);  // IHDR width
  CHECK(be32(png, 20) == 2);  // height
  CHECK(png[24] == 8);        // bit depth
  CHECK(png[25] == 2);        // colour type RGB
  CHECK(be32(png, 29) == crc32(0, png.data() + 12, 17));
  const size_t idat = 8 + 25;
  const uint32_t len = be32(png, idat);
  REQUIRE(std::string(png.begin() + idat + 4, png.begin() + idat + 8) == "IDAT");
  std::vector<uint8_t> raw(2 * (1 + 9));
  uLongf raw_len = raw.size();
  REQUIRE(uncompress(raw.data(), &raw_len, png.data() + idat + 8, len) == Z_OK);
  CHECK(raw == std::vector<uint8_t>{0, 255, 0, 0, 0, 255, 0, 0, 0, 255,  //
                                    0, 255, 255, 255, 0, 0, 0, 132, 130, 132});
  CHECK(std::string(png.end() - 8, png.end() - 4) == "IEND");
}
