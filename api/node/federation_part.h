#pragma once

// Federation upward as a part of the node (registry/base/component.h, [federation] top): a
// secondary node registers the enterprise prefixes it allocates at its top node. Building it
// spools a registration of every hosted prefix when the site or the top node changed since the
// last start, and installs the hooks through which every prefix allocation and release over
// gRPC is spooled in its own transaction; the client then drains the spool with back-off.

#include <memory>

#include "absl/status/statusor.h"
#include "api/node/context.h"
#include "api/node/federation_client.h"
#include "registry/base/component.h"

namespace idnode::node {

class FederationPart final : public Component {
 public:
  // Null without federation.top.
  static absl::StatusOr<std::unique_ptr<FederationPart>> Build(NodeContext& context);

  std::string_view name() const override { return "federation"; }
  absl::Status Start() override;
  // After the gRPC calls that wake it have drained; it may be waiting on the top node, at most
  // federation.timeout_ms.
  void Close() override { client_->Stop(); }
  void DescribeStats(MetricSink& sink) const override;
  void ListGuards(std::vector<const ExceptionGuard*>& guards) const override {
    guards.push_back(&client_->guard());
  }

  rpc::UpwardStats stats() const { return client_->stats(); }

 private:
  FederationPart() = default;

  store::Store* store_ = nullptr;
  std::unique_ptr<FederationClient> client_;
};

}  // namespace idnode::node
