// Forced into every translation unit of the ESP32-C3 builds by platformio.ini (-include), before
// any other header, so TFT_eSPI 2.5.43 can drive the C3's SPI on arduino-esp32 3.x unmodified.
//
// Why: TFT_eSPI's C3 driver addresses the SPI registers as SPI_*_REG(SPI_PORT) with
// SPI_PORT = SPI2_HOST (= 1). Up to arduino-esp32 2.0.14 the IDF did not define REG_SPI_BASE and
// TFT_eSPI supplied REG_SPI_BASE(i) = DR_REG_SPI2_BASE. Newer IDFs (arduino-esp32 >= 2.0.15, all
// 3.x) define it in soc/soc.h as ((i) == 2 ? DR_REG_SPI2_BASE : 0), so index 1 yields address 0
// and tft.init() faults (Bodmer/TFT_eSPI#3329, #3384, #3332; espressif/arduino-esp32#10908; the
// library-side fix, Bodmer/TFT_eSPI#3792, is not in a release). soc.h is `#pragma once`: including
// it here first and redefining the macro restores what TFT_eSPI expects. The C3 has one
// general-purpose SPI (SPI2); the SPI0/1 flash controllers use REG_SPI_MEM_BASE, not this macro,
// so no other index was valid before.
#pragma once

#if defined(__has_include)
#if __has_include("sdkconfig.h") && __has_include("soc/soc.h")
#include "sdkconfig.h"
#if defined(CONFIG_IDF_TARGET_ESP32C3)
#include "soc/soc.h"
#undef REG_SPI_BASE
#define REG_SPI_BASE(i) (DR_REG_SPI2_BASE)
#endif
#endif
#endif
