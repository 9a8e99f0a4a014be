// Open connections are not a weapon: a real idnode process on 127.0.0.1 under 2,000 hostile TCP
// connections from eight other loopback addresses (half trickling a byte of a request now and
// then, half pipelining 16 KB of requests for a large record and never reading), reopened as
// soon as the node closes them, while a well-behaved client keeps resolving over TCP, on one
// persistent connection and on a new connection each time. Every one of its requests is
// answered, the node's resident memory stays under a stated bound, and each bound that acted is
// counted in /metrics.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "resolver/client/handle_client.h"
#include "tests/integration/node_process.h"
#include "tests/support/handle_vectors.h"
#include "tests/support/temp_dir.h"

namespace idnode {
namespace {

using client::HandleConnection;
using client::Transport;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr milliseconds kTimeout(5000);
// A newcomer's first reply: it waits in the listen queue behind the flood's reconnects, which a
// node built with AddressSanitizer accepts several times slower (seen past 5 s there, never in a
// Release build). How long that wait is under a flood is issue 25's to shorten.
constexpr milliseconds kNewcomerTimeout =
    testing::kAddressSanitizer ? milliseconds(15000) : kTimeout;
constexpr int kHostile = 2000;
constexpr int kSources = 8;  // 127.0.0.2 .. 127.0.0.9, 250 connections each
constexpr char kRequestTimeouts[] =
    "idnode_tcp_connections_closed_total{reason=\"request_timeout\"}";
// The node's resident memory under the attack. Today's bounds: at most 1,024 connections, each
// holding its read buffer (16 KiB) and at most 64 KiB of unsent replies plus one more reply
// (the 40 KB record here), about 120 KiB, over a baseline of about 40 MiB. Without the bounds,
// one such connection made the node hold about 38 MB.
constexpr int64_t kRssBoundKib = 256 * 1024;

// One hostile connection: a non-blocking socket from `source` to the node.
struct Hostile {
  int fd = -1;
  bool reader_stalled = false;  // pipelines requests and never reads; otherwise trickles
  bool connected = false;
  size_t trickled = 0;  // bytes of the trickled request sent so far
};

void OpenHostile(Hostile& hostile, uint32_t source, uint16_t port) {
  hostile.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (hostile.fd < 0) return;
  if (hostile.reader_stalled) {
    int small = 4096;  // a small window, so the node's replies back up quickly
    setsockopt(hostile.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  }
  sockaddr_storage local, server;
  const socklen_t local_length = net::Endpoint{source, 0}.ToSockaddr(local);
  const socklen_t server_length = net::Endpoint{0x7f000001, port}.ToSockaddr(server);
  if (bind(hostile.fd, reinterpret_cast<sockaddr*>(&local), local_length) != 0 ||
      (connect(hostile.fd, reinterpret_cast<sockaddr*>(&server), server_length) != 0 &&
       errno != EINPROGRESS)) {
    close(hostile.fd);
    hostile.fd = -1;
  }
  hostile.trickled = 0;
}

// True while the connection is being set up or open from the node's side.
bool StillOpen(int fd) {
  tcp_info info{};
  socklen_t length = sizeof info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) return false;
  return info.tcpi_state == TCP_ESTABLISHED || info.tcpi_state == TCP_SYN_SENT;
}

// The attack: every 100 ms, each connection the node closed is opened again, each newly
// connected staller sends its 16 KB of requests, and each trickler sends one more byte. It
// begins with the 1,000 tricklers alone (below the connection cap, so that they live until the
// request timeout closes them) and adds the 1,000 stallers once `all` is set.
void Attack(uint16_t port, const std::atomic<bool>& all, const std::atomic<bool>& stop,
            std::atomic<uint64_t>& reopened) {
  std::string pipelined;
  for (uint32_t id = 1; pipelined.size() < 16 * 1024; ++id) {
    pipelined += testing::BuildRequest("88.123.45/LARGE", 0x19000000, id);
  }
  const std::string trickle = testing::BuildRequest("88.123.45/SMALL", 0x19000000, 1);
  std::vector<Hostile> hostile(kHostile);
  auto source = [](int i) { return uint32_t{0x7f000002} + static_cast<uint32_t>(i % kSources); };
  for (int i = 0; i < kHostile; ++i) hostile[i].reader_stalled = i % 2 == 0;
  while (!stop.load()) {
    for (int i = 0; i < kHostile; ++i) {
      Hostile& h = hostile[i];
      if (h.reader_stalled && !all.load()) continue;
      if (h.fd >= 0 && !StillOpen(h.fd)) {
        close(h.fd);
        h.fd = -1;
      }
      if (h.fd < 0) {
        if (h.connected) reopened.fetch_add(1);  // closed by the node: opened again
        h.connected = false;
        OpenHostile(h, source(i), port);
        continue;
      }
      if (!h.connected) {
        tcp_info info{};
        socklen_t length = sizeof info;
        getsockopt(h.fd, IPPROTO_TCP, TCP_INFO, &info, &length);
        if (info.tcpi_state != TCP_ESTABLISHED) continue;
        h.connected = true;  // until the node closes it
        if (h.reader_stalled) {
          send(h.fd, pipelined.data(), pipelined.size(), MSG_NOSIGNAL);  // what fits
        }
      }
      if (!h.reader_stalled && h.trickled < trickle.size()) {
        if (send(h.fd, trickle.data() + h.trickled, 1, MSG_NOSIGNAL) == 1) ++h.trickled;
      }
    }
    std::this_thread::sleep_for(milliseconds(100));  // the attacker's pace
  }
  for (Hostile& h : hostile) {
    if (h.fd >= 0) close(h.fd);
  }
}

// The node's TCP samples in /metrics, for failure messages.
std::string TcpMetrics(const testing::NodeProcess& node) {
  std::istringstream body(testing::HttpRequest(node.http_port(), "/metrics").body);
  std::string line, out;
  while (std::getline(body, line)) {
    if (line.rfind("idnode_tcp_", 0) == 0) out += line + "\n";
  }
  return out;
}

TEST(TcpBoundsTest, HostileConnectionsNeitherLockClientsOutNorExhaustMemory) {
  // The test process and the node (which inherits the limit) each hold thousands of sockets.
  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  limit.rlim_cur = limit.rlim_max;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &limit), 0);
  ASSERT_GE(limit.rlim_cur, rlim_t{kHostile + 1024 + 512}) << "raise the hard open-file limit";

  testing::TempDir dir;
  std::string config = dir.Sub("idnode.toml");
  // Every bound at its default but the timeouts, shortened so that they act within the test.
  std::ofstream(config) << "[handle]\n"
                           "tcp_request_timeout_ms = 2000\n"
                           "tcp_write_timeout_ms = 3000\n";
  testing::NodeOptions options;
  options.extra_args = {"--config", config};
  testing::NodeProcess node(dir.Sub("node"), options);
  ASSERT_TRUE(node.Start());
  const std::string token = node.ProvisionRegistrant("acme", "88.123.45");
  ASSERT_FALSE(token.empty());
  ASSERT_TRUE(node.Create(token, testing::LargeRecord("88.123.45/LARGE", 40, 1000)).ok());
  const v1::CreateRequest small =
      testing::UrlRecord("88.123.45/SMALL", "https://example.com/small");
  ASSERT_TRUE(node.Create(token, small).ok());
  const int64_t rss_before = node.RssKib();

  const uint16_t port = static_cast<uint16_t>(node.handle_port());
  const net::Endpoint server{0x7f000001, port};
  std::atomic<bool> all{false};
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> reopened{0};
  std::thread attacker(Attack, port, std::cref(all), std::cref(stop), std::ref(reopened));
  // Stopped and joined however the test ends (a failed ASSERT returns early).
  struct Join {
    std::atomic<bool>& stop;
    std::thread& thread;
    ~Join() {
      stop = true;
      if (thread.joinable()) thread.join();
    }
  } join{stop, attacker};

  auto persistent = HandleConnection::Open(Transport::kTcp, server, kTimeout);
  ASSERT_TRUE(persistent.ok()) << persistent.status();
  auto resolve = [&](HandleConnection& connection, uint32_t id,
                     milliseconds timeout = kTimeout) -> absl::Status {
    std::string request = testing::BuildRequest("88.123.45/SMALL", 0x19000000, id);
    if (absl::Status sent = connection.Send(request); !sent.ok()) return sent;
    auto whole = connection.Receive(id, timeout);
    if (!whole.ok()) return whole.status();
    auto reply = client::DecodeReply(*whole, wire::opcode::kResolution);
    if (!reply.ok()) return reply.status();
    if (reply->header.response_code != wire::rc::kSuccess) {
      return absl::InternalError(client::ResponseCodeName(reply->header.response_code));
    }
    return absl::OkStatus();
  };

  // Until the bounds have acted (and for at least 6 s of attack): the trickles have hit the
  // request timeout, the stalled readers have been paused, and newcomers have made others give
  // way. (Whether a staller lives long enough to hit the write timeout depends on how fast the
  // flood turns over; tcp_test checks that timeout on its own.)
  auto acted = [&] {
    return node.Metric(kRequestTimeouts) > 0 &&
           node.Metric("idnode_tcp_connections_closed_total{reason=\"evicted\"}") > 0 &&
           node.Metric("idnode_tcp_read_pauses_total") > 0;
  };
  const auto started = steady_clock::now();
  const auto deadline = started + std::chrono::seconds(60);
  int answered = 0;
  int64_t rss_max = 0;
  uint32_t id = 1000;
  while (steady_clock::now() < deadline &&
         (steady_clock::now() - started < std::chrono::seconds(6) || !acted())) {
    absl::Status kept = resolve(*persistent, ++id);
    ASSERT_TRUE(kept.ok()) << "persistent connection, request " << id << ": " << kept << "\n"
                           << TcpMetrics(node);
    auto fresh = HandleConnection::Open(Transport::kTcp, server, kTimeout);
    ASSERT_TRUE(fresh.ok()) << fresh.status();
    absl::Status once = resolve(*fresh, ++id, kNewcomerTimeout);
    ASSERT_TRUE(once.ok()) << "new connection, request " << id << ": " << once << "\n"
                           << TcpMetrics(node);
    answered += 2;
    if (!all && node.Metric(kRequestTimeouts) > 0) all = true;  // the stallers join
    rss_max = std::max(rss_max, node.RssKib());
    // (AddressSanitizer's shadow memory and quarantine would make this a bound on them.)
    if (!testing::kAddressSanitizer) {
      ASSERT_LT(rss_max, kRssBoundKib) << "node RSS (KiB), " << rss_before << " before the attack";
    }
    std::this_thread::sleep_for(milliseconds(50));  // the well-behaved client's pace
  }
  stop = true;
  attacker.join();
  EXPECT_TRUE(acted()) << "not every bound acted within 60 s\n" << TcpMetrics(node);
  EXPECT_GT(reopened.load(), 0u);  // the node closed hostile connections, which came back
  EXPECT_LE(node.Metric("idnode_tcp_connections_open"), 1024 + 1);
  std::printf(
      "%d requests answered under attack; node RSS %lld KiB before, at most %lld KiB "
      "during (bound %lld); %llu hostile connections reopened\n",
      answered, static_cast<long long>(rss_before), static_cast<long long>(rss_max),
      static_cast<long long>(kRssBoundKib), static_cast<unsigned long long>(reopened.load()));
}

}  // namespace
}  // namespace idnode
