#include "resolver/tcp/tcp_server.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <cstring>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include "registry/base/status_macros.h"
#include "registry/base/strings.h"
#include "resolver/net/asio_endpoint.h"
#include "resolver/net/worker_thread.h"

namespace idnode::resolver {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr size_t kReadChunkBytes = 16 * 1024;

uint32_t LoadU32(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
}

}  // namespace

namespace tcp_internal {

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
  QueryScratch scratch;
  QueryCounters counters;  // only this worker's thread writes
  PublishedCounters published;
  PrefixTally prefixes;
};

}  // namespace tcp_internal

using tcp_internal::Connection;
using tcp_internal::ConnectionList;
using tcp_internal::Worker;

// A connection accepted at the cap, on its way to a worker that makes room for it.
// It holds the accepted descriptor rather than a socket, so that one stranded in a queue at
// shutdown closes it without the io_context the socket would belong to.
struct Admission {
  Admission(Worker* to, int descriptor, tcp protocol_of, std::string from,
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
  tcp protocol;
  std::string source;
  const std::atomic<size_t>* source_count;
  size_t asked = 0;  // workers asked so far
};

struct TcpServer::Impl {
  TcpOptions options;
  size_t max_per_source = 1;
  store::Store* store = nullptr;
  const QueryProcessor* processor = nullptr;
  uint16_t port = 0;
  // Everything a connection touches when it goes is declared before the workers, so that it
  // outlives connections destroyed with their worker's io_context.
  std::atomic<bool> stopping{false};
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
  std::optional<tcp::acceptor> acceptor;
  std::optional<asio::steady_timer> accept_retry;  // on workers[0]; after accept errors

  void Accept();
  // Admits an accepted connection (to the least loaded worker), or closes it and counts why.
  void Admit(tcp::socket socket);
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
};

namespace tcp_internal {

// One client connection, owned by shared_ptrs held in its pending handlers; it lives on one
// worker and is only touched by that worker's thread.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(TcpServer::Impl& server, Worker& worker, tcp::socket socket, std::string source,
             const std::atomic<size_t>* source_count)
      : server_(server),
        worker_(worker),
        socket_(std::move(socket)),
        source_(std::move(source)),
        source_count_(source_count) {}
  ~Connection() {
    Unlist();
    server_.ReleaseSource(source_);
    worker_.open.fetch_sub(1, std::memory_order_relaxed);
    server_.open.fetch_sub(1, std::memory_order_relaxed);
  }

  void Start() {
    last_request_ = Clock::now();
    Enlist(worker_.fresh);
    boost::system::error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
    socket_.non_blocking(true, ignored);
    Read();
  }

  Clock::time_point last_request() const { return last_request_; }
  // How many connections its source address holds now.
  size_t source_connections() const { return source_count_->load(std::memory_order_relaxed); }

  // Why `now` is past one of this connection's deadlines, or nullptr while it is within them.
  std::atomic<uint64_t>* Overdue(Clock::time_point now) const {
    const TcpOptions& options = server_.options;
    if (writing_ && now - write_since_ >= options.write_timeout) return &server_.write_timeouts;
    if (partial_since_ && now - *partial_since_ >= options.request_timeout) {
      return &server_.request_timeouts;
    }
    if (!writing_ && !awaiting_ && now - last_request_ >= options.idle_timeout) {
      return &server_.idle_closed;
    }
    return nullptr;
  }

  // Closes the socket: pending operations end with operation_aborted and drop their references,
  // and the connection leaves its worker's list at once, so that it is not chosen again.
  void Close() {
    closed_ = true;
    Unlist();
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

  // Publishes the time of `list`'s least recently active connection (any thread reads it).
  static void PublishOldest(ConnectionList& list) {
    list.oldest.store(list.list.empty() ? ConnectionList::kNone
                                        : list.list.front()->last_request_.time_since_epoch() /
                                              std::chrono::nanoseconds(1),
                      std::memory_order_relaxed);
  }

 private:
  void Enlist(ConnectionList& list) {
    position_ = list.list.insert(list.list.end(), this);
    list_ = &list;
    if (list.list.size() == 1) PublishOldest(list);
  }

  void Unlist() {
    if (list_ == nullptr) return;
    const bool first = position_ == list_->list.begin();
    list_->list.erase(position_);
    if (first) PublishOldest(*list_);
    list_ = nullptr;
  }

  void Read() {
    // Room for the whole of a message whose envelope has arrived, and at least one chunk.
    size_t want = filled_ + kReadChunkBytes;
    if (filled_ >= wire::kEnvelopeBytes) {
      want = std::max(want, wire::kEnvelopeBytes + LoadU32(in_.data() + 16));
    }
    if (in_.size() < want) in_.resize(want);
    socket_.async_read_some(asio::buffer(in_.data() + filled_, in_.size() - filled_),
                            [self = shared_from_this()](boost::system::error_code error, size_t n) {
                              self->OnRead(error, n);
                            });
  }

  void OnRead(boost::system::error_code error, size_t n) {
    if (error || closed_) return Close();
    filled_ += n;
    Continue();
  }

  // Answers what is buffered, then writes, waits for a deferred reply, reads more or finishes.
  void Continue() {
    if (closed_) return;  // closed meanwhile (evicted, timed out): nothing more is answered
    AnswerBuffered();
    if (!out_.empty()) {
      Write();
    } else if (awaiting_) {
      return;  // OnRecursed resumes
    } else if (close_after_write_) {
      Finish();
    } else {
      Read();
    }
  }

  // Answers the complete requests in `in_`, in order, appending the replies to `out_`; stops at
  // one deferred for recursion, so that replies keep the order of their requests, and once the
  // unsent replies reach their bound, so that a client that does not read cannot make the node
  // hold its answers (the rest wait in `in_`, and nothing more is read, until they are taken).
  void AnswerBuffered() {
    const size_t max_message = server_.options.max_message_bytes;
    const size_t max_pending = server_.options.max_pending_reply_bytes;
    size_t pos = 0;
    bool renewed = false;
    bool waiting = false;  // complete requests wait for the replies to drain or a recursion
    QueryScratch& scratch = worker_.scratch;
    while (!close_after_write_ && !awaiting_ && filled_ - pos >= wire::kEnvelopeBytes) {
      const char* start = in_.data() + pos;
      const size_t length = LoadU32(start + 16);
      if (length < wire::kHeaderBytes || length > max_message) {
        ++worker_.counters[QueryOutcome::kDropped];
        close_after_write_ = true;  // cannot frame the stream any further
        break;
      }
      if (filled_ - pos < wire::kEnvelopeBytes + length) break;  // wait for the rest
      if (out_.size() >= max_pending) {
        server_.read_pauses.fetch_add(1, std::memory_order_relaxed);
        waiting = true;
        break;  // answered once the client has taken what is pending
      }
      if (!renewed) {
        if (absl::Status status = worker_.txn->Renew(); !status.ok()) {
          // This connection's requests cannot be answered: it closes, and the next burst, of
          // any connection, tries again.
          const std::string name = StrCat("handle-tcp-", worker_.index);
          if (server_.health->stats().failing == 0) {
            spdlog::error("{}: cannot renew its read transaction: {}", name, status.ToString());
          }
          server_.health->Failed(
              worker_.index, name,
              StrCat("cannot renew its read transaction: ", ToStd(status.message())));
          close_after_write_ = true;
          break;
        }
        server_.health->Succeeded(worker_.index);
        renewed = true;
      }
      std::string_view request(start, wire::kEnvelopeBytes + length);
      QueryOutcome outcome = server_.processor->Process(request, *worker_.txn, scratch);
      pos += request.size();
      if (scratch.deferred) {
        // The connection moves on with the posted handler, so that it is only ever released
        // on this worker's thread, whichever thread calls the reply.
        auto reply = [self = shared_from_this(), &io = worker_.io](std::string_view whole) mutable {
          asio::post(io, [self = std::move(self), whole = std::string(whole)]() mutable {
            self->OnRecursed(std::move(whole));
          });
        };
        if (server_.processor->Defer(
                DeferredRequest{std::string(request), scratch.question, 0, std::move(reply)})) {
          ++worker_.counters[outcome];
          awaiting_ = true;
          waiting = true;
          break;
        }
        outcome = QueryOutcome::kServerBusy;  // scratch.reply says so
      }
      ++worker_.counters[outcome];
      if (!scratch.counted_prefix.empty()) worker_.prefixes.Count(scratch.counted_prefix, outcome);
      if (outcome == QueryOutcome::kDropped) {
        close_after_write_ = true;
        break;
      }
      out_.append(scratch.reply);
    }
    if (renewed) worker_.txn->Reset();
    worker_.published.Publish(worker_.counters);
    if (close_after_write_) {
      filled_ = 0;
    } else if (pos > 0) {
      std::memmove(in_.data(), in_.data() + pos, filled_ - pos);
      filled_ -= pos;
    }
    if (pos > 0) MarkActive();
    // A request's deadline runs from its first byte: from now when requests were just completed
    // (the rest arrived with them), else from the read that brought the first byte.
    if (filled_ == 0 && in_.size() > 4 * kReadChunkBytes) std::string().swap(in_);  // large
    if (filled_ == 0 || waiting) {
      partial_since_.reset();
    } else if (pos > 0 || !partial_since_) {
      partial_since_ = Clock::now();
    }
  }

  // A complete request arrived: the connection moves to the most recently active end.
  void MarkActive() {
    last_request_ = Clock::now();
    if (list_ == &worker_.active) {
      std::list<Connection*>& list = worker_.active.list;
      const bool first = position_ == list.begin();
      list.splice(list.end(), list, position_);
      if (first) PublishOldest(worker_.active);
    } else if (list_ != nullptr) {
      Unlist();
      Enlist(worker_.active);
    }
  }

  // The recursor's reply to the request this connection waits on (this worker's thread).
  void OnRecursed(std::string reply) {
    if (closed_) return;  // closed while it waited: the reply has nowhere to go
    recursed_ = std::move(reply);
    if (!writing_) Resume();
  }

  void Resume() {
    awaiting_ = false;
    out_.append(recursed_);
    recursed_.clear();
    Continue();
  }

  // Writes the replies: first straight away (the socket is non-blocking, so this is one send
  // that usually takes everything), then, for what the kernel did not take, an async write.
  void Write() {
    boost::system::error_code status;
    size_t written = socket_.write_some(asio::buffer(out_), status);
    if (status && status != asio::error::would_block) {
      server_.health->SendFailed();
      return Close();
    }
    if (written == out_.size()) {
      OnWrite({});
      return;
    }
    out_.erase(0, written);
    writing_ = true;
    write_since_ = Clock::now();
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this()](boost::system::error_code error, size_t) {
                        self->writing_ = false;
                        self->OnWrite(error);
                      });
  }

  void OnWrite(boost::system::error_code error) {
    if (error && error != asio::error::operation_aborted) server_.health->SendFailed();
    if (error || closed_) return Close();
    out_.clear();
    if (out_.capacity() > 4 * server_.options.max_pending_reply_bytes) std::string().swap(out_);
    if (awaiting_) {
      if (!recursed_.empty()) Resume();
    } else {
      Continue();  // requests left waiting while the replies were pending, then read
    }
  }

  // Ends the connection after the last reply: FIN first, so the reply is not cut by a reset.
  void Finish() {
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    Close();
  }

  TcpServer::Impl& server_;
  Worker& worker_;
  tcp::socket socket_;
  const std::string source_;
  const std::atomic<size_t>* const source_count_;
  ConnectionList* list_ = nullptr;             // worker_.fresh or worker_.active; null once closed
  std::list<Connection*>::iterator position_;  // in list_
  std::string in_;
  size_t filled_ = 0;
  std::string out_;
  bool close_after_write_ = false;
  bool closed_ = false;             // Close() ran: the socket is gone, whatever handler runs next
  bool writing_ = false;            // an async write of out_ is in flight: out_ must not change
  bool awaiting_ = false;           // a request was deferred for recursion; its reply comes first
  std::string recursed_;            // its reply, once the recursor posted it
  Clock::time_point last_request_;  // the last complete request, or the accept
  std::optional<Clock::time_point> partial_since_;  // an incomplete request's first byte
  Clock::time_point write_since_;                   // the async write in flight began
};

// The connection of `worker` that gives way to a newcomer whose source address now holds
// `weight` connections, or null. Only a connection whose source holds at least as many may: a
// source cannot take the place of one that holds fewer, so a flood from a few addresses
// displaces itself, not the clients of others. Among those: the oldest that has not completed
// a request yet (a trickle, a connection opened and left), else the one idle longest (oldest
// last complete request). So a connection that has had requests answered gives way only once
// no silent one is left. This worker's thread.
Connection* GiveWay(Worker& worker, size_t weight) {
  auto heavy = [weight](const Connection* c) { return c->source_connections() >= weight; };
  for (Connection* connection : worker.fresh.list) {  // in accept order, oldest first
    if (heavy(connection)) return connection;
  }
  for (Connection* connection : worker.active.list) {
    if (heavy(connection)) return connection;
  }
  return nullptr;
}

}  // namespace tcp_internal

using tcp_internal::GiveWay;

const std::atomic<size_t>* TcpServer::Impl::AdmitSource(const std::string& source) {
  std::lock_guard lock(sources_mutex);
  std::atomic<size_t>& count = sources[source];
  if (count.load(std::memory_order_relaxed) >= max_per_source) return nullptr;
  count.fetch_add(1, std::memory_order_relaxed);
  return &count;
}

void TcpServer::Impl::ReleaseSource(const std::string& source) {
  std::lock_guard lock(sources_mutex);
  auto it = sources.find(source);
  if (it != sources.end() && it->second.fetch_sub(1, std::memory_order_relaxed) == 1) {
    sources.erase(it);
  }
}

Worker& TcpServer::Impl::LeastLoadedWorker() {
  Worker* best = workers[0].get();
  for (const auto& worker : workers) {
    if (worker->open.load(std::memory_order_relaxed) < best->open.load(std::memory_order_relaxed)) {
      best = worker.get();
    }
  }
  return *best;
}

void TcpServer::Impl::Accept() {
  acceptor->async_accept([this](boost::system::error_code error, tcp::socket socket) {
    if (error == asio::error::operation_aborted || stopping.load()) return;
    if (!error) {
      Admit(std::move(socket));
      return Accept();
    }
    // EMFILE, ENFILE, ENOBUFS: transient, but accepting again at once would only spin.
    accept_retry->expires_after(std::chrono::milliseconds(50));
    accept_retry->async_wait([this](boost::system::error_code waited) {
      if (!waited && !stopping.load()) Accept();
    });
  });
}

void TcpServer::Impl::Admit(tcp::socket socket) {
  accepted.fetch_add(1, std::memory_order_relaxed);
  boost::system::error_code ignored;
  const asio::ip::address peer = socket.remote_endpoint(ignored).address();
  asio::ip::address_v6::bytes_type bytes =
      peer.is_v4() ? asio::ip::make_address_v6(asio::ip::v4_mapped, peer.to_v4()).to_bytes()
                   : peer.to_v6().to_bytes();
  if (!peer.is_v4() && !peer.to_v6().is_v4_mapped()) {
    // One IPv6 host has a /64 of addresses: that is its source for the share and the weight.
    std::fill(bytes.begin() + 8, bytes.end(), 0);
  }
  std::string source(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const std::atomic<size_t>* source_count = AdmitSource(source);
  if (source_count == nullptr) {
    source_rejected.fetch_add(1, std::memory_order_relaxed);
    socket.close(ignored);
    return;
  }
  Worker& target = LeastLoadedWorker();
  target.open.fetch_add(1, std::memory_order_relaxed);
  const tcp protocol = socket.local_endpoint(ignored).protocol();
  auto admission = std::make_shared<Admission>(&target, socket.release(ignored), protocol,
                                               std::move(source), source_count);
  if (open.fetch_add(1, std::memory_order_relaxed) < options.max_connections) {
    return Place(std::move(admission));
  }
  // At the cap: start with the worker whose connection was active least recently.
  size_t first = 0;
  int64_t oldest = ConnectionList::kNone;
  for (ConnectionList Worker::*tier : {&Worker::fresh, &Worker::active}) {
    for (size_t i = 0; i < workers.size(); ++i) {
      const int64_t time = ((*workers[i]).*tier).oldest.load(std::memory_order_relaxed);
      if (time < oldest) {
        oldest = time;
        first = i;
      }
    }
    if (oldest != ConnectionList::kNone) break;
  }
  Displace(std::move(admission), first);
}

void TcpServer::Impl::Displace(std::shared_ptr<Admission> admission, size_t index) {
  Worker& worker = *workers[index];
  asio::post(worker.io, [this, &worker, index, admission = std::move(admission)]() mutable {
    if (stopping.load()) return Refuse(std::move(admission));
    if (Connection* gives_way = GiveWay(worker, *admission->source_count)) {
      evicted.fetch_add(1, std::memory_order_relaxed);
      gives_way->Close();  // its destructor gives back its place
      return Place(std::move(admission));
    }
    if (++admission->asked == workers.size()) return Refuse(std::move(admission));
    Displace(std::move(admission), (index + 1) % workers.size());
  });
}

void TcpServer::Impl::Place(std::shared_ptr<Admission> admission) {
  Worker& target = *admission->target;
  asio::post(target.io, [this, &target, admission = std::move(admission)]() mutable {
    if (stopping.load()) return Refuse(std::move(admission));
    tcp::socket socket(target.io);
    boost::system::error_code error;
    socket.assign(admission->protocol, admission->fd, error);
    if (error) return Refuse(std::move(admission));
    admission->fd = -1;  // the socket has it now
    std::make_shared<Connection>(*this, target, std::move(socket), std::move(admission->source),
                                 admission->source_count)
        ->Start();
  });
}

// Gives back the admission's place; its descriptor closes with it.
void TcpServer::Impl::Refuse(std::shared_ptr<Admission> admission) {
  if (!stopping.load()) rejected.fetch_add(1, std::memory_order_relaxed);
  ReleaseSource(admission->source);
  admission->target->open.fetch_sub(1, std::memory_order_relaxed);
  open.fetch_sub(1, std::memory_order_relaxed);
}

void TcpServer::Impl::Sweep(Worker& worker) {
  const Clock::duration shortest =
      std::min({options.idle_timeout, options.request_timeout, options.write_timeout});
  worker.sweep->expires_after(
      std::max<Clock::duration>(shortest / 4, std::chrono::milliseconds(10)));
  worker.sweep->async_wait([this, &worker](boost::system::error_code error) {
    if (error || stopping.load()) return;
    const Clock::time_point now = Clock::now();
    for (ConnectionList* list : {&worker.fresh, &worker.active}) {
      for (auto it = list->list.begin(); it != list->list.end();) {
        Connection* connection = *it++;  // Close unlists it
        if (std::atomic<uint64_t>* reason = connection->Overdue(now)) {
          reason->fetch_add(1, std::memory_order_relaxed);
          connection->Close();
        }
      }
    }
    Sweep(worker);
  });
}

TcpServer::TcpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

absl::StatusOr<std::unique_ptr<TcpServer>> TcpServer::Bind(const TcpOptions& options) {
  if (options.workers < 1 || options.max_connections < 1 ||
      options.max_message_bytes < wire::kHeaderBytes + 4 ||
      options.max_message_bytes > wire::kMaxMessageBytes || options.max_per_source_percent < 1 ||
      options.max_per_source_percent > 100 || options.max_pending_reply_bytes < 1 ||
      options.idle_timeout.count() <= 0 || options.request_timeout.count() <= 0 ||
      options.write_timeout.count() <= 0) {
    return absl::InvalidArgumentError(
        "handle: tcp workers and max_connections must be >= 1, max_message_bytes 28..262144, "
        "the per-source share 1..100 %, the reply bound and timeouts > 0");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->max_per_source =
      std::max<size_t>(1, options.max_connections * options.max_per_source_percent / 100);
  for (int i = 0; i < options.workers; ++i) {
    impl->workers.push_back(std::make_unique<Worker>());
    impl->workers.back()->index = static_cast<size_t>(i);
  }
  impl->health = std::make_unique<net::WorkerHealth>(impl->workers.size());
  impl->acceptor.emplace(impl->workers[0]->io);
  impl->accept_retry.emplace(impl->workers[0]->io);
  if (boost::system::error_code error = net::Listen(*impl->acceptor, options.listen)) {
    return absl::UnavailableError(StrCat("handle.listen: cannot listen on TCP ",
                                         options.listen.ToString(), ": ", error.message()));
  }
  impl->port = impl->acceptor->local_endpoint().port();
  return std::unique_ptr<TcpServer>(new TcpServer(std::move(impl)));
}

absl::Status TcpServer::Start(store::Store& store, const QueryProcessor& processor) {
  Impl& impl = *impl_;
  impl.store = &store;
  impl.processor = &processor;
  impl.Accept();
  for (size_t i = 0; i < impl.workers.size(); ++i) {
    Worker* worker = impl.workers[i].get();
    worker->sweep.emplace(worker->io);
    impl.Sweep(*worker);
    worker->thread = std::thread([&impl, worker] {
      const std::string name = StrCat("handle-tcp-", worker->index);
      auto txn = impl.store->BeginRead();
      if (!txn.ok()) {
        spdlog::error("{}: cannot open a read transaction, not serving: {}", name,
                      txn.status().ToString());
        impl.health->Failed(
            worker->index, name,
            StrCat("cannot open a read transaction: ", ToStd(txn.status().message())));
        return;
      }
      txn->Reset();
      worker->txn.emplace(std::move(*txn));
      try {
        worker->io.run();
      } catch (const std::exception& e) {
        spdlog::error("{}: ended by an exception: {}", name, e.what());
        impl.health->Failed(worker->index, name, StrCat("ended by an exception: ", e.what()));
      }
      worker->txn.reset();
    });
    RETURN_IF_ERROR(net::SetUpWorkerThread(worker->thread, StrCat("handle-tcp-", i),
                                           impl.options.realtime_priority));
  }
  return absl::OkStatus();
}

uint16_t TcpServer::port() const { return impl_->port; }

void TcpServer::Stop() {
  Impl& impl = *impl_;
  if (impl.stopping.exchange(true)) return;
  asio::post(impl.workers[0]->io, [&impl] {
    boost::system::error_code ignored;
    impl.acceptor->close(ignored);
    impl.accept_retry->cancel();
  });
  for (auto& worker_ptr : impl.workers) {
    Worker* worker = worker_ptr.get();
    asio::post(worker->io, [worker] {
      if (worker->sweep) worker->sweep->cancel();
      for (ConnectionList* list : {&worker->fresh, &worker->active}) {
        while (!list->list.empty()) list->list.front()->Close();  // unlists it
      }
    });
  }
  for (auto& worker : impl.workers) {
    if (worker->thread.joinable()) {
      worker->thread.join();
    } else {
      worker->io.stop();  // never started
    }
  }
}

TcpServer::~TcpServer() {
  Stop();
  impl_->accept_retry.reset();
  impl_->acceptor.reset();
}

QueryCounters TcpServer::counters() const {
  QueryCounters sum;
  for (const auto& worker : impl_->workers) worker->published.AddTo(sum);
  return sum;
}

void TcpServer::ForEachPrefix(
    const std::function<void(std::string_view, const QueryCounters&)>& fn) const {
  for (const auto& worker : impl_->workers) worker->prefixes.ForEach(fn);
}

net::WorkerHealthStats TcpServer::health() const { return impl_->health->stats(); }

TcpStats TcpServer::stats() const {
  const Impl& impl = *impl_;
  return TcpStats{impl.accepted.load(),       impl.rejected.load(),    impl.source_rejected.load(),
                  impl.evicted.load(),        impl.idle_closed.load(), impl.request_timeouts.load(),
                  impl.write_timeouts.load(), impl.read_pauses.load(), impl.open.load()};
}

}  // namespace idnode::resolver
