#pragma once

// The settings of the HTTP part (api/node/http_endpoints.h): [http].

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace idnode::node {

// /metrics, /api/stats, /healthz and /dashboard.
struct HttpSection {
  static constexpr std::string_view kName = "http";
  std::string listen = "127.0.0.1:2643";  // HOST:PORT or [IPv6]:PORT; 0 picks; "" is off
  bool allow_remote = false;              // serve a non-loopback address (the pages have no login)

  template <class Self, class Keys>
  static void Declare(Self& self, Keys& keys) {
    keys.Text("listen", self.listen);
    keys.Flag("allow_remote", self.allow_remote);
  }
  static absl::Status Check(const HttpSection& section);
};

}  // namespace idnode::node
