#pragma once

// The Handle query processor: one whole request message in, one whole reply message out, with
// no sockets, so it can be fed raw bytes in tests. The UDP and TCP front ends call it from their
// worker threads, each with its own scratch space, read transaction and counters.
//
// What it answers (docs/architecture.md §6; the resolution rules are resolver/query/resolve.h,
// shared with gRPC Resolve):
//   resolution (opcode 1): 1 with the matching values (index and type filters, TYPE. hierarchies;
//     publicly readable values only, PO or not, as resolvers are not authenticated), 100 handle not
//     found, 200 values not found, 102 invalid handle, 301 not responsible for a handle outside the
//     node's prefix;
//   prefix handles 0.NA/<prefix> (federation): a secondary answers for its own prefix and its
//     allocated enterprise prefixes with its HS_SITE (HS_SITE.PREFIX too for its own), 100 for
//     others under its prefix, 301 otherwise; a top node answers its stored prefix records;
//   referrals (top node): for a prefix it did not allocate, 302 with the values of 0.NA/<prefix>,
//     else 303 with those of the nearest parent record carrying HS_SITE.PREFIX, else 100; 301
//     instead of a referral when the request sets DNRF (do not refer);
//   recursion (secondary node, when configured): a request with REC for a handle outside what the
//     node hosts is resolved on the client's behalf through the top node instead of answered 301:
//     6 when the request's recursion count has reached the limit, else the cached answer (unless
//     AT asks for an authoritative one), else the request is deferred to the recursor
//     (resolver/recursion), which walks, caches and answers later; answers got this way are not
//     marked authoritative;
//   get site info (opcode 2): 1 with this node's HS_SITE (when configured);
//   other opcodes: 5 operation not supported;
//   a request whose header decodes but whose body does not: 4 protocol error with the reason.
// Replies echo the request id, session id, opcode, flags (plus AT, minus CT/ENC/CN, which this
// node does not do) and expiration; they carry a request digest when RD is set, and use the
// lower of the client's suggested version and 2.11. A request that cannot be decoded as far as
// its header (short envelope, wrong length, compressed or encrypted) is dropped and counted.
//
// Thread-safe: Process is const; each calling thread passes its own scratch and counters.

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "registry/base/clock.h"
#include "registry/identifier/identifier.h"
#include "registry/stats/metrics.h"
#include "registry/store/store.h"
#include "resolver/query/recursion_cache.h"
#include "resolver/query/resolve.h"
#include "resolver/wire/wire.h"

namespace idnode::query {

// What the recursor needs to resolve a deferred request.
struct RecursionQuestion {
  std::string handle;           // as the client sent it
  std::string cache_key;        // the handle with its prefix in upper case
  uint8_t recursion_count = 0;  // the request's
};

// A request the processor deferred, with where its reply goes.
struct DeferredRequest {
  std::string request;  // envelope + whole message, as received
  RecursionQuestion question;
  size_t max_reply_bytes = 0;  // the transport's bound (0: none)
  // Called once, from the recursor's thread, with the whole reply (envelope + message).
  std::function<void(std::string_view reply)> reply;
};

// Takes deferred requests (resolver/recursion's Recursor). False when it cannot take more.
class RequestDeferrer {
 public:
  virtual ~RequestDeferrer() = default;
  virtual bool Submit(DeferredRequest request) = 0;
};

// Recursion on a secondary node (federation.recursion); off when `deferrer` is null.
struct RecursionConfig {
  RequestDeferrer* deferrer = nullptr;
  RecursionCache* cache = nullptr;  // may be null: every recursion walks
  uint8_t limit = 4;                // a request whose recursion count is this or more gets RC 6
};

struct QueryConfig {
  std::string node_prefix;  // normalised, e.g. 88.123
  identifier::IdentifierOptions identifier_options;
  uint16_t site_serial = 1;
  std::string site_info;  // encoded HS_SITE data served to get-site-info; empty: not served
  // A top node (node.role = "top") answers 0.NA/<prefix> from its stored prefix records and
  // refers (302, 303) for every prefix it did not allocate itself instead of answering 301.
  bool top = false;
  // A secondary node answers 0.NA/<its prefix> and 0.NA/<an allocated enterprise prefix> with
  // these encoded value lists (registry/federation PrefixRecordValues with its own HS_SITE).
  std::string node_site_values;
  std::string prefix_site_values;
  RecursionConfig recursion;
  // Replies expire 12 hours after this clock's time (tests fix it).
  const Clock* clock = &SystemClock::Get();
};

// Everything a reply needs from its request.
struct Exchange {
  wire::Envelope envelope;
  wire::Header header;
  std::string_view header_and_body;  // what a request digest covers
  bool authoritative = true;         // the reply's AT flag: answered from this node's own data
  uint32_t expiration = 0;           // the reply's: this node's clock + 12 hours
};

// What became of a request; counters are kept per outcome (declared with the statistics).
using QueryOutcome = stats::Outcome;
inline std::string_view QueryOutcomeName(QueryOutcome outcome) {
  return stats::OutcomeName(outcome);
}

// Plain per-thread counters: only the owning thread writes them.
using QueryCounters = stats::OutcomeCounts;

// Running totals one worker thread publishes (relaxed stores, after each batch) for any thread
// to read without a lock.
class PublishedCounters {
 public:
  void Publish(const QueryCounters& counters) {
    for (size_t i = 0; i < values_.size(); ++i) {
      values_[i].store(counters.outcomes[i], std::memory_order_relaxed);
    }
  }
  void AddTo(QueryCounters& sum) const {
    for (size_t i = 0; i < values_.size(); ++i) {
      sum.outcomes[i] += values_[i].load(std::memory_order_relaxed);
    }
  }

 private:
  std::array<std::atomic<uint64_t>, static_cast<size_t>(QueryOutcome::kCount)> values_{};
};

// Counters that many threads add to (the gRPC server's threads): relaxed atomics in shards of
// their own cache line, a thread always using the same shard, so adding is one uncontended
// atomic increment.
class SharedCounters {
 public:
  void Add(QueryOutcome outcome);
  QueryCounters Sum() const;

 private:
  static constexpr size_t kShards = 16;
  struct alignas(64) Shard {
    std::array<std::atomic<uint64_t>, static_cast<size_t>(QueryOutcome::kCount)> values{};
  };
  std::array<Shard, kShards> shards_;
};

// Reused between requests by one thread, so the hot path does not allocate once warm.
struct QueryScratch {
  wire::ResolutionRequest request;
  ResolveBuffers resolve;
  std::string reply;
  // After Process: the enterprise prefix the request is counted under (a view into `resolve`),
  // or empty (Resolution::counted_prefix).
  std::string_view counted_prefix;
  // After Process: true when the request was deferred for recursion. `reply` then holds a
  // "server too busy" (RC 3) answer for the front end to send should Defer refuse it.
  bool deferred = false;
  RecursionQuestion question;  // of a deferred request
  RecursionAnswer cached;      // a cache hit's answer
};

class QueryProcessor {
 public:
  explicit QueryProcessor(QueryConfig config)
      : config_(std::move(config)),
        rules_{config_.node_prefix, config_.identifier_options, config_.top,
               config_.node_site_values, config_.prefix_site_values} {}
  QueryProcessor(const QueryProcessor&) = delete;
  QueryProcessor& operator=(const QueryProcessor&) = delete;

  // Answers `request` (envelope + the whole message). On return scratch.reply holds the reply
  // (envelope + message) unless the outcome is kDropped. `txn` must be active. When
  // `max_reply_bytes` is not 0, an answer larger than that is replaced by an error (RC 2) that
  // names the limit: the amplification bound of a datagram transport.
  QueryOutcome Process(std::string_view request, const store::ReadTxn& txn, QueryScratch& scratch,
                       size_t max_reply_bytes = 0) const;

  // Hands a request Process deferred to the recursor: false when it cannot take it (send the
  // busy reply Process left in scratch.reply and count QueryOutcome::kServerBusy).
  bool Defer(DeferredRequest request) const;

  // The reply to a deferred `request` once the recursor has `answer` (the recursor's thread,
  // with its own scratch): the answer's values filtered as the request asks, or its error.
  QueryOutcome AnswerRecursion(std::string_view request, const RecursionAnswer& answer,
                               QueryScratch& scratch, size_t max_reply_bytes) const;

  const QueryConfig& config() const { return config_; }
  // The resolution rules of this node (resolver/query/resolve.h), for the other front ends.
  const ResolveRules& rules() const { return rules_; }

 private:
  // Decodes the envelope, header and (for resolution) the request body. kDropped when it cannot
  // be answered at all; kProtocolError, kUnsupported or kSiteInfo when the reply is written;
  // kFound when the resolution request decoded into scratch.request.
  QueryOutcome Decode(std::string_view request, Exchange& exchange, QueryScratch& scratch,
                      size_t max_reply_bytes) const;
  // A request with REC for a handle this node does not host (recursion configured).
  // `handle` is what the walk resolves: the request's, or 0.NA/<P> for a slash-less P.
  QueryOutcome Recurse(const Exchange& exchange, std::string_view handle, QueryScratch& scratch,
                       size_t max_reply_bytes) const;
  QueryOutcome AnswerFromRecursion(const Exchange& exchange, const wire::ResolutionRequest& query,
                                   const RecursionAnswer& answer, std::string& out,
                                   size_t max_reply_bytes) const;
  bool ShouldRecurse(const Exchange& exchange) const {
    return config_.recursion.deferrer != nullptr &&
           (exchange.header.flags & wire::op_flag::kRecursive) != 0;
  }
  QueryOutcome AnswerValues(const Exchange& exchange, const wire::ResolutionRequest& query,
                            std::string_view values, uint16_t serial, std::string& out,
                            size_t max_reply_bytes) const;
  QueryOutcome AnswerReferral(const Exchange& exchange, const Resolution& referral,
                              std::string& out, size_t max_reply_bytes) const;

  const QueryConfig config_;
  const ResolveRules rules_;  // views into config_
};

}  // namespace idnode::query
