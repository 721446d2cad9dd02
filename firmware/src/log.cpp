#include "log.h"

#include <Arduino.h>
#include <stdarg.h>
#include <stdio.h>

namespace board {

namespace {
uint8_t g_level = 3;
const char kLetters[] = "-EWID";
}  // namespace

void set_log_level(uint8_t level) { g_level = level > 4 ? 4 : level; }

uint8_t log_level() { return g_level; }

bool log_enabled(LogLevel level) { return level != LogLevel::off && static_cast<uint8_t>(level) <= g_level; }

void log(LogLevel level, const char* tag, const char* format, ...) {
  if (!log_enabled(level)) return;
  char line[224];
  const unsigned long now = millis();
  int n = snprintf(line, sizeof line, "%lu.%03lu %c %s: ", now / 1000, now % 1000, kLetters[static_cast<uint8_t>(level)], tag);
  if (n < 0 || static_cast<size_t>(n) >= sizeof line) return;
  va_list args;
  va_start(args, format);
  vsnprintf(line + n, sizeof line - static_cast<size_t>(n), format, args);  // a long line is cut, never split
  va_end(args);
  Serial.println(line);
}

}  // namespace board
