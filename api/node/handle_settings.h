#pragma once

// The settings of the Handle front ends (api/node/handle_part.h): [handle], the Handle protocol
// (RFC 3652) on UDP and TCP, the same port.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "registry/base/settings.h"

namespace idnode::node {

struct HandleSection {
  static constexpr std::string_view kName = "handle";
  std::string listen = "127.0.0.1:2641";  // HOST:PORT or [IPv6]:PORT; port 0 picks one
  std::string advertise;         // IPv4 or IPv6 address in HS_SITE; default: the listen address
  std::string site_description;  // HS_SITE "desc" attribute; default: "idnode <node prefix>"
  // The other servers of this node's site (mirrors holding the same identifiers), HOST:PORT
  // each, answering UDP and TCP on that port. HS_SITE lists this node first, then these in order;
  // a client picks one server per identifier by the Handle hash rule.
  std::vector<std::string> mirrors;
  uint64_t udp_workers = 2;                  // sockets and threads (SO_REUSEPORT)
  uint64_t udp_max_reply_bytes = 16 * 1024;  // amplification bound per request
  int64_t udp_rate_limit = -1;  // requests/s per source; 0 off; -1: off on loopback, else 2000
  uint64_t udp_rate_burst = 0;  // 0: twice the rate
  uint64_t tcp_workers = 2;
  uint64_t tcp_max_connections = 1024;
  uint64_t tcp_max_message_bytes = 64 * 1024;
  uint64_t tcp_max_per_source_percent = 25;          // of tcp_max_connections, from one address
  uint64_t tcp_max_pending_reply_bytes = 64 * 1024;  // unsent replies before reading stops
  uint64_t tcp_idle_timeout_ms = 600'000;            // no complete request for this long
  uint64_t tcp_request_timeout_ms = 10'000;          // a request arrives whole within this
  uint64_t tcp_write_timeout_ms = 30'000;            // the client takes its replies within this
  // SCHED_FIFO priority (1..99) of the UDP and TCP workers, so that other threads cannot delay
  // answers by milliseconds; 0: off (ordinary scheduling). Needs CAP_SYS_NICE or RLIMIT_RTPRIO.
  uint64_t realtime_priority = 0;

  template <class Self, class Keys>
  static void Declare(Self& self, Keys& keys) {
    keys.Text("listen", self.listen);
    keys.Text("advertise", self.advertise);
    keys.Text("site_description", self.site_description);
    keys.List("mirrors", self.mirrors);
    keys.Number("udp_workers", self.udp_workers, 1, 64);
    // Each worker keeps a reply buffer of this size per request of a receive batch.
    keys.Number("udp_max_reply_bytes", self.udp_max_reply_bytes, 512, 256 * 1024);
    keys.Number("udp_rate_limit", self.udp_rate_limit, -1, 1'000'000);
    keys.Number("udp_rate_burst", self.udp_rate_burst, 0, 10'000'000);
    keys.Number("tcp_workers", self.tcp_workers, 1, 64);
    keys.Number("tcp_max_connections", self.tcp_max_connections, 1, 1'000'000);
    keys.Number("tcp_max_message_bytes", self.tcp_max_message_bytes, 1024, 256 * 1024);
    keys.Number("tcp_max_per_source_percent", self.tcp_max_per_source_percent, 1, 100);
    keys.Number("tcp_max_pending_reply_bytes", self.tcp_max_pending_reply_bytes, 1024, 64 << 20);
    keys.Number("tcp_idle_timeout_ms", self.tcp_idle_timeout_ms, 1, settings::kHourMs);
    keys.Number("tcp_request_timeout_ms", self.tcp_request_timeout_ms, 1, settings::kHourMs);
    keys.Number("tcp_write_timeout_ms", self.tcp_write_timeout_ms, 1, settings::kHourMs);
    keys.Number("realtime_priority", self.realtime_priority, 0, 99);
  }
  static absl::Status Check(const HandleSection& section);

  // udp_rate_limit with its -1 default resolved against the listen address.
  uint32_t EffectiveUdpRateLimit() const;
  static constexpr uint32_t kDefaultUdpRateLimit = 2000;
};

}  // namespace idnode::node
