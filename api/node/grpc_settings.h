#pragma once

// The settings of the gRPC part (api/node/grpc_part.h): [grpc].

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace idnode::node {

struct GrpcSection {
  static constexpr std::string_view kName = "grpc";
  std::string listen = "127.0.0.1:2642";
  std::string tls_cert;  // PEM files; both or neither
  std::string tls_key;
  bool allow_insecure_remote = false;  // plaintext on a non-loopback address

  template <class Self, class Keys>
  static void Declare(Self& self, Keys& keys) {
    keys.Text("listen", self.listen);
    keys.Text("tls_cert", self.tls_cert);
    keys.Text("tls_key", self.tls_key);
    keys.Flag("allow_insecure_remote", self.allow_insecure_remote);
  }
  static absl::Status Check(const GrpcSection& section);
};

}  // namespace idnode::node
