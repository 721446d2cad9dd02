#include "discovery.h"

#include <ESPmDNS.h>
#include <Network.h>
#include <string.h>

#include "log.h"
#include "text.h"

namespace board {

const char* to_str(ServerSource source) {
  switch (source) {
    case ServerSource::none: return "none";
    case ServerSource::configured: return "configured";
    case ServerSource::discovered: return "mDNS";
    case ServerSource::fallback: return "fallback";
  }
  return "?";
}

bool lists_display(const char* csv, const char* name) {
  const size_t len = strlen(name);
  if (len == 0) return false;
  for (const char* p = csv; *p != '\0';) {
    const char* end = strchr(p, ',');
    const size_t item = end != nullptr ? static_cast<size_t>(end - p) : strlen(p);
    if (item == len && strncmp(p, name, len) == 0) return true;
    if (end == nullptr) break;
    p = end + 1;
  }
  return false;
}

ServerChoice choose_server(const Settings& settings, const Candidate* found, size_t count, const char* fallback_host,
                           uint16_t fallback_port) {
  ServerChoice choice;
  if (settings.host[0] != '\0') {
    choice.source = ServerSource::configured;
    choice.host = settings.host;
    choice.port = settings.port;
    return choice;
  }
  const Candidate* best = nullptr;
  for (size_t i = 0; i < count; ++i) {
    if (best == nullptr || (found[i].serves_display && !best->serves_display)) best = &found[i];
  }
  if (best != nullptr) {
    choice.source = ServerSource::discovered;
    choice.ip = best->ip;
    choice.port = best->port;
  } else if (fallback_host != nullptr && fallback_host[0] != '\0') {
    choice.source = ServerSource::fallback;
    choice.host = fallback_host;
    choice.port = fallback_port;
  }
  return choice;
}

void format_ip(uint32_t ip, char (&out)[16]) {
  tft::Text<16> text;
  for (int i = 0; i < 4; ++i) {
    if (i != 0) text.add(".");
    text.add((ip >> (8 * i)) & 0xFFu);
  }
  memcpy(out, text.c_str(), text.size() + 1);
}

size_t browse_servers(const char* display, Candidate* out, size_t capacity) {
  const int found = MDNS.queryService("tftstream", "tcp");
  size_t n = 0;
  for (int i = 0; i < found && n < capacity; ++i) {
    if (MDNS.hasTxt(i, "v") && MDNS.txt(i, "v") != "1") {
      BOARD_LOG_W("mdns", "skipping %s: protocol v=%s", MDNS.hostname(i).c_str(), MDNS.txt(i, "v").c_str());
      continue;
    }
    const uint32_t ip = static_cast<uint32_t>(MDNS.address(i));
    if (ip == 0 || MDNS.port(i) == 0) continue;
    out[n].ip = ip;
    out[n].port = MDNS.port(i);
    out[n].serves_display = MDNS.hasTxt(i, "displays") && lists_display(MDNS.txt(i, "displays").c_str(), display);
    char text[16];
    format_ip(ip, text);
    BOARD_LOG_I("mdns", "found %s at %s:%u%s", MDNS.hostname(i).c_str(), text, out[n].port,
          out[n].serves_display ? " (serves this display)" : "");
    ++n;
  }
  return n;
}

bool resolve_host(const char* host, uint32_t& ip) {
  IPAddress address;
  if (Network.hostByName(host, address) != 1) return false;
  ip = static_cast<uint32_t>(address);
  return ip != 0;
}

}  // namespace board
