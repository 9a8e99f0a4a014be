#include "resolver/udp/udp_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "registry/base/status_macros.h"
#include "registry/base/strings.h"
#include "resolver/net/worker_thread.h"
#include "resolver/udp/reassembly.h"

namespace idnode::udp {
namespace {

constexpr size_t kRequestSlotBytes = 4096;

// A peer's address as recvmmsg fills it in: room for IPv4 and IPv6.
using PeerAddress = sockaddr_in6;

absl::StatusOr<int> BindSocket(const net::Endpoint& endpoint) {
  int fd = socket(endpoint.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(StrCat("handle.listen: socket: ", strerror(errno)));
  int one = 1;
  int buffer = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
  if (endpoint.family() == AF_INET6) {
    // [::] serves IPv4 clients too (as mapped addresses); any other address only itself.
    int v6_only = endpoint.wildcard() ? 0 : 1;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6_only, sizeof v6_only);
  }
  sockaddr_storage address;
  const socklen_t length = endpoint.ToSockaddr(address);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&address), length) != 0) {
    int error = errno;
    close(fd);
    return absl::UnavailableError(
        StrCat("handle.listen: cannot bind UDP ", endpoint.ToString(), ": ", strerror(error)));
  }
  return fd;
}

// The rate limiter's key for a peer: its IPv4 address, or for IPv6 its /64 (one host's share
// of addresses) with the top bit set, so that no IPv6 source can share an IPv4 source's bucket
// key (two /64s differing only in that bit do share one, which only makes the limit stricter).
uint64_t SourceKey(const PeerAddress& peer) {
  if (peer.sin6_family == AF_INET) {
    return ntohl(reinterpret_cast<const sockaddr_in*>(&peer)->sin_addr.s_addr);
  }
  const uint8_t* bytes = peer.sin6_addr.s6_addr;
  if (IN6_IS_ADDR_V4MAPPED(&peer.sin6_addr)) {
    return (uint32_t{bytes[12]} << 24) | (uint32_t{bytes[13]} << 16) | (uint32_t{bytes[14]} << 8) |
           uint32_t{bytes[15]};
  }
  uint64_t prefix = 0;
  for (int i = 0; i < 8; ++i) prefix = (prefix << 8) | bytes[i];
  return prefix | (uint64_t{1} << 63);
}

// Token buckets per source address in a fixed, direct-mapped table: a source hashes to one
// slot; a different source in that slot replaces it with a full bucket.
class SourceLimiter {
 public:
  SourceLimiter(uint32_t rate, uint32_t burst)
      : rate_per_ms_(static_cast<double>(rate) / 1000.0),
        burst_(static_cast<double>(burst == 0 ? 2 * uint64_t{rate} : burst)),
        slots_(rate == 0 ? 0 : kSlots) {}

  bool enabled() const { return !slots_.empty(); }

  // True when the source may send one more request at `now_ms`.
  bool Allow(uint64_t source, uint64_t now_ms) {
    Slot& slot = slots_[(source * 0x9E3779B97F4A7C15ull) >> (64 - kSlotBits)];
    if (slot.source != source || !slot.used) {
      slot = Slot{source, true, burst_, now_ms};
    } else if (now_ms > slot.last_ms) {
      slot.tokens = std::min(burst_, slot.tokens + rate_per_ms_ * double(now_ms - slot.last_ms));
      slot.last_ms = now_ms;
    }
    if (slot.tokens < 1.0) return false;
    slot.tokens -= 1.0;
    return true;
  }

 private:
  static constexpr int kSlotBits = 14;
  static constexpr size_t kSlots = size_t{1} << kSlotBits;
  struct Slot {
    uint64_t source = 0;
    bool used = false;
    double tokens = 0;
    uint64_t last_ms = 0;
  };
  double rate_per_ms_;
  double burst_;
  std::vector<Slot> slots_;
};

uint64_t CoarseNowMs() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1000 + static_cast<uint64_t>(now.tv_nsec) / 1000000;
}

// A socket that recursion replies may still use after the server stopped: closed with its last
// user.
struct SharedSocket {
  explicit SharedSocket(int descriptor) : fd(descriptor) {}
  ~SharedSocket() { close(fd); }
  SharedSocket(const SharedSocket&) = delete;
  SharedSocket& operator=(const SharedSocket&) = delete;
  const int fd;
};

// Sends one whole reply to `peer` from another thread than the worker's (a recursion answer),
// counting the pieces the kernel refused in `health`.
void SendReply(int fd, const PeerAddress& peer, socklen_t peer_length, std::string_view reply,
               net::WorkerHealth& health) {
  std::string envelope_scratch;
  wire::SplitForUdp(reply, envelope_scratch, [&](std::string_view head, std::string_view slice) {
    iovec pieces[2] = {{const_cast<char*>(head.data()), head.size()},
                       {const_cast<char*>(slice.data()), slice.size()}};
    msghdr message{};
    message.msg_name = const_cast<PeerAddress*>(&peer);
    message.msg_namelen = peer_length;
    message.msg_iov = pieces;
    message.msg_iovlen = 2;
    // A datagram lost here is retried by the client.
    if (sendmsg(fd, &message, MSG_DONTWAIT) < 0) health.SendFailed();
  });
}

// The buffers of one worker's batch, allocated once: request slots and their peers for
// recvmmsg, and the replies with their envelopes and iovecs for sendmmsg. A reply is split into
// as many datagrams as it needs (wire::SplitForUdp), each an envelope and a slice of the reply.
class DatagramBatch {
 public:
  DatagramBatch(size_t batch, size_t max_reply_bytes)
      : requests_(batch * kRequestSlotBytes),
        peers_(batch),
        request_iov_(batch),
        incoming_(batch),
        replies_(batch),
        envelopes_(batch * MaxPieces(max_reply_bytes) * wire::kEnvelopeBytes),
        reply_iov_(batch * MaxPieces(max_reply_bytes) * 2),
        outgoing_(batch * MaxPieces(max_reply_bytes)) {
    for (std::string& reply : replies_) reply.reserve(max_reply_bytes + 1024);
  }

  // Receives up to a batch of datagrams, waiting for the first: their count, or <= 0.
  int Receive(int fd) {
    for (size_t i = 0; i < peers_.size(); ++i) {
      request_iov_[i] = {requests_.data() + i * kRequestSlotBytes, kRequestSlotBytes};
      incoming_[i] = {};
      incoming_[i].msg_hdr.msg_iov = &request_iov_[i];
      incoming_[i].msg_hdr.msg_iovlen = 1;
      incoming_[i].msg_hdr.msg_name = &peers_[i];
      incoming_[i].msg_hdr.msg_namelen = sizeof(PeerAddress);
    }
    return recvmmsg(fd, incoming_.data(), static_cast<unsigned>(peers_.size()), MSG_WAITFORONE,
                    nullptr);
  }

  std::string_view packet(size_t i) const {
    return {requests_.data() + i * kRequestSlotBytes, incoming_[i].msg_len};
  }
  // A datagram larger than its slot, cut short.
  bool truncated(size_t i) const { return (incoming_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0; }
  const PeerAddress& peer(size_t i) const { return peers_[i]; }
  socklen_t peer_length(size_t i) const { return incoming_[i].msg_hdr.msg_namelen; }

  // Queues `reply` to request i's peer; takes its bytes (and gives back a reserved buffer).
  void Queue(size_t i, std::string& reply) {
    std::string& stored_reply = replies_[i];
    stored_reply.swap(reply);
    wire::SplitForUdp(
        stored_reply, envelope_scratch_, [&](std::string_view head, std::string_view slice) {
          char* stored = envelopes_.data() + pieces_ * wire::kEnvelopeBytes;
          std::memcpy(stored, head.data(), wire::kEnvelopeBytes);
          reply_iov_[pieces_ * 2] = {stored, wire::kEnvelopeBytes};
          reply_iov_[pieces_ * 2 + 1] = {const_cast<char*>(slice.data()), slice.size()};
          outgoing_[pieces_] = {};
          outgoing_[pieces_].msg_hdr.msg_iov = &reply_iov_[pieces_ * 2];
          outgoing_[pieces_].msg_hdr.msg_iovlen = 2;
          outgoing_[pieces_].msg_hdr.msg_name = &peers_[i];
          outgoing_[pieces_].msg_hdr.msg_namelen = incoming_[i].msg_hdr.msg_namelen;
          ++pieces_;
        });
  }

  // Sends every queued datagram and empties the queue: how many the kernel refused (out of
  // buffers: dropped, clients retry).
  size_t Send(int fd) {
    size_t sent = 0;
    while (sent < pieces_) {
      int n = sendmmsg(fd, outgoing_.data() + sent, static_cast<unsigned>(pieces_ - sent), 0);
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        break;
      }
      sent += static_cast<size_t>(n);
    }
    const size_t unsent = pieces_ - sent;
    pieces_ = 0;
    return unsent;
  }

 private:
  static size_t MaxPieces(size_t max_reply_bytes) {
    return (max_reply_bytes + wire::kUdpPieceBytes - 1) / wire::kUdpPieceBytes + 1;
  }

  std::vector<char> requests_;
  std::vector<PeerAddress> peers_;
  std::vector<iovec> request_iov_;
  std::vector<mmsghdr> incoming_;
  std::vector<std::string> replies_;
  std::vector<char> envelopes_;
  std::vector<iovec> reply_iov_;
  std::vector<mmsghdr> outgoing_;
  std::string envelope_scratch_;
  size_t pieces_ = 0;
};

}  // namespace

struct UdpServer::Worker {
  std::shared_ptr<SharedSocket> socket;  // shared with the recursion replies in flight
  std::thread thread;
  query::PublishedCounters published;
  query::PrefixTally prefixes;
};

absl::StatusOr<std::unique_ptr<UdpServer>> UdpServer::Bind(const UdpOptions& options) {
  if (options.workers < 1 || options.batch < 1 || options.batch > 1024) {
    return absl::InvalidArgumentError("handle: udp workers must be >= 1 and batch 1..1024");
  }
  net::Endpoint endpoint = options.listen;
  std::unique_ptr<UdpServer> server(new UdpServer());
  server->options_ = options;
  server->health_ =
      std::make_shared<net::WorkerHealth>("handle-udp", static_cast<size_t>(options.workers));
  for (int i = 0; i < options.workers; ++i) {
    auto fd = BindSocket(endpoint);
    if (!fd.ok()) return fd.status();
    auto worker = std::make_unique<Worker>();
    worker->socket = std::make_shared<SharedSocket>(*fd);
    server->workers_.push_back(std::move(worker));
    if (i == 0) {
      sockaddr_storage bound{};
      socklen_t length = sizeof bound;
      getsockname(*fd, reinterpret_cast<sockaddr*>(&bound), &length);
      server->port_ = net::FromSockaddr(reinterpret_cast<const sockaddr*>(&bound)).port;
      endpoint.port = server->port_;  // the others join the same port
    }
  }
  return server;
}

absl::Status UdpServer::Start(store::Store& store, const query::QueryProcessor& processor) {
  store_ = &store;
  processor_ = &processor;
  for (size_t i = 0; i < workers_.size(); ++i) {
    Worker* w = workers_[i].get();
    w->thread = std::thread([this, w, i] { Run(*w, i); });
    RETURN_IF_ERROR(
        net::SetUpWorkerThread(w->thread, StrCat("handle-udp-", i), options_.realtime_priority));
  }
  return absl::OkStatus();
}

UdpServer::~UdpServer() { Stop(); }

void UdpServer::StopReading() {
  if (stopping_.exchange(true)) return;
  // Shutting the receiving side wakes a worker blocked in recvmmsg (it returns 0); the worker
  // then sees stopping_. Sending on the socket still works.
  for (auto& worker : workers_) shutdown(worker->socket->fd, SHUT_RD);
  for (auto& worker : workers_) {
    if (worker->thread.joinable()) worker->thread.join();
  }
}

void UdpServer::Stop() {
  StopReading();
  for (auto& worker : workers_) {
    worker->socket.reset();  // closed now, or by the last recursion reply still holding it
  }
}

void UdpServer::ForEachPrefix(
    const std::function<void(std::string_view, const query::QueryCounters&)>& fn) const {
  for (const auto& worker : workers_) worker->prefixes.ForEach(fn);
}

query::QueryCounters UdpServer::counters() const {
  query::QueryCounters sum;
  for (const auto& worker : workers_) worker->published.AddTo(sum);
  return sum;
}

// The worker's loop under a catch-all: a worker that ends, by an exception or because it cannot
// open a read transaction at all, says so, is counted as failing and fails /healthz.
void UdpServer::Run(Worker& worker, size_t index) {
  const std::string name = StrCat("handle-udp-", index);
  // The loop ends by itself only when the server stops; when it ends otherwise (no read
  // transaction, an exception) it starts again after a pause, failing meanwhile.
  while (!stopping_.load()) {
    health_->Run(index, name, [&] { RunLoop(worker, index); });
    if (stopping_.load()) break;
    std::this_thread::sleep_for(net::kWorkerRestartPause);  // a back-off, not a wait for a state
  }
}

// One loop's state, allocated once when it starts: the batch's buffers, the query scratch, the
// counters it publishes, the rate limiter's buckets and the pieces of requests sent in several
// datagrams.
struct UdpServer::Loop {
  Loop(const UdpOptions& options, const Worker& worker)
      : batch(static_cast<size_t>(options.batch), options.max_reply_bytes),
        limiter(options.rate_limit, options.rate_burst) {
    worker.published.AddTo(counters);  // a loop started again goes on from the published totals
  }
  DatagramBatch batch;
  query::QueryScratch scratch;
  query::QueryCounters counters;
  SourceLimiter limiter;
  RequestReassembler reassembler;
};

// Each round: receive a batch (waiting for the first datagram), renew the read transaction,
// handle every request, reset the transaction, send the batch's replies, publish the counters.
void UdpServer::RunLoop(Worker& worker, size_t index) {
  const std::string name = StrCat("handle-udp-", index);
  Loop loop(options_, worker);
  const int fd = worker.socket->fd;
  auto txn = store_->BeginRead();
  if (!txn.ok()) {
    health_->Failed(index, name, net::WorkerHealth::Failure::kOpen,
                    StrCat("cannot open a read transaction: ", ToStd(txn.status().message())));
    return;
  }
  txn->Reset();

  while (!stopping_.load(std::memory_order_relaxed)) {
    const int received = loop.batch.Receive(fd);
    if (received <= 0) continue;  // EINTR, EAGAIN, or the socket shut down by StopReading
    if (absl::Status renewed = txn->Renew(); !renewed.ok()) {
      // Not served: these requests are dropped (clients retry) and the next batch tries again.
      health_->Failed(index, name, net::WorkerHealth::Failure::kRenew,
                      StrCat("cannot renew its read transaction: ", ToStd(renewed.message())));
      loop.counters[query::QueryOutcome::kDropped] += static_cast<uint64_t>(received);
      worker.published.Publish(loop.counters);
      continue;
    }
    health_->Succeeded(index);
    const uint64_t now_ms = CoarseNowMs();
    loop.counters[query::QueryOutcome::kDropped] +=
        loop.reassembler.Expire(now_ms);  // never completed
    for (size_t i = 0; i < static_cast<size_t>(received); ++i) {
      HandleDatagram(worker, loop, *txn, i, now_ms);
    }
    txn->Reset();
    if (size_t unsent = loop.batch.Send(fd); unsent > 0) health_->SendFailed(unsent);
    worker.published.Publish(loop.counters);
  }
}

// Request i of the batch: dropped, rate limited, kept until its other pieces arrive, handed to
// the recursor, or answered (its reply queued in the batch).
void UdpServer::HandleDatagram(Worker& worker, Loop& loop, const store::ReadTxn& txn, size_t i,
                               uint64_t now_ms) {
  query::QueryCounters& counters = loop.counters;
  if (loop.batch.truncated(i)) {
    ++counters[query::QueryOutcome::kDropped];  // a datagram larger than the request slot
    return;
  }
  const PeerAddress& peer = loop.batch.peer(i);
  if (loop.limiter.enabled() && !loop.limiter.Allow(SourceKey(peer), now_ms)) {
    ++counters[query::QueryOutcome::kRateLimited];
    return;
  }
  std::string_view packet = loop.batch.packet(i);
  if (packet.size() >= wire::kEnvelopeBytes &&
      (static_cast<uint8_t>(packet[2]) & wire::envelope_flag::kTruncated) != 0) {
    std::string_view whole;
    switch (loop.reassembler.Feed(peer, packet, now_ms, whole)) {
      case RequestReassembler::Result::kIncomplete:
        return;
      case RequestReassembler::Result::kRejected:
        ++counters[query::QueryOutcome::kDropped];
        return;
      case RequestReassembler::Result::kComplete:
        packet = whole;
        break;
    }
  }
  query::QueryScratch& scratch = loop.scratch;
  query::QueryOutcome outcome = processor_->Process(packet, txn, scratch, options_.max_reply_bytes);
  if (scratch.deferred) {
    auto reply = [socket = worker.socket, peer, length = loop.batch.peer_length(i),
                  health = health_](std::string_view answer) {
      SendReply(socket->fd, peer, length, answer, *health);
    };
    if (processor_->Defer(query::DeferredRequest{std::string(packet), scratch.question,
                                                 options_.max_reply_bytes, std::move(reply)})) {
      ++counters[outcome];
      return;  // the recursor answers
    }
    outcome = query::QueryOutcome::kServerBusy;  // scratch.reply says so
  }
  ++counters[outcome];
  if (!scratch.counted_prefix.empty()) worker.prefixes.Count(scratch.counted_prefix, outcome);
  if (outcome != query::QueryOutcome::kDropped) loop.batch.Queue(i, scratch.reply);
}

}  // namespace idnode::udp
