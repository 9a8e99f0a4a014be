#include "resolver/query/recursion_cache.h"

namespace idnode::query {

bool RecursionCache::Get(std::string_view key, uint64_t now_ms, RecursionAnswer& out) {
  std::lock_guard lock(mutex_);
  auto found = index_.find(key);
  if (found == index_.end()) {
    ++misses_;
    return false;
  }
  if (found->second->expires_ms <= now_ms) {
    entries_.erase(found->second);
    index_.erase(found);
    ++misses_;
    return false;
  }
  entries_.splice(entries_.begin(), entries_, found->second);
  const RecursionAnswer& answer = found->second->answer;
  out.response_code = answer.response_code;
  out.values.assign(answer.values);
  out.message.assign(answer.message);
  ++hits_;
  return true;
}

void RecursionCache::Put(std::string_view key, const RecursionAnswer& answer, uint64_t expires_ms) {
  if (capacity_ == 0) return;
  std::lock_guard lock(mutex_);
  if (auto found = index_.find(key); found != index_.end()) {
    found->second->answer = answer;
    found->second->expires_ms = expires_ms;
    entries_.splice(entries_.begin(), entries_, found->second);
    return;
  }
  if (entries_.size() >= capacity_) {
    index_.erase(entries_.back().key);
    entries_.pop_back();
  }
  entries_.push_front(Entry{std::string(key), answer, expires_ms});
  index_.emplace(entries_.front().key, entries_.begin());
}

RecursionCacheStats RecursionCache::stats() const {
  std::lock_guard lock(mutex_);
  return RecursionCacheStats{hits_, misses_, entries_.size()};
}

}  // namespace idnode::query
