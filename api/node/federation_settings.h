#pragma once

// The settings of the federation client (api/node/federation_part.h) and of recursion (the
// recursor part, api/node/handle_part.h): [federation].

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "registry/base/settings.h"

namespace idnode::node {

struct FederationSection {
  static constexpr std::string_view kName = "federation";
  // Registering this node's prefixes with its top node (api/node/federation_client.h).
  std::string top;              // the top node's gRPC HOST:PORT; empty: off
  std::string ca_file;          // PEM CAs to trust for it; empty: the system's store
  std::string credential_file;  // the node credential (a token) its admin issued
  bool plaintext = false;       // no TLS; only to a loopback top node
  uint64_t retry_initial_ms = 1'000;
  uint64_t retry_max_ms = 300'000;
  uint64_t timeout_ms = 10'000;
  // Recursion: a Handle request with REC for a handle this node does not host is resolved
  // through the top node on the client's behalf (resolver/recursion/recursor.h) instead of 301.
  bool recursion = false;
  std::string top_handle;                 // the top node's Handle HOST:PORT; required for it
  uint64_t recursion_limit = 4;           // requests whose recursion count reached this get RC 6
  uint64_t recursion_workers = 4;         // walks at once
  uint64_t recursion_max_pending = 1024;  // beyond: RC 3 (server too busy)
  uint64_t recursion_cache_entries = 100'000;   // answers kept for their TTL; 0: none
  uint64_t recursion_timeout_ms = 2'000;        // one query of a walk
  uint64_t recursion_negative_ttl_ms = 10'000;  // how long "not found" is kept

  template <class Self, class Keys>
  static void Declare(Self& self, Keys& keys) {
    keys.Text("top", self.top);
    keys.Text("ca_file", self.ca_file);
    keys.Text("credential_file", self.credential_file);
    keys.Flag("plaintext", self.plaintext);
    keys.Number("retry_initial_ms", self.retry_initial_ms, 10, settings::kHourMs);
    keys.Number("retry_max_ms", self.retry_max_ms, 10, kDayMs);
    keys.Number("timeout_ms", self.timeout_ms, 100, 600'000);
    keys.Flag("recursion", self.recursion);
    keys.Text("top_handle", self.top_handle);
    keys.Number("recursion_limit", self.recursion_limit, 1, 32);
    keys.Number("recursion_workers", self.recursion_workers, 1, 256);
    keys.Number("recursion_max_pending", self.recursion_max_pending, 1, 1'000'000);
    keys.Number("recursion_cache_entries", self.recursion_cache_entries, 0, 10'000'000);
    keys.Number("recursion_timeout_ms", self.recursion_timeout_ms, 10, 60'000);
    keys.Number("recursion_negative_ttl_ms", self.recursion_negative_ttl_ms, 0, kDayMs);
  }
  static absl::Status Check(const FederationSection& section);
};

}  // namespace idnode::node
