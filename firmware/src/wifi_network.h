// tft::Network over arduino-esp32 3.x's WiFiClient (NetworkClient), to the server chosen by
// discovery. TCP_NODELAY on, so the board's small ACKs leave at once.
//
// WiFiClient::connect blocks for up to kConnectTimeoutMs (a select() inside); once connected,
// sends and receives use the client's socket with MSG_DONTWAIT. Why not write()/read():
// write() waits in select() up to 10 x 1 s when the send buffer is full, and read()/connected()
// do not report an orderly close (recv() == 0) reliably, so a stopped server would only be
// noticed by the silence timeout.
#pragma once

#include <WiFi.h>
#include <stddef.h>
#include <stdint.h>

#include "platform.h"

namespace board {

class WiFiNetwork : public tft::Network {
 public:
  virtual ~WiFiNetwork() = default;

  void set_target(uint32_t ip, uint16_t port);
  void clear_target() { set_target(0, 0); }
  bool has_target() const { return ip_ != 0 && port_ != 0; }
  uint32_t target_ip() const { return ip_; }
  uint16_t target_port() const { return port_; }
  const char* last_error() const { return error_; }  // why the link last failed or closed

  void open() override;
  tft::LinkStatus status() override { return status_; }
  size_t send(const uint8_t* data, size_t size) override;
  size_t receive(uint8_t* buffer, size_t capacity) override;
  void close() override;

 private:
  void fail(const char* what, int error);

  WiFiClient client_;
  uint32_t ip_ = 0;
  uint16_t port_ = 0;
  tft::LinkStatus status_ = tft::LinkStatus::closed;
  char error_[64] = "";
};

}  // namespace board
