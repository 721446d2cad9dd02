// Finding the server: a configured host first; else the egress's mDNS service
// (_tftstream._tcp, TXT v=1 and displays=<names>), preferring one that serves this board's
// display; else the build-time fallback host. Choosing is plain C++ (host-tested); browsing and
// resolving call ESPmDNS and the network stack and block for up to a few seconds.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "settings.h"

namespace board {

struct Candidate {
  uint32_t ip;  // IPv4 as IPAddress stores it (first octet in the low byte)
  uint16_t port;
  bool serves_display;  // its TXT `displays` lists this board's display
};

enum class ServerSource : uint8_t { none, configured, discovered, fallback };
const char* to_str(ServerSource source);

struct ServerChoice {
  ServerSource source = ServerSource::none;
  const char* host = "";  // configured/fallback: a name or address still to resolve
  uint32_t ip = 0;        // discovered: the address
  uint16_t port = 0;
};

// True if `name` is one of the comma-separated names in `csv` (exact, case-sensitive).
bool lists_display(const char* csv, const char* name);

ServerChoice choose_server(const Settings& settings, const Candidate* found, size_t count, const char* fallback_host,
                           uint16_t fallback_port);

void format_ip(uint32_t ip, char (&out)[16]);

// mDNS browse for _tftstream._tcp with protocol v=1; fills `out`. Blocks while the query runs.
size_t browse_servers(const char* display, Candidate* out, size_t capacity);

// A literal address, or a name through DNS (or mDNS for .local); blocks while it resolves.
bool resolve_host(const char* host, uint32_t& ip);

}  // namespace board
