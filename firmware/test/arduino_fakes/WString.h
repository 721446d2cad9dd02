// Fake of arduino-esp32's String (cores/esp32/WString.h): the members the board layer uses.
#pragma once
#include <string.h>

#include <string>

class String {
 public:
  String() = default;
  String(const char* text) : s_(text != nullptr ? text : "") {}  // NOLINT: implicit, as the real one
  explicit String(const std::string& text) : s_(text) {}

  const char* c_str() const { return s_.c_str(); }
  unsigned int length() const { return static_cast<unsigned int>(s_.size()); }
  bool reserve(unsigned int size) {
    s_.reserve(size);
    return true;
  }
  String& operator+=(const String& rhs) {
    s_ += rhs.s_;
    return *this;
  }
  String& operator+=(const char* rhs) {
    s_ += rhs;
    return *this;
  }
  String& operator+=(char c) {
    s_ += c;
    return *this;
  }
  bool operator==(const char* rhs) const { return s_ == rhs; }
  bool operator!=(const char* rhs) const { return s_ != rhs; }
  bool operator==(const String& rhs) const { return s_ == rhs.s_; }

 private:
  std::string s_;
};
