// virtual_device: a board of protocol v1 on this machine, built from the same core as the
// firmware. Connects to the egress, draws into a framebuffer, saves it as PNG, prints one line
// per state change, per frame and per second. With --spi-mhz it takes as long to push pixels
// (and to read back a COPY's source) as a panel on that SPI clock would (no DMA: the one core
// cannot read the network meanwhile), and --rx-buffer shrinks the TCP window like a board's, so
// frame rates here mean something there.
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "connection.h"
#include "framebuffer_display.h"
#include "options.h"
#include "png_writer.h"
#include "posix_network.h"

namespace {

using tft::host::DeviceOptions;

volatile sig_atomic_t g_stop = 0;
volatile sig_atomic_t g_save = 0;

void on_stop(int) { g_stop = 1; }
void on_save(int) { g_save = 1; }

void install_signals() {
  struct sigaction action {};
  action.sa_handler = on_stop;  // no SA_RESTART: a signal ends a wait at once
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  action.sa_handler = on_save;
  sigaction(SIGUSR1, &action, nullptr);
}

uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

void say(const std::string& line) {
  fputs(line.c_str(), stdout);
  fputc('\n', stdout);
  fflush(stdout);  // one line at a time: tests and supervisord read it live
}

class SteadyClock : public tft::Clock {
 public:
  virtual ~SteadyClock() = default;
  uint32_t now_ms() override { return static_cast<uint32_t>(monotonic_ns() / 1000000u); }
};

class XorShiftJitter : public tft::JitterSource {
 public:
  explicit XorShiftJitter(uint32_t seed) : state_(seed != 0 ? seed : 0x9E3779B9u) {}
  virtual ~XorShiftJitter() = default;
  uint32_t next_u32() override {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 17;
    state_ ^= state_ << 5;
    return state_;
  }

 private:
  uint32_t state_;
};

// Prints what the connection does; remembers a REJECT so main() can stop instead of retrying.
class Printer : public tft::ConnectionObserver {
 public:
  virtual ~Printer() = default;
  void attach(const tft::Connection* connection, const tft::host::PosixNetwork* network,
              const tft::host::FramebufferDisplay* display) {
    connection_ = connection;
    network_ = network;
    display_ = display;
  }
  bool rejected = false;

  void on_state(tft::State state) override {
    say(std::string("state: ") + tft::to_str(state));
    if (state != tft::State::backoff) return;
    const tft::Drop drop = connection_->last_drop();
    std::string line = std::string("drop: reason=") + tft::to_str(drop);
    if (drop == tft::Drop::protocol_error) line += std::string(" error=") + tft::to_str(connection_->last_error());
    if (connection_->last_jpeg_error() != tft::JpegError::none) {
      line += std::string(" jpeg=") + tft::to_str(connection_->last_jpeg_error());  // the decoder's reason
    }
    line += " retry_ms=" + std::to_string(connection_->retry_delay_ms());
    if (drop == tft::Drop::connect_failed) line += " os='" + network_->last_os_error() + "'";
    say(line);
    if (drop == tft::Drop::rejected) {
      say(std::string("rejected: ") + connection_->reject_reason());
      rejected = true;
    }
  }

  void on_frame(const tft::FrameInfo& frame) override {
    // The panel's pixels so far, written and read back: per frame, their differences (bench.link's
    // panel bound).
    say("frame: seq=" + std::to_string(frame.seq) + " rects=" + std::to_string(frame.rects) +
        " bytes=" + std::to_string(frame.bytes) + " pushed=" + std::to_string(display_->pixels_pushed()) +
        " read=" + std::to_string(display_->pixels_read()));
  }

 private:
  const tft::Connection* connection_ = nullptr;
  const tft::host::PosixNetwork* network_ = nullptr;
  const tft::host::FramebufferDisplay* display_ = nullptr;
};

// The panel's bus: pushing N pixels takes N * 16 bits / clock; reading them back (a COPY's
// source) N * 24 bits / min(clock, 20 MHz): RAMRD returns 3 bytes per pixel, and reads run on
// a slower clock (TFT_eSPI's SPI_READ_FREQUENCY, usually 20 MHz or less).
// The device sleeps that long after each poll (absolute deadlines, so short pushes add up
// exactly) and meanwhile reads nothing, so the socket's window fills as a board's would.
class SpiModel {
 public:
  static constexpr double kMaxReadMhz = 20;

  explicit SpiModel(double mhz)
      : ns_per_pixel_(mhz > 0 ? 16.0 * 1000.0 / mhz : 0),
        ns_per_read_pixel_(mhz > 0 ? 24.0 * 1000.0 / (mhz < kMaxReadMhz ? mhz : kMaxReadMhz) : 0) {}

  void account(uint64_t pixels_pushed_total, uint64_t pixels_read_total) {
    const uint64_t pixels = pixels_pushed_total - counted_;
    const uint64_t read = pixels_read_total - counted_read_;
    counted_ = pixels_pushed_total;
    counted_read_ = pixels_read_total;
    if (ns_per_pixel_ == 0 || (pixels == 0 && read == 0)) return;
    const uint64_t now = monotonic_ns();
    if (free_at_ns_ < now) free_at_ns_ = now;
    free_at_ns_ += static_cast<uint64_t>(static_cast<double>(pixels) * ns_per_pixel_ +
                                         static_cast<double>(read) * ns_per_read_pixel_);
    if (free_at_ns_ - now < 1000000u) return;  // under a millisecond: let it add up first
    const timespec until{static_cast<time_t>(free_at_ns_ / 1000000000u), static_cast<long>(free_at_ns_ % 1000000000u)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, nullptr) == EINTR && !g_stop) {
    }
  }

 private:
  double ns_per_pixel_;
  double ns_per_read_pixel_;
  uint64_t counted_ = 0;
  uint64_t counted_read_ = 0;
  uint64_t free_at_ns_ = 0;
};

// Frames, bytes and fps once a second.
class RateLine {
 public:
  void maybe_print(uint64_t now_ns, const tft::Connection& connection) {
    if (last_ns_ == 0) last_ns_ = now_ns;
    if (now_ns - last_ns_ < 1000000000u) return;
    const double seconds = static_cast<double>(now_ns - last_ns_) / 1e9;
    const uint32_t frames = connection.frames() - frames_;
    const uint64_t bytes = connection.bytes_received() - bytes_;
    char line[160];
    snprintf(line, sizeof line, "stats: frames=%u bytes=%llu fps=%.1f kbit_s=%.0f state=%s", frames,
             static_cast<unsigned long long>(bytes), frames / seconds, static_cast<double>(bytes) * 8 / 1000 / seconds,
             tft::to_str(connection.state()));
    say(line);
    last_ns_ = now_ns;
    frames_ = connection.frames();
    bytes_ = connection.bytes_received();
  }

 private:
  uint64_t last_ns_ = 0;
  uint32_t frames_ = 0;
  uint64_t bytes_ = 0;
};

void save(const DeviceOptions& options, const tft::host::FramebufferDisplay& display) {
  if (options.png.empty()) return;
  if (!tft::host::save_png(options.png, display.width(), display.height(), display.pixels())) {
    say("png: cannot write " + options.png);
  }
}

tft::ConnectionConfig connection_config(const DeviceOptions& options, std::vector<uint8_t>& block,
                                        std::vector<uint8_t>& cache) {
  tft::ConnectionConfig config;
  config.block = tft::BlockBuffer{block.data(), block.size()};  // LZ4, RICE, JPEG, RECOLOR, CELLS: a RECT of up to max_body
  config.cache = tft::BlockBuffer{cache.data(), cache.size()};  // CACHED, CELLS: the bitmap cache
  config.hello.width = options.width;
  config.hello.height = options.height;
  config.hello.encodings = options.encodings;
  config.hello.max_body = options.max_body;
  config.hello.display = options.display.c_str();
  config.hello.firmware = "virtual-1";
  config.hello.token = reinterpret_cast<const uint8_t*>(options.token.data());
  config.hello.token_len = options.token.size();
  config.status_on_screen = false;  // keep the PNG the server's picture; the status is on stdout
  return config;
}

int run(const DeviceOptions& options) {
  tft::host::FramebufferDisplay display(options.width, options.height);
  tft::host::PosixNetwork network(options.host, options.port, options.rx_buffer);
  XorShiftJitter jitter(static_cast<uint32_t>(monotonic_ns()) ^ static_cast<uint32_t>(getpid()));
  SteadyClock clock;
  std::vector<uint8_t> block(options.max_body);  // a board's static array of its max_body
  std::vector<uint8_t> cache(2 * tft::kCachePixels);
  tft::Connection connection(network, display, jitter, connection_config(options, block, cache));
  Printer printer;
  printer.attach(&connection, &network, &display);
  connection.set_observer(&printer);
  SpiModel spi(options.spi_mhz);
  RateLine rate;
  say("device: " + options.display + " " + std::to_string(options.width) + "x" + std::to_string(options.height) +
      " -> " + options.host + ":" + std::to_string(options.port));
  uint32_t last_png = clock.now_ms();
  save(options, display);  // a PNG exists from the start, black until the first frame
  while (!g_stop) {
    const bool busy = connection.poll(clock.now_ms());
    spi.account(display.pixels_pushed(), display.pixels_read());
    if (printer.rejected) {
      save(options, display);
      return 3;  // a REJECT is a configuration problem: retrying will not fix it
    }
    if (options.exit_after_frames != 0 && connection.frames() >= options.exit_after_frames &&
        connection.tx_pending() == 0) {
      break;
    }
    const uint32_t now = clock.now_ms();
    if (g_save || (options.png_every_ms != 0 && now - last_png >= options.png_every_ms && display.take_dirty())) {
      g_save = 0;
      last_png = now;
      save(options, display);
    }
    rate.maybe_print(monotonic_ns(), connection);
    if (!busy) network.wait(5, connection.tx_pending() > 0);
  }
  network.close_gracefully();
  save(options, display);
  say("state: stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  DeviceOptions options;
  std::string error;
  bool help = false;
  if (!tft::host::parse_options(argc, argv, options, error, help)) {
    fprintf(stderr, "virtual_device: %s\n%s", error.c_str(), tft::host::kUsage);
    return 2;
  }
  if (help) {
    fputs(tft::host::kUsage, stdout);
    return 0;
  }
  install_signals();
  return run(options);
}
