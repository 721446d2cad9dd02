// Settings: defaults, validation, and the round trip through NVS (Preferences).
#include <doctest/doctest.h>

#include <string>

#include "board_test_support.h"
#include "settings.h"

TEST_CASE("a fresh board loads the defaults and says nothing was stored") {
  fake::reset();
  board::Settings s;
  board::SettingsStore store;
  CHECK_FALSE(store.load(s));
  CHECK(std::string(s.ssid).empty());
  CHECK(std::string(s.display) == "main");
  CHECK(s.port == 7878);
  CHECK(s.log_level == 3);
}

TEST_CASE("saved settings come back after a restart, in the tftstream namespace") {
  fake::reset();
  board::Settings s;
  board::default_settings(s);
  REQUIRE(board::set_field(s, "ssid", "home") == board::SetError::none);
  REQUIRE(board::set_field(s, "password", "goodpassword") == board::SetError::none);
  REQUIRE(board::set_field(s, "host", "pc.local") == board::SetError::none);
  REQUIRE(board::set_field(s, "port", "9000") == board::SetError::none);
  REQUIRE(board::set_field(s, "display", "side") == board::SetError::none);
  REQUIRE(board::set_field(s, "token", "t0k") == board::SetError::none);
  REQUIRE(board::set_field(s, "log", "4") == board::SetError::none);
  board::SettingsStore store;
  REQUIRE(store.save(s));
  CHECK(fake::state().nvs.count("tftstream") == 1);

  board::Settings loaded;
  CHECK(store.load(loaded));
  CHECK(std::string(loaded.ssid) == "home");
  CHECK(std::string(loaded.password) == "goodpassword");
  CHECK(std::string(loaded.host) == "pc.local");
  CHECK(loaded.port == 9000);
  CHECK(std::string(loaded.display) == "side");
  CHECK(std::string(loaded.token) == "t0k");
  CHECK(loaded.log_level == 4);
}

TEST_CASE("erase forgets everything: the next boot is a fresh board") {
  fake::reset();
  board::Settings s;
  board::default_settings(s);
  board::set_field(s, "ssid", "home");
  board::SettingsStore store;
  store.save(s);
  REQUIRE(store.erase());
  board::Settings loaded;
  CHECK_FALSE(store.load(loaded));
  CHECK(std::string(loaded.ssid).empty());
}

TEST_CASE("a stored value that no longer validates keeps its default") {
  fake::reset();
  fake::state().nvs["tftstream"]["ssid"] = "home";
  fake::state().nvs["tftstream"]["display"] = "bad name!";
  board::Settings loaded;
  board::SettingsStore store;
  CHECK(store.load(loaded));
  CHECK(std::string(loaded.display) == "main");
}

TEST_CASE("set_field rejects unknown keys and out-of-range values") {
  board::Settings s;
  board::default_settings(s);
  CHECK(board::set_field(s, "colour", "red") == board::SetError::unknown_key);
  CHECK(board::set_field(s, "port", "") == board::SetError::bad_port);
  CHECK(board::set_field(s, "password", "1234567") == board::SetError::bad_password);
  CHECK(board::set_field(s, "password", std::string(64, 'x').c_str()) == board::SetError::bad_password);
  CHECK(board::set_field(s, "password", std::string(63, 'x').c_str()) == board::SetError::none);
  CHECK(board::set_field(s, "token", std::string(64, 't').c_str()) == board::SetError::none);
  CHECK(board::set_field(s, "token", std::string(65, 't').c_str()) == board::SetError::too_long);
  CHECK(board::set_field(s, "host", std::string(64, 'h').c_str()) == board::SetError::too_long);
}
