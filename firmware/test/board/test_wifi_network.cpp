// The WiFiClient adapter: when it refuses to connect, TCP_NODELAY, non-blocking I/O, closes.
#include <doctest/doctest.h>

#include <string>

#include "board_test_support.h"
#include "wifi_network.h"

using board_test::ip;

TEST_CASE("without Wi-Fi or a server the link stays closed and says why") {
  fake::reset();
  board::WiFiNetwork net;
  net.set_target(ip(10, 0, 0, 2), 7878);
  net.open();
  CHECK(net.status() == tft::LinkStatus::closed);
  CHECK(std::string(net.last_error()) == "no Wi-Fi");
  fake::state().wifi_status = WL_CONNECTED;
  net.clear_target();
  net.open();
  CHECK(std::string(net.last_error()) == "no server");
  CHECK(fake::state().last_connect.empty());
}

TEST_CASE("open connects to the target with TCP_NODELAY; a refused connect is closed with a reason") {
  fake::reset();
  fake::state().wifi_status = WL_CONNECTED;
  board::WiFiNetwork net;
  net.set_target(ip(10, 0, 0, 2), 7878);
  net.open();
  CHECK(net.status() == tft::LinkStatus::open);
  CHECK(fake::state().last_connect == "10.0.0.2:7878");
  CHECK(fake::state().nodelay);
  fake::state().connect_ok = false;
  net.open();
  CHECK(net.status() == tft::LinkStatus::closed);
  CHECK(std::string(net.last_error()) == "refused or unreachable");
}

TEST_CASE("send and receive never wait: nothing waiting is 0 bytes, the server's close is noticed") {
  fake::reset();
  fake::state().wifi_status = WL_CONNECTED;
  board::WiFiNetwork net;
  net.set_target(ip(10, 0, 0, 2), 7878);
  net.open();
  const uint8_t hello[] = {1, 2, 3};
  CHECK(net.send(hello, 3) == 3);
  CHECK(fake::state().sent == std::string("\x01\x02\x03", 3));
  uint8_t buffer[8];
  CHECK(net.receive(buffer, sizeof buffer) == 0);
  CHECK(net.status() == tft::LinkStatus::open);
  fake::state().to_receive = "abcdefghij";
  CHECK(net.receive(buffer, sizeof buffer) == 8);
  CHECK(net.receive(buffer, sizeof buffer) == 2);
  fake::state().peer_closed = true;
  CHECK(net.receive(buffer, sizeof buffer) == 0);
  CHECK(net.status() == tft::LinkStatus::closed);
  CHECK(std::string(net.last_error()) == "closed by server");
  CHECK_FALSE(fake::state().socket_open);
  CHECK(net.send(hello, 3) == 0);
}
