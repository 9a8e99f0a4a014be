#pragma once

// The settings of the store and writer parts (api/node/store_part.h): [storage] and [registry].

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace idnode::node {

struct StorageSection {
  static constexpr std::string_view kName = "storage";
  std::string data_dir = "./var";
  uint64_t initial_map_mib = 1024;  // the map grows on demand
  uint64_t reserve_mib = 64;        // released when the disk fills, so that deletions can commit

  template <class Self, class Keys>
  static void Declare(Self& self, Keys& keys) {
    keys.Text("data_dir", self.data_dir);
    // 16 TiB: the map is address space reserved at start, and LMDB's size is a size_t of bytes.
    keys.Number("initial_map_mib", self.initial_map_mib, 1, 16 << 20);
    keys.Number("reserve_mib", self.reserve_mib, 0, 65536);
  }
  static absl::Status Check(const StorageSection& section);
};

struct RegistrySection {
  static constexpr std::string_view kName = "registry";
  bool case_sensitive_suffix = false;
  uint64_t commit_max_items = 1000;
  uint64_t commit_max_wait_us = 0;
  uint64_t max_queued_items = 200'000;
  uint64_t max_queued_mib = 256;  // bytes of records queued for commit

  template <class Self, class Keys>
  static void Declare(Self& self, Keys& keys) {
    keys.Flag("case_sensitive_suffix", self.case_sensitive_suffix);
    // One commit (one fsync) holds at most this many items.
    keys.Number("commit_max_items", self.commit_max_items, 1, 100'000);
    // How long the writer may hold a batch open for more items: every write, even the only one
    // on an idle node, can wait this long before its commit, so it is capped at 100 ms.
    keys.Number("commit_max_wait_us", self.commit_max_wait_us, 0, 100'000);
    keys.Number("max_queued_items", self.max_queued_items, 1, 10'000'000);
    // What queued records may hold in memory, MiB; one write larger than this is refused.
    keys.Number("max_queued_mib", self.max_queued_mib, 16, 65'536);
  }
  static absl::Status Check(const RegistrySection& section);
};

}  // namespace idnode::node
