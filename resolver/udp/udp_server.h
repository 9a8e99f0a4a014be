#pragma once

// The Handle protocol over UDP (port 2641 by default): one socket per worker thread bound with
// SO_REUSEPORT, requests taken in batches with recvmmsg and replies sent with sendmmsg. Each
// worker owns its read transaction (renewed once per batch, reset while it waits), its buffers
// and its counters, so workers share nothing on the hot path.
//
// Replies above 512 bytes go out as 492-byte pieces with the truncated flag (wire::SplitForUdp).
// A reply larger than max_reply_bytes is not sent; the client gets an error naming the limit
// instead (amplification bound: a small request cannot make the node send much). Multi-packet
// requests are not reassembled over UDP: their pieces are dropped and counted (clients send
// large requests over TCP).
//
// Thread-safe: Start/Stop from one thread; counters() from any thread.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "registry/store/store.h"
#include "resolver/query/query.h"

namespace idnode::resolver {

struct UdpOptions {
  std::string listen = "127.0.0.1:2641";  // IPv4 HOST:PORT; port 0 picks one
  int workers = 2;
  int batch = 32;                      // datagrams per recvmmsg
  size_t max_reply_bytes = 16 * 1024;  // larger replies are refused with an error
};

class UdpServer {
 public:
  // Binds every worker's socket and starts the workers. `store` and `processor` must outlive
  // the server.
  static absl::StatusOr<std::unique_ptr<UdpServer>> Start(const UdpOptions& options,
                                                          store::Store& store,
                                                          const QueryProcessor& processor);
  ~UdpServer();
  UdpServer(const UdpServer&) = delete;
  UdpServer& operator=(const UdpServer&) = delete;

  uint16_t port() const { return port_; }
  // Stops the workers and closes the sockets. Idempotent.
  void Stop();
  // The sum of every worker's counters, as last published (after each batch).
  QueryCounters counters() const;

 private:
  struct Worker;
  UdpServer() = default;
  void Run(Worker& worker);

  UdpOptions options_;
  store::Store* store_ = nullptr;
  const QueryProcessor* processor_ = nullptr;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace idnode::resolver
