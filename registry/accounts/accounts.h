#pragma once

// Accounts, bearer tokens and enterprise prefixes (docs/architecture.md §5, §8): their stored
// forms, token generation and hashing, and authentication of a bearer token against the store.
//
// - accounts_v1: account id -> AccountRecord. Roles: admin (allocates prefixes, manages
//   accounts), registrant (writes under its own prefixes), operator (reads statistics), node (a
//   secondary node registering its prefixes with this top node, only under its grants).
// - tokens_v1: SHA-256(token) -> TokenRecord. Tokens are random, shown once, stored only hashed,
//   revocable. A token's public id is the hex of the first 8 bytes of its hash.
// - prefixes_v1: normalised prefix -> PrefixRecord (owner account, status, quota).
//   The owner recorded here is the single source of which prefixes an account owns.
//
// Thread-safe: pure functions; Authenticate reads through the caller's transaction.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "registry/store/store.h"
#include "registry/store/table.h"

namespace idnode::accounts {

enum class Role : uint8_t { kAdmin = 1, kRegistrant = 2, kOperator = 3, kNode = 4 };

std::string_view RoleName(Role role);
absl::StatusOr<Role> ParseRole(std::string_view name);

// Account ids: 1..64 of [a-z0-9._-], starting with a letter or digit.
absl::Status ValidateAccountId(std::string_view id);

struct AccountRecord {
  Role role = Role::kRegistrant;
  int64_t created_ms = 0;
  bool disabled = false;
  // Node accounts: the normalised prefixes under which the node may register prefix records
  // (`88.123` lets it register 0.NA/88.123 and 0.NA/88.123.*). Empty for other roles.
  std::vector<std::string> grants;
};
std::string EncodeAccount(const AccountRecord& account);
absl::StatusOr<AccountRecord> DecodeAccount(std::string_view bytes);
// accounts_v1: account id -> AccountRecord.
using AccountTable =
    store::Table<store::Db::kAccounts, AccountRecord, DecodeAccount, EncodeAccount>;

struct TokenRecord {
  std::string account;
  int64_t issued_ms = 0;
  int64_t revoked_ms = 0;  // 0 while valid
  std::string label;
  int64_t expires_ms = 0;  // 0: never
};
std::string EncodeToken(const TokenRecord& token);
absl::StatusOr<TokenRecord> DecodeToken(std::string_view bytes);
// tokens_v1: HashToken(token) -> TokenRecord.
using TokenTable = store::Table<store::Db::kTokens, TokenRecord, DecodeToken, EncodeToken>;

enum class PrefixStatus : uint8_t { kActive = 1 };

struct PrefixRecord {
  std::string owner;
  PrefixStatus status = PrefixStatus::kActive;
  uint64_t quota = 0;  // maximum identifiers; 0 = unlimited
  int64_t created_ms = 0;
};
std::string EncodePrefix(const PrefixRecord& prefix);
absl::StatusOr<PrefixRecord> DecodePrefix(std::string_view bytes);
// prefixes_v1: normalised prefix -> PrefixRecord.
using PrefixTable = store::Table<store::Db::kPrefixes, PrefixRecord, DecodePrefix, EncodePrefix>;

// Read side, in key order: allocated prefixes (only `owner`'s unless empty), accounts, and tokens
// (only `account`'s unless empty). DATA_LOSS when a record does not decode.
struct PrefixEntry {
  std::string prefix;
  PrefixRecord record;
};
absl::StatusOr<std::vector<PrefixEntry>> ListPrefixes(const store::ReadTxn& txn,
                                                      std::string_view owner);
struct AccountEntry {
  std::string id;
  AccountRecord record;
};
absl::StatusOr<std::vector<AccountEntry>> ListAccounts(const store::ReadTxn& txn);
struct TokenEntry {
  std::string token_id;
  TokenRecord record;
};
absl::StatusOr<std::vector<TokenEntry>> ListTokens(const store::ReadTxn& txn,
                                                   std::string_view account);

// Whether an admin account exists; a record that does not decode is skipped (it cannot be used
// to log in), so that one damaged record neither hides an admin nor stops the node's start.
template <class Txn>
absl::StatusOr<bool> HasAdminAccount(const Txn& txn) {
  store::Cursor cursor = txn.OpenCursor(AccountTable::kDatabase);
  for (bool more = cursor.Seek(""); more; more = cursor.Next()) {
    auto account = AccountTable::DecodeStored(cursor.value());
    if (account.ok() && account->role == Role::kAdmin) return true;
  }
  return false;
}

// A new bearer token: "idn_" followed by 64 hex digits from 32 bytes of OpenSSL randomness.
absl::StatusOr<std::string> GenerateToken();
// The 32-byte SHA-256 of a token: the tokens_v1 key.
std::string HashToken(std::string_view token);
// The token's public id (16 hex digits), safe to list and to revoke by.
std::string TokenIdFromHash(std::string_view hash);

// Who is calling, once their token has been checked.
struct Principal {
  std::string account;
  Role role = Role::kRegistrant;
  std::vector<std::string> grants;  // node accounts
};

// UNAUTHENTICATED with a reason when the token is missing, unknown, revoked or expired (at
// `now_ms`), or its account is missing or disabled.
absl::StatusOr<Principal> Authenticate(const store::ReadTxn& txn, std::string_view token,
                                       int64_t now_ms);

// Grants: 1..16 normalised prefixes. INVALID_ARGUMENT naming `field` otherwise.
absl::StatusOr<std::vector<std::string>> NormalizeGrants(const std::vector<std::string>& grants,
                                                         std::string_view field);
// True when `prefix` is one of `grants` or lies under one.
bool GrantCovers(const std::vector<std::string>& grants, std::string_view prefix);

}  // namespace idnode::accounts
