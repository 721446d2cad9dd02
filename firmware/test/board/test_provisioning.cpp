// Setting up without editing code: the serial console (line editing, saving, restarting) and the
// setup access point's page (escaping, validation, save and restart).
#include <doctest/doctest.h>

#include <string>

#include "board_test_support.h"
#include "log.h"
#include "provisioning.h"

using board_test::contains;

namespace {

struct Board {
  board::Settings settings;
  board::SettingsStore store;
  Board() {
    fake::reset();
    board::default_settings(settings);
  }
};

}  // namespace

TEST_CASE("a console line runs at Enter, is echoed, and a saved change lands in NVS") {
  Board b;
  board::SerialConsole console(b.settings, b.store);
  fake::state().serial_in = "wifi home goodpassword\r\n";
  console.poll();
  CHECK(contains(fake::state().serial_out, "wifi home goodpassword"));
  CHECK(contains(fake::state().serial_out, "saved; 'reboot' applies it"));
  CHECK(fake::state().nvs["tftstream"]["ssid"] == "home");
  CHECK(fake::state().restarts == 0);
}

TEST_CASE("backspace edits the line; a line split across polls still runs once") {
  Board b;
  board::SerialConsole console(b.settings, b.store);
  fake::state().serial_in = "display sidX\x7F";
  console.poll();
  fake::state().serial_in = "e\n";
  console.poll();
  CHECK(std::string(b.settings.display) == "side");
}

TEST_CASE("an overlong line is refused whole; reboot and reset restart, reset after erasing") {
  Board b;
  board::SerialConsole console(b.settings, b.store);
  fake::state().serial_in = "token " + std::string(300, 'x') + "\n";
  console.poll();
  CHECK(contains(fake::state().serial_out, "line too long"));
  CHECK(std::string(b.settings.token).empty());
  fake::state().serial_in = "wifi home goodpassword\nreboot\n";
  console.poll();
  CHECK(fake::state().restarts == 1);
  CHECK(fake::state().nvs["tftstream"].count("ssid") == 1);
  fake::state().serial_in = "reset\n";
  console.poll();
  CHECK(fake::state().restarts == 2);
  CHECK(fake::state().nvs["tftstream"].empty());
}

TEST_CASE("the log command applies its level at once") {
  Board b;
  board::SerialConsole console(b.settings, b.store);
  fake::state().serial_in = "log 1\n";
  console.poll();
  CHECK(board::log_level() == 1);
  board::set_log_level(3);
}

TEST_CASE("the setup access point answers every address with the form, values escaped, no password") {
  Board b;
  board::set_field(b.settings, "ssid", "a\"<home>&");
  board::set_field(b.settings, "password", "goodpassword");
  board::SetupPortal portal(b.settings, b.store);
  portal.start("tftstream-9abc", false);
  CHECK(portal.active());
  CHECK(fake::state().softap_ssid == "tftstream-9abc");
  CHECK(fake::state().wifi_mode == WIFI_MODE_AP);
  CHECK(fake::state().dns_started);
  fake::request("GET /");
  CHECK(fake::state().reply_code == 200);
  CHECK(contains(fake::state().reply_body, "value=\"a&quot;&lt;home&gt;&amp;\""));
  CHECK_FALSE(contains(fake::state().reply_body, "goodpassword"));
  fake::request("GET /generate_204");  // a phone's captive-portal probe
  CHECK(fake::state().reply_code == 302);
  CHECK(fake::state().reply_headers["Location"] == "http://192.168.4.1/");
  portal.stop();
  CHECK_FALSE(portal.active());
  CHECK(fake::state().wifi_mode == WIFI_MODE_STA);
  portal.start("tftstream-9abc", true);  // opened again after the network stayed away
  CHECK(fake::state().wifi_mode == WIFI_MODE_APSTA);
  fake::request("GET /");
  CHECK(fake::state().reply_code == 200);
}

TEST_CASE("saving the form validates every field, keeps an empty password, stores, then restarts") {
  Board b;
  board::set_field(b.settings, "password", "oldpassword");
  board::SetupPortal portal(b.settings, b.store);
  portal.start("tftstream-9abc", false);
  fake::state().args = {{"ssid", "home"}, {"password", ""}, {"host", ""}, {"port", "7878"}, {"display", "bad name"}, {"token", ""}};
  fake::request("POST /save");
  CHECK(fake::state().reply_code == 400);
  CHECK(contains(fake::state().reply_body, "display: a display name is"));
  CHECK(std::string(b.settings.ssid).empty());
  fake::state().args["display"] = "side";
  fake::request("POST /save");
  CHECK(fake::state().reply_code == 200);
  CHECK(std::string(b.settings.ssid) == "home");
  CHECK(std::string(b.settings.password) == "oldpassword");
  CHECK(std::string(b.settings.display) == "side");
  CHECK(fake::state().nvs["tftstream"]["display"] == "side");
  portal.poll(static_cast<uint32_t>(millis()));
  CHECK(fake::state().restarts == 0);  // the reply leaves first
  fake::advance_ms(1500);
  portal.poll(static_cast<uint32_t>(millis()));
  CHECK(fake::state().restarts == 1);
}
