// Fake sdkconfig.h: the two values the board layer reads (arduino-esp32 3.3.x for ESP32-C3).
#pragma once
#define CONFIG_IDF_TARGET_ESP32C3 1
#define CONFIG_LWIP_TCP_WND_DEFAULT 5760
