#include "registry/templates/template_store.h"

#include <limits>

#include "registry/base/status_macros.h"

namespace idnode::templates {
namespace {

template <typename Txn>
absl::StatusOr<std::optional<DataTemplate>> Find(const Txn& txn, std::string_view prefix,
                                                 uint32_t version) {
  std::optional<std::string_view> bytes;
  if (version != 0) {
    ASSIGN_OR_RETURN(bytes, txn.Get(store::Db::kTemplates, TemplateKey(prefix, version)));
  } else {
    store::Cursor cursor = txn.OpenCursor(store::Db::kTemplates);
    if (cursor.SeekBefore(TemplateKey(prefix, std::numeric_limits<uint32_t>::max())) &&
        TemplateKeyVersion(cursor.key(), prefix).has_value()) {
      bytes = cursor.value();
    }
  }
  if (!bytes) return std::optional<DataTemplate>();
  auto decoded = DecodeTemplate(*bytes);
  if (!decoded.ok()) return decoded.status();
  return std::optional<DataTemplate>(*std::move(decoded));
}

}  // namespace

absl::StatusOr<std::optional<DataTemplate>> FindTemplate(const store::ReadTxn& txn,
                                                         std::string_view prefix,
                                                         uint32_t version) {
  return Find(txn, prefix, version);
}

absl::StatusOr<std::optional<DataTemplate>> FindTemplate(const store::WriteTxn& txn,
                                                         std::string_view prefix,
                                                         uint32_t version) {
  return Find(txn, prefix, version);
}

absl::StatusOr<std::vector<DataTemplate>> ListTemplateVersions(const store::ReadTxn& txn,
                                                               std::string_view prefix,
                                                               uint32_t after, size_t limit,
                                                               bool& more) {
  std::vector<DataTemplate> versions;
  store::Cursor cursor = txn.OpenCursor(store::Db::kTemplates);
  more = false;
  for (bool found = cursor.Seek(TemplateKey(prefix, after + 1));
       found && TemplateKeyVersion(cursor.key(), prefix).has_value(); found = cursor.Next()) {
    if (versions.size() == limit) {
      more = true;
      break;
    }
    auto decoded = DecodeTemplate(cursor.value());
    if (!decoded.ok()) return decoded.status();
    versions.push_back(*std::move(decoded));
  }
  return versions;
}

}  // namespace idnode::templates
