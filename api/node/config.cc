#include "api/node/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "api/http/https_client.h"
#include "registry/base/clock.h"
#include "registry/base/status_macros.h"
#include "registry/base/strings.h"
#include "registry/identifier/identifier.h"
#include "resolver/net/endpoint.h"
#include "resolver/wire/wire.h"

namespace idnode {
namespace {

absl::Status KeyError(std::string_view key, std::string_view rule) {
  return absl::InvalidArgumentError(StrCat("config ", key, ": ", rule));
}

// Every unsigned numeric key, where it lives, and the values it may take. LoadConfigFile reads
// these and ValidateConfig checks them (for configurations built in code as well as read from a
// file), so a key's range is declared once, here.
struct NumericKey {
  std::string_view section;
  std::string_view key;
  uint64_t& (*field)(NodeConfig&);
  uint64_t min;
  uint64_t max;
};

#define IDNODE_FIELD(member) [](NodeConfig& c) -> uint64_t& { return c.member; }
constexpr uint64_t kHour = 3'600'000;
constexpr uint64_t kDay = kDayMs;
constexpr uint64_t kCount = 1'000'000'000'000'000;  // thresholds: any count a node can reach
constexpr NumericKey kNumericKeys[] = {
    // 16 TiB: the map is address space reserved at start, and LMDB's size is a size_t of bytes.
    {"storage", "initial_map_mib", IDNODE_FIELD(initial_map_mib), 1, 16u << 20},
    {"storage", "reserve_mib", IDNODE_FIELD(reserve_mib), 0, 65536},
    {"handle", "udp_workers", IDNODE_FIELD(udp_workers), 1, 64},
    // Each worker keeps a reply buffer of this size per request of a receive batch.
    {"handle", "udp_max_reply_bytes", IDNODE_FIELD(udp_max_reply_bytes), 512, 256 * 1024},
    {"handle", "udp_rate_burst", IDNODE_FIELD(udp_rate_burst), 0, 10'000'000},
    {"handle", "tcp_workers", IDNODE_FIELD(tcp_workers), 1, 64},
    {"handle", "tcp_max_connections", IDNODE_FIELD(tcp_max_connections), 1, 1'000'000},
    {"handle", "tcp_max_message_bytes", IDNODE_FIELD(tcp_max_message_bytes), 1024, 256 * 1024},
    {"handle", "tcp_max_per_source_percent", IDNODE_FIELD(tcp_max_per_source_percent), 1, 100},
    {"handle", "tcp_max_pending_reply_bytes", IDNODE_FIELD(tcp_max_pending_reply_bytes), 1024,
     64 << 20},
    {"handle", "tcp_idle_timeout_ms", IDNODE_FIELD(tcp_idle_timeout_ms), 1, kHour},
    {"handle", "tcp_request_timeout_ms", IDNODE_FIELD(tcp_request_timeout_ms), 1, kHour},
    {"handle", "tcp_write_timeout_ms", IDNODE_FIELD(tcp_write_timeout_ms), 1, kHour},
    {"handle", "realtime_priority", IDNODE_FIELD(realtime_priority), 0, 99},
    {"upload", "interval_days", IDNODE_FIELD(upload_interval_days), 1, 31},
    {"upload", "retry_initial_ms", IDNODE_FIELD(upload_retry_initial_ms), 10, kHour},
    {"upload", "retry_max_ms", IDNODE_FIELD(upload_retry_max_ms), 10, kDay},
    {"upload", "timeout_ms", IDNODE_FIELD(upload_timeout_ms), 100, 600'000},
    {"federation", "retry_initial_ms", IDNODE_FIELD(federation_retry_initial_ms), 10, kHour},
    {"federation", "retry_max_ms", IDNODE_FIELD(federation_retry_max_ms), 10, kDay},
    {"federation", "timeout_ms", IDNODE_FIELD(federation_timeout_ms), 100, 600'000},
    {"federation", "recursion_limit", IDNODE_FIELD(recursion_limit), 1, 32},
    {"federation", "recursion_workers", IDNODE_FIELD(recursion_workers), 1, 256},
    {"federation", "recursion_max_pending", IDNODE_FIELD(recursion_max_pending), 1, 1'000'000},
    {"federation", "recursion_cache_entries", IDNODE_FIELD(recursion_cache_entries), 0, 10'000'000},
    {"federation", "recursion_timeout_ms", IDNODE_FIELD(recursion_timeout_ms), 10, 60'000},
    {"federation", "recursion_negative_ttl_ms", IDNODE_FIELD(recursion_negative_ttl_ms), 0, kDay},
    // One commit (one fsync) holds at most this many items.
    {"registry", "commit_max_items", IDNODE_FIELD(commit_max_items), 1, 100'000},
    // How long the writer may hold a batch open for more items: every write, even the only one
    // on an idle node, can wait this long before its commit, so it is capped at 100 ms.
    {"registry", "commit_max_wait_us", IDNODE_FIELD(commit_max_wait_us), 0, 100'000},
    {"registry", "max_queued_items", IDNODE_FIELD(max_queued_items), 1, 10'000'000},
    // What queued records may hold in memory, MiB; one write larger than this is refused.
    {"registry", "max_queued_mib", IDNODE_FIELD(max_queued_mib), 16, 65'536},
    {"stats", "flush_interval_ms", IDNODE_FIELD(stats_flush_interval_ms), 10, 600'000},
    {"stats", "acceptance_registered", IDNODE_FIELD(thresholds.acceptance_registered), 0, kCount},
    {"stats", "acceptance_daily_resolutions", IDNODE_FIELD(thresholds.acceptance_daily), 0, kCount},
    {"stats", "bonus_new_in_year", IDNODE_FIELD(thresholds.bonus_new_in_year), 0, kCount},
    {"stats", "bonus_daily_resolutions", IDNODE_FIELD(thresholds.bonus_daily), 0, kCount},
};
#undef IDNODE_FIELD

absl::Status CheckNumericKeys(NodeConfig config) {  // a copy: the accessors give references
  for (const NumericKey& key : kNumericKeys) {
    const uint64_t value = key.field(config);
    if (value < key.min || value > key.max) {
      return KeyError(StrCat(key.section, ".", key.key),
                      StrCat("must be ", key.min, "..", key.max, ", not ", value));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<NumericRange> NumericKeyRanges() {
  std::vector<NumericRange> out;
  for (const NumericKey& key : kNumericKeys) {
    out.push_back(NumericRange{StrCat(key.section, ".", key.key), key.min, key.max});
  }
  return out;
}

const std::vector<std::string>& LogLevelNames() {
  static const std::vector<std::string> names = {"trace", "debug",    "info", "warn",
                                                 "error", "critical", "off"};
  return names;
}

absl::StatusOr<int32_t> ParseUtcOffset(std::string_view text) {
  if (text == "Z" || text == "UTC") return 0;
  if (text.size() != 6 || (text[0] != '+' && text[0] != '-') || text[3] != ':') {
    return absl::InvalidArgumentError(
        StrCat("utc_offset: \"", text, "\" is not of the form +HH:MM"));
  }
  auto digits = [&](size_t at) -> int {
    if (text[at] < '0' || text[at] > '9' || text[at + 1] < '0' || text[at + 1] > '9') return -1;
    return (text[at] - '0') * 10 + (text[at + 1] - '0');
  };
  int hours = digits(1), minutes = digits(4);
  if (hours < 0 || minutes < 0 || hours > 14 || minutes > 59) {
    return absl::InvalidArgumentError(StrCat("utc_offset: \"", text, "\" is out of range"));
  }
  int total = hours * 60 + minutes;
  return text[0] == '-' ? -total : total;
}

absl::StatusOr<NodeConfig> LoadConfigFile(const std::string& path, NodeConfig config) {
  if (!std::filesystem::exists(path)) {
    return absl::NotFoundError(StrCat("config file ", path, " does not exist"));
  }
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return absl::InvalidArgumentError(
        StrCat("config file ", path, ": ", e.description(), " at line ", e.source().begin.line));
  }
  std::set<std::string> known;
  absl::Status status;
  auto read_string = [&](const char* section, const char* key, std::string& out) {
    std::string name = StrCat(section, ".", key);
    known.insert(name);
    auto node = table[section][key];
    if (!node) return;
    if (auto v = node.value<std::string>()) {
      out = *v;
    } else if (status.ok()) {
      status = KeyError(name, "must be a string");
    }
  };
  auto read_bool = [&](const char* section, const char* key, bool& out) {
    std::string name = StrCat(section, ".", key);
    known.insert(name);
    auto node = table[section][key];
    if (!node) return;
    if (auto v = node.value<bool>()) {
      out = *v;
    } else if (status.ok()) {
      status = KeyError(name, "must be true or false");
    }
  };
  auto read_uint = [&](std::string_view section, std::string_view key, uint64_t& out) {
    std::string name = StrCat(section, ".", key);
    known.insert(name);
    auto node = table[section][key];
    if (!node) return;
    auto v = node.value_exact<int64_t>();
    if (v && *v >= 0) {
      out = static_cast<uint64_t>(*v);
    } else if (status.ok()) {
      status = KeyError(name, "must be a non-negative integer");
    }
  };
  auto read_strings = [&](const char* section, const char* key, std::vector<std::string>& out) {
    std::string name = StrCat(section, ".", key);
    known.insert(name);
    auto node = table[section][key];
    if (!node) return;
    const toml::array* array = node.as_array();
    std::vector<std::string> values;
    for (size_t i = 0; array != nullptr && i < array->size(); ++i) {
      auto v = (*array)[i].value<std::string>();
      if (!v) break;
      values.push_back(*v);
    }
    if (array != nullptr && values.size() == array->size()) {
      out = std::move(values);
    } else if (status.ok()) {
      status = KeyError(name, "must be a list of strings");
    }
  };
  for (const NumericKey& key : kNumericKeys) read_uint(key.section, key.key, key.field(config));
  read_string("node", "prefix", config.node_prefix);
  read_string("node", "role", config.role);
  read_string("storage", "data_dir", config.data_dir);
  read_string("grpc", "listen", config.grpc_listen);
  read_string("grpc", "tls_cert", config.tls_cert_file);
  read_string("grpc", "tls_key", config.tls_key_file);
  read_bool("grpc", "allow_insecure_remote", config.allow_insecure_remote);
  read_string("handle", "listen", config.handle_listen);
  read_string("handle", "advertise", config.handle_advertise);
  read_string("handle", "site_description", config.site_description);
  read_strings("handle", "mirrors", config.handle_mirrors);
  uint64_t rate_limit = 0;
  read_uint("handle", "udp_rate_limit", rate_limit);
  if (table["handle"]["udp_rate_limit"]) config.udp_rate_limit = static_cast<int64_t>(rate_limit);
  read_string("http", "listen", config.http_listen);
  read_bool("http", "allow_remote", config.http_allow_remote);
  read_string("upload", "url", config.upload_url);
  read_string("upload", "ca_file", config.upload_ca_file);
  read_string("upload", "token_file", config.upload_token_file);
  read_string("upload", "node_id", config.upload_node_id);
  read_string("federation", "top", config.federation_top);
  read_string("federation", "ca_file", config.federation_ca_file);
  read_string("federation", "credential_file", config.federation_credential_file);
  read_bool("federation", "plaintext", config.federation_plaintext);
  read_bool("federation", "recursion", config.federation_recursion);
  read_string("federation", "top_handle", config.federation_top_handle);
  read_bool("registry", "case_sensitive_suffix", config.case_sensitive_suffix);
  std::string offset;
  read_string("stats", "utc_offset", offset);
  uint64_t window = config.thresholds.acceptance_window_days;
  read_uint("stats", "acceptance_window_days", window);
  config.thresholds.acceptance_window_days =
      static_cast<uint32_t>(std::min<uint64_t>(window, 1u << 20));
  read_string("log", "level", config.log_level);
  if (!status.ok()) return status;
  if (!offset.empty()) {
    auto minutes = ParseUtcOffset(offset);
    if (!minutes.ok()) return KeyError("stats.utc_offset", ToStd(minutes.status().message()));
    config.utc_offset_minutes = *minutes;
  }
  for (const auto& [section, node] : table) {
    const toml::table* inner = node.as_table();
    if (inner == nullptr) return KeyError(section.str(), "expected a [section]");
    for (const auto& [key, unused] : *inner) {
      std::string name = StrCat(section.str(), ".", key.str());
      if (!known.contains(name)) return KeyError(name, "unknown key");
    }
  }
  return config;
}

namespace {

// The retry_initial_ms / retry_max_ms pair of a background sender in [section] (their ranges are
// in kNumericKeys).
absl::Status CheckRetrySettings(std::string_view section, uint64_t initial_ms, uint64_t max_ms) {
  if (max_ms < initial_ms) {
    return KeyError(StrCat(section, ".retry_max_ms"),
                    StrCat("must be at least retry_initial_ms (", initial_ms, "), not ", max_ms));
  }
  return absl::OkStatus();
}

// handle.mirrors: distinct HOST:PORT entries (IPv4 or [IPv6]) that clients can reach, as many as
// fit in one HS_SITE beside this node.
absl::Status CheckMirrors(const std::vector<std::string>& mirrors) {
  if (mirrors.size() + 1 > wire::kMaxSiteServers) {
    return KeyError("handle.mirrors", StrCat("lists ", mirrors.size(), " servers; a site holds ",
                                             wire::kMaxSiteServers, " with this node, so at most ",
                                             wire::kMaxSiteServers - 1));
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < mirrors.size(); ++i) {
    const std::string key = StrCat("handle.mirrors[", i, "]");
    ASSIGN_OR_RETURN(net::Endpoint mirror, net::ParseEndpoint(key, mirrors[i]));
    if (mirror.wildcard() || mirror.port == 0) {
      return KeyError(key, StrCat("\"", mirrors[i],
                                  "\" must be an address and port clients can reach, not 0.0.0.0, "
                                  ":: or port 0"));
    }
    if (!seen.insert(mirror.ToString()).second) {
      return KeyError(key, StrCat("\"", mirrors[i], "\" is listed twice"));
    }
  }
  return absl::OkStatus();
}

// [federation] recursion settings.
absl::Status CheckRecursion(const NodeConfig& config) {
  if (!config.federation_top_handle.empty()) {
    ASSIGN_OR_RETURN(net::Endpoint top,
                     net::ParseEndpoint("federation.top_handle", config.federation_top_handle));
    if (top.wildcard() || top.port == 0) {
      return KeyError("federation.top_handle",
                      "must be the top node's Handle address and port, not 0.0.0.0, :: or port 0");
    }
  }
  if (config.federation_recursion) {
    if (config.role == "top") {
      return KeyError("federation.recursion",
                      "is for secondary nodes; a top node refers clients (302/303) instead");
    }
    if (config.federation_top_handle.empty()) {
      return KeyError("federation.top_handle",
                      "is required with federation.recursion (the top node's Handle HOST:PORT, "
                      "where recursive resolution starts)");
    }
  }
  return absl::OkStatus();
}

}  // namespace

bool IsLoopbackListen(std::string_view listen) {
  size_t colon = listen.rfind(':');
  std::string_view host = listen.substr(0, colon == std::string_view::npos ? 0 : colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return host == "localhost" || host == "::1" || host.substr(0, 4) == "127.";
}

absl::Status ValidateConfig(const NodeConfig& config) {
  if (auto prefix = NormalizePrefix(config.node_prefix, "node.prefix"); !prefix.ok()) {
    return KeyError("node.prefix", ToStd(prefix.status().message()));
  }
  if (config.data_dir.empty()) return KeyError("storage.data_dir", "must not be empty");
  RETURN_IF_ERROR(CheckNumericKeys(config));
  if (std::find(LogLevelNames().begin(), LogLevelNames().end(), config.log_level) ==
      LogLevelNames().end()) {
    std::string names;
    for (const std::string& name : LogLevelNames()) names += (names.empty() ? "" : ", ") + name;
    return KeyError("log.level", StrCat("\"", config.log_level, "\" is not one of ", names));
  }
  if (config.max_queued_items < config.commit_max_items) {
    return KeyError("registry.max_queued_items",
                    StrCat("must be at least registry.commit_max_items (", config.commit_max_items,
                           "), not ", config.max_queued_items));
  }
  if (config.grpc_listen.find(':') == std::string::npos) {
    return KeyError("grpc.listen", "must be HOST:PORT");
  }
  if (config.tls_cert_file.empty() != config.tls_key_file.empty()) {
    return KeyError("grpc.tls_cert", "tls_cert and tls_key must be given together");
  }
  if (config.tls_cert_file.empty() && !IsLoopbackListen(config.grpc_listen) &&
      !config.allow_insecure_remote) {
    return absl::FailedPreconditionError(
        StrCat("grpc.listen ", config.grpc_listen,
               " is not a loopback address and no TLS certificate is configured: set "
               "grpc.tls_cert and grpc.tls_key, or grpc.allow_insecure_remote = true"));
  }
  auto listen = net::ParseEndpoint("handle.listen", config.handle_listen);
  if (!listen.ok()) return listen.status();
  if (!config.handle_advertise.empty()) {
    auto advertise = net::ParseAddress("handle.advertise", config.handle_advertise);
    if (!advertise.ok()) return advertise.status();
    if (advertise->wildcard()) {
      return KeyError("handle.advertise",
                      "must be an address clients can reach, not 0.0.0.0 or ::");
    }
  } else if (listen->wildcard()) {
    return KeyError("handle.advertise",
                    "must be set when handle.listen is a wildcard address: HS_SITE tells clients "
                    "where to send queries, and a wildcard is not an address they can use");
  }
  RETURN_IF_ERROR(CheckMirrors(config.handle_mirrors));
  if (config.udp_rate_limit > 1'000'000) {
    return KeyError("handle.udp_rate_limit", "must be 0 (off) .. 1000000 requests a second");
  }
  if (!config.http_listen.empty()) {
    auto http = net::ParseEndpoint("http.listen", config.http_listen);
    if (!http.ok()) return http.status();
    if (!http->loopback() && !config.http_allow_remote) {
      return KeyError("http.listen",
                      "is not a loopback address; the statistics pages have no login, so serving "
                      "them to the network needs http.allow_remote = true");
    }
  }
  if (!config.upload_url.empty()) {
    auto url = http::ParseUrl(config.upload_url, "upload.url");
    if (!url.ok()) return url.status();
  }
  RETURN_IF_ERROR(
      CheckRetrySettings("upload", config.upload_retry_initial_ms, config.upload_retry_max_ms));
  if (config.role != "secondary" && config.role != "top") {
    return KeyError("node.role", StrCat("\"", config.role, "\" is not secondary or top"));
  }
  if (!config.federation_top.empty()) {
    if (config.federation_top.rfind(':') == std::string::npos) {
      return KeyError("federation.top", "must be HOST:PORT of the top node's gRPC");
    }
    if (config.federation_credential_file.empty()) {
      return KeyError("federation.credential_file",
                      "is required with federation.top (the node credential the top node's admin "
                      "issued)");
    }
    if (config.federation_plaintext && !IsLoopbackListen(config.federation_top)) {
      return KeyError("federation.plaintext",
                      "is allowed only to a loopback top node; node credentials must cross the "
                      "network over TLS");
    }
  }
  RETURN_IF_ERROR(CheckRetrySettings("federation", config.federation_retry_initial_ms,
                                     config.federation_retry_max_ms));
  RETURN_IF_ERROR(CheckRecursion(config));
  if (config.thresholds.acceptance_window_days == 0 ||
      config.thresholds.acceptance_window_days > 366) {
    return KeyError("stats.acceptance_window_days", "must be 1..366");
  }
  return absl::OkStatus();
}

uint32_t EffectiveUdpRateLimit(const NodeConfig& config) {
  if (config.udp_rate_limit >= 0) return static_cast<uint32_t>(config.udp_rate_limit);
  auto listen = net::ParseEndpoint("handle.listen", config.handle_listen);
  return listen.ok() && listen->loopback() ? 0 : kDefaultUdpRateLimit;
}

}  // namespace idnode
