#pragma once

// The TCP front end's internals (tcp_server.h says what it does), shared by tcp_server.cc and
// tcp_connection.h: a worker and its connection lists, an admission on its way to a worker, and
// the server's state. Not for use outside resolver/tcp.

#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "resolver/net/worker_thread.h"
#include "resolver/tcp/tcp_server.h"

namespace idnode::tcp {

namespace asio = boost::asio;
namespace ip = asio::ip;

namespace tcp_internal {

using Clock = std::chrono::steady_clock;

constexpr size_t kReadChunkBytes = 16 * 1024;

inline uint32_t LoadU32(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
}

class Connection;

// Connections in the order they were last active, least recent first, with that one's time
// (steady clock, ns; kNone when empty) for the acceptor to compare across workers.
struct ConnectionList {
  static constexpr int64_t kNone = INT64_MAX;
  std::list<Connection*> list;
  std::atomic<int64_t> oldest{kNone};
};

struct Worker {
  size_t index = 0;  // handle-tcp-<index>
  // Declared before io: destroying io destroys any handler still pending, and the connection it
  // holds then removes itself from this list.
  // The worker's connections: those that have not completed a request yet (by accept time), and
  // the others (by their last complete request). At the cap, the first of `fresh` gives way
  // before any of `active`.
  ConnectionList fresh;
  ConnectionList active;
  std::atomic<size_t> open{0};  // connections dealt to this worker and not yet destroyed
  asio::io_context io{1};
  std::optional<asio::steady_timer> sweep;  // destroyed before io
  std::thread thread;
  std::optional<store::ReadTxn> txn;
  query::QueryScratch scratch;
  query::QueryCounters counters;  // only this worker's thread writes
  query::PublishedCounters published;
  query::PrefixTally prefixes;
};

// A connection accepted at the cap, on its way to a worker that makes room for it.
// It holds the accepted descriptor rather than a socket, so that one stranded in a queue at
// shutdown closes it without the io_context the socket would belong to.
struct Admission {
  Admission(Worker* to, int descriptor, ip::tcp protocol_of, std::string from,
            const std::atomic<size_t>* count)
      : target(to),
        fd(descriptor),
        protocol(protocol_of),
        source(std::move(from)),
        source_count(count) {}
  ~Admission() {
    if (fd >= 0) ::close(fd);
  }
  Admission(const Admission&) = delete;
  Admission& operator=(const Admission&) = delete;
  Worker* target;
  int fd;  // -1 once a connection owns it
  ip::tcp protocol;
  std::string source;
  const std::atomic<size_t>* source_count;
  size_t asked = 0;  // workers asked so far
};

}  // namespace tcp_internal

using tcp_internal::Admission;
using tcp_internal::Connection;
using tcp_internal::ConnectionList;
using tcp_internal::Worker;

struct TcpServer::Impl {
  TcpOptions options;
  size_t max_per_source = 1;
  store::Store* store = nullptr;
  const query::QueryProcessor* processor = nullptr;
  uint16_t port = 0;
  // Everything a connection touches when it goes is declared before the workers, so that it
  // outlives connections destroyed with their worker's io_context.
  std::atomic<bool> stopping{false};
  std::atomic<bool> accept_stopped{false};
  std::atomic<uint64_t> open{0};
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> rejected{0};
  std::atomic<uint64_t> source_rejected{0};
  std::atomic<uint64_t> evicted{0};
  std::atomic<uint64_t> idle_closed{0};
  std::atomic<uint64_t> request_timeouts{0};
  std::atomic<uint64_t> write_timeouts{0};
  std::atomic<uint64_t> read_pauses{0};
  std::unique_ptr<net::WorkerHealth> health;
  // Open connections per source address (16 bytes, IPv4 mapped). The acceptor adds and
  // connections remove themselves under the mutex; each connection keeps a pointer to its
  // source's count (the map's nodes do not move) and reads it without the lock.
  std::mutex sources_mutex;
  std::unordered_map<std::string, std::atomic<size_t>> sources;
  // Declared before the acceptor: its io_context must outlive it.
  std::vector<std::unique_ptr<Worker>> workers;
  std::optional<ip::tcp::acceptor> acceptor;
  std::optional<asio::steady_timer> accept_retry;  // on workers[0]; after accept errors

  void Accept();
  // Admits an accepted connection (to the least loaded worker), or closes it and counts why.
  void Admit(ip::tcp::socket socket);
  // At the cap: asks worker `index` (then the others in turn) for a connection that gives way to
  // `admission`, which is then started, or closed when none does.
  void Displace(std::shared_ptr<Admission> admission, size_t index);
  void Place(std::shared_ptr<Admission> admission);
  void Refuse(std::shared_ptr<Admission> admission);
  // Counts a connection from `source` unless it holds its share already; its count, or null.
  const std::atomic<size_t>* AdmitSource(const std::string& source);
  void ReleaseSource(const std::string& source);
  Worker& LeastLoadedWorker();
  void Sweep(Worker& worker);
  // A worker thread: runs its io_context until the server stops. Without a read transaction it
  // tries again after a pause; an exception out of a handler is counted and the loop goes on.
  void Serve(Worker& worker);
};

}  // namespace idnode::tcp
