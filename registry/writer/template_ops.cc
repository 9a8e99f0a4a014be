#include "registry/writer/template_ops.h"

#include "registry/base/status_macros.h"
#include "registry/base/strings.h"
#include "registry/templates/template_store.h"
#include "registry/writer/admin_ops.h"
#include "registry/writer/function_op.h"
#include "registry/writer/registry_ops.h"

namespace idnode::writer {

std::unique_ptr<WriteOp> MakePublishTemplateOp(
    accounts::Principal principal, std::string prefix, uint32_t base_version,
    templates::DataTemplate candidate,
    std::function<void(absl::StatusOr<templates::DataTemplate>)> done) {
  return MakeFunctionOp<templates::DataTemplate>(
      [principal = std::move(principal), prefix = std::move(prefix), base_version,
       candidate =
           std::move(candidate)](WriteContext& context) -> absl::StatusOr<templates::DataTemplate> {
        store::WriteTxn& txn = context.txn();
        accounts::PrefixRecord prefix_record;
        RETURN_IF_ERROR(AuthorizePrefixWrite(txn, principal, prefix, &prefix_record));
        ASSIGN_OR_RETURN(std::optional<templates::DataTemplate> latest,
                         templates::FindTemplate(txn, prefix, 0));
        uint32_t latest_version = latest ? latest->version : 0;
        if (base_version != latest_version) {
          return absl::FailedPreconditionError(
              StrCat("base_version: the template of ", prefix, " is at version ", latest_version,
                     ", not ", base_version, "; publish on top of version ", latest_version));
        }
        if (latest_version >= templates::kMaxTemplateVersions) {
          return absl::ResourceExhaustedError(
              StrCat("prefix ", prefix, " has published ", latest_version,
                     " template versions, the most one prefix may"));
        }
        templates::DataTemplate published = candidate;
        RETURN_IF_ERROR(templates::ValidateTemplate(published, latest ? &*latest : nullptr));
        published.version = latest_version + 1;
        published.created_ms = context.now_ms();
        published.author = principal.account;
        std::string key = templates::TemplateKey(prefix, published.version);
        RETURN_IF_ERROR(txn.Put(store::Db::kTemplates, key, templates::EncodeTemplate(published)));
        RETURN_IF_ERROR(context.AppendChange(ChangeKind::kTemplatePublish, principal.account,
                                             StrCat(prefix, "#", published.version)));
        return published;
      },
      std::move(done));
}

absl::Status TemplateChecker::Check(const store::WriteTxn& txn, std::string_view prefix,
                                    std::span<const identifier::HandleValue> values) {
  ASSIGN_OR_RETURN(std::optional<uint32_t> version, templates::NamedTemplateVersion(values));
  if (!version) return absl::OkStatus();
  std::string key = templates::TemplateKey(prefix, *version);
  auto it = cache_.find(key);
  if (it == cache_.end()) {
    ASSIGN_OR_RETURN(std::optional<templates::DataTemplate> found,
                     templates::FindTemplate(txn, prefix, *version));
    it = cache_.emplace(std::move(key), std::move(found)).first;
  }
  if (!it->second) {
    return absl::NotFoundError(StrCat("values (index ", templates::kTemplateVersionIndex,
                                      "): prefix ", prefix, " has no template version ", *version));
  }
  return templates::CheckAgainstTemplate(values, *it->second, prefix);
}

}  // namespace idnode::writer
