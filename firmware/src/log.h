// Serial log lines at one verbosity (build flag TFTSTREAM_LOG_LEVEL, then the `log` setting):
//   12.345 I wifi: connected to home, ip 192.168.1.23
#pragma once

#include <stdint.h>

namespace board {

enum class LogLevel : uint8_t { off, error, warn, info, debug };

void set_log_level(uint8_t level);  // 0..4; larger values mean debug
uint8_t log_level();
bool log_enabled(LogLevel level);
void log(LogLevel level, const char* tag, const char* format, ...) __attribute__((format(printf, 3, 4)));

}  // namespace board

#define BOARD_LOG_E(tag, ...) ::board::log(::board::LogLevel::error, tag, __VA_ARGS__)
#define BOARD_LOG_W(tag, ...) ::board::log(::board::LogLevel::warn, tag, __VA_ARGS__)
#define BOARD_LOG_I(tag, ...) ::board::log(::board::LogLevel::info, tag, __VA_ARGS__)
#define BOARD_LOG_D(tag, ...) ::board::log(::board::LogLevel::debug, tag, __VA_ARGS__)
