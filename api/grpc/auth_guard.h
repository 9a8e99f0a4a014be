#pragma once

// Failed authentications, per source: each is logged (source, method and reason, never the
// token) and counted, and a source that keeps failing is slowed down. Every source has a budget
// of `burst` failures that refills at `refill_per_second`; once it is spent, that source's calls
// are refused with RESOURCE_EXHAUSTED (saying when to retry) before any token is looked at, until
// the budget has refilled to one. So guessing tokens from one address goes at about one attempt a
// second instead of thousands, and the log gets at most about one line a second per source.
// Calls from a throttled source with a valid token are refused as well, until it has refilled:
// the price of not telling a guesser which token was right.
//
// Thread-safe.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "absl/status/status.h"
#include "registry/base/stats_table.h"

namespace idnode::rpc {

struct AuthGuardOptions {
  double burst = 10;             // failures a source may have in a row before it is slowed
  double refill_per_second = 1;  // and how fast that budget comes back
  size_t max_sources = 100'000;  // sources tracked at once (memory bound; the oldest go first)
};

struct AuthGuardStats {
  uint64_t failures = 0;   // calls refused for a missing, unknown, revoked or expired token
  uint64_t throttled = 0;  // calls refused because their source had failed too often
};

inline constexpr MetricFamily kAuthFailures{
    "idnode_auth_failures_total", MetricType::kCounter,
    "gRPC calls refused at authentication, by result: refused (a missing, unknown, revoked or "
    "expired token; each is logged) and throttled (refused without a look at the token because "
    "the source had failed too often)."};
inline constexpr StatRow<AuthGuardStats> kAuthGuardRows[] = {
    Stat<&AuthGuardStats::failures>(kAuthFailures, {"result", "refused"}),
    Stat<&AuthGuardStats::throttled>(kAuthFailures, {"result", "throttled"}),
};

class AuthGuard {
 public:
  explicit AuthGuard(AuthGuardOptions options = {}) : options_(options) {}

  // Before a token is checked: OK, or RESOURCE_EXHAUSTED naming `peer` and when to retry.
  absl::Status Admit(std::string_view peer, int64_t now_ms);
  // After a failed check: counts it against `peer`'s budget and logs it (escaped).
  void Failed(std::string_view peer, std::string_view method, std::string_view reason,
              int64_t now_ms);
  AuthGuardStats stats() const;
  // False while no source has failed lately: Admit would pass anyone, so a caller need not even
  // look up its peer.
  bool Tracking() const { return tracked_.load(std::memory_order_relaxed) != 0; }

  // The source a gRPC peer ("ipv4:1.2.3.4:5678", "ipv6:[::1]:5678") counts as: without the port.
  static std::string_view SourceOf(std::string_view peer);

 private:
  struct Budget {
    double left = 0;
    int64_t updated_ms = 0;
  };
  // `source`'s budget brought up to `now_ms` (a new one is full). Under mutex_.
  Budget& Refilled(std::string_view source, int64_t now_ms);

  const AuthGuardOptions options_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Budget> budgets_;
  std::atomic<size_t> tracked_{0};  // budgets_.size(): no lock while no source has failed
  AuthGuardStats stats_;
};

}  // namespace idnode::rpc
