#pragma once

// A blocking HTTP/1.1 client for tests (Boost.Beast), and the external programs that judge what
// the node's HTTP port serves: Prometheus' promtool and headless Chromium.

#include <stdio.h>
#include <sys/wait.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fstream>
#include <string>

#include "tests/support/command.h"

namespace idnode::testing {

struct HttpReply {
  int status = 0;  // 0: no reply (connection failed or closed)
  std::string content_type;
  std::string content_length;
  std::string allow;
  std::string body;
};

// One request on a fresh connection to `host` (127.0.0.1 or ::1):`port`. `extra_header` ("Name:
// value") is added as is, so a test can send oversized or odd headers.
inline HttpReply HttpRequest(int port, const std::string& target, const std::string& method = "GET",
                             const std::string& extra_header = "",
                             const std::string& host = "127.0.0.1") {
  namespace asio = boost::asio;
  namespace http = boost::beast::http;
  HttpReply reply;
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  boost::system::error_code ec;
  socket.connect({asio::ip::make_address(host), static_cast<uint16_t>(port)}, ec);
  if (ec) return reply;
  const std::string host_header = host.find(':') == std::string::npos ? host : "[" + host + "]";
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: " + host_header + "\r\n" +
                        (extra_header.empty() ? "" : extra_header + "\r\n") +
                        "Connection: close\r\n\r\n";
  asio::write(socket, asio::buffer(request), ec);
  if (ec) return reply;
  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  if (method == "HEAD") parser.skip(true);
  http::read(socket, buffer, parser, ec);
  if (ec) return reply;
  const auto& response = parser.get();
  reply.status = static_cast<int>(response.result_int());
  reply.content_type = std::string(response[http::field::content_type]);
  reply.content_length = std::string(response[http::field::content_length]);
  reply.allow = std::string(response[http::field::allow]);
  reply.body = response.body();
  return reply;
}

// The judges of the HTTP endpoints, for the tests whose CMake target names them.
#if defined(IDNODE_PROMTOOL) && defined(IDNODE_CHROMIUM)

// `promtool check metrics` on `exposition` (IDNODE_PROMTOOL: deploy/install-deps.sh unpacks it
// into .deps/bin). Exit status 0 and no output means it found nothing to complain about.
inline std::pair<int, std::string> PromtoolCheck(const std::string& exposition,
                                                 const std::string& scratch_file) {
  std::ofstream(scratch_file) << exposition;
  return RunCommand(std::string(IDNODE_PROMTOOL) + " check metrics < " + scratch_file);
}

// The DOM of `url` after headless Chromium ran its scripts (IDNODE_CHROMIUM, Debian's chromium
// package). The flags keep it off the network beyond the page itself; the virtual time budget
// lets the page's fetches finish before the DOM is written.
inline std::pair<int, std::string> ChromiumDumpDom(const std::string& url,
                                                   const std::string& profile_dir) {
  return RunCommand(std::string("timeout 120 ") + IDNODE_CHROMIUM +
                    " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
                    " --disable-background-networking --disable-component-update --disable-sync"
                    " --disable-dev-shm-usage --user-data-dir=" +
                    profile_dir + " --virtual-time-budget=10000 --dump-dom '" + url + "'");
}

#endif  // IDNODE_PROMTOOL && IDNODE_CHROMIUM

}  // namespace idnode::testing
