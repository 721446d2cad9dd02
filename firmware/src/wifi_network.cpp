#include "wifi_network.h"

#include <errno.h>
#include <lwip/sockets.h>
#include <string.h>

#include "board_config.h"
#include "log.h"
#include "text.h"

namespace board {

void WiFiNetwork::set_target(uint32_t ip, uint16_t port) {
  ip_ = ip;
  port_ = port;
}

void WiFiNetwork::fail(const char* what, int error) {
  tft::Text<sizeof error_> text;
  text.add(what);
  if (error != 0) text.add(": ").add(strerror(error));
  memcpy(error_, text.c_str(), text.size() + 1);
  BOARD_LOG_D("net", "%s", error_);
  close();
}

void WiFiNetwork::open() {
  close();
  if (WiFi.status() != WL_CONNECTED) {
    fail("no Wi-Fi", 0);
    return;
  }
  if (!has_target()) {
    fail("no server", 0);
    return;
  }
  // Blocks up to the timeout; the state machine then sees open or closed, never connecting.
  if (client_.connect(IPAddress(ip_), port_, static_cast<int32_t>(kConnectTimeoutMs)) != 1) {
    fail("refused or unreachable", 0);
    return;
  }
  if (client_.setNoDelay(true) < 0) BOARD_LOG_W("net", "TCP_NODELAY not set: ACKs may wait for Nagle");
  error_[0] = '\0';
  status_ = tft::LinkStatus::open;
}

size_t WiFiNetwork::send(const uint8_t* data, size_t size) {
  if (status_ != tft::LinkStatus::open || size == 0) return 0;
  const ssize_t n = ::send(client_.fd(), data, size, MSG_DONTWAIT);
  if (n > 0) return static_cast<size_t>(n);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return 0;  // stack buffers full
  fail("send", n < 0 ? errno : 0);
  return 0;
}

size_t WiFiNetwork::receive(uint8_t* buffer, size_t capacity) {
  if (status_ != tft::LinkStatus::open) return 0;
  const ssize_t n = ::recv(client_.fd(), buffer, capacity, MSG_DONTWAIT);
  if (n > 0) return static_cast<size_t>(n);
  if (n == 0) {
    fail("closed by server", 0);
  } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    fail("receive", errno);
  }
  return 0;
}

void WiFiNetwork::close() {
  client_.stop();
  status_ = tft::LinkStatus::closed;
}

}  // namespace board
