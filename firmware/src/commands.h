// The serial console's command set, as plain C++ (no Arduino) so host tests drive it:
//   wifi <ssid> [password]   server <host> [port] | server auto   display <name>
//   token <token> | token ""   log <0-4>   show   reset   reboot   help
// Arguments with spaces go in double quotes: wifi "my home" "secret pass".
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "settings.h"
#include "text.h"

namespace board {

// What the caller does after a command: nothing, store the changed settings, restart, or erase
// the settings and restart.
enum class Action : uint8_t { none, save, reboot, reset };

using Reply = tft::Text<640>;

// Runs one line (edited in place by the tokenizer). A failed command leaves `settings` unchanged.
Action run_command(char* line, Settings& settings, Reply& reply);

// `show`'s text: every setting, the password and token masked.
void describe_settings(const Settings& settings, Reply& reply);

}  // namespace board
