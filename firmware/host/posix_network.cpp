#include "posix_network.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

namespace tft::host {

PosixNetwork::PosixNetwork(std::string host, uint16_t port, int receive_buffer)
    : host_(std::move(host)), port_(port), receive_buffer_(receive_buffer) {}

PosixNetwork::~PosixNetwork() { close(); }

void PosixNetwork::fail(const char* what) {
  last_os_error_ = std::string(what) + ": " + strerror(errno);
  close();
}

void PosixNetwork::open() {
  close();
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(port_);
  const int rc = getaddrinfo(host_.c_str(), port.c_str(), &hints, &found);
  if (rc != 0 || found == nullptr) {
    last_os_error_ = std::string("resolve ") + host_ + ": " + gai_strerror(rc);
    return;  // status stays closed: the state machine counts a failed connect
  }
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    freeaddrinfo(found);
    fail("socket");
    return;
  }
  const int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // ACKs are tiny: no Nagle stalls
  if (receive_buffer_ > 0) {
    // Before connect, so the advertised window (and its scaling) follows it.
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer_, sizeof receive_buffer_);
  }
  const int connected = connect(fd_, found->ai_addr, found->ai_addrlen);
  freeaddrinfo(found);
  if (connected == 0) {
    status_ = LinkStatus::open;
  } else if (errno == EINPROGRESS) {
    status_ = LinkStatus::connecting;
  } else {
    fail("connect");
  }
}

LinkStatus PosixNetwork::status() {
  if (status_ != LinkStatus::connecting) return status_;
  pollfd pfd{fd_, POLLOUT, 0};
  if (poll(&pfd, 1, 0) <= 0) return status_;
  int error = 0;
  socklen_t len = sizeof error;
  getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &len);
  if (error != 0) {
    errno = error;
    fail("connect");
  } else {
    status_ = LinkStatus::open;
  }
  return status_;
}

size_t PosixNetwork::send(const uint8_t* data, size_t size) {
  if (status_ != LinkStatus::open) return 0;
  const ssize_t n = ::send(fd_, data, size, MSG_NOSIGNAL);
  if (n >= 0) return static_cast<size_t>(n);
  if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) fail("send");
  return 0;
}

size_t PosixNetwork::receive(uint8_t* buffer, size_t capacity) {
  if (status_ != LinkStatus::open) return 0;
  const ssize_t n = recv(fd_, buffer, capacity, 0);
  if (n > 0) return static_cast<size_t>(n);
  if (n == 0) {
    last_os_error_ = "closed by peer";
    close();
  } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    fail("recv");
  }
  return 0;
}

void PosixNetwork::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  status_ = LinkStatus::closed;
}

void PosixNetwork::wait(int timeout_ms, bool want_write) {
  if (fd_ < 0) {
    const timespec pause{0, static_cast<long>(timeout_ms) * 1000000L};
    nanosleep(&pause, nullptr);
    return;
  }
  short events = POLLIN;
  if (want_write || status_ == LinkStatus::connecting) events |= POLLOUT;
  pollfd pfd{fd_, events, 0};
  poll(&pfd, 1, timeout_ms);  // EINTR (a signal) just ends the wait early
}

void PosixNetwork::close_gracefully() {
  if (fd_ < 0) return;
  shutdown(fd_, SHUT_WR);
  // Read and drop what the server still sends for a moment: closing with unread data would make
  // the kernel send a reset, which can destroy our last ACK in flight.
  uint8_t sink[4096];
  for (int i = 0; i < 20; ++i) {
    pollfd pfd{fd_, POLLIN, 0};
    if (poll(&pfd, 1, 10) <= 0) continue;
    if (recv(fd_, sink, sizeof sink, 0) <= 0) break;
  }
  close();
}

}  // namespace tft::host
