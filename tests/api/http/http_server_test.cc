// The HTTP server's bounds against slow and greedy clients, on a real loopback listener: a request
// must arrive whole within the deadline however it trickles, a newcomer at the cap takes the place
// of the least recently active connection of the heaviest sources, and one source holds at most
// its share.

#include "api/http/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/http_client.h"

namespace idnode::http {
namespace {

using namespace std::chrono_literals;

// A raw client connection from `source` (an address of 127.0.0.0/8) to 127.0.0.1:`port`.
class RawClient {
 public:
  RawClient(int port, const char* source = "127.0.0.1") : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in from{};
    from.sin_family = AF_INET;
    inet_pton(AF_INET, source, &from.sin_addr);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(port));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof from) == 0 &&
                 connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0;
  }
  ~RawClient() { close(fd_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }
  bool Send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  // True once the server has closed the connection (end of stream or reset) within `wait`.
  bool ClosedWithin(std::chrono::milliseconds wait) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(wait.count())) <= 0) return false;
    char byte;
    return recv(fd_, &byte, 1, MSG_DONTWAIT) <= 0;
  }

 private:
  int fd_;
  bool connected_ = false;
};

constexpr char kPartialRequest[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n";  // no end of header

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(size_t max_connections, size_t max_per_source,
                   std::chrono::milliseconds timeout) {
    HttpOptions options;
    options.max_connections = max_connections;
    options.max_per_source = max_per_source;
    options.timeout = timeout;
    options.listen = net::Endpoint(0x7f000001, 0);
    auto server = HttpServer::Bind(options, [](const Request& request) {
      if (request.path == "/throw-int") throw 42;  // not a std::exception
      if (request.path == "/throw") throw std::runtime_error("the handler failed");
      return Response::Text(200, "ok " + request.path + "\n");
    });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    server_->Start();
  }
  // Waits until `holds(stats)` (the server counts on its own thread, after the client sees it).
  template <typename Predicate>
  bool WaitFor(Predicate holds) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (holds(server_->stats())) return true;
      std::this_thread::sleep_for(1ms);  // polling the condition
    }
    return false;
  }
  // A connection from `source` that has sent part of a request header and stops there.
  std::unique_ptr<RawClient> Stalled(const char* source = "127.0.0.1") {
    auto client = std::make_unique<RawClient>(server_->port(), source);
    EXPECT_TRUE(client->connected() && client->Send(kPartialRequest)) << source;
    return client;
  }
  // Waits until `open` connections hold a place (the server accepts asynchronously).
  bool WaitForOpen(uint64_t open) {
    return WaitFor([open](const HttpStats& stats) { return stats.open == open; });
  }
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, ARequestMustArriveWholeWithinTheDeadlineHoweverItTrickles) {
  StartServer(64, 16, 300ms);
  RawClient client(server_->port());
  ASSERT_TRUE(client.connected());
  // One byte every 50 ms: each read is well within 300 ms, the request is not.
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  bool closed = false;
  for (size_t i = 0; i < 200 && !closed; ++i) {
    client.Send(std::string(1, request[i % request.size()]));
    closed = client.ClosedWithin(50ms);
  }
  EXPECT_TRUE(closed) << "a trickling request was never cut off";
  EXPECT_TRUE(WaitFor([](const HttpStats& stats) { return stats.timeouts == 1; }));
}

TEST_F(HttpServerTest, AtTheCapTheLeastRecentlyActiveConnectionGivesWayToAMonitor) {
  StartServer(8, 8, 60s);
  std::vector<std::unique_ptr<RawClient>> slow;
  for (int i = 0; i < 8; ++i) {
    slow.push_back(Stalled());
    ASSERT_TRUE(WaitForOpen(static_cast<uint64_t>(i + 1)));
  }
  // The monitor still gets its answer; the oldest slow client made room for it.
  const testing::HttpReply reply = testing::HttpRequest(server_->port(), "/healthz");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "ok /healthz\n");
  EXPECT_TRUE(slow.front()->ClosedWithin(5s));
  for (size_t i = 1; i < slow.size(); ++i) EXPECT_FALSE(slow[i]->ClosedWithin(0ms)) << i;
  EXPECT_EQ(server_->stats().evicted, 1u);  // counted before the monitor was served
  EXPECT_EQ(server_->stats().rejected, 0u);
}

TEST_F(HttpServerTest, OneSourceHoldsAtMostItsShareAndTheHeaviestGivesWay) {
  StartServer(4, 3, 60s);
  std::vector<std::unique_ptr<RawClient>> flood;
  for (int i = 0; i < 4; ++i) {
    flood.push_back(Stalled("127.0.0.1"));
    ASSERT_TRUE(WaitForOpen(static_cast<uint64_t>(std::min(i + 1, 3))));
  }
  // The fourth from 127.0.0.1 took the place of that source's oldest: it never holds more than 3.
  EXPECT_TRUE(flood[0]->ClosedWithin(5s));
  EXPECT_TRUE(WaitForOpen(3));
  const auto other = Stalled("127.0.0.2");
  ASSERT_TRUE(WaitForOpen(4));
  // At the cap, a second connection from 127.0.0.2 (it would hold 2) displaces one of the source
  // holding 3, not the one 127.0.0.2 already has, although that one is older than most.
  const auto second = Stalled("127.0.0.2");
  EXPECT_TRUE(flood[1]->ClosedWithin(5s));
  EXPECT_FALSE(other->ClosedWithin(200ms));
  EXPECT_TRUE(WaitForOpen(4));
  EXPECT_EQ(server_->stats().evicted, 2u);
}

// A handler that throws (anything) gets 500, is counted, and the server goes on; before, an
// exception that was not a std::exception ended the process.
TEST_F(HttpServerTest, AHandlerThatThrowsGets500AndIsCounted) {
  StartServer(8, 8, 60s);
  EXPECT_EQ(testing::HttpRequest(server_->port(), "/throw-int").status, 500);
  EXPECT_EQ(testing::HttpRequest(server_->port(), "/throw").status, 500);
  const testing::HttpReply reply = testing::HttpRequest(server_->port(), "/after");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "ok /after\n");
  const CaughtStats caught = server_->guard().stats();
  EXPECT_EQ(caught.exceptions, 2u);
  EXPECT_EQ(caught.last_error, "answering GET /throw: the handler failed");
}

TEST(HttpTargetUtf8Test, RefusesPathsAndParametersThatAreNotPrintableUtf8) {
  for (const char* target : {"/%FF", "/a%0Ab", "/x?day=%C0%AF", "/x?%1B=1", "/%E2%82"}) {
    auto request = ParseTarget("GET", target);
    EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument) << target;
  }
  auto chinese = ParseTarget("GET", "/%E6%A0%87%E8%AF%86?name=%E8%A7%A3%E6%9E%90");
  ASSERT_TRUE(chinese.ok()) << chinese.status();
  EXPECT_EQ(chinese->path, "/标识");
  EXPECT_EQ(*chinese->Param("name"), "解析");
}

}  // namespace
}  // namespace idnode::http
