// tftstream board: setup() and loop() glue. The protocol lives in lib/tftcore (host-tested);
// here the board's parts are wired to it: TFT_eSPI panel, Wi-Fi station, mDNS discovery, NVS
// settings with a serial console and a setup access point, status screen, watchdog.
//
// The loop never waits on purpose; the calls that block are bounded and all shorter than the
// watchdog (TFTSTREAM_WATCHDOG_S): TCP connect (TFTSTREAM_CONNECT_TIMEOUT_MS), DNS resolution of a
// configured host, an mDNS browse (~3 s), and a setup-page request (WebServer waits <= 5 s).
// The longest piece of work is a JPEG RECT, decoded and drawn inside the poll that brings its last
// byte: at most max_body bytes of JPEG (4 KB: some 20,000 pixels, ~10-20 ms of decoding estimated
// from ~85 instructions per pixel, plus their SPI time); Wi-Fi and lwIP go on receiving meanwhile.
#include <Arduino.h>
#include <ESPmDNS.h>
#include <TFT_eSPI.h>
#include <WiFi.h>
#include <esp_random.h>
#include <esp_task_wdt.h>
#include <string.h>

#include "board_config.h"
#include "clock.h"
#include "connection.h"
#include "discovery.h"
#include "log.h"
#include "provisioning.h"
#include "session_monitor.h"
#include "settings.h"
#include "status_screen.h"
#include "tft_display.h"
#include "wifi_link.h"
#include "wifi_network.h"

namespace {

#ifdef CONFIG_LWIP_TCP_WND_DEFAULT
constexpr uint32_t kTcpWindow = CONFIG_LWIP_TCP_WND_DEFAULT;  // lwIP's receive window (sdkconfig)
#else
constexpr uint32_t kTcpWindow = 5760;
#endif
constexpr uint32_t kPollBudgetMs = 20;     // then serve the console, Wi-Fi and the watchdog
constexpr uint32_t kSearchRetryMs = 5000;  // between mDNS browses / DNS lookups that found nothing
constexpr uint32_t kRediscoverAfter = 3;   // failed sessions in a row before looking for the server again
constexpr uint32_t kResetHoldMs = 5000;

class EspJitter : public tft::JitterSource {
 public:
  virtual ~EspJitter() = default;
  uint32_t next_u32() override { return esp_random(); }
};

TFT_eSPI g_tft;
board::TftDisplay g_display(g_tft);
board::Settings g_settings;
board::SettingsStore g_store;
board::WiFiNetwork g_network;
board::WifiLink g_wifi;
board::SerialConsole g_console(g_settings, g_store);
board::SetupPortal g_portal(g_settings, g_store);
board::StatusScreen g_status(g_display);
EspJitter g_jitter;
// The block buffer: an LZ4 RECT decodes here (its matches reach back anywhere in it), a JPEG RECT
// is collected here whole before it is decoded. The core offers LZ4 and JPEG only if this holds
// the announced max_body: kMaxBody or less (the TCP window caps it). The JPEG decoder's tables
// (5.3 KB) live in the Connection, a static object too (connection()).
uint8_t g_block[board::kMaxBody];
uint8_t g_cache[2 * tft::kCachePixels];  // the bitmap cache the server fills with KEEP: digits, icons
int8_t g_rssi = 0;  // sampled once a second: ACKs carry it without a driver call per frame

class Probe : public board::BoardProbe {
 public:
  virtual ~Probe() = default;
  uint32_t micros() override { return board::now_us(); }
  uint32_t take_draw_us() override { return g_display.take_draw_us(); }
  uint32_t free_heap() override { return ESP.getFreeHeap(); }
  int8_t rssi() override { return g_rssi; }
};

Probe g_probe;
board::SessionMonitor g_monitor(g_probe);

char g_hostname[24] = "tftstream";       // mDNS/DHCP name and setup access point: tftstream-XXXX
char g_server_text[96] = "";             // for the status screen
uint32_t g_next_search_ms = 0;
uint32_t g_failures_at_choice = 0;
uint32_t g_next_status_ms = 0;
uint32_t g_next_rssi_ms = 0;
uint32_t g_reset_held_since = 0;
bool g_mdns_started = false;
tft::State g_last_state = tft::State::idle;

uint16_t announced_max_body() {
  // A whole message fits in the TCP window, so a RECT never waits on the board's SPI mid-message.
  const uint32_t fits = kTcpWindow - tft::kHeaderSize;
  uint32_t body = board::kMaxBody < fits ? board::kMaxBody : fits;
  if (body < tft::kMinBoardBody) body = tft::kMinBoardBody;
  return static_cast<uint16_t>(body);
}

tft::ConnectionConfig connection_config() {
  tft::ConnectionConfig config;
  config.hello.width = g_display.width();
  config.hello.height = g_display.height();
  config.hello.max_body = announced_max_body();
  config.block = tft::BlockBuffer{g_block, sizeof g_block};
  config.cache = tft::BlockBuffer{g_cache, sizeof g_cache};
  // COPY and RECOLOR if the panel reads back; LZ4, JPEG, RICE and RECOLOR if the block buffer holds
  // max_body; CACHED with the cache, CELLS with both.
  config.hello.encodings =
      tft::encodings_for(g_display, tft::kMaskImplemented, config.block, config.hello.max_body, config.cache);
  config.hello.display = g_settings.display;
  config.hello.firmware = board::kFirmware;
  config.hello.token = reinterpret_cast<const uint8_t*>(g_settings.token);
  config.hello.token_len = strlen(g_settings.token);
  config.connect_timeout_ms = board::kConnectTimeoutMs + 1000;  // open() itself gives up first
  config.status_on_screen = false;                              // the board draws a fuller status
  return config;
}

// Built on first use, after the settings are loaded and the panel size is known.
tft::Connection& connection() {
  static tft::Connection instance(g_network, g_display, g_jitter, connection_config());
  return instance;
}

const char* network_error() { return g_network.last_error(); }

void make_hostname() {
  const uint64_t mac = ESP.getEfuseMac();
  tft::Text<sizeof g_hostname> name;
  name.add("tftstream-");
  const char hex[] = "0123456789abcdef";
  for (int octet = 4; octet < 6; ++octet) {  // the MAC's last two bytes (octet 0 is the low byte)
    const char digits[3] = {hex[(mac >> (8 * octet + 4)) & 0xF], hex[(mac >> (8 * octet)) & 0xF], '\0'};
    name.add(digits);
  }
  memcpy(g_hostname, name.c_str(), name.size() + 1);
}

void start_watchdog() {
  esp_task_wdt_config_t config = {};
  config.timeout_ms = board::kWatchdogS * 1000;
  config.idle_core_mask = 1;  // the C3's one core: its idle task must run too (the loop yields)
  config.trigger_panic = true;
  esp_err_t err = esp_task_wdt_reconfigure(&config);   // arduino-esp32 3.x starts the TWDT at boot
  if (err == ESP_ERR_INVALID_STATE) err = esp_task_wdt_init(&config);
  if (err == ESP_OK) err = esp_task_wdt_add(nullptr);  // this task: loop()
  if (err != ESP_OK) {
    BOARD_LOG_E("boot", "watchdog not armed (error %d)", static_cast<int>(err));
  } else {
    BOARD_LOG_I("boot", "watchdog: %u s", static_cast<unsigned>(board::kWatchdogS));
  }
}

void find_server(uint32_t now) {
  board::Candidate found[4];
  size_t count = 0;
  if (g_settings.host[0] == '\0') {
    esp_task_wdt_reset();
    count = board::browse_servers(g_settings.display, found, 4);
  }
  const board::ServerChoice choice =
      board::choose_server(g_settings, found, count, board::kDefaultHost, board::kDefaultPort);
  uint32_t ip = choice.ip;
  if (choice.source == board::ServerSource::none) {
    g_monitor.note_error("no server found by mDNS and none set (console: server <host> [port])");
    g_next_search_ms = now + kSearchRetryMs;
    return;
  }
  if (choice.source != board::ServerSource::discovered) {
    esp_task_wdt_reset();
    if (!board::resolve_host(choice.host, ip)) {
      tft::Text<128> error;
      error.add("cannot resolve ").add(choice.host);
      g_monitor.note_error(error.c_str());
      g_next_search_ms = now + kSearchRetryMs;
      return;
    }
  }
  char address[16];
  board::format_ip(ip, address);
  tft::Text<sizeof g_server_text> text;
  if (choice.source != board::ServerSource::discovered && strcmp(choice.host, address) != 0) {
    text.add(choice.host).add(" = ");
  }
  text.add(address).add(":").add(choice.port).add(" (").add(board::to_str(choice.source)).add(")");
  memcpy(g_server_text, text.c_str(), text.size() + 1);
  g_network.set_target(ip, choice.port);
  g_failures_at_choice = g_monitor.failures_in_row();
  g_monitor.clear_error();
  BOARD_LOG_I("server", "using %s", g_server_text);
}

void on_wifi_event(board::WifiLink::Event event) {
  if (event == board::WifiLink::Event::down) {
    g_network.close();  // the session is gone with the link; the server is retried once Wi-Fi is back
    g_monitor.note_link_lost();
    return;
  }
  if (event != board::WifiLink::Event::up) return;
  g_monitor.clear_error();
  if (!g_mdns_started) {
    g_mdns_started = MDNS.begin(g_hostname);
    if (!g_mdns_started) BOARD_LOG_W("mdns", "responder did not start; discovery may fail");
  }
  if (g_portal.active()) g_portal.stop();
  g_next_search_ms = board::now_ms();
}

void on_state_change(tft::State state) {
  const bool in_session = state == tft::State::awaiting_accept || state == tft::State::streaming;
  const bool was_in_session = g_last_state == tft::State::awaiting_accept || g_last_state == tft::State::streaming;
  if (in_session && !was_in_session) WiFi.setSleep(false);  // power save adds 100+ ms per packet
  if (!in_session && was_in_session) WiFi.setSleep(true);
  if (state == tft::State::streaming) g_status.invalidate();  // the stream paints over the status
  g_last_state = state;
}

void run_connection() {
  tft::Connection& conn = connection();
  if (conn.state() == tft::State::backoff && g_monitor.failures_in_row() - g_failures_at_choice >= kRediscoverAfter) {
    // The server may have moved: browse (or resolve the configured name) again.
    BOARD_LOG_I("server", "%u failed sessions: looking for the server again", static_cast<unsigned>(kRediscoverAfter));
    g_network.clear_target();
    g_server_text[0] = '\0';
    return;
  }
  const uint32_t start = board::now_ms();
  do {
    g_monitor.begin_poll();
    const bool worked = conn.poll(board::now_ms());
    g_monitor.end_poll(worked);
    if (conn.state() != g_last_state) on_state_change(conn.state());
    if (!worked) break;
  } while (board::now_ms() - start < kPollBudgetMs);
}

void update_status(uint32_t now) {
  const bool streaming = connection().state() == tft::State::streaming && g_wifi.up();
  if (streaming || static_cast<int32_t>(now - g_next_status_ms) < 0) return;
  g_next_status_ms = now + 250;
  board::StatusModel model;
  model.version = board::kVersion;
  model.display = g_settings.display;
  model.width = g_display.width();
  model.height = g_display.height();
  model.wifi = g_wifi.state();
  model.ssid = g_settings.ssid;
  model.ip = g_wifi.ip();
  model.wifi_wait_s = g_wifi.waiting_ms(now) / 1000;
  model.portal_ssid = g_portal.ssid();
  model.server = g_server_text;
  model.connection = tft::to_str(connection().state());
  model.attempts = g_monitor.attempts();
  model.last_error = g_monitor.last_error();
  board::StatusText text;
  board::build_status(model, text);
  g_status.show(text);
}

void poll_reset_button(uint32_t now) {
  if (board::kResetPin < 0) return;
  if (digitalRead(board::kResetPin) != LOW) {
    g_reset_held_since = 0;
    return;
  }
  if (g_reset_held_since == 0) {
    g_reset_held_since = now == 0 ? 1 : now;
    BOARD_LOG_W("setup", "reset button held: keep it down for %u s to erase the settings",
          static_cast<unsigned>(kResetHoldMs / 1000));
  } else if (now - g_reset_held_since >= kResetHoldMs) {
    apply_action(board::Action::reset, g_settings, g_store);
  }
}

}  // namespace

void setup() {
  Serial.begin(115200);
  const bool stored = g_store.load(g_settings);
  board::set_log_level(g_settings.log_level);
  make_hostname();
  g_display.begin(board::kRotation);
  BOARD_LOG_I("boot", "tftstream %s, display %s %ux%u, max body %u (TCP window %u)", board::kVersion, g_settings.display,
        g_display.width(), g_display.height(), announced_max_body(), static_cast<unsigned>(kTcpWindow));
  if (board::kPanelReadback && !g_display.can_read()) {
    BOARD_LOG_W("boot", "panel read-back failed its check (MISO wired? TFT_MISO?): COPY, RECOLOR not offered");
  } else if (g_display.can_read()) {
    BOARD_LOG_I("boot", "panel read-back works: COPY, RECOLOR offered");
  }
  if (!stored) BOARD_LOG_I("boot", "no settings stored yet");
  BOARD_LOG_I("boot", "serial console ready: type help");
  start_watchdog();
  if (board::kResetPin >= 0) pinMode(board::kResetPin, INPUT_PULLUP);
  g_monitor.attach(&connection(), network_error);
  connection().set_observer(&g_monitor);
  connection().set_stats_source(&g_monitor);
  if (g_settings.ssid[0] == '\0') {
    g_portal.start(g_hostname, false);
  } else {
    g_wifi.begin(g_settings, g_hostname, board::now_ms());
  }
}

void loop() {
  esp_task_wdt_reset();
  const uint32_t now = board::now_ms();
  g_console.poll();
  g_portal.poll(now);
  poll_reset_button(now);
  on_wifi_event(g_wifi.poll(now));
  if (g_wifi.configured() && !g_wifi.up() && !g_portal.active() && g_wifi.waiting_ms(now) >= board::kPortalAfterMs &&
      !g_wifi.ever_up()) {
    g_portal.start(g_hostname, true);  // the stored network never answered: offer the page too
  }
  if (g_wifi.up() && static_cast<int32_t>(now - g_next_rssi_ms) >= 0) {
    g_rssi = static_cast<int8_t>(WiFi.RSSI());
    g_next_rssi_ms = now + 1000;
  }
  if (g_wifi.up() && !g_network.has_target() && static_cast<int32_t>(now - g_next_search_ms) >= 0) find_server(now);
  if (g_wifi.up() && g_network.has_target()) run_connection();
  update_status(board::now_ms());
  delay(1);  // lets the idle task and lower-priority tasks run; Wi-Fi and lwIP preempt anyway
}
