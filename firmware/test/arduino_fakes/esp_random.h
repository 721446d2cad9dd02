// Fake of ESP-IDF 5 esp_random.h: uint32_t esp_random(void).
#pragma once
#include <stdint.h>
extern "C" uint32_t esp_random(void);
