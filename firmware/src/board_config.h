// Build-time settings of the board firmware. Each can be overridden with a -D in platformio.ini;
// everything a user changes per board after flashing (Wi-Fi, server, display name, token, log
// level) is a setting in flash instead (settings.h).
#pragma once

#include <stdint.h>

#ifndef TFTSTREAM_VERSION
#define TFTSTREAM_VERSION "0.1.0"
#endif
#ifndef TFTSTREAM_ROTATION  // TFT_eSPI rotation 0..3 (1, 3: landscape)
#define TFTSTREAM_ROTATION 0
#endif
#ifndef TFTSTREAM_LOG_LEVEL  // 0 off, 1 error, 2 warn, 3 info, 4 debug; the `log` command changes it
#define TFTSTREAM_LOG_LEVEL 3
#endif
#ifndef TFTSTREAM_WATCHDOG_S  // longer than the longest blocking call (DNS ~15 s worst case)
#define TFTSTREAM_WATCHDOG_S 20
#endif
#ifndef TFTSTREAM_MAX_BODY  // largest message body announced in HELLO (capped by the TCP window)
#define TFTSTREAM_MAX_BODY 4096
#endif
#ifndef TFTSTREAM_DEFAULT_DISPLAY
#define TFTSTREAM_DEFAULT_DISPLAY "main"
#endif
#ifndef TFTSTREAM_DEFAULT_HOST  // server used when none is configured and mDNS finds none ("": none)
#define TFTSTREAM_DEFAULT_HOST ""
#endif
#ifndef TFTSTREAM_DEFAULT_PORT
#define TFTSTREAM_DEFAULT_PORT 7878
#endif
#ifndef TFTSTREAM_CONNECT_TIMEOUT_MS
#define TFTSTREAM_CONNECT_TIMEOUT_MS 3000
#endif
#ifndef TFTSTREAM_RESET_PIN  // held low for 5 s: erase the settings (BOOT button, GPIO 9); -1: off
#define TFTSTREAM_RESET_PIN 9
#endif
#ifndef TFTSTREAM_PORTAL_AFTER_S  // open the setup access point after this long without Wi-Fi
#define TFTSTREAM_PORTAL_AFTER_S 60
#endif
#ifndef TFTSTREAM_PANEL_READBACK  // 1: the panel's MISO/SDO is wired (TFT_MISO set): offer COPY
#define TFTSTREAM_PANEL_READBACK 0
#endif

namespace board {

constexpr const char* kVersion = TFTSTREAM_VERSION;
constexpr const char* kFirmware = "tftstream-" TFTSTREAM_VERSION;  // HELLO firmware field
constexpr uint8_t kRotation = TFTSTREAM_ROTATION;
constexpr uint8_t kDefaultLogLevel = TFTSTREAM_LOG_LEVEL;
constexpr uint32_t kWatchdogS = TFTSTREAM_WATCHDOG_S;
constexpr uint16_t kMaxBody = TFTSTREAM_MAX_BODY;
constexpr const char* kDefaultDisplay = TFTSTREAM_DEFAULT_DISPLAY;
constexpr const char* kDefaultHost = TFTSTREAM_DEFAULT_HOST;
constexpr uint16_t kDefaultPort = TFTSTREAM_DEFAULT_PORT;
constexpr uint32_t kConnectTimeoutMs = TFTSTREAM_CONNECT_TIMEOUT_MS;
constexpr int kResetPin = TFTSTREAM_RESET_PIN;
constexpr uint32_t kPortalAfterMs = TFTSTREAM_PORTAL_AFTER_S * 1000u;
constexpr bool kPanelReadback = TFTSTREAM_PANEL_READBACK != 0;

}  // namespace board
