#pragma once

// idnode's configuration: defaults, a TOML file (deploy/idnode.example.toml documents every
// key), and command-line flags on top (tools/idnode). Unknown keys are errors, so a typo never
// silently falls back to a default.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "registry/base/clock.h"
#include "registry/stats/report.h"

namespace idnode {

struct NodeConfig {
  // [node]
  std::string node_prefix = "88.123";  // this node's own prefix
  std::string role = "secondary";      // or "top": holds 0.NA/<prefix> records and refers

  // [storage]
  std::string data_dir = "./var";
  uint64_t initial_map_mib = 1024;  // the map grows on demand
  uint64_t reserve_mib = 64;        // released when the disk fills, so that deletions can commit
  // [grpc]
  std::string grpc_listen = "127.0.0.1:2642";
  std::string tls_cert_file;
  std::string tls_key_file;
  bool allow_insecure_remote = false;  // plaintext on a non-loopback address
  // [handle]: the Handle protocol front end (RFC 3652) on UDP and TCP, the same port
  std::string handle_listen = "127.0.0.1:2641";  // HOST:PORT or [IPv6]:PORT; port 0 picks one
  std::string handle_advertise;  // IPv4 or IPv6 address in HS_SITE; default: the listen address
  std::string site_description;  // HS_SITE "desc" attribute; default: "idnode <node prefix>"
  // The other servers of this node's site (mirrors holding the same identifiers), HOST:PORT
  // each, answering UDP and TCP on that port. HS_SITE lists this node first, then these in order;
  // a client picks one server per identifier by the Handle hash rule.
  std::vector<std::string> handle_mirrors;
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
  // [http]: /metrics, /api/stats, /healthz and /dashboard (api/node/http_endpoints.h)
  std::string http_listen = "127.0.0.1:2643";  // HOST:PORT or [IPv6]:PORT; 0 picks; "" is off
  bool http_allow_remote = false;  // serve a non-loopback address (the pages have no login)
  // [upload]: statistics to the authority (api/node/uploader.h)
  std::string upload_url;             // https://...; empty: off
  std::string upload_ca_file;         // PEM CAs to trust; empty: the system's store
  std::string upload_token_file;      // a bearer token for the receiver, read at start
  std::string upload_node_id;         // as the authority knows this node; default: node.prefix
  uint64_t upload_interval_days = 1;  // each report covers this many whole reporting days
  uint64_t upload_retry_initial_ms = 5'000;
  uint64_t upload_retry_max_ms = 600'000;
  uint64_t upload_timeout_ms = 10'000;
  // [federation]: registering this node's prefixes with its top node (api/node/federation_client.h)
  std::string federation_top;              // the top node's gRPC HOST:PORT; empty: off
  std::string federation_ca_file;          // PEM CAs to trust for it; empty: the system's store
  std::string federation_credential_file;  // the node credential (a token) its admin issued
  bool federation_plaintext = false;       // no TLS; only to a loopback top node
  uint64_t federation_retry_initial_ms = 1'000;
  uint64_t federation_retry_max_ms = 300'000;
  uint64_t federation_timeout_ms = 10'000;
  // Recursion: a Handle request with REC for a handle this node does not host is resolved
  // through the top node on the client's behalf (resolver/recursion/recursor.h) instead of 301.
  bool federation_recursion = false;
  std::string federation_top_handle;      // the top node's Handle HOST:PORT; required for it
  uint64_t recursion_limit = 4;           // requests whose recursion count reached this get RC 6
  uint64_t recursion_workers = 4;         // walks at once
  uint64_t recursion_max_pending = 1024;  // beyond: RC 3 (server too busy)
  uint64_t recursion_cache_entries = 100'000;   // answers kept for their TTL; 0: none
  uint64_t recursion_timeout_ms = 2'000;        // one query of a walk
  uint64_t recursion_negative_ttl_ms = 10'000;  // how long "not found" is kept
  // [registry]
  bool case_sensitive_suffix = false;
  uint64_t commit_max_items = 1000;
  uint64_t commit_max_wait_us = 0;
  uint64_t max_queued_items = 200'000;
  uint64_t max_queued_mib = 256;  // bytes of records queued for commit
  // [stats]
  int32_t utc_offset_minutes = 8 * 60;      // reporting day: UTC+08:00
  uint64_t stats_flush_interval_ms = 5000;  // resolution counts reach the disk this often
  stats::Thresholds thresholds;             // policy defaults (registry/stats/report.h)
  // [log]
  std::string log_level = "info";

  // Not from files: the node's clock (tests inject one); null means the system clock.
  const Clock* clock = nullptr;
};

// Reads `path` over the defaults. INVALID_ARGUMENT naming the key for unknown keys, wrong types
// and bad values; NOT_FOUND when the file is missing.
absl::StatusOr<NodeConfig> LoadConfigFile(const std::string& path, NodeConfig base = {});

// "+08:00", "-05:30", "Z" -> minutes east of UTC.
absl::StatusOr<int32_t> ParseUtcOffset(std::string_view text);

// Checks cross-field rules (TLS files in pairs, the node prefix's syntax, ...).
absl::Status ValidateConfig(const NodeConfig& config);

// The UDP rate limit after resolving the -1 default against the listen address.
uint32_t EffectiveUdpRateLimit(const NodeConfig& config);
inline constexpr uint32_t kDefaultUdpRateLimit = 2000;

// Every unsigned numeric key ("section.key") and the range ValidateConfig holds it to.
struct NumericRange {
  std::string key;
  uint64_t min = 0;
  uint64_t max = 0;
};
std::vector<NumericRange> NumericKeyRanges();

// The values log.level may take, spdlog's level names.
const std::vector<std::string>& LogLevelNames();

// True for 127.0.0.0/8, ::1 and localhost listeners ("host:port").
bool IsLoopbackListen(std::string_view listen);

}  // namespace idnode
