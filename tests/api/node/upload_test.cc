// The statistics upload end to end: a node in this process with an injected clock makes three
// days of history, the authority's HTTPS receiver (a real TLS server on 127.0.0.1, certificate
// from deploy/tls-selfsigned.sh) is down while the reports fall due, then comes up and first
// answers 503; every report must arrive, be accepted exactly once, hold exact counts and nothing
// that identifies a product, and a restart must not send anything again.

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "api/node/node.h"
#include "api/node/stats_part.h"
#include "registry/base/strings.h"
#include "tests/support/fake_clock.h"
#include "tests/support/history.h"
#include "tests/support/provision.h"
#include "tests/support/temp_dir.h"

namespace idnode::node {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;
using nlohmann::json;
using std::chrono::milliseconds;

struct Received {
  std::string target, idempotency_key, authorization, content_type, body;
  int answered = 0;
};

// An HTTPS server answering POSTs one connection at a time, with the status `answer(n)` for the
// n-th request (0-based); it records every request.
class Receiver {
 public:
  Receiver(int port, const std::string& cert, const std::string& key,
           std::function<int(int)> answer)
      : tls_(asio::ssl::context::tls_server), answer_(std::move(answer)) {
    tls_.use_certificate_chain_file(cert);
    tls_.use_private_key_file(key, asio::ssl::context::pem);
    acceptor_.open(tcp::v4());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind({asio::ip::make_address_v4("127.0.0.1"), static_cast<uint16_t>(port)});
    acceptor_.listen();
    thread_ = std::thread([this] { Serve(); });
  }
  ~Receiver() {
    stopping_ = true;
    boost::system::error_code ec;
    tcp::socket poke(io_);
    poke.connect(acceptor_.local_endpoint(), ec);  // unblocks accept()
    thread_.join();
  }

  std::vector<Received> received() const {
    std::lock_guard lock(mu_);
    return received_;
  }

 private:
  void Serve() {
    while (!stopping_) {
      tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stopping_) continue;
      asio::ssl::stream<tcp::socket> stream(std::move(socket), tls_);
      stream.handshake(asio::ssl::stream_base::server, ec);
      if (ec) continue;
      boost::beast::flat_buffer buffer;
      bhttp::request<bhttp::string_body> request;
      bhttp::read(stream, buffer, request, ec);
      if (ec) continue;
      Received r;
      r.target = std::string(request.target());
      r.idempotency_key = std::string(request["Idempotency-Key"]);
      r.authorization = std::string(request[bhttp::field::authorization]);
      r.content_type = std::string(request[bhttp::field::content_type]);
      r.body = request.body();
      {
        std::lock_guard lock(mu_);
        r.answered = answer_(static_cast<int>(received_.size()));
        received_.push_back(r);
      }
      bhttp::response<bhttp::string_body> response{static_cast<bhttp::status>(r.answered), 11};
      response.body() = r.answered == 200 ? "{\"accepted\":true}" : "{\"error\":\"try later\"}";
      response.prepare_payload();
      bhttp::write(stream, response, ec);
      stream.shutdown(ec);
    }
  }

  asio::io_context io_;
  asio::ssl::context tls_;
  tcp::acceptor acceptor_{io_};
  std::function<int(int)> answer_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::vector<Received> received_;
  std::thread thread_;
};

// A port on 127.0.0.1 with nothing listening on it (for now).
int FreePort() {
  asio::io_context io;
  tcp::acceptor acceptor(io, {asio::ip::make_address_v4("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

template <typename Condition>
bool WaitFor(Condition done, milliseconds timeout = milliseconds(20'000)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

const uint32_t kDay = *stats::ParseDay("2026-11-19", "test");

class UploadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string script = std::string(IDNODE_SOURCE_DIR) + "/deploy/tls-selfsigned.sh " +
                               dir_.Sub("tls") + " 127.0.0.1 >/dev/null";
    ASSERT_EQ(std::system(script.c_str()), 0);
    std::ofstream(dir_.Sub("token")) << "secret-token\n";
    port_ = FreePort();
  }

  void StartNode(uint64_t timeout_ms = 5'000) {
    NodeConfig config;
    config.storage.data_dir = dir_.Sub("data");
    config.grpc.listen = "127.0.0.1:0";
    config.handle.listen = "127.0.0.1:0";
    config.http.listen = "";
    config.stats.flush_interval_ms = 600'000;
    config.upload.url = StrCat("https://127.0.0.1:", port_, "/v1/reports");
    config.upload.ca_file = dir_.Sub("tls/ca.pem");
    config.upload.token_file = dir_.Sub("token");
    config.upload.node_id = "node-7";
    config.upload.retry_initial_ms = 20;
    config.upload.retry_max_ms = 200;
    config.upload.timeout_ms = timeout_ms;
    config.clock = &clock_;
    auto node = Node::Start(config);
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = *std::move(node);
    channel_ = idctl::Connect(idctl::ConnectOptions{StrCat("127.0.0.1:", node_->grpc_port()), ""});
  }

  void Day(uint32_t day, int created, int resolved) {
    if (!history_) history_.emplace(clock_, channel_, token_);
    history_->Day(*node_, day, created, resolved);
  }

  v1::PendingUploadsResponse Pending() {
    v1::PendingUploadsResponse response;
    grpc::ClientContext context;
    idctl::Authorize(context, admin_token_);
    auto status = v1::Stats::NewStub(channel_)->PendingUploads(
        &context, v1::PendingUploadsRequest(), &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  testing::TempDir dir_;
  testing::FakeClock clock_{testing::LocalMillis(kDay, 9)};
  int port_ = 0;
  std::unique_ptr<Node> node_;
  std::shared_ptr<grpc::Channel> channel_;
  std::string admin_token_, token_;
  std::optional<testing::HistoryMaker> history_;
};

TEST_F(UploadTest, EveryReportArrivesExactlyOnceAfterTheReceiverComesBack) {
  StartNode();
  admin_token_ = node_->bootstrap_token();
  token_ = testing::ProvisionRegistrant(channel_, admin_token_, "acme", "88.123.45");
  ASSERT_FALSE(token_.empty());
  Day(kDay, 3, 5);
  Day(kDay + 1, 2, 4);
  Day(kDay + 2, 0, 1);

  // Past midnight after the third day, the receiver still down: three reports wait in the spool.
  clock_.Set(testing::LocalMillis(kDay + 3, 0, 30));
  node_->Find<UploadPart>()->Wake();
  ASSERT_TRUE(WaitFor([&] {
    UploadStats s = node_->Find<UploadPart>()->stats();
    return s.spooled == 3 && s.failures >= 2;
  })) << node_->Find<UploadPart>()->stats().spooled;
  EXPECT_NE(node_->Find<UploadPart>()->stats().last_error.find("connecting"), std::string::npos)
      << node_->Find<UploadPart>()->stats().last_error;
  v1::PendingUploadsResponse pending = Pending();
  ASSERT_EQ(pending.reports_size(), 3);
  EXPECT_EQ(pending.reports(0).report_id(), "node-7/2026-11-19/2026-11-19");
  EXPECT_EQ(pending.reports(1).first_day(), "2026-11-20");
  EXPECT_EQ(pending.reports(2).last_day(), "2026-11-21");
  EXPECT_EQ(pending.reports(2).created_at(), "2026-11-22T00:30:00+08:00");

  {
    // The receiver comes up and turns the first attempt away.
    Receiver receiver(port_, dir_.Sub("tls/server.pem"), dir_.Sub("tls/server.key"),
                      [](int n) { return n == 0 ? 503 : 200; });
    ASSERT_TRUE(WaitFor([&] { return node_->Find<UploadPart>()->stats().delivered == 3; }))
        << node_->Find<UploadPart>()->stats().last_error;
    EXPECT_EQ(Pending().reports_size(), 0);
    std::vector<Received> got = receiver.received();
    ASSERT_EQ(got.size(), 4u);
    EXPECT_EQ(got[0].answered, 503);
    EXPECT_EQ(got[0].idempotency_key, got[1].idempotency_key);  // the same report, again

    std::map<std::string, int> accepted;
    std::vector<json> reports;
    for (const Received& r : got) {
      EXPECT_EQ(r.target, "/v1/reports");
      EXPECT_EQ(r.content_type, "application/json");
      EXPECT_EQ(r.authorization, "Bearer secret-token");
      EXPECT_EQ(r.body.find("PUMP"), std::string::npos) << r.body;         // no identifiers
      EXPECT_EQ(r.body.find("example.com"), std::string::npos) << r.body;  // no values
      if (r.answered != 200) continue;
      ++accepted[r.idempotency_key];
      reports.push_back(json::parse(r.body));
      EXPECT_EQ(reports.back()["report_id"], r.idempotency_key);
    }
    ASSERT_EQ(accepted.size(), 3u);
    for (const auto& [id, times] : accepted) EXPECT_EQ(times, 1) << id;

    // Exact counts, per day and per enterprise prefix code.
    const std::tuple<const char*, int, int, int> expected[] = {
        {"2026-11-19", 3, 5, 3}, {"2026-11-20", 2, 4, 5}, {"2026-11-21", 0, 1, 5}};
    for (size_t i = 0; i < 3; ++i) {
      const auto& [date, created, resolutions, registered] = expected[i];
      const json& r = reports[i];
      EXPECT_EQ(r["node_id"], "node-7");
      EXPECT_EQ(r["node_prefix"], "88.123");
      EXPECT_EQ(r["period"]["first_day"], date);
      EXPECT_EQ(r["period"]["utc_offset"], "+08:00");
      ASSERT_EQ(r["days"].size(), 1u);
      EXPECT_EQ(r["days"][0]["date"], date);
      EXPECT_EQ(r["days"][0]["created"], created);
      EXPECT_EQ(r["days"][0]["resolutions"], resolutions);
      EXPECT_EQ(r["days"][0]["registered"], registered);
      EXPECT_EQ(r["totals"]["registered_at_end"], registered);
      ASSERT_EQ(r["prefixes"].size(), 1u) << r.dump();
      EXPECT_EQ(r["prefixes"][0]["prefix"], "88.123.45");
      EXPECT_EQ(r["prefixes"][0]["resolutions"], resolutions);
    }

    // A restart later that day makes and sends nothing new.
    node_->Shutdown();
    node_.reset();
    clock_.Set(testing::LocalMillis(kDay + 3, 1));
    StartNode();
    node_->Find<UploadPart>()->Wake();
    ASSERT_TRUE(WaitFor([&] { return node_->Find<UploadPart>()->stats().rounds >= 1; }));
    EXPECT_EQ(node_->Find<UploadPart>()->stats().spooled, 0u);
    EXPECT_EQ(receiver.received().size(), 4u);
  }
}

TEST_F(UploadTest, KeepsReportsFromAReceiverWhoseCertificateIsNotFromTheConfiguredCa) {
  const std::string script = std::string(IDNODE_SOURCE_DIR) + "/deploy/tls-selfsigned.sh " +
                             dir_.Sub("stranger") + " 127.0.0.1 >/dev/null";
  ASSERT_EQ(std::system(script.c_str()), 0);
  StartNode();
  admin_token_ = node_->bootstrap_token();
  clock_.Set(testing::LocalMillis(kDay + 1, 0, 5));
  Receiver impostor(port_, dir_.Sub("stranger/server.pem"), dir_.Sub("stranger/server.key"),
                    [](int) { return 200; });
  node_->Find<UploadPart>()->Wake();
  ASSERT_TRUE(WaitFor([&] { return node_->Find<UploadPart>()->stats().failures >= 2; }));
  EXPECT_NE(node_->Find<UploadPart>()->stats().last_error.find("the TLS handshake"),
            std::string::npos)
      << node_->Find<UploadPart>()->stats().last_error;
  EXPECT_EQ(node_->Find<UploadPart>()->stats().delivered, 0u);
  EXPECT_EQ(impostor.received().size(), 0u);
  EXPECT_EQ(Pending().reports_size(), 1);
}

// A receiver that accepts the connection and then says nothing holds the upload thread for its
// whole timeout (ten minutes here); registration and resolution go on meanwhile.
TEST_F(UploadTest, ASilentReceiverNeverBlocksRegistrationOrResolution) {
  asio::io_context io;
  tcp::acceptor silent(io, {asio::ip::make_address_v4("127.0.0.1"), static_cast<uint16_t>(port_)});
  StartNode(600'000);
  admin_token_ = node_->bootstrap_token();
  token_ = testing::ProvisionRegistrant(channel_, admin_token_, "acme", "88.123.45");
  ASSERT_FALSE(token_.empty());
  clock_.Set(testing::LocalMillis(kDay + 1, 0, 5));
  node_->Find<UploadPart>()->Wake();
  tcp::socket held(io);
  silent.accept(held);  // the upload is now waiting for the TLS handshake

  Day(kDay + 1, 50, 200);  // registrations, resolutions and two flushes, all through the writer
  EXPECT_EQ(node_->Find<UploadPart>()->stats().delivered, 0u);
  EXPECT_EQ(node_->Find<UploadPart>()->stats().spooled, 1u);
  held.close();  // lets the attempt fail at once, so the node stops quickly
  ASSERT_TRUE(WaitFor([&] { return node_->Find<UploadPart>()->stats().failures >= 1; }));
}

TEST_F(UploadTest, RefusesAPlainHttpUrlToAnotherHostAndABadCaFile) {
  NodeConfig config;
  config.storage.data_dir = dir_.Sub("data");
  config.grpc.listen = "127.0.0.1:0";
  config.handle.listen = "127.0.0.1:0";
  config.http.listen = "";
  config.upload.url = "http://192.0.2.1/reports";
  auto plain = Node::Start(config);
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.status().message().find("upload.url"), std::string::npos) << plain.status();
  config.upload.url = "https://127.0.0.1:1/reports";
  config.upload.ca_file = dir_.Sub("missing.pem");
  auto missing = Node::Start(config);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("upload.ca_file"), std::string::npos)
      << missing.status();
}

}  // namespace
}  // namespace idnode::node
