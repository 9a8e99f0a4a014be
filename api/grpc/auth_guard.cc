#include "api/grpc/auth_guard.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "registry/base/strings.h"
#include "registry/base/utf8.h"

namespace idnode::rpc {

std::string_view AuthGuard::SourceOf(std::string_view peer) {
  const size_t colon = peer.rfind(':');
  const size_t scheme = peer.find(':');
  if (colon == std::string_view::npos || colon == scheme) return peer;
  return peer.substr(0, colon);
}

AuthGuard::Budget& AuthGuard::Refilled(std::string_view source, int64_t now_ms) {
  auto it = budgets_.find(std::string(source));
  if (it == budgets_.end()) {
    if (budgets_.size() >= options_.max_sources) {
      // Forget the sources whose budgets have refilled by now; if none has, the oldest.
      std::erase_if(budgets_, [&](const auto& entry) {
        const Budget& b = entry.second;
        return b.left + static_cast<double>(now_ms - b.updated_ms) / 1000.0 *
                            options_.refill_per_second >=
               options_.burst;
      });
      if (budgets_.size() >= options_.max_sources) {
        budgets_.erase(
            std::min_element(budgets_.begin(), budgets_.end(), [](const auto& a, const auto& b) {
              return a.second.updated_ms < b.second.updated_ms;
            }));
      }
    }
    it = budgets_.emplace(std::string(source), Budget{options_.burst, now_ms}).first;
    tracked_.store(budgets_.size(), std::memory_order_relaxed);
  }
  Budget& budget = it->second;
  const double elapsed = static_cast<double>(std::max<int64_t>(0, now_ms - budget.updated_ms));
  budget.left =
      std::min(options_.burst, budget.left + elapsed / 1000.0 * options_.refill_per_second);
  budget.updated_ms = std::max(budget.updated_ms, now_ms);
  return budget;
}

absl::Status AuthGuard::Admit(std::string_view peer, int64_t now_ms) {
  if (!Tracking()) return absl::OkStatus();
  const std::string_view source = SourceOf(peer);
  std::lock_guard lock(mutex_);
  auto it = budgets_.find(std::string(source));
  if (it == budgets_.end()) return absl::OkStatus();  // never failed lately: the common case
  Budget& budget = Refilled(source, now_ms);
  if (budget.left >= options_.burst) {  // recovered fully: forgotten, as if it never failed
    budgets_.erase(std::string(source));
    tracked_.store(budgets_.size(), std::memory_order_relaxed);
    return absl::OkStatus();
  }
  if (budget.left >= 1) return absl::OkStatus();
  ++stats_.throttled;
  const double wait_s = std::ceil((1 - budget.left) / options_.refill_per_second);
  return absl::ResourceExhaustedError(StrCat("authorization: too many failed authentications from ",
                                             EscapeForLog(source), "; retry in ",
                                             static_cast<int64_t>(wait_s), " s"));
}

void AuthGuard::Failed(std::string_view peer, std::string_view method, std::string_view reason,
                       int64_t now_ms) {
  const std::string_view source = SourceOf(peer);
  bool spent = false;
  {
    std::lock_guard lock(mutex_);
    ++stats_.failures;
    Budget& budget = Refilled(source, now_ms);
    budget.left = std::max(0.0, budget.left - 1);
    spent = budget.left < 1;
  }
  spdlog::warn("auth: {} from {} refused: {}", method, EscapeForLog(peer), EscapeForLog(reason));
  if (spent) {
    spdlog::warn(
        "auth: {} keeps failing to authenticate; its calls are refused until it has waited (about "
        "one attempt a second from now on)",
        EscapeForLog(source));
  }
}

AuthGuardStats AuthGuard::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace idnode::rpc
