#include "resolver/tcp/tcp_server.h"

#include <boost/asio.hpp>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <unordered_set>

#include "registry/base/status_macros.h"
#include "registry/base/strings.h"
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

struct Worker {
  // Declared before io: destroying io destroys any handler still pending, and the connection it
  // holds then removes itself from this set.
  std::unordered_set<Connection*> connections;
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
using tcp_internal::Worker;

struct TcpServer::Impl {
  TcpOptions options;
  store::Store* store = nullptr;
  const QueryProcessor* processor = nullptr;
  // Declared before the acceptor: its io_context must outlive it.
  std::vector<std::unique_ptr<Worker>> workers;
  std::optional<tcp::acceptor> acceptor;
  uint16_t port = 0;
  size_t next_worker = 0;
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> open{0};
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> rejected{0};
  std::atomic<uint64_t> idle_closed{0};

  void Accept();
  void Sweep(Worker& worker);
};

namespace tcp_internal {

// One client connection, owned by shared_ptrs held in its pending handlers; it lives on one
// worker and is only touched by that worker's thread.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(TcpServer::Impl& server, Worker& worker, tcp::socket socket)
      : server_(server), worker_(worker), socket_(std::move(socket)) {}
  ~Connection() {
    worker_.connections.erase(this);
    server_.open.fetch_sub(1, std::memory_order_relaxed);
  }

  void Start() {
    worker_.connections.insert(this);
    boost::system::error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
    socket_.non_blocking(true, ignored);
    last_active_ = Clock::now();
    Read();
  }

  // Closes the socket when nothing was read or written for `timeout`: pending operations end
  // with operation_aborted and drop their references.
  bool CloseIfIdle(Clock::time_point now, Clock::duration timeout) {
    if (now - last_active_ < timeout) return false;
    Close();
    return true;
  }

  void Close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

 private:
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
    if (error) return;
    filled_ += n;
    last_active_ = Clock::now();
    Continue();
  }

  // Answers what is buffered, then writes, waits for a deferred reply, reads more or finishes.
  void Continue() {
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
  // one deferred for recursion, so that replies keep the order of their requests.
  void AnswerBuffered() {
    const size_t max_message = server_.options.max_message_bytes;
    size_t pos = 0;
    bool renewed = false;
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
      if (!renewed) {
        if (!worker_.txn->Renew().ok()) {
          close_after_write_ = true;
          break;
        }
        renewed = true;
      }
      std::string_view request(start, wire::kEnvelopeBytes + length);
      const uint32_t flags = LoadU32(start + wire::kEnvelopeBytes + 8);
      const bool keep = (flags & wire::op_flag::kKeepAlive) != 0;
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
          keep_after_recursion_ = keep;
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
      if (!keep) close_after_write_ = true;
    }
    if (renewed) worker_.txn->Reset();
    worker_.published.Publish(worker_.counters);
    if (close_after_write_) {
      filled_ = 0;
    } else if (pos > 0) {
      std::memmove(in_.data(), in_.data() + pos, filled_ - pos);
      filled_ -= pos;
    }
  }

  // The recursor's reply to the request this connection waits on (this worker's thread).
  void OnRecursed(std::string reply) {
    recursed_ = std::move(reply);
    if (!writing_) Resume();
  }

  void Resume() {
    awaiting_ = false;
    out_.append(recursed_);
    recursed_.clear();
    if (!keep_after_recursion_) close_after_write_ = true;
    last_active_ = Clock::now();
    Continue();
  }

  // Writes the replies: first straight away (the socket is non-blocking, so this is one send
  // that usually takes everything), then, for what the kernel did not take, an async write.
  void Write() {
    boost::system::error_code status;
    size_t written = socket_.write_some(asio::buffer(out_), status);
    if (status && status != asio::error::would_block) return;
    if (written == out_.size()) {
      OnWrite({});
      return;
    }
    out_.erase(0, written);
    writing_ = true;
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this()](boost::system::error_code error, size_t) {
                        self->writing_ = false;
                        self->OnWrite(error);
                      });
  }

  void OnWrite(boost::system::error_code error) {
    if (error) return;
    out_.clear();
    last_active_ = Clock::now();
    if (awaiting_) {
      if (!recursed_.empty()) Resume();
    } else if (close_after_write_) {
      Finish();
    } else {
      Read();
    }
  }

  // Ends the connection after the last reply: FIN first, so the reply is not cut by a reset.
  void Finish() {
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    socket_.close(ignored);
  }

  TcpServer::Impl& server_;
  Worker& worker_;
  tcp::socket socket_;
  std::string in_;
  size_t filled_ = 0;
  std::string out_;
  bool close_after_write_ = false;
  bool writing_ = false;   // an async write of out_ is in flight: out_ must not change
  bool awaiting_ = false;  // a request was deferred for recursion; its reply comes first
  bool keep_after_recursion_ = false;  // that request asked to keep the connection
  std::string recursed_;               // its reply, once the recursor posted it
  Clock::time_point last_active_;
};

}  // namespace tcp_internal

void TcpServer::Impl::Accept() {
  Worker& target = *workers[next_worker];
  next_worker = (next_worker + 1) % workers.size();
  acceptor->async_accept(
      target.io, [this, &target](boost::system::error_code error, tcp::socket socket) {
        if (error == asio::error::operation_aborted || stopping.load()) return;
        if (!error) {
          accepted.fetch_add(1, std::memory_order_relaxed);
          if (open.load(std::memory_order_relaxed) >= options.max_connections) {
            rejected.fetch_add(1, std::memory_order_relaxed);
            boost::system::error_code ignored;
            socket.close(ignored);
          } else {
            open.fetch_add(1, std::memory_order_relaxed);
            asio::post(target.io, [this, &target, socket = std::move(socket)]() mutable {
              if (stopping.load()) {
                open.fetch_sub(1, std::memory_order_relaxed);
                return;
              }
              std::make_shared<Connection>(*this, target, std::move(socket))->Start();
            });
          }
        }
        Accept();  // errors such as EMFILE are transient: keep accepting
      });
}

void TcpServer::Impl::Sweep(Worker& worker) {
  auto period = std::max<Clock::duration>(options.idle_timeout / 4, std::chrono::milliseconds(10));
  worker.sweep->expires_after(period);
  worker.sweep->async_wait([this, &worker](boost::system::error_code error) {
    if (error || stopping.load()) return;
    const Clock::time_point now = Clock::now();
    for (Connection* connection : worker.connections) {
      if (connection->CloseIfIdle(now, options.idle_timeout)) {
        idle_closed.fetch_add(1, std::memory_order_relaxed);
      }
    }
    Sweep(worker);
  });
}

TcpServer::TcpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

absl::StatusOr<std::unique_ptr<TcpServer>> TcpServer::Bind(const TcpOptions& options) {
  if (options.workers < 1 || options.max_connections < 1 ||
      options.max_message_bytes < wire::kHeaderBytes + 4 ||
      options.max_message_bytes > wire::kMaxMessageBytes || options.idle_timeout.count() <= 0) {
    return absl::InvalidArgumentError(
        "handle: tcp workers and max_connections must be >= 1, max_message_bytes 28..262144, "
        "idle timeout > 0");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  for (int i = 0; i < options.workers; ++i) impl->workers.push_back(std::make_unique<Worker>());
  tcp::endpoint endpoint(asio::ip::address_v4(options.listen.address), options.listen.port);
  boost::system::error_code error;
  impl->acceptor.emplace(impl->workers[0]->io);
  impl->acceptor->open(endpoint.protocol(), error);
  if (!error) impl->acceptor->set_option(tcp::acceptor::reuse_address(true), error);
  if (!error) impl->acceptor->bind(endpoint, error);
  if (!error) impl->acceptor->listen(asio::socket_base::max_listen_connections, error);
  if (error) {
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
      auto txn = impl.store->BeginRead();
      if (!txn.ok()) return;
      txn->Reset();
      worker->txn.emplace(std::move(*txn));
      worker->io.run();
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
  });
  for (auto& worker_ptr : impl.workers) {
    Worker* worker = worker_ptr.get();
    asio::post(worker->io, [worker] {
      if (worker->sweep) worker->sweep->cancel();
      for (Connection* connection : worker->connections) connection->Close();
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

TcpStats TcpServer::stats() const {
  return TcpStats{impl_->accepted.load(), impl_->rejected.load(), impl_->idle_closed.load(),
                  impl_->open.load()};
}

}  // namespace idnode::resolver
