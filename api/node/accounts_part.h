#pragma once

// Accounts as a part of the node (registry/base/component.h): built right after the writer, it
// gives an empty store its admin account (the token goes to the node's AdminTokenSink before
// the commit, so that a failed start never leaves an admin nobody has the token of), and it
// owns the guard every front end that authenticates shares: failed authentications logged,
// counted and slowed per source (api/grpc/auth_guard.h).

#include <memory>

#include "absl/status/statusor.h"
#include "api/grpc/auth_guard.h"
#include "api/node/context.h"
#include "registry/base/component.h"

namespace idnode::node {

class AccountsPart final : public Component {
 public:
  static absl::StatusOr<std::unique_ptr<AccountsPart>> Build(NodeContext& context);

  std::string_view name() const override { return "accounts"; }
  void DescribeStats(MetricSink& sink) const override;

 private:
  AccountsPart() = default;

  std::shared_ptr<rpc::AuthGuard> guard_;
};

}  // namespace idnode::node
