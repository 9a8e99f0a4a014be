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

namespace idnode::resolver {
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

}  // namespace

struct UdpServer::Worker {
  std::shared_ptr<SharedSocket> socket;  // shared with the recursion replies in flight
  std::thread thread;
  PublishedCounters published;
  PrefixTally prefixes;
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

absl::Status UdpServer::Start(store::Store& store, const QueryProcessor& processor) {
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
    const std::function<void(std::string_view, const QueryCounters&)>& fn) const {
  for (const auto& worker : workers_) worker->prefixes.ForEach(fn);
}

QueryCounters UdpServer::counters() const {
  QueryCounters sum;
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

void UdpServer::RunLoop(Worker& worker, size_t index) {
  const std::string name = StrCat("handle-udp-", index);
  const size_t batch = static_cast<size_t>(options_.batch);
  const size_t max_pieces_per_reply =
      (options_.max_reply_bytes + wire::kUdpPieceBytes - 1) / wire::kUdpPieceBytes + 1;
  // Everything the loop touches is allocated here, once.
  std::vector<char> requests(batch * kRequestSlotBytes);
  std::vector<PeerAddress> peers(batch);
  std::vector<iovec> request_iov(batch);
  std::vector<mmsghdr> incoming(batch);
  std::vector<std::string> replies(batch);
  std::vector<char> envelopes(batch * max_pieces_per_reply * wire::kEnvelopeBytes);
  std::vector<iovec> reply_iov(batch * max_pieces_per_reply * 2);
  std::vector<mmsghdr> outgoing(batch * max_pieces_per_reply);
  std::string envelope_scratch;
  QueryScratch scratch;
  QueryCounters counters;
  worker.published.AddTo(counters);  // a loop started again goes on from the published totals
  SourceLimiter limiter(options_.rate_limit, options_.rate_burst);
  RequestReassembler reassembler;
  for (std::string& reply : replies) reply.reserve(options_.max_reply_bytes + 1024);

  const int fd = worker.socket->fd;
  auto txn = store_->BeginRead();
  if (!txn.ok()) {
    health_->Failed(index, name, net::WorkerHealth::Failure::kOpen,
                    StrCat("cannot open a read transaction: ", ToStd(txn.status().message())));
    return;
  }
  txn->Reset();

  while (!stopping_.load(std::memory_order_relaxed)) {
    for (size_t i = 0; i < batch; ++i) {
      request_iov[i] = {requests.data() + i * kRequestSlotBytes, kRequestSlotBytes};
      incoming[i] = {};
      incoming[i].msg_hdr.msg_iov = &request_iov[i];
      incoming[i].msg_hdr.msg_iovlen = 1;
      incoming[i].msg_hdr.msg_name = &peers[i];
      incoming[i].msg_hdr.msg_namelen = sizeof(PeerAddress);
    }
    int received =
        recvmmsg(fd, incoming.data(), static_cast<unsigned>(batch), MSG_WAITFORONE, nullptr);
    if (received <= 0) {
      if (received < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (stopping_.load()) break;
      continue;
    }
    if (absl::Status renewed = txn->Renew(); !renewed.ok()) {
      // Not served: these requests are dropped (clients retry) and the next batch tries again.
      health_->Failed(index, name, net::WorkerHealth::Failure::kRenew,
                      StrCat("cannot renew its read transaction: ", ToStd(renewed.message())));
      counters[QueryOutcome::kDropped] += static_cast<uint64_t>(received);
      worker.published.Publish(counters);
      continue;
    }
    health_->Succeeded(index);
    size_t pieces = 0;
    const uint64_t now_ms = CoarseNowMs();
    counters[QueryOutcome::kDropped] += reassembler.Expire(now_ms);  // pieces never completed
    for (int i = 0; i < received; ++i) {
      const mmsghdr& in = incoming[static_cast<size_t>(i)];
      std::string_view packet(requests.data() + static_cast<size_t>(i) * kRequestSlotBytes,
                              in.msg_len);
      if ((in.msg_hdr.msg_flags & MSG_TRUNC) != 0) {
        ++counters[QueryOutcome::kDropped];  // a datagram larger than the request slot
        continue;
      }
      if (limiter.enabled() && !limiter.Allow(SourceKey(peers[static_cast<size_t>(i)]), now_ms)) {
        ++counters[QueryOutcome::kRateLimited];
        continue;
      }
      if (packet.size() >= wire::kEnvelopeBytes &&
          (static_cast<uint8_t>(packet[2]) & wire::envelope_flag::kTruncated) != 0) {
        std::string_view whole;
        switch (reassembler.Feed(peers[static_cast<size_t>(i)], packet, now_ms, whole)) {
          case RequestReassembler::Result::kIncomplete:
            continue;
          case RequestReassembler::Result::kRejected:
            ++counters[QueryOutcome::kDropped];
            continue;
          case RequestReassembler::Result::kComplete:
            packet = whole;
            break;
        }
      }
      QueryOutcome outcome = processor_->Process(packet, *txn, scratch, options_.max_reply_bytes);
      if (scratch.deferred) {
        auto reply = [socket = worker.socket, peer = peers[static_cast<size_t>(i)],
                      length = in.msg_hdr.msg_namelen, health = health_](std::string_view whole) {
          SendReply(socket->fd, peer, length, whole, *health);
        };
        if (processor_->Defer(DeferredRequest{std::string(packet), scratch.question,
                                              options_.max_reply_bytes, std::move(reply)})) {
          ++counters[outcome];
          continue;  // the recursor answers
        }
        outcome = QueryOutcome::kServerBusy;  // scratch.reply says so
      }
      ++counters[outcome];
      if (!scratch.counted_prefix.empty()) worker.prefixes.Count(scratch.counted_prefix, outcome);
      if (outcome == QueryOutcome::kDropped) continue;
      std::string& reply = replies[static_cast<size_t>(i)];
      reply.swap(scratch.reply);
      wire::SplitForUdp(
          reply, envelope_scratch, [&](std::string_view head, std::string_view slice) {
            char* stored = envelopes.data() + pieces * wire::kEnvelopeBytes;
            std::memcpy(stored, head.data(), wire::kEnvelopeBytes);
            reply_iov[pieces * 2] = {stored, wire::kEnvelopeBytes};
            reply_iov[pieces * 2 + 1] = {const_cast<char*>(slice.data()), slice.size()};
            outgoing[pieces] = {};
            outgoing[pieces].msg_hdr.msg_iov = &reply_iov[pieces * 2];
            outgoing[pieces].msg_hdr.msg_iovlen = 2;
            outgoing[pieces].msg_hdr.msg_name =
                const_cast<PeerAddress*>(&peers[static_cast<size_t>(i)]);
            outgoing[pieces].msg_hdr.msg_namelen = in.msg_hdr.msg_namelen;
            ++pieces;
          });
    }
    txn->Reset();
    for (size_t sent = 0; sent < pieces;) {
      int n = sendmmsg(fd, outgoing.data() + sent, static_cast<unsigned>(pieces - sent), 0);
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        health_->SendFailed(pieces - sent);
        break;  // the kernel is out of buffers: drop the rest, clients retry
      }
      sent += static_cast<size_t>(n);
    }
    worker.published.Publish(counters);
  }
}

}  // namespace idnode::resolver
