#pragma once

// The upward half of federation on a secondary node (docs/architecture.md §6, §9): it tells the top
// node which prefixes this node serves.
//
// What to send lives in the store's upward spool (registry/federation), written in the same
// transaction as the change that caused it. One thread sends it, prefix by prefix in key order,
// through an UpstreamRegistrar; an acknowledged entry is removed from the spool (unless a newer
// intent replaced it meanwhile). The first failure ends the round: the next one waits
// retry_initial, doubling up to retry_max (+-20%). Idle, the thread waits for Wake() (called after
// each committed prefix change) or at most `idle_poll`.
//
// UpstreamRegistrar is the one seam to the top node: GrpcUpstreamRegistrar speaks idnode's
// Federation service; the national system's own provisioning protocol can be a second
// implementation without touching the spool or the retry logic.
//
// Thread-safe: Start/Stop from one thread; Wake() and stats() from any.

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "api/grpc/federation_service.h"
#include "registry/base/clock.h"
#include "registry/base/mutex.h"
#include "registry/base/round_loop.h"
#include "registry/federation/federation.h"
#include "registry/store/store.h"
#include "registry/writer/writer.h"

namespace idnode::node {

class UpstreamRegistrar {
 public:
  virtual ~UpstreamRegistrar() = default;
  // Registers entry.prefix with entry.site at the top node. OK once the top node has it durably.
  virtual absl::Status Register(const federation::UpwardEntry& entry) = 0;
  // Removes entry.prefix's record at the top node; OK also when it had none.
  virtual absl::Status Remove(const federation::UpwardEntry& entry) = 0;
};

struct GrpcUpstreamOptions {
  std::string target;   // HOST:PORT of the top node's gRPC
  bool tls = true;      // false only to a loopback address (tests, a top node on the same host)
  std::string ca_file;  // PEM roots for TLS; empty: the system's
  std::string token;    // the node credential the top node's admin issued
  std::chrono::milliseconds timeout{10'000};
};
absl::StatusOr<std::unique_ptr<UpstreamRegistrar>> MakeGrpcUpstreamRegistrar(
    const GrpcUpstreamOptions& options);

struct FederationClientOptions {
  std::chrono::milliseconds retry_initial{1'000};
  std::chrono::milliseconds retry_max{300'000};
  std::chrono::milliseconds idle_poll{60'000};
};

class FederationClient {
 public:
  // `store`, `writer` and `clock` must outlive the client.
  FederationClient(store::Store& store, writer::Writer& writer, const Clock& clock,
                   std::unique_ptr<UpstreamRegistrar> upstream, FederationClientOptions options);
  ~FederationClient();  // Stop()

  void Start();
  void Stop();
  void Wake();
  rpc::UpwardStats stats() const;
  // The thread's catch-all: an exception in a round is counted and the round retried.
  const ExceptionGuard& guard() const { return loop_.guard(); }

 private:
  // Sends the spool until it is empty (true) or an attempt fails (false).
  bool SendPending();

  store::Store& store_;
  writer::Writer& writer_;
  const Clock& clock_;
  const std::unique_ptr<UpstreamRegistrar> upstream_;
  const FederationClientOptions options_;

  mutable Mutex mu_;
  rpc::UpwardStats stats_ ABSL_GUARDED_BY(mu_);
  RoundLoop loop_;  // last: its thread uses everything above
};

}  // namespace idnode::node
