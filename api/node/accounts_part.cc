#include "api/node/accounts_part.h"

#include "registry/accounts/accounts.h"
#include "registry/base/status_macros.h"
#include "registry/writer/admin_ops.h"
#include "registry/writer/submit.h"

namespace idnode::node {
namespace {

// A store without an admin account gets one; its token is delivered first: if the operator
// cannot be given it, the store stays without an admin and the next start tries again.
absl::StatusOr<std::string> BootstrapAdmin(NodeContext& context) {
  {
    ASSIGN_OR_RETURN(store::ReadTxn txn, context.store->BeginRead());
    ASSIGN_OR_RETURN(bool has_admin, accounts::HasAdminAccount(txn));
    if (has_admin) return std::string();
  }
  ASSIGN_OR_RETURN(std::string token, accounts::GenerateToken());
  if (context.admin_token) RETURN_IF_ERROR(context.admin_token(token));
  ASSIGN_OR_RETURN(bool created,
                   writer::SubmitAndWait<absl::StatusOr<bool>>(*context.writer, [&](auto done) {
                     return MakeBootstrapAdminOp(token, std::move(done));
                   }));
  return created ? token : std::string();
}

}  // namespace

absl::StatusOr<std::unique_ptr<AccountsPart>> AccountsPart::Build(NodeContext& context) {
  ASSIGN_OR_RETURN(context.bootstrap_token, BootstrapAdmin(context));
  std::unique_ptr<AccountsPart> part(new AccountsPart());
  part->guard_ = std::make_shared<rpc::AuthGuard>();
  context.auth_guard = part->guard_;
  return part;
}

void AccountsPart::DescribeStats(MetricSink& sink) const {
  DescribeRows(sink, rpc::kAuthGuardRows, guard_->stats());
}

}  // namespace idnode::node
