#pragma once

// Reading data templates from templates_v1 (see template.h for the key layout). Writes go
// through the writer (registry/writer/template_ops.h).
//
// Thread-safe as the transaction passed in: call from the thread that owns it.

#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "registry/store/store.h"
#include "registry/templates/template.h"

namespace idnode::templates {

// Version `version` of `prefix`'s template (normalised prefix), or its latest when `version` is
// 0. nullopt when there is none; DATA_LOSS when the stored record is malformed.
absl::StatusOr<std::optional<DataTemplate>> FindTemplate(const store::ReadTxn& txn,
                                                         std::string_view prefix, uint32_t version);
absl::StatusOr<std::optional<DataTemplate>> FindTemplate(const store::WriteTxn& txn,
                                                         std::string_view prefix, uint32_t version);

// Up to `limit` versions of `prefix`'s template after version `after` (0: from the first),
// oldest first; `more` says whether later versions exist.
absl::StatusOr<std::vector<DataTemplate>> ListTemplateVersions(const store::ReadTxn& txn,
                                                               std::string_view prefix,
                                                               uint32_t after, size_t limit,
                                                               bool& more);

}  // namespace idnode::templates
