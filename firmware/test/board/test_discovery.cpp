// Choosing the server: configured first, then mDNS (preferring one serving this display), then the
// fallback; and reading the egress's mDNS answers.
#include <doctest/doctest.h>

#include <string>

#include "board_test_support.h"
#include "discovery.h"

using board::Candidate;
using board::ServerSource;
using board_test::ip;

TEST_CASE("lists_display matches whole comma-separated names only") {
  CHECK(board::lists_display("main,side", "side"));
  CHECK(board::lists_display("main", "main"));
  CHECK_FALSE(board::lists_display("main,side", "mai"));
  CHECK_FALSE(board::lists_display("mainx,side2", "side"));
  CHECK_FALSE(board::lists_display("", "main"));
  CHECK_FALSE(board::lists_display("main,,side", ""));
}

TEST_CASE("a configured host wins over anything discovered") {
  board::Settings s;
  board::default_settings(s);
  board::set_field(s, "host", "pc.local");
  board::set_field(s, "port", "9000");
  const Candidate found[] = {{ip(10, 0, 0, 2), 7878, true}};
  const board::ServerChoice c = board::choose_server(s, found, 1, "fallback", 1);
  CHECK(c.source == ServerSource::configured);
  CHECK(std::string(c.host) == "pc.local");
  CHECK(c.port == 9000);
}

TEST_CASE("without a configured host: the first server serving this display, else the first found") {
  board::Settings s;
  board::default_settings(s);
  const Candidate found[] = {{ip(10, 0, 0, 2), 7878, false}, {ip(10, 0, 0, 3), 7879, true}, {ip(10, 0, 0, 4), 1, true}};
  board::ServerChoice c = board::choose_server(s, found, 3, "", 0);
  CHECK(c.source == ServerSource::discovered);
  CHECK(c.ip == ip(10, 0, 0, 3));
  CHECK(c.port == 7879);
  c = board::choose_server(s, found, 1, "", 0);
  CHECK(c.ip == ip(10, 0, 0, 2));
}

TEST_CASE("nothing configured or found: the fallback host, else none") {
  board::Settings s;
  board::default_settings(s);
  board::ServerChoice c = board::choose_server(s, nullptr, 0, "10.0.0.9", 7878);
  CHECK(c.source == ServerSource::fallback);
  CHECK(std::string(c.host) == "10.0.0.9");
  c = board::choose_server(s, nullptr, 0, "", 7878);
  CHECK(c.source == ServerSource::none);
}

TEST_CASE("browse reads address, port and displays from the egress's TXT and skips other versions") {
  fake::reset();
  fake::state().mdns = {
      {"old", ip(10, 0, 0, 1), 7878, {{"v", "2"}, {"displays", "main"}}},
      {"pc", ip(10, 0, 0, 2), 7878, {{"v", "1"}, {"displays", "main,side"}}},
      {"other", ip(10, 0, 0, 3), 7000, {{"v", "1"}, {"displays", "square"}}},
      {"noaddr", 0, 7878, {{"v", "1"}}},
  };
  Candidate out[4];
  const size_t n = board::browse_servers("side", out, 4);
  REQUIRE(n == 2);
  CHECK(out[0].ip == ip(10, 0, 0, 2));
  CHECK(out[0].serves_display);
  CHECK(out[1].port == 7000);
  CHECK_FALSE(out[1].serves_display);
}

TEST_CASE("resolve_host and format_ip") {
  fake::reset();
  fake::state().dns["pc.local"] = ip(192, 168, 1, 5);
  uint32_t address = 0;
  CHECK(board::resolve_host("pc.local", address));
  char text[16];
  board::format_ip(address, text);
  CHECK(std::string(text) == "192.168.1.5");
  CHECK_FALSE(board::resolve_host("nowhere", address));
}
