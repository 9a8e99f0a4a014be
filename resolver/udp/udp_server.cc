#include "resolver/udp/udp_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "registry/base/strings.h"

namespace idnode::resolver {
namespace {

constexpr size_t kRequestSlotBytes = 4096;

absl::StatusOr<sockaddr_in> ParseIpv4(const std::string& listen) {
  size_t colon = listen.rfind(':');
  sockaddr_in address{};
  address.sin_family = AF_INET;
  int port = -1;
  if (colon != std::string::npos) {
    std::string port_text = listen.substr(colon + 1);
    if (!port_text.empty() && port_text.size() <= 5 &&
        port_text.find_first_not_of("0123456789") == std::string::npos) {
      port = std::stoi(port_text);
    }
  }
  if (colon == std::string::npos || port < 0 || port > 65535 ||
      inet_pton(AF_INET, listen.substr(0, colon).c_str(), &address.sin_addr) != 1) {
    return absl::InvalidArgumentError(
        StrCat("handle.listen: \"", listen, "\" is not an IPv4 HOST:PORT, e.g. 127.0.0.1:2641"));
  }
  address.sin_port = htons(static_cast<uint16_t>(port));
  return address;
}

absl::StatusOr<int> BindSocket(const sockaddr_in& address, const std::string& listen) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(StrCat("handle.listen: socket: ", strerror(errno)));
  int one = 1;
  int buffer = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    int error = errno;
    close(fd);
    return absl::UnavailableError(
        StrCat("handle.listen: cannot bind UDP ", listen, ": ", strerror(error)));
  }
  return fd;
}

}  // namespace

struct UdpServer::Worker {
  int fd = -1;
  std::thread thread;
  std::array<std::atomic<uint64_t>, static_cast<size_t>(QueryOutcome::kCount)> published{};
};

absl::StatusOr<std::unique_ptr<UdpServer>> UdpServer::Start(const UdpOptions& options,
                                                            store::Store& store,
                                                            const QueryProcessor& processor) {
  if (options.workers < 1 || options.batch < 1 || options.batch > 1024) {
    return absl::InvalidArgumentError("handle: udp workers must be >= 1 and batch 1..1024");
  }
  auto address = ParseIpv4(options.listen);
  if (!address.ok()) return address.status();
  std::unique_ptr<UdpServer> server(new UdpServer());
  server->options_ = options;
  server->store_ = &store;
  server->processor_ = &processor;
  for (int i = 0; i < options.workers; ++i) {
    auto fd = BindSocket(*address, options.listen);
    if (!fd.ok()) return fd.status();
    auto worker = std::make_unique<Worker>();
    worker->fd = *fd;
    if (i == 0) {
      sockaddr_in bound{};
      socklen_t length = sizeof bound;
      getsockname(*fd, reinterpret_cast<sockaddr*>(&bound), &length);
      server->port_ = ntohs(bound.sin_port);
      address->sin_port = bound.sin_port;  // the others join the same port
    }
    server->workers_.push_back(std::move(worker));
  }
  for (auto& worker : server->workers_) {
    Worker* w = worker.get();
    UdpServer* self = server.get();
    w->thread = std::thread([self, w] { self->Run(*w); });
  }
  return server;
}

UdpServer::~UdpServer() { Stop(); }

void UdpServer::Stop() {
  if (stopping_.exchange(true)) return;
  // shutdown() wakes a worker blocked in recvmmsg; it then sees stopping_.
  for (auto& worker : workers_) shutdown(worker->fd, SHUT_RDWR);
  for (auto& worker : workers_) {
    if (worker->thread.joinable()) worker->thread.join();
    close(worker->fd);
  }
}

QueryCounters UdpServer::counters() const {
  QueryCounters sum;
  for (const auto& worker : workers_) {
    for (size_t i = 0; i < sum.outcomes.size(); ++i) {
      sum.outcomes[i] += worker->published[i].load(std::memory_order_relaxed);
    }
  }
  return sum;
}

void UdpServer::Run(Worker& worker) {
  const size_t batch = static_cast<size_t>(options_.batch);
  const size_t max_pieces_per_reply =
      (options_.max_reply_bytes + wire::kUdpPieceBytes - 1) / wire::kUdpPieceBytes + 1;
  // Everything the loop touches is allocated here, once.
  std::vector<char> requests(batch * kRequestSlotBytes);
  std::vector<sockaddr_in> peers(batch);
  std::vector<iovec> request_iov(batch);
  std::vector<mmsghdr> incoming(batch);
  std::vector<std::string> replies(batch);
  std::vector<char> envelopes(batch * max_pieces_per_reply * wire::kEnvelopeBytes);
  std::vector<iovec> reply_iov(batch * max_pieces_per_reply * 2);
  std::vector<mmsghdr> outgoing(batch * max_pieces_per_reply);
  std::string envelope_scratch;
  QueryScratch scratch;
  QueryCounters counters;
  for (std::string& reply : replies) reply.reserve(options_.max_reply_bytes + 1024);

  auto txn = store_->BeginRead();
  if (!txn.ok()) return;
  txn->Reset();

  while (!stopping_.load(std::memory_order_relaxed)) {
    for (size_t i = 0; i < batch; ++i) {
      request_iov[i] = {requests.data() + i * kRequestSlotBytes, kRequestSlotBytes};
      incoming[i] = {};
      incoming[i].msg_hdr.msg_iov = &request_iov[i];
      incoming[i].msg_hdr.msg_iovlen = 1;
      incoming[i].msg_hdr.msg_name = &peers[i];
      incoming[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
    }
    int received =
        recvmmsg(worker.fd, incoming.data(), static_cast<unsigned>(batch), MSG_WAITFORONE, nullptr);
    if (received <= 0) {
      if (received < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (stopping_.load()) break;
      continue;
    }
    if (!txn->Renew().ok()) break;
    size_t pieces = 0;
    for (int i = 0; i < received; ++i) {
      const mmsghdr& in = incoming[static_cast<size_t>(i)];
      std::string_view packet(requests.data() + static_cast<size_t>(i) * kRequestSlotBytes,
                              in.msg_len);
      if ((in.msg_hdr.msg_flags & MSG_TRUNC) != 0) {
        ++counters[QueryOutcome::kDropped];  // a datagram larger than the request slot
        continue;
      }
      // A piece of a multi-packet request carries the whole message's length, so the
      // processor drops it as incomplete (counted).
      QueryOutcome outcome = processor_->Process(packet, *txn, scratch, options_.max_reply_bytes);
      ++counters[outcome];
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
                const_cast<sockaddr_in*>(&peers[static_cast<size_t>(i)]);
            outgoing[pieces].msg_hdr.msg_namelen = in.msg_hdr.msg_namelen;
            ++pieces;
          });
    }
    txn->Reset();
    for (size_t sent = 0; sent < pieces;) {
      int n = sendmmsg(worker.fd, outgoing.data() + sent, static_cast<unsigned>(pieces - sent), 0);
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        break;  // the kernel is out of buffers: drop the rest, clients retry
      }
      sent += static_cast<size_t>(n);
    }
    for (size_t k = 0; k < counters.outcomes.size(); ++k) {
      worker.published[k].store(counters.outcomes[k], std::memory_order_relaxed);
    }
  }
}

}  // namespace idnode::resolver
