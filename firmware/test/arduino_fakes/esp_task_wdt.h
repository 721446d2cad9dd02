// Fake of ESP-IDF 5.x components/esp_system/include/esp_task_wdt.h (the IDF of arduino-esp32 3.x):
// init/reconfigure take a config struct (IDF 4.4's esp_task_wdt_init(uint32_t, bool) is gone).
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "esp_err.h"

typedef void* TaskHandle_t;

typedef struct {
  uint32_t timeout_ms;      // TWDT timeout in milliseconds
  uint32_t idle_core_mask;  // bitmask of the cores whose idle task is watched
  bool trigger_panic;       // panic (and reset) on timeout
} esp_task_wdt_config_t;

esp_err_t esp_task_wdt_init(const esp_task_wdt_config_t* config);
esp_err_t esp_task_wdt_reconfigure(const esp_task_wdt_config_t* config);
esp_err_t esp_task_wdt_add(TaskHandle_t task_handle);
esp_err_t esp_task_wdt_reset(void);
esp_err_t esp_task_wdt_delete(TaskHandle_t task_handle);
