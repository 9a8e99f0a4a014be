#pragma once

// Federation state in the store (docs/architecture.md §6, §9): what a top node keeps for the nodes
// below it, and what a secondary node still has to tell its top node.
//
// Top node: prefix records `0.NA/<prefix>` in ids_v1, in the ordinary record format so that the
// resolver serves them like any identifier. Values: index 1 HS_SITE (the serving site) and, for a
// node's own prefix ("derived": the site also serves every prefix below it), index 2
// HS_SITE.PREFIX with the same site. The record's owner is the node account that registered it;
// another node account may not overwrite or remove it.
//
// Secondary node: `federation_v1` holds one pending intent per prefix (register with this site,
// or remove), written in the same transaction as the change that caused it (allocating or
// releasing a prefix, a new site or top node at start), so nothing acknowledged locally is
// forgotten upstream. The federation client removes an entry once the top node has acknowledged
// it, unless a newer intent replaced it meanwhile.
//
// Thread-safe: pure functions and write operations (applied on the writer thread).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "registry/store/store.h"
#include "registry/writer/admin_ops.h"
#include "registry/writer/writer.h"

namespace idnode::federation {

// Prefix records live under kNaPrefix (registry/identifier/identifier.h) and carry kSiteType and
// kPrefixSiteType values (registry/identifier/value.h).

// "0.NA/" + prefix (the normalised record key as well, prefixes being upper-cased).
std::string PrefixRecordHandle(std::string_view prefix);

// The encoded value list of a prefix record for `site` (HS_SITE data bytes), stamped with
// `now_seconds`; with `derived`, also HS_SITE.PREFIX.
std::string PrefixRecordValues(std::string_view site, bool derived, uint32_t now_seconds);

// What a prefix record points clients to: the serving site itself (HS_SITE data, and with
// `derived` HS_SITE.PREFIX too), or a service handle (HS_SERV), e.g. 0.NA/88.123, whose own
// HS_SITE values serve the prefix, so that one record carries the site for many prefixes.
struct PrefixTarget {
  std::string site;
  bool derived = false;
  std::string service;  // when set, the record is index 1 HS_SERV with this handle
};
std::string PrefixTargetValues(const PrefixTarget& target, uint32_t now_seconds);

// ---- Every node: the serial number of its own HS_SITE.

// Clients keep a site and its serial (HS_SITE, and every reply header's site serial) and learn
// from a higher serial that the site changed. The serial is kept in meta `site_serial` (u16) with
// the site it numbers (meta `site_numbered`: the HS_SITE data encoded with serial 0): when
// `site` (encoded with serial 0) differs from that, the serial goes up by one (from 1; after
// 65534 it starts again at 1, as 0 and 0xFFFF mean "unknown" to clients) and both are stored.
// Yields the serial for `site`.
std::unique_ptr<writer::WriteOp> MakeSiteSerialOp(
    std::string site, std::function<void(absl::StatusOr<uint16_t>)> done);

// ---- Top node: write operations on prefix records.

struct PrefixRecordChange {
  bool changed = false;  // false: the record already held exactly this
};

// Stores 0.NA/<prefix> for node account `account`. PERMISSION_DENIED when another account owns
// the record. `prefix` is normalised and already checked against the account's grants.
std::unique_ptr<writer::WriteOp> MakePutPrefixRecordOp(
    std::string account, std::string prefix, PrefixTarget target,
    std::function<void(absl::StatusOr<PrefixRecordChange>)> done);
// Removes 0.NA/<prefix>; changed = false when there was none. PERMISSION_DENIED when another
// account owns it.
std::unique_ptr<writer::WriteOp> MakeRemovePrefixRecordOp(
    std::string account, std::string prefix,
    std::function<void(absl::StatusOr<PrefixRecordChange>)> done);

// ---- Secondary node: the upward spool.

enum class UpwardOp : uint8_t { kRegister = 1, kRemove = 2 };
std::string_view UpwardOpName(UpwardOp op);

struct UpwardEntry {
  std::string prefix;  // normalised
  UpwardOp op = UpwardOp::kRegister;
  bool derived = false;  // the node's own prefix: the site serves what lies below it
  int64_t queued_ms = 0;
  std::string site;  // HS_SITE data (register only)
};

std::string EncodeUpwardEntry(const UpwardEntry& entry);
absl::StatusOr<UpwardEntry> DecodeUpwardEntry(std::string_view prefix, std::string_view bytes);

// Replaces any pending intent for entry.prefix.
absl::Status SpoolUpward(store::WriteTxn& txn, const UpwardEntry& entry);

struct PendingUpward {
  UpwardEntry entry;
  std::string encoded;  // as stored, to remove it only if unchanged
};
// In prefix order. DATA_LOSS for a malformed entry.
absl::StatusOr<std::vector<PendingUpward>> ListUpward(const store::ReadTxn& txn);

// How many intents are pending (counting keys, decoding nothing).
size_t CountUpward(const store::ReadTxn& txn);

// Removes `prefix`'s entry if it still holds `encoded` (the top node acknowledged that intent);
// yields false when a newer intent replaced it.
std::unique_ptr<writer::WriteOp> MakeUpwardAcknowledgedOp(std::string prefix, std::string encoded,
                                                          std::function<void(absl::Status)> done);

// At start, with a top node configured: when the site or the top node differs from what was last
// spooled (meta `federation_site`, `federation_top`), spools the node prefix (derived) and every
// allocated prefix with the new site and records both. Yields how many entries it spooled.
std::unique_ptr<writer::WriteOp> MakeSyncUpwardOp(std::string node_prefix, std::string site,
                                                  std::string top,
                                                  std::function<void(absl::StatusOr<size_t>)> done);

// A PrefixHook (registry/writer/admin_ops.h) that spools a registration of an allocated prefix
// with `site`, or its removal when released.
writer::PrefixHook MakeUpwardSpoolHook(std::string site);

}  // namespace idnode::federation
