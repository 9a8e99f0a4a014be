#pragma once

// Data template writes for the Writer, and the check of registrations that name a template.
//
// PublishTemplate: the prefix's owner (or an admin) publishes version base_version + 1.
//   NOT_FOUND / PERMISSION_DENIED as for identifier writes; FAILED_PRECONDITION when
//   `base_version` is not the latest version (someone published meanwhile) or when the new
//   version drops or retypes an attribute; INVALID_ARGUMENT for a template breaking its own rules.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "registry/accounts/accounts.h"
#include "registry/templates/template.h"
#include "registry/writer/writer.h"

namespace idnode::writer {

// `prefix` is normalised. On success `done` receives the stored template (version, time set).
std::unique_ptr<WriteOp> MakePublishTemplateOp(
    accounts::Principal principal, std::string prefix, uint32_t base_version,
    templates::DataTemplate candidate,
    std::function<void(absl::StatusOr<templates::DataTemplate>)> done);

// Checks value lists that name a template (value index 1001) against it, inside the writer's
// transaction. Published versions never change, so it caches them for the life of one op.
class TemplateChecker {
 public:
  // OK when `values` name no template or satisfy the one they name; NOT_FOUND when the named
  // version does not exist; store errors as they come.
  absl::Status Check(const store::WriteTxn& txn, std::string_view prefix,
                     std::span<const identifier::HandleValue> values);

 private:
  std::map<std::string, std::optional<templates::DataTemplate>, std::less<>> cache_;
};

}  // namespace idnode::writer
