// Fake of arduino-esp32 3.x libraries/WebServer/src/WebServer.h (HTTP_Method.h, Uri.h): routes,
// arguments and replies. `on` returns a RequestHandler& in 3.1+; the board ignores it.
#pragma once
#include <stdint.h>

#include <functional>

#include "Arduino.h"

enum http_method { HTTP_DELETE = 0, HTTP_GET = 1, HTTP_HEAD = 2, HTTP_POST = 3 };
typedef enum http_method HTTPMethod;

class Uri {
 public:
  Uri(const char* uri) : uri_(uri) {}  // NOLINT: implicit, as the real one
  Uri(const String& uri) : uri_(uri) {}  // NOLINT
  const String& str() const { return uri_; }

 private:
  String uri_;
};

class WebServer {
 public:
  typedef std::function<void(void)> THandlerFunction;

  WebServer(int port = 80);  // NOLINT: implicit, as the real one
  virtual ~WebServer() = default;
  void begin();
  void handleClient();
  void stop();
  void on(const Uri& uri, HTTPMethod method, THandlerFunction fn);
  void onNotFound(THandlerFunction fn);
  String arg(const String& name) const;
  bool hasArg(const String& name) const;
  void send(int code, const char* content_type = nullptr, const String& content = String(""));
  void sendHeader(const String& name, const String& value, bool first = false);
};
