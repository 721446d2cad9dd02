// A fixed-size text builder for status lines: no snprintf on a freestanding target, no heap.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace tft {

template <size_t N>
class Text {
 public:
  Text() { buf_[0] = '\0'; }

  // Appends as much as fits; the text stays NUL-terminated.
  Text& add(const char* s) {
    while (s != nullptr && *s != '\0' && len_ + 1 < N) buf_[len_++] = *s++;
    buf_[len_] = '\0';
    return *this;
  }

  Text& add(uint32_t value) {
    char digits[10];
    int n = 0;
    do {
      digits[n++] = static_cast<char>('0' + value % 10);
      value /= 10;
    } while (value != 0);
    while (n > 0 && len_ + 1 < N) buf_[len_++] = digits[--n];
    buf_[len_] = '\0';
    return *this;
  }

  const char* c_str() const { return buf_; }
  size_t size() const { return len_; }

 private:
  char buf_[N];
  size_t len_ = 0;
};

}  // namespace tft
