#include "registry/accounts/accounts.h"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include "registry/base/bytes.h"
#include "registry/base/status_macros.h"
#include "registry/base/strings.h"
#include "registry/identifier/identifier.h"

namespace idnode::accounts {
namespace {

constexpr uint8_t kFormat = 1;

bool ReadFormat(ByteReader& r) {
  uint8_t format = 0;
  return r.U8(format) && format == kFormat;
}

}  // namespace

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kAdmin:
      return "admin";
    case Role::kRegistrant:
      return "registrant";
    case Role::kOperator:
      return "operator";
    case Role::kNode:
      return "node";
  }
  return "unknown";
}

absl::StatusOr<Role> ParseRole(std::string_view name) {
  for (Role role : {Role::kAdmin, Role::kRegistrant, Role::kOperator, Role::kNode}) {
    if (name == RoleName(role)) return role;
  }
  return absl::InvalidArgumentError(
      StrCat("role: \"", name, "\" is not one of admin, registrant, operator, node"));
}

absl::Status ValidateAccountId(std::string_view id) {
  if (id.empty() || id.size() > 64) {
    return absl::InvalidArgumentError("account: id must be 1..64 characters");
  }
  for (size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && !(i > 0 && (c == '.' || c == '_' || c == '-'))) {
      return absl::InvalidArgumentError(
          StrCat("account: id \"", id, "\" may use only a-z, 0-9 and (not first) '.', '_', '-'"));
    }
  }
  return absl::OkStatus();
}

std::string EncodeAccount(const AccountRecord& account) {
  std::string out;
  ByteWriter w(out);
  w.U8(kFormat);
  w.U8(static_cast<uint8_t>(account.role));
  w.U64(static_cast<uint64_t>(account.created_ms));
  w.U8(account.disabled ? 1 : 0);
  // Appended fields: records written before them simply end here.
  w.U16(static_cast<uint16_t>(account.grants.size()));
  for (const std::string& grant : account.grants) w.Bytes16(grant);
  return out;
}

absl::StatusOr<AccountRecord> DecodeAccount(std::string_view bytes) {
  ByteReader r(bytes);
  uint8_t role = 0, disabled = 0;
  uint64_t created = 0;
  if (!ReadFormat(r) || !r.U8(role) || !r.U64(created) || !r.U8(disabled) || role < 1 || role > 4) {
    return absl::DataLossError("account record is malformed");
  }
  AccountRecord account{static_cast<Role>(role), static_cast<int64_t>(created), disabled != 0, {}};
  if (r.remaining() > 0) {
    uint16_t count = 0;
    if (!r.U16(count)) return absl::DataLossError("account record is malformed");
    for (uint16_t i = 0; i < count; ++i) {
      std::string_view grant;
      if (!r.Bytes16(grant)) return absl::DataLossError("account record is malformed");
      account.grants.emplace_back(grant);
    }
  }
  return account;
}

std::string EncodeToken(const TokenRecord& token) {
  std::string out;
  ByteWriter w(out);
  w.U8(kFormat);
  w.Bytes16(token.account);
  w.U64(static_cast<uint64_t>(token.issued_ms));
  w.U64(static_cast<uint64_t>(token.revoked_ms));
  w.Bytes16(token.label);
  w.U64(static_cast<uint64_t>(token.expires_ms));  // appended; older records end before it
  return out;
}

absl::StatusOr<TokenRecord> DecodeToken(std::string_view bytes) {
  ByteReader r(bytes);
  std::string_view account, label;
  uint64_t issued = 0, revoked = 0;
  if (!ReadFormat(r) || !r.Bytes16(account) || !r.U64(issued) || !r.U64(revoked) ||
      !r.Bytes16(label)) {
    return absl::DataLossError("token record is malformed");
  }
  uint64_t expires = 0;
  if (r.remaining() > 0 && !r.U64(expires)) return absl::DataLossError("token record is malformed");
  return TokenRecord{std::string(account), static_cast<int64_t>(issued),
                     static_cast<int64_t>(revoked), std::string(label),
                     static_cast<int64_t>(expires)};
}

std::string EncodePrefix(const PrefixRecord& prefix) {
  std::string out;
  ByteWriter w(out);
  w.U8(kFormat);
  w.Bytes16(prefix.owner);
  w.U8(static_cast<uint8_t>(prefix.status));
  w.U64(prefix.quota);
  w.U64(static_cast<uint64_t>(prefix.created_ms));
  return out;
}

absl::StatusOr<PrefixRecord> DecodePrefix(std::string_view bytes) {
  ByteReader r(bytes);
  std::string_view owner;
  uint8_t status = 0;
  PrefixRecord prefix;
  uint64_t created = 0;
  if (!ReadFormat(r) || !r.Bytes16(owner) || !r.U8(status) || !r.U64(prefix.quota) ||
      !r.U64(created)) {
    return absl::DataLossError("prefix record is malformed");
  }
  prefix.owner = std::string(owner);
  prefix.status = static_cast<PrefixStatus>(status);
  prefix.created_ms = static_cast<int64_t>(created);
  return prefix;
}

absl::StatusOr<std::string> GenerateToken() {
  unsigned char random[32];
  if (RAND_bytes(random, sizeof random) != 1) {
    return absl::InternalError("token: OpenSSL could not produce random bytes");
  }
  return StrCat("idn_", HexBytes(std::string_view(reinterpret_cast<char*>(random), 32)));
}

std::string HashToken(std::string_view token) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), digest);
  return std::string(reinterpret_cast<char*>(digest), sizeof digest);
}

std::string TokenIdFromHash(std::string_view hash) { return HexBytes(hash.substr(0, 8)); }

absl::StatusOr<Principal> Authenticate(const store::ReadTxn& txn, std::string_view token,
                                       int64_t now_ms) {
  if (token.empty()) {
    return absl::UnauthenticatedError(
        "authorization: missing bearer token (send 'authorization: Bearer <token>')");
  }
  ASSIGN_OR_RETURN(std::optional<TokenRecord> record, TokenTable::Get(txn, HashToken(token)));
  if (!record) return absl::UnauthenticatedError("authorization: unknown token");
  if (record->revoked_ms != 0) {
    return absl::UnauthenticatedError("authorization: token has been revoked");
  }
  if (record->expires_ms != 0 && now_ms >= record->expires_ms) {
    return absl::UnauthenticatedError(StrCat("authorization: token ",
                                             TokenIdFromHash(HashToken(token)), " expired at ",
                                             FormatUtcMillis(record->expires_ms)));
  }
  ASSIGN_OR_RETURN(std::optional<AccountRecord> account, AccountTable::Get(txn, record->account));
  if (!account) {
    return absl::UnauthenticatedError(
        StrCat("authorization: account ", record->account, " no longer exists"));
  }
  if (account->disabled) {
    return absl::UnauthenticatedError(
        StrCat("authorization: account ", record->account, " is disabled"));
  }
  return Principal{record->account, account->role, std::move(account->grants)};
}

absl::StatusOr<std::vector<PrefixEntry>> ListPrefixes(const store::ReadTxn& txn,
                                                      std::string_view owner) {
  std::vector<PrefixEntry> out;
  RETURN_IF_ERROR(PrefixTable::ForEach(txn, [&](std::string_view key, PrefixRecord&& record) {
    if (owner.empty() || record.owner == owner) {
      out.push_back(PrefixEntry{std::string(key), std::move(record)});
    }
  }));
  return out;
}

absl::StatusOr<std::vector<AccountEntry>> ListAccounts(const store::ReadTxn& txn) {
  std::vector<AccountEntry> out;
  RETURN_IF_ERROR(AccountTable::ForEach(txn, [&](std::string_view key, AccountRecord&& record) {
    out.push_back(AccountEntry{std::string(key), std::move(record)});
  }));
  return out;
}

absl::StatusOr<std::vector<TokenEntry>> ListTokens(const store::ReadTxn& txn,
                                                   std::string_view account) {
  std::vector<TokenEntry> out;
  RETURN_IF_ERROR(TokenTable::ForEach(txn, [&](std::string_view key, TokenRecord&& record) {
    if (account.empty() || record.account == account) {
      out.push_back(TokenEntry{TokenIdFromHash(key), std::move(record)});
    }
  }));
  return out;
}

absl::StatusOr<std::vector<std::string>> NormalizeGrants(const std::vector<std::string>& grants,
                                                         std::string_view field) {
  if (grants.empty() || grants.size() > 16) {
    return absl::InvalidArgumentError(StrCat(field, ": a node account needs 1..16 grants"));
  }
  std::vector<std::string> normalized;
  for (const std::string& grant : grants) {
    auto prefix = identifier::NormalizePrefix(grant, field);
    if (!prefix.ok()) return prefix.status();
    normalized.push_back(*std::move(prefix));
  }
  return normalized;
}

bool GrantCovers(const std::vector<std::string>& grants, std::string_view prefix) {
  for (const std::string& grant : grants) {
    if (identifier::IsSameOrUnderPrefix(prefix, grant)) return true;
  }
  return false;
}

}  // namespace idnode::accounts
