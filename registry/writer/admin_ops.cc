#include "registry/writer/admin_ops.h"

#include "registry/base/status_macros.h"
#include "registry/base/strings.h"
#include "registry/identifier/identifier.h"
#include "registry/templates/template.h"

namespace idnode::writer {
namespace {

absl::Status PutAccount(WriteContext& context, const std::string& actor, const std::string& id,
                        accounts::Role role, std::vector<std::string> grants = {}) {
  ASSIGN_OR_RETURN(bool taken, accounts::AccountTable::Contains(context.txn(), id));
  if (taken) return absl::AlreadyExistsError(StrCat("account ", id, " already exists"));
  RETURN_IF_ERROR(accounts::AccountTable::Put(
      context.txn(), id,
      accounts::AccountRecord{role, context.now_ms(), false, std::move(grants)}));
  return context.AppendChange(ChangeKind::kAccountCreate, actor, id);
}

absl::Status PutToken(WriteContext& context, const std::string& actor, const std::string& account,
                      const std::string& hash, const std::string& label, int64_t expires_ms = 0) {
  RETURN_IF_ERROR(accounts::TokenTable::Put(
      context.txn(), hash, accounts::TokenRecord{account, context.now_ms(), 0, label, expires_ms}));
  return context.AppendChange(ChangeKind::kTokenIssue, actor, accounts::TokenIdFromHash(hash));
}

}  // namespace

std::unique_ptr<WriteOp> MakeCreateAccountOp(std::string actor, std::string id, accounts::Role role,
                                             std::vector<std::string> grants,
                                             std::function<void(absl::StatusOr<bool>)> done) {
  return MakeFunctionOp<bool>(
      [actor = std::move(actor), id = std::move(id), role,
       grants = std::move(grants)](WriteContext& context) -> absl::StatusOr<bool> {
        RETURN_IF_ERROR(accounts::ValidateAccountId(id));
        std::vector<std::string> normalized;
        if (role == accounts::Role::kNode) {
          ASSIGN_OR_RETURN(normalized, accounts::NormalizeGrants(grants, "grants"));
        } else if (!grants.empty()) {
          return absl::InvalidArgumentError(StrCat("grants: only node accounts have grants; ", id,
                                                   " would be ", accounts::RoleName(role)));
        }
        RETURN_IF_ERROR(PutAccount(context, actor, id, role, std::move(normalized)));
        return true;
      },
      std::move(done));
}

std::unique_ptr<WriteOp> MakeIssueTokenOp(std::string actor, std::string account, std::string token,
                                          std::string label, uint64_t valid_seconds,
                                          std::function<void(absl::StatusOr<IssuedToken>)> done) {
  return MakeFunctionOp<IssuedToken>(
      [actor = std::move(actor), account = std::move(account), hash = accounts::HashToken(token),
       label = std::move(label),
       valid_seconds](WriteContext& context) -> absl::StatusOr<IssuedToken> {
        ASSIGN_OR_RETURN(bool exists, accounts::AccountTable::Contains(context.txn(), account));
        if (!exists) {
          return absl::NotFoundError(StrCat("account ", account, " does not exist"));
        }
        const int64_t expires_ms =
            valid_seconds == 0 ? 0 : context.now_ms() + static_cast<int64_t>(valid_seconds) * 1000;
        RETURN_IF_ERROR(PutToken(context, actor, account, hash, label, expires_ms));
        return IssuedToken{accounts::TokenIdFromHash(hash), context.now_ms(), expires_ms};
      },
      std::move(done));
}

std::unique_ptr<WriteOp> MakeRevokeTokenOp(std::string actor, std::string token_id,
                                           std::function<void(absl::StatusOr<bool>)> done) {
  return MakeFunctionOp<bool>(
      [actor = std::move(actor),
       token_id = std::move(token_id)](WriteContext& context) -> absl::StatusOr<bool> {
        std::string id_bytes;
        if (token_id.size() != 16 || !ParseHexBytes(token_id, id_bytes)) {
          return absl::InvalidArgumentError(
              StrCat("token_id: \"", token_id, "\" is not 16 lower-case hex digits"));
        }
        store::Cursor cursor = context.txn().OpenCursor(accounts::TokenTable::kDatabase);
        if (!cursor.Seek(id_bytes) || cursor.key().substr(0, 8) != id_bytes) {
          return absl::NotFoundError(StrCat("token ", token_id, " does not exist"));
        }
        std::string hash(cursor.key());
        ASSIGN_OR_RETURN(accounts::TokenRecord record,
                         accounts::TokenTable::DecodeStored(cursor.value()));
        if (record.revoked_ms != 0) return false;
        record.revoked_ms = context.now_ms();
        RETURN_IF_ERROR(accounts::TokenTable::Put(context.txn(), hash, record));
        RETURN_IF_ERROR(context.AppendChange(ChangeKind::kTokenRevoke, actor, token_id));
        return true;
      },
      std::move(done));
}

std::unique_ptr<WriteOp> MakeAllocatePrefixOp(std::string actor, std::string node_prefix,
                                              std::string prefix, std::string owner, uint64_t quota,
                                              PrefixHook hook,
                                              std::function<void(absl::StatusOr<bool>)> done) {
  return MakeFunctionOp<bool>(
      [actor = std::move(actor), node_prefix = std::move(node_prefix), prefix = std::move(prefix),
       owner = std::move(owner), quota,
       hook = std::move(hook)](WriteContext& context) -> absl::StatusOr<bool> {
        store::WriteTxn& txn = context.txn();
        if (prefix == node_prefix || !identifier::IsSameOrUnderPrefix(prefix, node_prefix)) {
          return absl::InvalidArgumentError(
              StrCat("prefix: ", prefix, " is not under this node's prefix ", node_prefix,
                     " (enterprise prefixes look like ", node_prefix, ".45)"));
        }
        ASSIGN_OR_RETURN(std::optional<accounts::AccountRecord> stored,
                         accounts::AccountTable::Get(txn, owner));
        if (!stored) {
          return absl::NotFoundError(StrCat("owner: account ", owner, " does not exist"));
        }
        const accounts::AccountRecord& account = *stored;
        if (account.role != accounts::Role::kRegistrant) {
          return absl::FailedPreconditionError(
              StrCat("owner: account ", owner, " has role ", accounts::RoleName(account.role),
                     "; prefixes are allocated to registrant accounts"));
        }
        // Refuse the prefix itself, any allocated ancestor, and any allocated descendant.
        for (size_t dot = prefix.size(); dot != std::string::npos && dot > node_prefix.size();
             dot = prefix.rfind('.', dot - 1)) {
          std::string_view candidate = std::string_view(prefix).substr(0, dot);
          ASSIGN_OR_RETURN(std::optional<accounts::PrefixRecord> existing,
                           accounts::PrefixTable::Get(txn, candidate));
          if (existing) {
            return absl::AlreadyExistsError(
                StrCat("prefix: ", candidate, " is already allocated (to ", existing->owner, ")"));
          }
        }
        store::Cursor cursor = txn.OpenCursor(accounts::PrefixTable::kDatabase);
        std::string below = prefix + ".";
        if (cursor.Seek(below) && cursor.key().substr(0, below.size()) == below) {
          return absl::AlreadyExistsError(
              StrCat("prefix: ", cursor.key(), " below ", prefix, " is already allocated"));
        }
        RETURN_IF_ERROR(accounts::PrefixTable::Put(
            txn, prefix,
            accounts::PrefixRecord{owner, accounts::PrefixStatus::kActive, quota,
                                   context.now_ms()}));
        RETURN_IF_ERROR(context.AppendChange(ChangeKind::kPrefixAllocate, actor, prefix));
        if (hook) RETURN_IF_ERROR(hook(context, prefix, true));
        return true;
      },
      std::move(done));
}

std::unique_ptr<WriteOp> MakeReleasePrefixOp(std::string actor, std::string prefix, PrefixHook hook,
                                             std::function<void(absl::StatusOr<bool>)> done) {
  return MakeFunctionOp<bool>(
      [actor = std::move(actor), prefix = std::move(prefix),
       hook = std::move(hook)](WriteContext& context) -> absl::StatusOr<bool> {
        store::WriteTxn& txn = context.txn();
        ASSIGN_OR_RETURN(bool allocated, accounts::PrefixTable::Contains(txn, prefix));
        if (!allocated) {
          return absl::NotFoundError(StrCat("prefix: ", prefix, " is not allocated"));
        }
        const std::string below = prefix + "/";
        {
          store::Cursor ids = txn.OpenCursor(store::Db::kIds);
          if (ids.Seek(below) && ids.key().substr(0, below.size()) == below) {
            return absl::FailedPreconditionError(StrCat("prefix: ", prefix,
                                                        " still has identifiers (", ids.key(),
                                                        ", ...); delete them before releasing it"));
          }
        }
        std::vector<std::string> templates;
        {
          store::Cursor cursor = txn.OpenCursor(store::Db::kTemplates);
          for (bool more = cursor.Seek(templates::TemplateKeyRange(prefix)); more;
               more = cursor.Next()) {
            if (!templates::TemplateKeyVersion(cursor.key(), prefix)) break;
            templates.emplace_back(cursor.key());
          }
        }
        for (const std::string& key : templates) {
          RETURN_IF_ERROR(txn.Delete(store::Db::kTemplates, key));
        }
        RETURN_IF_ERROR(txn.Delete(store::Db::kPrefixes, prefix));
        RETURN_IF_ERROR(context.AppendChange(ChangeKind::kPrefixRelease, actor, prefix));
        if (hook) RETURN_IF_ERROR(hook(context, prefix, false));
        return true;
      },
      std::move(done));
}

std::unique_ptr<WriteOp> MakeBootstrapAdminOp(std::string token,
                                              std::function<void(absl::StatusOr<bool>)> done) {
  return MakeFunctionOp<bool>(
      [hash = accounts::HashToken(token)](WriteContext& context) -> absl::StatusOr<bool> {
        ASSIGN_OR_RETURN(bool has_admin, accounts::HasAdminAccount(context.txn()));
        if (has_admin) return false;
        const std::string id = "admin";
        RETURN_IF_ERROR(PutAccount(context, "node", id, accounts::Role::kAdmin));
        RETURN_IF_ERROR(PutToken(context, "node", id, hash, "bootstrap"));
        return true;
      },
      std::move(done));
}

std::unique_ptr<WriteOp> MakeResetAdminTokenOp(std::string token,
                                               std::function<void(absl::StatusOr<uint64_t>)> done) {
  return MakeFunctionOp<uint64_t>(
      [hash = accounts::HashToken(token)](WriteContext& context) -> absl::StatusOr<uint64_t> {
        const std::string id = "admin";
        store::WriteTxn& txn = context.txn();
        ASSIGN_OR_RETURN(std::optional<accounts::AccountRecord> stored,
                         accounts::AccountTable::Get(txn, id));
        if (stored) {
          accounts::AccountRecord& account = *stored;
          if (account.role != accounts::Role::kAdmin) {
            return absl::FailedPreconditionError(StrCat("account admin has role ",
                                                        accounts::RoleName(account.role),
                                                        ", not admin; nothing was changed"));
          }
          if (account.disabled) {
            account.disabled = false;
            RETURN_IF_ERROR(accounts::AccountTable::Put(txn, id, account));
          }
        } else {
          RETURN_IF_ERROR(PutAccount(context, "node", id, accounts::Role::kAdmin));
        }
        std::vector<std::pair<std::string, accounts::TokenRecord>> live;
        store::Cursor cursor = txn.OpenCursor(accounts::TokenTable::kDatabase);
        for (bool more = cursor.Seek(""); more; more = cursor.Next()) {
          auto record = accounts::TokenTable::DecodeStored(cursor.value());
          if (record.ok() && record->account == id && record->revoked_ms == 0) {
            live.emplace_back(std::string(cursor.key()), *std::move(record));
          }
        }
        for (auto& [old_hash, record] : live) {
          record.revoked_ms = context.now_ms();
          RETURN_IF_ERROR(accounts::TokenTable::Put(txn, old_hash, record));
          RETURN_IF_ERROR(context.AppendChange(ChangeKind::kTokenRevoke, "node",
                                               accounts::TokenIdFromHash(old_hash)));
        }
        RETURN_IF_ERROR(PutToken(context, "node", id, hash, "reset"));
        return static_cast<uint64_t>(live.size());
      },
      std::move(done));
}

}  // namespace idnode::writer
