#include "commands.h"

#include <string.h>

#include "board_config.h"

namespace board {

namespace {

constexpr size_t kMaxArgs = 4;

const char kHelp[] =
    "commands:\n"
    "  wifi <ssid> [password]    Wi-Fi network (quote names with spaces)\n"
    "  server <host> [port]      server to use; 'server auto' finds it by mDNS\n"
    "  display <name>            display name the server knows this board by\n"
    "  token <token>             server token; token \"\" clears it\n"
    "  log <0-4>                 serial log level (0 off ... 4 debug)\n"
    "  show                      current settings\n"
    "  reboot                    restart and apply saved settings\n"
    "  reset                     erase all settings and restart\n";

// Splits on spaces; "double quotes" group words and may be empty. Returns the count, or -1 for
// an unclosed quote or too many arguments.
int tokenize(char* line, char* args[], size_t max_args) {
  size_t count = 0;
  char* p = line;
  while (true) {
    while (*p == ' ' || *p == '\t') ++p;
    if (*p == '\0') return static_cast<int>(count);
    if (count == max_args) return -1;
    if (*p == '"') {
      args[count++] = ++p;
      while (*p != '\0' && *p != '"') ++p;
      if (*p != '"') return -1;
      *p++ = '\0';
      continue;
    }
    args[count++] = p;
    while (*p != '\0' && *p != ' ' && *p != '\t') ++p;
    if (*p != '\0') *p++ = '\0';
  }
}

// Applies key=value pairs to a copy first, so a later error leaves `settings` untouched.
Action set_all(Settings& settings, const char* const keys[], const char* const values[], size_t n, Reply& reply) {
  Settings changed = settings;
  for (size_t i = 0; i < n; ++i) {
    const SetError error = set_field(changed, keys[i], values[i]);
    if (error != SetError::none) {
      reply.add(keys[i]).add(": ").add(to_str(error)).add("\n");
      return Action::none;
    }
  }
  settings = changed;
  reply.add("saved; 'reboot' applies it\n");
  return Action::save;
}

void masked(Reply& reply, const char* secret) {
  const size_t n = strlen(secret);
  if (n == 0) {
    reply.add("(none)");
    return;
  }
  reply.add("*** (").add(static_cast<uint32_t>(n)).add(" characters)");
}

}  // namespace

void describe_settings(const Settings& settings, Reply& reply) {
  reply.add("wifi     ").add(settings.ssid[0] != '\0' ? settings.ssid : "(not set)").add("\n");
  reply.add("password ");
  masked(reply, settings.password);
  reply.add("\nserver   ");
  if (settings.host[0] == '\0') {
    reply.add("auto (mDNS _tftstream._tcp)");
  } else {
    reply.add(settings.host).add(":").add(settings.port);
  }
  reply.add("\ndisplay  ").add(settings.display).add("\ntoken    ");
  masked(reply, settings.token);
  reply.add("\nlog      ").add(settings.log_level).add("\n");
}

Action run_command(char* line, Settings& settings, Reply& reply) {
  char* args[kMaxArgs] = {};
  const int n = tokenize(line, args, kMaxArgs);
  if (n < 0) {
    reply.add("cannot parse that line (unclosed quote or too many words); type help\n");
    return Action::none;
  }
  if (n == 0) return Action::none;
  const char* command = args[0];
  const int extra = n - 1;
  if (strcmp(command, "help") == 0 || strcmp(command, "?") == 0) {
    reply.add(kHelp);
    return Action::none;
  }
  if (strcmp(command, "show") == 0) {
    describe_settings(settings, reply);
    return Action::none;
  }
  if (strcmp(command, "reboot") == 0) return Action::reboot;
  if (strcmp(command, "reset") == 0) return Action::reset;
  if (strcmp(command, "wifi") == 0 && (extra == 1 || extra == 2)) {
    const char* keys[] = {"ssid", "password"};
    const char* values[] = {args[1], extra == 2 ? args[2] : ""};
    return set_all(settings, keys, values, 2, reply);
  }
  if (strcmp(command, "server") == 0 && extra == 1 && strcmp(args[1], "auto") == 0) {
    const char* keys[] = {"host"};
    const char* values[] = {""};
    return set_all(settings, keys, values, 1, reply);
  }
  if (strcmp(command, "server") == 0 && (extra == 1 || extra == 2)) {
    if (args[1][0] == '\0') {
      reply.add("server: give a host name or address, or 'auto'\n");
      return Action::none;
    }
    tft::Text<8> default_port;
    default_port.add(kDefaultPort);
    const char* keys[] = {"host", "port"};
    const char* values[] = {args[1], extra == 2 ? args[2] : default_port.c_str()};
    return set_all(settings, keys, values, 2, reply);
  }
  const struct {
    const char* command;
    const char* key;
  } single[] = {{"display", "display"}, {"token", "token"}, {"log", "log"}};
  for (const auto& s : single) {
    if (strcmp(command, s.command) == 0 && extra == 1) {
      const char* keys[] = {s.key};
      const char* values[] = {args[1]};
      return set_all(settings, keys, values, 1, reply);
    }
  }
  reply.add("unknown command or wrong arguments: '").add(command).add("'; type help\n");
  return Action::none;
}

}  // namespace board
