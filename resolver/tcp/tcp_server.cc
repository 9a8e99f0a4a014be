#include "resolver/tcp/tcp_server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <string>

#include "registry/base/status_macros.h"
#include "registry/base/strings.h"
#include "resolver/net/asio_endpoint.h"
#include "resolver/net/worker_thread.h"
#include "resolver/tcp/tcp_connection.h"
#include "resolver/tcp/tcp_internal.h"

namespace idnode::tcp {

using tcp_internal::Clock;
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
  acceptor->async_accept([this](boost::system::error_code error, ip::tcp::socket socket) {
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

void TcpServer::Impl::Admit(ip::tcp::socket socket) {
  accepted.fetch_add(1, std::memory_order_relaxed);
  boost::system::error_code ignored;
  std::string source = net::SourceKey(socket.remote_endpoint(ignored).address());
  const std::atomic<size_t>* source_count = AdmitSource(source);
  if (source_count == nullptr) {
    source_rejected.fetch_add(1, std::memory_order_relaxed);
    socket.close(ignored);
    return;
  }
  Worker& target = LeastLoadedWorker();
  target.open.fetch_add(1, std::memory_order_relaxed);
  const ip::tcp protocol = socket.local_endpoint(ignored).protocol();
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
    ip::tcp::socket socket(target.io);
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

void TcpServer::Impl::Serve(Worker& worker) {
  const std::string name = StrCat("handle-tcp-", worker.index);
  while (!worker.txn) {
    auto txn = store->BeginRead();
    if (txn.ok()) {
      txn->Reset();
      worker.txn.emplace(std::move(*txn));
      break;
    }
    health->Failed(worker.index, name, net::WorkerHealth::Failure::kOpen,
                   StrCat("cannot open a read transaction: ", ToStd(txn.status().message())));
    if (stopping.load()) return;
    std::this_thread::sleep_for(net::kWorkerRestartPause);  // a back-off, not a wait for a state
  }
  // run() returns once the server has stopped (no work is left); after an exception it goes on
  // with the handlers still queued.
  while (!health->Run(worker.index, name, [&worker] { worker.io.run(); })) {
  }
  worker.txn.reset();
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
  impl->health = std::make_unique<net::WorkerHealth>("handle-tcp", impl->workers.size());
  impl->acceptor.emplace(impl->workers[0]->io);
  impl->accept_retry.emplace(impl->workers[0]->io);
  if (boost::system::error_code error = net::Listen(*impl->acceptor, options.listen)) {
    return absl::UnavailableError(StrCat("handle.listen: cannot listen on TCP ",
                                         options.listen.ToString(), ": ", error.message()));
  }
  impl->port = impl->acceptor->local_endpoint().port();
  return std::unique_ptr<TcpServer>(new TcpServer(std::move(impl)));
}

absl::Status TcpServer::Start(store::Store& store, const query::QueryProcessor& processor) {
  Impl& impl = *impl_;
  impl.store = &store;
  impl.processor = &processor;
  impl.Accept();
  for (size_t i = 0; i < impl.workers.size(); ++i) {
    Worker* worker = impl.workers[i].get();
    worker->sweep.emplace(worker->io);
    impl.Sweep(*worker);
    worker->thread = std::thread([&impl, worker] { impl.Serve(*worker); });
    RETURN_IF_ERROR(net::SetUpWorkerThread(worker->thread, StrCat("handle-tcp-", i),
                                           impl.options.realtime_priority));
  }
  return absl::OkStatus();
}

uint16_t TcpServer::port() const { return impl_->port; }

void TcpServer::StopAccepting() {
  Impl& impl = *impl_;
  if (impl.accept_stopped.exchange(true)) return;
  asio::post(impl.workers[0]->io, [&impl] {
    boost::system::error_code ignored;
    impl.acceptor->close(ignored);
    impl.accept_retry->cancel();
  });
}

void TcpServer::Stop() {
  Impl& impl = *impl_;
  if (impl.stopping.exchange(true)) return;
  StopAccepting();
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

query::QueryCounters TcpServer::counters() const {
  query::QueryCounters sum;
  for (const auto& worker : impl_->workers) worker->published.AddTo(sum);
  return sum;
}

void TcpServer::ForEachPrefix(
    const std::function<void(std::string_view, const query::QueryCounters&)>& fn) const {
  for (const auto& worker : impl_->workers) worker->prefixes.ForEach(fn);
}

net::WorkerHealthStats TcpServer::health() const { return impl_->health->stats(); }

const ExceptionGuard& TcpServer::guard() const { return impl_->health->guard(); }

TcpStats TcpServer::stats() const {
  const Impl& impl = *impl_;
  return TcpStats{impl.accepted.load(),       impl.rejected.load(),    impl.source_rejected.load(),
                  impl.evicted.load(),        impl.idle_closed.load(), impl.request_timeouts.load(),
                  impl.write_timeouts.load(), impl.read_pauses.load(), impl.open.load()};
}

}  // namespace idnode::tcp
