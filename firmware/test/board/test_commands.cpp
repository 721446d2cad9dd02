// The serial console's commands: parsing, validation, what they change and what they ask for.
#include <doctest/doctest.h>
#include <string.h>

#include <string>

#include "board_test_support.h"
#include "commands.h"

using board::Action;
using board_test::contains;

namespace {

struct Console {
  board::Settings settings;
  Console() { board::default_settings(settings); }

  Action run(const char* text, std::string* reply_out = nullptr) {
    char line[256];
    strncpy(line, text, sizeof line - 1);
    line[sizeof line - 1] = '\0';
    board::Reply reply;
    const Action action = board::run_command(line, settings, reply);
    if (reply_out != nullptr) *reply_out = reply.c_str();
    return action;
  }
};

}  // namespace

TEST_CASE("wifi sets the network and password, quoted names may hold spaces, and asks to save") {
  Console c;
  CHECK(c.run("wifi \"my home\" \"pass word 1\"") == Action::save);
  CHECK(std::string(c.settings.ssid) == "my home");
  CHECK(std::string(c.settings.password) == "pass word 1");
  CHECK(c.run("wifi cafe") == Action::save);  // an open network
  CHECK(std::string(c.settings.password).empty());
}

TEST_CASE("a rejected value names the setting and changes nothing, not even the fields before it") {
  Console c;
  REQUIRE(c.run("wifi home goodpassword") == Action::save);
  std::string reply;
  CHECK(c.run("wifi other short", &reply) == Action::none);
  CHECK(contains(reply, "password: a Wi-Fi password has 8 to 63 characters"));
  CHECK(std::string(c.settings.ssid) == "home");
  CHECK(c.run("wifi \"\" longenough1") == Action::none);
  CHECK(c.run("wifi 123456789012345678901234567890123 longenough1") == Action::none);  // 33 bytes
  CHECK(std::string(c.settings.ssid) == "home");
}

TEST_CASE("server takes a host and optional port; 'server auto' goes back to mDNS") {
  Console c;
  CHECK(c.run("server 192.168.1.5") == Action::save);
  CHECK(std::string(c.settings.host) == "192.168.1.5");
  CHECK(c.settings.port == 7878);
  CHECK(c.run("server pc.local 9000") == Action::save);
  CHECK(c.settings.port == 9000);
  CHECK(c.run("server pc.local 0") == Action::none);
  CHECK(c.run("server pc.local 65536") == Action::none);
  CHECK(c.run("server pc.local 12ab") == Action::none);
  CHECK(c.settings.port == 9000);
  CHECK(c.run("server auto") == Action::save);
  CHECK(std::string(c.settings.host).empty());
}

TEST_CASE("display accepts the server's name rule only") {
  Console c;
  CHECK(c.run("display side_2.b-x") == Action::save);
  CHECK(std::string(c.settings.display) == "side_2.b-x");
  std::string reply;
  CHECK(c.run("display \"two words\"", &reply) == Action::none);
  CHECK(contains(reply, "display: a display name is 1 to 32"));
  CHECK(c.run("display 123456789012345678901234567890123") == Action::none);
  CHECK(std::string(c.settings.display) == "side_2.b-x");
}

TEST_CASE("token sets and \"\" clears it; log takes 0 to 4") {
  Console c;
  CHECK(c.run("token s3cret") == Action::save);
  CHECK(std::string(c.settings.token) == "s3cret");
  CHECK(c.run("token \"\"") == Action::save);
  CHECK(std::string(c.settings.token).empty());
  CHECK(c.run("log 4") == Action::save);
  CHECK(c.settings.log_level == 4);
  CHECK(c.run("log 5") == Action::none);
  CHECK(c.settings.log_level == 4);
}

TEST_CASE("show masks the password and token; reboot, reset and help do what they say") {
  Console c;
  c.run("wifi home goodpassword");
  c.run("token abc");
  std::string reply;
  CHECK(c.run("show", &reply) == Action::none);
  CHECK(contains(reply, "wifi     home"));
  CHECK(contains(reply, "password *** (12 characters)"));
  CHECK(contains(reply, "token    *** (3 characters)"));
  CHECK(contains(reply, "server   auto"));
  CHECK_FALSE(contains(reply, "goodpassword"));
  CHECK(c.run("reboot") == Action::reboot);
  CHECK(c.run("  reset  ") == Action::reset);
  CHECK(c.run("help", &reply) == Action::none);
  CHECK(contains(reply, "wifi <ssid> [password]"));
}

TEST_CASE("unknown commands, wrong argument counts and unclosed quotes are answered, not obeyed") {
  Console c;
  std::string reply;
  CHECK(c.run("frobnicate", &reply) == Action::none);
  CHECK(contains(reply, "unknown command"));
  CHECK(c.run("display", &reply) == Action::none);
  CHECK(c.run("wifi a b c") == Action::none);
  CHECK(c.run("wifi \"home", &reply) == Action::none);
  CHECK(contains(reply, "unclosed quote"));
  CHECK(c.run("a b c d e") == Action::none);
  CHECK(c.run("") == Action::none);
  CHECK(std::string(c.settings.ssid).empty());
}
