#pragma once

// A typed table: one named database's key and record format, in one place, for every reader and
// for the writer's operations. Each table is declared beside its record type:
//
//   using AccountTable = store::Table<store::Db::kAccounts, AccountRecord, DecodeAccount,
//                                     EncodeAccount>;            (registry/accounts/accounts.h)
//
// Reads follow the store's read contract (ReadTxn::Get): absent is nullopt, a store failure is an
// error, and a record that does not decode is its decoder's DATA_LOSS; never "absent".
//
// Thread-safe: stateless; the transaction belongs to the calling thread.

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "registry/base/strings.h"
#include "registry/store/store.h"

namespace idnode::store {

namespace table_internal {

// A decoder returns DATA_LOSS for bytes that are not a record.
template <class Record>
using DecodeFn = absl::StatusOr<Record> (*)(std::string_view);
template <class Record>
using EncodeFn = std::string (*)(const Record&);

}  // namespace table_internal

template <Db kDb, class Record, table_internal::DecodeFn<Record> Decode,
          table_internal::EncodeFn<Record> Encode>
class Table {
 public:
  static constexpr Db kDatabase = kDb;

  // The record at `key`, decoded (a view type such as RecordView points into `txn`'s snapshot).
  template <class Txn>
  static absl::StatusOr<std::optional<Record>> Get(const Txn& txn, std::string_view key) {
    absl::StatusOr<std::optional<std::string_view>> bytes = txn.Get(kDb, key);
    if (!bytes.ok()) return bytes.status();
    if (!bytes->has_value()) return std::optional<Record>();
    return DecodeStored(**bytes);
  }

  // Whether `key` holds a record (without decoding it).
  template <class Txn>
  static absl::StatusOr<bool> Contains(const Txn& txn, std::string_view key) {
    absl::StatusOr<std::optional<std::string_view>> bytes = txn.Get(kDb, key);
    if (!bytes.ok()) return bytes.status();
    return bytes->has_value();
  }

  // A record read by a cursor over this table.
  static absl::StatusOr<Record> DecodeStored(std::string_view bytes) { return Decode(bytes); }

  // Calls fn(key, Record&&) for every record in key order; stops at the first that does not
  // decode and returns its DATA_LOSS.
  template <class Txn, class Fn>
  static absl::Status ForEach(const Txn& txn, Fn&& fn) {
    Cursor cursor = txn.OpenCursor(kDb);
    for (bool more = cursor.Seek(""); more; more = cursor.Next()) {
      absl::StatusOr<Record> record = Decode(cursor.value());
      if (!record.ok()) return record.status();
      fn(cursor.key(), *std::move(record));
    }
    return absl::OkStatus();
  }

  static absl::Status Put(WriteTxn& txn, std::string_view key, const Record& record) {
    return txn.Put(kDb, key, Encode(record));
  }
};

}  // namespace idnode::store
