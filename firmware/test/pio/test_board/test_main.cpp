// `pio test -e native`: the board tests as one translation unit (see platformio.ini [env:native]).
// firmware/scripts/check_platformio.py checks that every board source and test is included here.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest.h>

// The portable core.
#include "../../../lib/tftcore/src/backoff.cpp"
#include "../../../lib/tftcore/src/board_messages.cpp"
#include "../../../lib/tftcore/src/cells_decoder.cpp"
#include "../../../lib/tftcore/src/connection.cpp"
#include "../../../lib/tftcore/src/decoders.cpp"
#include "../../../lib/tftcore/src/error.cpp"
#include "../../../lib/tftcore/src/jpeg_decoder.cpp"
#include "../../../lib/tftcore/src/lz4_decoder.cpp"
#include "../../../lib/tftcore/src/recolor_decoder.cpp"
#include "../../../lib/tftcore/src/rect_copier.cpp"
#include "../../../lib/tftcore/src/rect_writer.cpp"
#include "../../../lib/tftcore/src/rice_decoder.cpp"
#include "../../../lib/tftcore/src/stream_parser.cpp"

// The board layer.
#include "../../../src/commands.cpp"
#include "../../../src/discovery.cpp"
#include "../../../src/log.cpp"
#include "../../../src/main.cpp"
#include "../../../src/provisioning.cpp"
#include "../../../src/session_monitor.cpp"
#include "../../../src/settings.cpp"
#include "../../../src/status_screen.cpp"
#include "../../../src/tft_display.cpp"
#include "../../../src/wifi_link.cpp"
#include "../../../src/wifi_network.cpp"

// Host parts: the framebuffer display and the fake Arduino/TFT_eSPI implementations.
#include "../../../host/framebuffer_display.cpp"
#include "../../arduino_fakes/fakes.cpp"

// The tests.
#include "../../board/test_commands.cpp"
#include "../../board/test_discovery.cpp"
#include "../../board/test_main.cpp"
#include "../../board/test_provisioning.cpp"
#include "../../board/test_session_monitor.cpp"
#include "../../board/test_settings.cpp"
#include "../../board/test_status_screen.cpp"
#include "../../board/test_tft_display.cpp"
#include "../../board/test_wifi_network.cpp"

int main(int argc, char** argv) {
  doctest::Context context;
  context.setOption("success", true);      // PlatformIO reads the successes
  context.setOption("no-exitcode", true);  // and decides pass/fail itself
  context.applyCommandLine(argc, argv);
  return context.run();
}
