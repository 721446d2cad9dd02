// tft::Network over a non-blocking POSIX TCP socket, as the virtual device's Wi-Fi.
#pragma once

#include <stdint.h>

#include <string>

#include "platform.h"

namespace tft::host {

class PosixNetwork : public Network {
 public:
  // `receive_buffer`: SO_RCVBUF in bytes (0 = the OS default); small values model a board's TCP window.
  PosixNetwork(std::string host, uint16_t port, int receive_buffer);
  virtual ~PosixNetwork();

  void open() override;
  LinkStatus status() override;
  size_t send(const uint8_t* data, size_t size) override;
  size_t receive(uint8_t* buffer, size_t capacity) override;
  void close() override;

  // Waits until the socket may have news (readable, writable while connecting) or `timeout_ms`.
  void wait(int timeout_ms, bool want_write);
  // Sends what the kernel holds, then closes: a FIN after our last ACK, not a reset that eats it.
  void close_gracefully();
  const std::string& last_os_error() const { return last_os_error_; }

 private:
  void fail(const char* what);

  std::string host_;
  uint16_t port_;
  int receive_buffer_;
  int fd_ = -1;
  LinkStatus status_ = LinkStatus::closed;
  std::string last_os_error_;
};

}  // namespace tft::host
