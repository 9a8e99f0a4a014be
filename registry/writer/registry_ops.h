#pragma once

// Identifier write operations for the Writer: create (one or a batch), update, delete.
//
// Callers validate in their own thread (Prepare*), so the writer thread only authorises against
// prefix ownership, compares with what is stored and writes. Outcomes per item:
//   create: OK (created, or `unchanged` when an identical record exists: clients retry after
//           timeouts), ALREADY_EXISTS (a different record), NOT_FOUND (prefix not allocated
//           here), PERMISSION_DENIED (another account's prefix), RESOURCE_EXHAUSTED (quota),
//           INVALID_ARGUMENT / NOT_FOUND when the values name a data template (value index
//           1001) they do not satisfy or that does not exist (template_ops.h).
//   update/delete: NOT_FOUND (no such identifier or value index), ALREADY_EXISTS (adding an
//           index that exists), PERMISSION_DENIED, INVALID_ARGUMENT (result not a valid list,
//           or not satisfying the data template it names).
// Admins may write under any allocated prefix; registrants only under their own.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "registry/accounts/accounts.h"
#include "registry/identifier/identifier.h"
#include "registry/identifier/value.h"
#include "registry/writer/writer.h"

namespace idnode::writer {

// A create validated and encoded outside the writer (timestamps still zero).
struct PreparedRecord {
  identifier::Identifier id;
  std::string values;
  bool names_template = false;  // carries value index 1001: checked against its template
};

absl::StatusOr<PreparedRecord> PrepareRecord(std::string_view identifier,
                                             std::vector<identifier::HandleValue> values,
                                             const identifier::IdentifierOptions& options);

struct ItemOutcome {
  absl::Status status;
  bool unchanged = false;
  uint32_t version = 0;
};

// Creates a batch. Items that failed preparation keep their error and are skipped, so outcomes
// line up with the request. `done` receives the store status and, when it is OK, the outcomes.
class CreateOp final : public WriteOp {
 public:
  using DoneFn =
      std::function<void(const absl::Status& store_status, std::vector<ItemOutcome>& outcomes)>;
  CreateOp(accounts::Principal principal, std::vector<absl::StatusOr<PreparedRecord>> items,
           DoneFn done);

  size_t items() const override { return items_.size(); }
  size_t bytes() const override { return bytes_; }
  // What an op of `items` holds in memory (its bytes()), for callers that bound what they queue.
  static size_t BytesOf(const std::vector<absl::StatusOr<PreparedRecord>>& items);
  absl::Status Apply(WriteContext& context) override;
  void Done(const absl::Status& store_status) override { done_(store_status, outcomes_); }

 private:
  accounts::Principal principal_;
  std::vector<absl::StatusOr<PreparedRecord>> items_;
  size_t bytes_ = 0;
  std::vector<ItemOutcome> outcomes_;
  DoneFn done_;
};

// One update: either replace every value, or add / modify / remove by index.
struct UpdateRequest {
  identifier::Identifier id;
  bool replace_all = false;
  std::vector<identifier::HandleValue> replace;  // when replace_all
  std::vector<identifier::HandleValue> add;
  std::vector<identifier::HandleValue> modify;
  std::vector<uint32_t> remove;
};

// Checks the request's own values (not what they meet in the store).
absl::Status ValidateUpdate(const UpdateRequest& request);

class UpdateOp final : public WriteOp {
 public:
  using DoneFn = std::function<void(const absl::Status& store_status, const ItemOutcome&)>;
  UpdateOp(accounts::Principal principal, UpdateRequest request, DoneFn done)
      : principal_(std::move(principal)), request_(std::move(request)), done_(std::move(done)) {}

  absl::Status Apply(WriteContext& context) override;
  void Done(const absl::Status& store_status) override { done_(store_status, outcome_); }

 private:
  accounts::Principal principal_;
  UpdateRequest request_;
  ItemOutcome outcome_;
  DoneFn done_;
};

class DeleteOp final : public WriteOp {
 public:
  using DoneFn = std::function<void(const absl::Status& store_status, const ItemOutcome&)>;
  DeleteOp(accounts::Principal principal, identifier::Identifier id, DoneFn done)
      : principal_(std::move(principal)), id_(std::move(id)), done_(std::move(done)) {}

  absl::Status Apply(WriteContext& context) override;
  void Done(const absl::Status& store_status) override { done_(store_status, outcome_); }
  bool allowed_when_disk_full() const override { return true; }  // it makes room

 private:
  accounts::Principal principal_;
  identifier::Identifier id_;
  ItemOutcome outcome_;
  DoneFn done_;
};

// Checks that `principal` may write under `prefix` (normalised). On success fills `record`.
absl::Status AuthorizePrefixWrite(const store::WriteTxn& txn, const accounts::Principal& principal,
                                  std::string_view prefix, accounts::PrefixRecord* record);

}  // namespace idnode::writer
