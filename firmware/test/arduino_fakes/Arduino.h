// Fake of arduino-esp32 3.x Arduino.h for compiling the board layer on the host: only what the
// layer calls, with the core's signatures (cores/esp32: esp32-hal-misc/gpio.h, Print.h, Esp.h,
// HWCDC.h). State for tests lives in fake_board.h.
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "IPAddress.h"
#include "WString.h"
#include "esp_err.h"
#include "sdkconfig.h"

#define LOW 0x0
#define HIGH 0x1
#define INPUT 0x01
#define OUTPUT 0x03
#define INPUT_PULLUP 0x05

unsigned long millis();
unsigned long micros();
void delay(uint32_t ms);
void yield();
void pinMode(uint8_t pin, uint8_t mode);
int digitalRead(uint8_t pin);

class Print {
 public:
  virtual ~Print() = default;
  virtual size_t write(uint8_t c) = 0;
  virtual size_t write(const uint8_t* buffer, size_t size);
  virtual void flush() {}
  size_t print(const char text[]);
  size_t println(const char text[]);
  size_t println();
  size_t printf(const char* format, ...) __attribute__((format(printf, 2, 3)));
};

class Stream : public Print {
 public:
  virtual int available() = 0;
  virtual int read() = 0;
};

// On the C3 boards with USB CDC on boot, Serial is an HWCDC; the members used are the same.
class HardwareSerial : public Stream {
 public:
  void begin(unsigned long baud);
  int available() override;
  int read() override;
  size_t write(uint8_t c) override;
  using Print::write;
};
extern HardwareSerial Serial;

class EspClass {
 public:
  uint32_t getFreeHeap();
  uint64_t getEfuseMac();
  void restart();
};
extern EspClass ESP;
