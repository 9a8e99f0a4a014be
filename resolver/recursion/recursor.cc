#include "resolver/recursion/recursor.h"

#include <algorithm>
#include <ctime>

#include "registry/base/strings.h"
#include "registry/base/thread_name.h"
#include "resolver/client/walk.h"

namespace idnode::recursion {
namespace {

constexpr uint64_t kMaxTtlSeconds = 86'400;

// The seconds the answer may be kept: the smallest TTL among `values` (relative, or absolute
// against the wall clock), at most a day.
uint64_t TtlSeconds(const std::vector<identifier::HandleValue>& values) {
  uint64_t ttl = kMaxTtlSeconds;
  const uint64_t now = static_cast<uint64_t>(std::time(nullptr));
  for (const identifier::HandleValue& value : values) {
    const uint64_t seconds = value.ttl_type == identifier::TtlType::kAbsolute
                                 ? (value.ttl > now ? value.ttl - now : 0)
                                 : uint64_t{value.ttl};
    ttl = std::min(ttl, seconds);
  }
  return ttl;
}

}  // namespace

Recursor::Recursor(RecursorOptions options, query::RecursionCache* cache)
    : options_(options), cache_(cache) {}

Recursor::~Recursor() { Stop(); }

void Recursor::Start(const query::QueryProcessor& processor) {
  processor_ = &processor;
  for (int i = 0; i < options_.workers; ++i) {
    threads_.emplace_back([this] { Run(); });
    NameThread(threads_.back(), StrCat("recursor-", i));
  }
}

void Recursor::Stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;  // the workers answer what still waits, then end
  }
  ready_.notify_all();
  for (std::thread& thread : threads_) thread.join();
}

bool Recursor::Submit(query::DeferredRequest request) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || processor_ == nullptr || queue_.size() >= options_.max_pending) {
      refused_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    queue_.push_back(std::move(request));
  }
  ready_.notify_one();
  return true;
}

RecursorStats Recursor::stats() const {
  RecursorStats stats{walks_.load(),
                      found_.load(),
                      not_found_.load(),
                      limit_.load(),
                      failed_.load(),
                      refused_.load(),
                      0};
  std::lock_guard lock(mutex_);
  stats.pending = queue_.size();
  return stats;
}

void Recursor::Run() {
  query::QueryScratch scratch;
  for (;;) {
    query::DeferredRequest job;
    bool stopping = false;
    {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      stopping = stopping_;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    bool replied = false;
    if (guard_.Run("answering a deferred request", [&] {
          query::RecursionAnswer answer;
          if (stopping) {
            // Every deferred request gets its reply, on this thread: the front ends' callbacks
            // hold what they need to send it (a TCP connection among them) until they are called.
            answer =
                query::RecursionAnswer{wire::rc::kServerTooBusy, "", "the node is shutting down"};
          } else {
            uint64_t expires_ms = 0;
            answer = Resolve(job.question, expires_ms);
            if (cache_ != nullptr && expires_ms > query::SteadyMillis()) {
              cache_->Put(job.question.cache_key, answer, expires_ms);
            }
          }
          processor_->AnswerRecursion(job.request, answer, scratch, job.max_reply_bytes);
          replied = true;
          job.reply(scratch.reply);
        })) {
      continue;
    }
    if (replied) continue;  // the reply itself threw: not sent twice
    guard_.Run("answering a deferred request after an exception", [&] {
      processor_->AnswerRecursion(
          job.request, query::RecursionAnswer{wire::rc::kError, "", "internal error in recursion"},
          scratch, job.max_reply_bytes);
      job.reply(scratch.reply);
    });
  }
}

query::RecursionAnswer Recursor::Resolve(const query::RecursionQuestion& question,
                                         uint64_t& expires_ms) {
  walks_.fetch_add(1, std::memory_order_relaxed);
  expires_ms = 0;
  client::HandleRequest request;
  request.handle = question.handle;
  client::WalkOptions walk;
  walk.transport = client::Transport::kUdp;
  walk.max_hops = options_.max_hops;
  walk.timeout = options_.timeout;
  walk.flags =
      wire::op_flag::kRecursive | wire::op_flag::kCacheCertify | wire::op_flag::kPublicOnly;
  walk.recursion_count = static_cast<uint8_t>(question.recursion_count + 1);
  auto walked = client::Walk(options_.top, request, walk);
  if (!walked.ok()) {
    const std::string why = StrCat("resolving ", question.handle, " through the top node ",
                                   options_.top.ToString(), ": ", ToStd(walked.status().message()));
    if (walked.status().code() == absl::StatusCode::kResourceExhausted) {
      limit_.fetch_add(1, std::memory_order_relaxed);
      return query::RecursionAnswer{wire::rc::kRecursionCountTooHigh, "", why};
    }
    failed_.fetch_add(1, std::memory_order_relaxed);
    return query::RecursionAnswer{wire::rc::kError, "", why};
  }
  client::HandleReply& reply = walked->reply;
  const uint64_t now = query::SteadyMillis();
  switch (reply.header.response_code) {
    case wire::rc::kSuccess: {
      if (absl::Status valid = identifier::ValidateValues(reply.values); !valid.ok()) {
        failed_.fetch_add(1, std::memory_order_relaxed);
        return query::RecursionAnswer{
            wire::rc::kError, "",
            StrCat("the answer for ", question.handle,
                   " holds values this node cannot relay: ", ToStd(valid.message()))};
      }
      const uint64_t ttl = TtlSeconds(reply.values);
      auto encoded = identifier::EncodeValueList(std::move(reply.values));
      if (!encoded.ok()) {
        failed_.fetch_add(1, std::memory_order_relaxed);
        return query::RecursionAnswer{
            wire::rc::kError, "",
            StrCat("the answer for ", question.handle,
                   " cannot be relayed: ", ToStd(encoded.status().message()))};
      }
      found_.fetch_add(1, std::memory_order_relaxed);
      if (ttl > 0) expires_ms = now + ttl * 1000;
      return query::RecursionAnswer{wire::rc::kSuccess, *std::move(encoded), ""};
    }
    case wire::rc::kValuesNotFound: {  // no public values at all: an empty list answers 200
      not_found_.fetch_add(1, std::memory_order_relaxed);
      expires_ms = now + static_cast<uint64_t>(options_.negative_ttl.count());
      auto empty = identifier::EncodeValueList({});
      return query::RecursionAnswer{wire::rc::kSuccess, empty.ok() ? *std::move(empty) : "", ""};
    }
    case wire::rc::kHandleNotFound:
      not_found_.fetch_add(1, std::memory_order_relaxed);
      expires_ms = now + static_cast<uint64_t>(options_.negative_ttl.count());
      return query::RecursionAnswer{wire::rc::kHandleNotFound, "", std::move(reply.message)};
    case wire::rc::kRecursionCountTooHigh:
      limit_.fetch_add(1, std::memory_order_relaxed);
      return query::RecursionAnswer{wire::rc::kRecursionCountTooHigh, "", std::move(reply.message)};
    default:
      failed_.fetch_add(1, std::memory_order_relaxed);
      return query::RecursionAnswer{reply.header.response_code, "", std::move(reply.message)};
  }
}

}  // namespace idnode::recursion
