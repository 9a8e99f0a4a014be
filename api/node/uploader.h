#pragma once

// Sends the node's statistics to the authority (registry/stats/upload.h has what a report holds
// and how the spool keeps it). One thread:
//   1. when a period of `interval_days` whole reporting days has ended, it flushes the resolution
//      counts, makes the period's report and spools it (one transaction with "period done");
//   2. it POSTs the spooled reports, oldest first, to `url` (JSON, Idempotency-Key: report_id,
//      Authorization: Bearer <token> when one is configured); a 2xx removes the report from the
//      spool; anything else (refused connection, timeout, TLS failure, 4xx, 5xx) leaves it there
//      and the next attempt waits retry_initial, doubling up to retry_max, +-20% jitter;
//   3. with nothing pending it sleeps until the next reporting day begins (or Wake()).
// It never holds a lock or a transaction that resolution or registration waits for: reads are
// LMDB snapshots and its writes are small writer operations.
//
// Thread-safe: Start/Stop from one thread; Wake() and stats() from any.

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "api/http/https_client.h"
#include "registry/base/clock.h"
#include "registry/base/mutex.h"
#include "registry/base/round_loop.h"
#include "registry/base/stats_table.h"
#include "registry/stats/upload.h"
#include "registry/store/store.h"
#include "registry/writer/writer.h"

namespace idnode::node {

struct UploadOptions {
  std::string url;      // https://...; empty: uploads off
  std::string ca_file;  // PEM; empty: the system's CA store
  std::string token;    // sent as a bearer token; empty: none
  uint32_t interval_days = 1;
  std::chrono::milliseconds retry_initial{5'000};
  std::chrono::milliseconds retry_max{600'000};
  std::chrono::milliseconds timeout{10'000};
};

struct UploadStats {
  uint64_t spooled = 0;    // reports made by this process
  uint64_t delivered = 0;  // reports the receiver accepted (2xx)
  uint64_t failures = 0;   // attempts that did not end in a 2xx
  std::string last_error;  // of the latest failed attempt, "" after a success
  uint64_t rounds = 0;     // rounds of making and sending completed
};

inline constexpr MetricFamily kUploadPending{"idnode_upload_pending_reports", MetricType::kGauge,
                                             "Statistics reports spooled and not yet delivered."};
inline constexpr MetricFamily kUploadDelivered{
    "idnode_upload_delivered_total", MetricType::kCounter,
    "Statistics reports the authority's receiver accepted."};
inline constexpr MetricFamily kUploadFailures{
    "idnode_upload_failures_total", MetricType::kCounter,
    "Attempts to deliver a statistics report that failed."};
inline constexpr StatRow<UploadStats> kUploadStatRows[] = {
    Stat<&UploadStats::delivered>(kUploadDelivered),
    Stat<&UploadStats::failures>(kUploadFailures),
};

class Uploader {
 public:
  // `store`, `writer` and `clock` must outlive the Uploader. `flush` writes the resolution counts
  // still in memory (called before a period's report is made).
  Uploader(store::Store& store, writer::Writer& writer, const Clock& clock,
           stats::UploadIdentity who, http::Url url, UploadOptions options,
           std::function<absl::Status()> flush);
  ~Uploader();  // Stop()

  // Records the first period (today) on a store that never uploaded, and starts the thread.
  absl::Status Start();
  void Stop();
  // Runs a round now (the clock may have moved, or a receiver come back).
  void Wake();

  UploadStats stats() const;
  // The thread's catch-all: an exception in a round is counted and the round retried.
  const ExceptionGuard& guard() const { return loop_.guard(); }

 private:
  // Makes what is due and sends the spool; until the next reporting day when it is empty.
  std::optional<std::chrono::milliseconds> Round();
  // Spools every period that has ended. False on a failure (logged).
  bool MakeDueReports();
  // Sends what is spooled, oldest first, until one fails. True when the spool is empty.
  bool DeliverPending();

  store::Store& store_;
  writer::Writer& writer_;
  const Clock& clock_;
  const stats::UploadIdentity who_;
  const http::Url url_;
  const UploadOptions options_;
  const std::function<absl::Status()> flush_;

  mutable Mutex mu_;
  UploadStats stats_ ABSL_GUARDED_BY(mu_);
  RoundLoop loop_;  // last: its thread uses everything above
};

}  // namespace idnode::node
