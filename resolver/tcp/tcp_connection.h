#pragma once

// One Handle TCP connection of the front end (tcp_server.h): reading and framing requests,
// answering them in order under the reply bound, waiting on recursions, writing, and its
// deadlines; and which connection gives way to a newcomer at the cap. Internal to resolver/tcp.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "registry/base/strings.h"
#include "resolver/tcp/tcp_internal.h"

namespace idnode::tcp::tcp_internal {

// One client connection, owned by shared_ptrs held in its pending handlers; it lives on one
// worker and is only touched by that worker's thread.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(TcpServer::Impl& server, Worker& worker, ip::tcp::socket socket, std::string source,
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
    socket_.set_option(ip::tcp::no_delay(true), ignored);
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
    query::QueryScratch& scratch = worker_.scratch;
    while (!close_after_write_ && !awaiting_ && filled_ - pos >= wire::kEnvelopeBytes) {
      const char* start = in_.data() + pos;
      const size_t length = LoadU32(start + 16);
      if (length < wire::kHeaderBytes || length > max_message) {
        ++worker_.counters[query::QueryOutcome::kDropped];
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
          server_.health->Failed(
              worker_.index, name, net::WorkerHealth::Failure::kRenew,
              StrCat("cannot renew its read transaction: ", ToStd(status.message())));
          close_after_write_ = true;
          break;
        }
        server_.health->Succeeded(worker_.index);
        renewed = true;
      }
      std::string_view request(start, wire::kEnvelopeBytes + length);
      query::QueryOutcome outcome = server_.processor->Process(request, *worker_.txn, scratch);
      pos += request.size();
      if (scratch.deferred) {
        // The connection moves on with the posted handler, so that it is only ever released
        // on this worker's thread, whichever thread calls the reply.
        auto reply = [self = shared_from_this(), &io = worker_.io](std::string_view whole) mutable {
          asio::post(io, [self = std::move(self), whole = std::string(whole)]() mutable {
            self->OnRecursed(std::move(whole));
          });
        };
        if (server_.processor->Defer(query::DeferredRequest{std::string(request), scratch.question,
                                                            0, std::move(reply)})) {
          ++worker_.counters[outcome];
          awaiting_ = true;
          waiting = true;
          break;
        }
        outcome = query::QueryOutcome::kServerBusy;  // scratch.reply says so
      }
      ++worker_.counters[outcome];
      if (!scratch.counted_prefix.empty()) worker_.prefixes.Count(scratch.counted_prefix, outcome);
      if (outcome == query::QueryOutcome::kDropped) {
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
    socket_.shutdown(ip::tcp::socket::shutdown_send, ignored);
    Close();
  }

  TcpServer::Impl& server_;
  Worker& worker_;
  ip::tcp::socket socket_;
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
// no silent one is left. Sources strictly heavier than the newcomer's are asked first, so that a
// client opening a second connection displaces a flood's before its own first one. This
// worker's thread.
inline Connection* GiveWay(Worker& worker, size_t weight) {
  for (const size_t need : {weight + 1, weight}) {
    auto heavy = [need](const Connection* c) { return c->source_connections() >= need; };
    for (Connection* connection : worker.fresh.list) {  // in accept order, oldest first
      if (heavy(connection)) return connection;
    }
    for (Connection* connection : worker.active.list) {
      if (heavy(connection)) return connection;
    }
  }
  return nullptr;
}

}  // namespace idnode::tcp::tcp_internal
