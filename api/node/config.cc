#include "api/node/config.h"

#include <toml++/toml.h>

#include <filesystem>
#include <set>

#include "api/http/https_client.h"
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

}  // namespace

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
  auto read_uint = [&](const char* section, const char* key, uint64_t& out) {
    std::string name = StrCat(section, ".", key);
    known.insert(name);
    auto node = table[section][key];
    if (!node) return;
    auto v = node.value<int64_t>();
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
  read_string("node", "prefix", config.node_prefix);
  read_string("node", "role", config.role);
  read_string("storage", "data_dir", config.data_dir);
  read_uint("storage", "initial_map_mib", config.initial_map_mib);
  read_string("grpc", "listen", config.grpc_listen);
  read_string("grpc", "tls_cert", config.tls_cert_file);
  read_string("grpc", "tls_key", config.tls_key_file);
  read_bool("grpc", "allow_insecure_remote", config.allow_insecure_remote);
  read_string("handle", "listen", config.handle_listen);
  read_uint("handle", "udp_workers", config.udp_workers);
  read_uint("handle", "udp_max_reply_bytes", config.udp_max_reply_bytes);
  read_string("handle", "advertise", config.handle_advertise);
  read_string("handle", "site_description", config.site_description);
  read_strings("handle", "mirrors", config.handle_mirrors);
  uint64_t rate_limit = 0;
  read_uint("handle", "udp_rate_limit", rate_limit);
  if (table["handle"]["udp_rate_limit"]) config.udp_rate_limit = static_cast<int64_t>(rate_limit);
  read_uint("handle", "udp_rate_burst", config.udp_rate_burst);
  read_uint("handle", "tcp_workers", config.tcp_workers);
  read_uint("handle", "tcp_max_connections", config.tcp_max_connections);
  read_uint("handle", "tcp_max_message_bytes", config.tcp_max_message_bytes);
  read_uint("handle", "tcp_max_per_source_percent", config.tcp_max_per_source_percent);
  read_uint("handle", "tcp_max_pending_reply_bytes", config.tcp_max_pending_reply_bytes);
  read_uint("handle", "tcp_idle_timeout_ms", config.tcp_idle_timeout_ms);
  read_uint("handle", "tcp_request_timeout_ms", config.tcp_request_timeout_ms);
  read_uint("handle", "tcp_write_timeout_ms", config.tcp_write_timeout_ms);
  read_uint("handle", "realtime_priority", config.realtime_priority);
  read_string("http", "listen", config.http_listen);
  read_bool("http", "allow_remote", config.http_allow_remote);
  read_string("upload", "url", config.upload_url);
  read_string("upload", "ca_file", config.upload_ca_file);
  read_string("upload", "token_file", config.upload_token_file);
  read_string("upload", "node_id", config.upload_node_id);
  read_uint("upload", "interval_days", config.upload_interval_days);
  read_uint("upload", "retry_initial_ms", config.upload_retry_initial_ms);
  read_uint("upload", "retry_max_ms", config.upload_retry_max_ms);
  read_uint("upload", "timeout_ms", config.upload_timeout_ms);
  read_string("federation", "top", config.federation_top);
  read_string("federation", "ca_file", config.federation_ca_file);
  read_string("federation", "credential_file", config.federation_credential_file);
  read_bool("federation", "plaintext", config.federation_plaintext);
  read_uint("federation", "retry_initial_ms", config.federation_retry_initial_ms);
  read_uint("federation", "retry_max_ms", config.federation_retry_max_ms);
  read_uint("federation", "timeout_ms", config.federation_timeout_ms);
  read_bool("federation", "recursion", config.federation_recursion);
  read_string("federation", "top_handle", config.federation_top_handle);
  read_uint("federation", "recursion_limit", config.recursion_limit);
  read_uint("federation", "recursion_workers", config.recursion_workers);
  read_uint("federation", "recursion_max_pending", config.recursion_max_pending);
  read_uint("federation", "recursion_cache_entries", config.recursion_cache_entries);
  read_uint("federation", "recursion_timeout_ms", config.recursion_timeout_ms);
  read_uint("federation", "recursion_negative_ttl_ms", config.recursion_negative_ttl_ms);
  read_bool("registry", "case_sensitive_suffix", config.case_sensitive_suffix);
  read_uint("registry", "commit_max_items", config.commit_max_items);
  read_uint("registry", "commit_max_wait_us", config.commit_max_wait_us);
  read_uint("registry", "max_queued_items", config.max_queued_items);
  std::string offset;
  read_string("stats", "utc_offset", offset);
  read_uint("stats", "flush_interval_ms", config.stats_flush_interval_ms);
  read_uint("stats", "acceptance_registered", config.thresholds.acceptance_registered);
  read_uint("stats", "acceptance_daily_resolutions", config.thresholds.acceptance_daily);
  uint64_t window = config.thresholds.acceptance_window_days;
  read_uint("stats", "acceptance_window_days", window);
  config.thresholds.acceptance_window_days =
      static_cast<uint32_t>(std::min<uint64_t>(window, 1u << 20));
  read_uint("stats", "bonus_new_in_year", config.thresholds.bonus_new_in_year);
  read_uint("stats", "bonus_daily_resolutions", config.thresholds.bonus_daily);
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

// The retry_initial_ms / retry_max_ms / timeout_ms triple of a background sender in [section].
absl::Status CheckRetrySettings(std::string_view section, uint64_t initial_ms, uint64_t max_ms,
                                uint64_t timeout_ms) {
  if (initial_ms < 10 || initial_ms > 3'600'000) {
    return KeyError(StrCat(section, ".retry_initial_ms"), "must be 10..3600000");
  }
  if (max_ms < initial_ms || max_ms > 86'400'000) {
    return KeyError(StrCat(section, ".retry_max_ms"), "must be retry_initial_ms..86400000");
  }
  if (timeout_ms < 100 || timeout_ms > 600'000) {
    return KeyError(StrCat(section, ".timeout_ms"), "must be 100..600000");
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
  if (config.recursion_limit < 1 || config.recursion_limit > 32) {
    return KeyError("federation.recursion_limit", "must be 1..32");
  }
  if (config.recursion_workers < 1 || config.recursion_workers > 256) {
    return KeyError("federation.recursion_workers", "must be 1..256");
  }
  if (config.recursion_max_pending < 1 || config.recursion_max_pending > 1'000'000) {
    return KeyError("federation.recursion_max_pending", "must be 1..1000000");
  }
  if (config.recursion_cache_entries > 10'000'000) {
    return KeyError("federation.recursion_cache_entries", "must be 0..10000000");
  }
  if (config.recursion_timeout_ms < 10 || config.recursion_timeout_ms > 60'000) {
    return KeyError("federation.recursion_timeout_ms", "must be 10..60000");
  }
  if (config.recursion_negative_ttl_ms > 86'400'000) {
    return KeyError("federation.recursion_negative_ttl_ms", "must be 0..86400000");
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
  if (config.initial_map_mib == 0) return KeyError("storage.initial_map_mib", "must be > 0");
  if (config.grpc_listen.find(':') == std::string::npos) {
    return KeyError("grpc.listen", "must be HOST:PORT");
  }
  if (config.tls_cert_file.empty() != config.tls_key_file.empty()) {
    return KeyError("grpc.tls_cert", "tls_cert and tls_key must be given together");
  }
  if (config.commit_max_items == 0) return KeyError("registry.commit_max_items", "must be > 0");
  if (config.udp_workers == 0 || config.udp_workers > 64) {
    return KeyError("handle.udp_workers", "must be 1..64");
  }
  if (config.udp_max_reply_bytes < 512) {
    return KeyError("handle.udp_max_reply_bytes", "must be at least 512");
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
  if (config.udp_rate_burst > 10'000'000) {
    return KeyError("handle.udp_rate_burst", "must be at most 10000000");
  }
  if (config.tcp_workers == 0 || config.tcp_workers > 64) {
    return KeyError("handle.tcp_workers", "must be 1..64");
  }
  if (config.tcp_max_connections == 0 || config.tcp_max_connections > 1'000'000) {
    return KeyError("handle.tcp_max_connections", "must be 1..1000000");
  }
  if (config.tcp_max_message_bytes < 1024 || config.tcp_max_message_bytes > 256 * 1024) {
    return KeyError("handle.tcp_max_message_bytes", "must be 1024..262144");
  }
  if (config.tcp_max_per_source_percent == 0 || config.tcp_max_per_source_percent > 100) {
    return KeyError("handle.tcp_max_per_source_percent", "must be 1..100");
  }
  if (config.tcp_max_pending_reply_bytes < 1024 ||
      config.tcp_max_pending_reply_bytes > 64 * 1024 * 1024) {
    return KeyError("handle.tcp_max_pending_reply_bytes", "must be 1024..67108864");
  }
  for (auto [key, value] : {std::pair{"handle.tcp_idle_timeout_ms", config.tcp_idle_timeout_ms},
                            {"handle.tcp_request_timeout_ms", config.tcp_request_timeout_ms},
                            {"handle.tcp_write_timeout_ms", config.tcp_write_timeout_ms}}) {
    if (value == 0 || value > 3'600'000) return KeyError(key, "must be 1..3600000");
  }
  if (config.realtime_priority > 99) {
    return KeyError("handle.realtime_priority", "must be 0 (off) .. 99");
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
  if (config.upload_interval_days == 0 || config.upload_interval_days > 31) {
    return KeyError("upload.interval_days", "must be 1..31");
  }
  RETURN_IF_ERROR(CheckRetrySettings("upload", config.upload_retry_initial_ms,
                                     config.upload_retry_max_ms, config.upload_timeout_ms));
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
                                     config.federation_retry_max_ms, config.federation_timeout_ms));
  RETURN_IF_ERROR(CheckRecursion(config));
  if (config.stats_flush_interval_ms < 10 || config.stats_flush_interval_ms > 600'000) {
    return KeyError("stats.flush_interval_ms", "must be 10..600000");
  }
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
