// Fake of arduino-esp32 3.x libraries/Preferences/src/Preferences.h (NVS), kept in memory.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "Arduino.h"

class Preferences {
 public:
  bool begin(const char* name, bool readOnly = false, const char* partition_label = nullptr);
  void end();
  bool clear();
  bool isKey(const char* key);
  size_t putUChar(const char* key, uint8_t value);
  size_t putUShort(const char* key, uint16_t value);
  size_t putString(const char* key, const char* value);
  uint8_t getUChar(const char* key, uint8_t defaultValue = 0);
  uint16_t getUShort(const char* key, uint16_t defaultValue = 0);
  size_t getString(const char* key, char* value, size_t maxLen);

 private:
  const char* namespace_ = nullptr;
  bool read_only_ = true;
};
