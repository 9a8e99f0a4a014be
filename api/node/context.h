#pragma once

// What the parts of a node (registry/base/component.h) offer each other while the node builds
// them. Node::Start builds the parts in dependency order; each part's Build reads its settings
// from `config` and what earlier parts put here, and puts here what later parts need. A Build
// returns null when its part is not configured (no upload.url: no uploader).
//
// Threads: the node's controlling thread, while it builds and starts the parts.

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "api/node/config.h"
#include "registry/base/clock.h"
#include "registry/base/component.h"
#include "registry/store/store.h"
#include "registry/writer/writer.h"
#include "resolver/query/query.h"
#include "resolver/wire/wire.h"

namespace idnode::rpc {
class AuthGuard;
struct ServiceEnv;
}  // namespace idnode::rpc

namespace idnode::node {

// Hands the operator the token of the admin account a new store is about to get: called once,
// before the account is committed, so that a token nobody received never becomes the only way
// in. An error stops the start-up with nothing committed.
using AdminTokenSink = std::function<absl::Status(const std::string& token)>;

struct NodeContext {
  NodeContext(const NodeConfig& node_config, const Clock& node_clock, AdminTokenSink sink,
              const ComponentList& built)
      : config(node_config), clock(node_clock), admin_token(std::move(sink)), parts(built) {}

  const NodeConfig& config;
  const Clock& clock;
  AdminTokenSink admin_token;
  const ComponentList& parts;  // those built so far
  std::string node_prefix;     // normalised

  store::Store* store = nullptr;     // the store part
  writer::Writer* writer = nullptr;  // the writer part
  query::RecursionConfig recursion;  // the recursor part, when federation.recursion is on
  // The Handle front ends: this node's HS_SITE (its bound port), encoded, and the processor that
  // answers Handle requests.
  wire::SiteInfo site_info;
  std::string site_bytes;
  const query::QueryProcessor* query_processor = nullptr;
  // The accounts part: the admin token made on the first start of an empty store, and the guard
  // against failing authentications that every authenticating front end shares.
  std::string bootstrap_token;
  std::shared_ptr<rpc::AuthGuard> auth_guard;
  rpc::ServiceEnv* env = nullptr;  // the gRPC part: what its services share
};

}  // namespace idnode::node
