// The fakes behind the fake headers: just enough behaviour for the board tests.
#include <stdarg.h>

#include <cstdio>

#include "DNSServer.h"
#include "ESPmDNS.h"
#include "Preferences.h"
#include "TFT_eSPI.h"
#include "WebServer.h"
#include "esp_random.h"
#include "esp_task_wdt.h"
#include "fake_board.h"
#include "lwip/sockets.h"

namespace fake {

State& state() {
  static State s;
  return s;
}

void reset() { state() = State(); }

void advance_ms(uint32_t ms) { state().now_us += static_cast<uint64_t>(ms) * 1000; }

void request(const std::string& route) {
  auto& routes = state().routes;
  auto it = routes.find(route);
  if (it == routes.end()) it = routes.find("*");
  state().reply_code = 0;
  state().reply_body.clear();
  if (it != routes.end()) it->second();
}

}  // namespace fake

using fake::state;

// Arduino core.
unsigned long millis() { return static_cast<unsigned long>(state().now_us / 1000); }
unsigned long micros() { return static_cast<unsigned long>(state().now_us); }
void delay(uint32_t ms) { fake::advance_ms(ms); }
void yield() {}
void pinMode(uint8_t, uint8_t) {}
int digitalRead(uint8_t) { return state().reset_pin_level; }

size_t Print::write(const uint8_t* buffer, size_t size) {
  for (size_t i = 0; i < size; ++i) write(buffer[i]);
  return size;
}
size_t Print::print(const char text[]) { return write(reinterpret_cast<const uint8_t*>(text), strlen(text)); }
size_t Print::println(const char text[]) { return print(text) + println(); }
size_t Print::println() { return print("\r\n"); }
size_t Print::printf(const char* format, ...) {
  char buffer[512];
  va_list args;
  va_start(args, format);
  vsnprintf(buffer, sizeof buffer, format, args);
  va_end(args);
  return print(buffer);
}

void HardwareSerial::begin(unsigned long) {}
int HardwareSerial::available() { return static_cast<int>(state().serial_in.size()); }
int HardwareSerial::read() {
  if (state().serial_in.empty()) return -1;
  const unsigned char c = static_cast<unsigned char>(state().serial_in.front());
  state().serial_in.erase(0, 1);
  return c;
}
size_t HardwareSerial::write(uint8_t c) {
  state().serial_out += static_cast<char>(c);
  return 1;
}
HardwareSerial Serial;

uint32_t EspClass::getFreeHeap() { return state().free_heap; }
uint64_t EspClass::getEfuseMac() { return 0x0000BC9A78563412ull; }  // MAC 12:34:56:78:9a:bc, first octet low
void EspClass::restart() { ++state().restarts; }
EspClass ESP;

extern "C" uint32_t esp_random(void) { return 0x12345678u; }

// Watchdog.
esp_err_t esp_task_wdt_init(const esp_task_wdt_config_t* config) {
  state().wdt_timeout_ms = config->timeout_ms;
  return ESP_OK;
}
esp_err_t esp_task_wdt_reconfigure(const esp_task_wdt_config_t* config) { return esp_task_wdt_init(config); }
esp_err_t esp_task_wdt_add(TaskHandle_t) {
  state().wdt_added = true;
  return ESP_OK;
}
esp_err_t esp_task_wdt_reset(void) {
  ++state().wdt_resets;
  return ESP_OK;
}
esp_err_t esp_task_wdt_delete(TaskHandle_t) { return ESP_OK; }

// Network.
namespace {
std::string ip_text(uint32_t ip) {
  char text[16];
  snprintf(text, sizeof text, "%u.%u.%u.%u", ip & 0xFF, (ip >> 8) & 0xFF, (ip >> 16) & 0xFF, ip >> 24);
  return text;
}
constexpr int kSocketFd = 7;
}  // namespace

int NetworkClient::connect(IPAddress ip, uint16_t port, int32_t) {
  state().last_connect = ip_text(static_cast<uint32_t>(ip)) + ":" + std::to_string(port);
  if (!state().connect_ok) return 0;
  fd_ = kSocketFd;
  state().socket_open = true;
  state().peer_closed = false;
  return 1;
}
int NetworkClient::setNoDelay(bool nodelay) {
  state().nodelay = nodelay;
  return fd_ >= 0 ? 0 : -1;
}
int NetworkClient::fd() const { return fd_; }
void NetworkClient::stop() {
  fd_ = -1;
  state().socket_open = false;
}
uint8_t NetworkClient::connected() { return fd_ >= 0 ? 1 : 0; }

ssize_t lwip_send(int s, const void* dataptr, size_t size, int) {
  if (s != kSocketFd || !state().socket_open) {
    errno = EBADF;
    return -1;
  }
  state().sent.append(static_cast<const char*>(dataptr), size);
  return static_cast<ssize_t>(size);
}
ssize_t lwip_recv(int s, void* mem, size_t len, int) {
  if (s != kSocketFd || !state().socket_open) {
    errno = EBADF;
    return -1;
  }
  if (state().to_receive.empty()) {
    if (state().peer_closed) return 0;
    errno = EWOULDBLOCK;
    return -1;
  }
  const size_t n = len < state().to_receive.size() ? len : state().to_receive.size();
  memcpy(mem, state().to_receive.data(), n);
  state().to_receive.erase(0, n);
  return static_cast<ssize_t>(n);
}

int NetworkManager::hostByName(const char* aHostname, IPAddress& aResult) {
  const auto it = state().dns.find(aHostname);
  if (it == state().dns.end()) return 0;
  aResult = IPAddress(it->second);
  return 1;
}
NetworkManager Network;

bool WiFiClass::mode(wifi_mode_t mode) {
  state().wifi_mode = mode;
  return true;
}
bool WiFiClass::setSleep(bool enabled) {
  state().sleep = enabled;
  return true;
}
bool WiFiClass::setHostname(const char* hostname) {
  state().hostname = hostname;
  return true;
}
wl_status_t WiFiClass::begin(const char* ssid, const char* passphrase, int32_t, const uint8_t*, bool) {
  state().wifi_ssid = ssid;
  state().wifi_password = passphrase != nullptr ? passphrase : "";
  return state().wifi_status;
}
wl_status_t WiFiClass::status() { return state().wifi_status; }
bool WiFiClass::setAutoReconnect(bool) { return true; }
IPAddress WiFiClass::localIP() { return IPAddress(state().local_ip); }
int8_t WiFiClass::RSSI() { return state().rssi; }
bool WiFiClass::softAP(const char* ssid, const char*, int, int, int, bool) {
  state().softap_ssid = ssid;
  return true;
}
bool WiFiClass::softAPdisconnect(bool) {
  state().softap_ssid.clear();
  return true;
}
IPAddress WiFiClass::softAPIP() { return IPAddress(192, 168, 4, 1); }
WiFiClass WiFi;

// NVS.
bool Preferences::begin(const char* name, bool readOnly, const char*) {
  if (readOnly && state().nvs.count(name) == 0) return false;  // as NVS: no namespace to open read-only
  namespace_ = name;
  read_only_ = readOnly;
  state().nvs[name];
  return true;
}
void Preferences::end() { namespace_ = nullptr; }
bool Preferences::clear() {
  if (namespace_ == nullptr || read_only_) return false;
  state().nvs[namespace_].clear();
  return true;
}
bool Preferences::isKey(const char* key) { return namespace_ != nullptr && state().nvs[namespace_].count(key) != 0; }
size_t Preferences::putUChar(const char* key, uint8_t value) {
  if (namespace_ == nullptr || read_only_) return 0;
  state().nvs[namespace_][key] = std::string(1, static_cast<char>(value));
  return 1;
}
size_t Preferences::putUShort(const char* key, uint16_t value) {
  if (namespace_ == nullptr || read_only_) return 0;
  state().nvs[namespace_][key] = std::string{static_cast<char>(value & 0xFF), static_cast<char>(value >> 8)};
  return 2;
}
size_t Preferences::putString(const char* key, const char* value) {
  if (namespace_ == nullptr || read_only_) return 0;
  state().nvs[namespace_][key] = value;
  return strlen(value);
}
uint8_t Preferences::getUChar(const char* key, uint8_t defaultValue) {
  if (!isKey(key)) return defaultValue;
  return static_cast<uint8_t>(state().nvs[namespace_][key][0]);
}
uint16_t Preferences::getUShort(const char* key, uint16_t defaultValue) {
  if (!isKey(key)) return defaultValue;
  const std::string& v = state().nvs[namespace_][key];
  return static_cast<uint16_t>(static_cast<uint8_t>(v[0]) | (static_cast<uint8_t>(v[1]) << 8));
}
size_t Preferences::getString(const char* key, char* value, size_t maxLen) {
  if (!isKey(key)) return 0;
  const std::string& v = state().nvs[namespace_][key];
  if (v.size() + 1 > maxLen) return 0;  // as the real one: too small a buffer reads nothing
  memcpy(value, v.c_str(), v.size() + 1);
  return v.size() + 1;
}

// mDNS.
bool MDNSResponder::begin(const char*) {
  state().mdns_begun = true;
  return true;
}
void MDNSResponder::end() {}
int MDNSResponder::queryService(const char* service, const char* proto) {
  if (std::string(service) != "tftstream" || std::string(proto) != "tcp") return 0;
  return static_cast<int>(state().mdns.size());
}
String MDNSResponder::hostname(int idx) { return String(state().mdns[static_cast<size_t>(idx)].hostname.c_str()); }
IPAddress MDNSResponder::address(int idx) { return IPAddress(state().mdns[static_cast<size_t>(idx)].ip); }
uint16_t MDNSResponder::port(int idx) { return state().mdns[static_cast<size_t>(idx)].port; }
bool MDNSResponder::hasTxt(int idx, const char* key) { return state().mdns[static_cast<size_t>(idx)].txt.count(key) != 0; }
String MDNSResponder::txt(int idx, const char* key) {
  const auto& txt = state().mdns[static_cast<size_t>(idx)].txt;
  const auto it = txt.find(key);
  return String(it != txt.end() ? it->second.c_str() : "");
}
MDNSResponder MDNS;

// Setup page.
bool DNSServer::start(const uint16_t&, const String&, const IPAddress&) {
  state().dns_started = true;
  return true;
}
void DNSServer::stop() { state().dns_started = false; }
void DNSServer::processNextRequest() {}

WebServer::WebServer(int) {}
void WebServer::begin() { state().web_started = true; }
void WebServer::handleClient() {}
void WebServer::stop() { state().web_started = false; }  // handlers stay registered, as in the real one
void WebServer::on(const Uri& uri, HTTPMethod method, THandlerFunction fn) {
  state().routes[std::string(method == HTTP_POST ? "POST " : "GET ") + uri.str().c_str()] = fn;
}
void WebServer::onNotFound(THandlerFunction fn) { state().routes["*"] = fn; }
String WebServer::arg(const String& name) const {
  const auto it = state().args.find(name.c_str());
  return String(it != state().args.end() ? it->second.c_str() : "");
}
bool WebServer::hasArg(const String& name) const { return state().args.count(name.c_str()) != 0; }
void WebServer::send(int code, const char*, const String& content) {
  state().reply_code = code;
  state().reply_body = content.c_str();
}
void WebServer::sendHeader(const String& name, const String& value, bool) {
  state().reply_headers[name.c_str()] = value.c_str();
}

// Panel.
namespace {
void note(const std::string& call) { state().panel.calls.push_back(call); }

// Panel memory, clipped like the real controller's address window (tests may draw before init).
void panel_store(int32_t x, int32_t y, uint16_t value) {
  auto& panel = state().panel;
  if (x < 0 || y < 0 || x >= panel.memory_width) return;
  const size_t at = static_cast<size_t>(y) * static_cast<size_t>(panel.memory_width) + static_cast<size_t>(x);
  if (at < panel.memory.size()) panel.memory[at] = value;
}

uint16_t panel_load(int32_t x, int32_t y) {
  const auto& panel = state().panel;
  if (x < 0 || y < 0 || x >= panel.memory_width) return 0;
  const size_t at = static_cast<size_t>(y) * static_cast<size_t>(panel.memory_width) + static_cast<size_t>(x);
  return at < panel.memory.size() ? panel.memory[at] : 0;
}
}  // namespace

TFT_eSPI::TFT_eSPI(int16_t _W, int16_t _H) : init_width_(_W), init_height_(_H) {}
void TFT_eSPI::init(uint8_t) { note("init"); }
void TFT_eSPI::setRotation(uint8_t r) {
  rotation_ = static_cast<uint8_t>(r & 3);
  note("rotation " + std::to_string(rotation_));
  auto& panel = state().panel;
  panel.memory_width = width();
  panel.memory.assign(static_cast<size_t>(width()) * static_cast<size_t>(height()), 0);
}
int16_t TFT_eSPI::width(void) { return (rotation_ & 1) != 0 ? init_height_ : init_width_; }
int16_t TFT_eSPI::height(void) { return (rotation_ & 1) != 0 ? init_width_ : init_height_; }
void TFT_eSPI::fillScreen(uint32_t color) { fillRect(0, 0, width(), height(), color); }
void TFT_eSPI::fillRect(int32_t x, int32_t y, int32_t w, int32_t h, uint32_t color) {
  char text[64];
  snprintf(text, sizeof text, "fillRect %d %d %d %d 0x%04X", x, y, w, h, color);
  note(text);
  auto& panel = state().panel;
  for (int32_t row = y; row < y + h; ++row) {
    for (int32_t col = x; col < x + w; ++col) panel_store(col, row, static_cast<uint16_t>(color));
  }
  state().now_us += panel.cost_us;
}
void TFT_eSPI::setAddrWindow(int32_t xs, int32_t ys, int32_t w, int32_t h) {
  state().panel.windows.push_back({xs, ys, w, h});
  state().panel.cursor = 0;
}
void TFT_eSPI::pushPixels(const void* data_in, uint32_t len) {
  auto& panel = state().panel;
  state().now_us += panel.cost_us;
  if (!panel.in_transaction) ++panel.pushes_outside_transaction;
  if ((reinterpret_cast<uintptr_t>(data_in) & 3) != 0) panel.unaligned_push = true;
  const uint8_t* bytes = static_cast<const uint8_t*>(data_in);
  for (uint32_t i = 0; i < len; ++i) {
    // What goes on the bus: memory order without swap, the two bytes exchanged with swap.
    const uint8_t a = bytes[2 * i];
    const uint8_t b = bytes[2 * i + 1];
    const uint8_t first = panel.swap_bytes ? b : a;
    const uint8_t second = panel.swap_bytes ? a : b;
    panel.pushed.push_back(first);
    panel.pushed.push_back(second);
    if (!panel.windows.empty() && panel.windows.back().w > 0) {  // into the window, row by row
      const fake::Window& window = panel.windows.back();
      const int32_t col = static_cast<int32_t>(panel.cursor % static_cast<uint32_t>(window.w));
      const int32_t row = static_cast<int32_t>(panel.cursor / static_cast<uint32_t>(window.w));
      if (row < window.h) panel_store(window.x + col, window.y + row, static_cast<uint16_t>(first << 8 | second));
      ++panel.cursor;
    }
  }
}
void TFT_eSPI::readRect(int32_t x, int32_t y, int32_t w, int32_t h, uint16_t* data) {
  auto& panel = state().panel;
  state().now_us += panel.cost_us;
  panel.reads.push_back({x, y, w, h});
  if ((reinterpret_cast<uintptr_t>(data) & 1) != 0) panel.unaligned_read = true;
  for (int32_t row = 0; row < h; ++row) {
    for (int32_t col = 0; col < w; ++col) {
      const uint16_t color = panel.miso_wired ? panel_load(x + col, y + row) : 0;
      *data++ = static_cast<uint16_t>(color << 8 | color >> 8);
    }
  }
}
void TFT_eSPI::setSwapBytes(bool swap) { state().panel.swap_bytes = swap; }
void TFT_eSPI::startWrite(void) { state().panel.in_transaction = true; }
void TFT_eSPI::endWrite(void) { state().panel.in_transaction = false; }
void TFT_eSPI::setTextColor(uint16_t, uint16_t, bool) {}
void TFT_eSPI::setTextDatum(uint8_t) {}
void TFT_eSPI::setTextFont(uint8_t font) { note("font " + std::to_string(font)); }
void TFT_eSPI::setTextSize(uint8_t) {}
int16_t TFT_eSPI::drawString(const char* string, int32_t, int32_t) {
  state().panel.texts.emplace_back(string);
  return static_cast<int16_t>(6 * strlen(string));
}
size_t TFT_eSPI::write(uint8_t) { return 1; }
