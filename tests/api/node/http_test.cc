// The node's HTTP port: /metrics judged by Prometheus' promtool, /api/stats against the report,
// /healthz, bad requests, and /dashboard rendered by headless Chromium with the node's own
// numbers. The node runs in this process with an injected clock, so three days of history can be
// made in a moment: registrations over gRPC and resolutions over gRPC, flushed per day.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <regex>

#include "api/http/http_server.h"
#include "api/http/prometheus.h"
#include "api/node/http_endpoints.h"
#include "api/node/node.h"
#include "registry/base/strings.h"
#include "tests/support/fake_clock.h"
#include "tests/support/history.h"
#include "tests/support/http_client.h"
#include "tests/support/provision.h"
#include "tests/support/temp_dir.h"

namespace idnode::node {
namespace {

using nlohmann::json;

TEST(HttpTargetTest, DecodesThePathAndTheQuery) {
  auto request = http::ParseTarget("GET", "/api/st%61ts?from=2026-11-01&x=a+b%2Fc&x=last&flag");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->path, "/api/stats");
  EXPECT_EQ(*request->Param("from"), "2026-11-01");
  EXPECT_EQ(*request->Param("x"), "last");
  EXPECT_EQ(*request->Param("flag"), "");
  EXPECT_EQ(request->Param("to"), nullptr);
  EXPECT_EQ(http::ParseTarget("GET", "/a?x=a+b")->query.at("x"), "a b");
  EXPECT_EQ(http::ParseTarget("GET", "/a+b")->path, "/a+b");  // '+' is a space only in queries
  for (const char* bad : {"/a%G1", "/a%4", "/a?x=%", "/a?%zz=1"}) {
    auto refused = http::ParseTarget("GET", bad);
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

constexpr MetricFamily kFirst{"test_first_total", MetricType::kCounter,
                              "First, with a back\\slash\nand a new line."};
constexpr MetricFamily kSecond{"test_second", MetricType::kGauge, "Second."};

TEST(ExpositionTest, WritesEachFamilyOnceWithItsSamplesTogether) {
  http::Exposition out;
  out.Add(kFirst, {{"a", "x"}}, uint64_t{1});
  out.Add(kSecond, {}, 2.5);
  out.Add(kFirst, {{"a", "q\"b\\c\nd"}}, uint64_t{18446744073709551615u});
  EXPECT_EQ(out.Render(),
            "# HELP test_first_total First, with a back\\\\slash\\nand a new line.\n"
            "# TYPE test_first_total counter\n"
            "test_first_total{a=\"x\"} 1\n"
            "test_first_total{a=\"q\\\"b\\\\c\\nd\"} 18446744073709551615\n"
            "# HELP test_second Second.\n"
            "# TYPE test_second gauge\n"
            "test_second 2.5\n");
}

const uint32_t kToday = *stats::ParseDay("2026-11-21", "test");

class HttpEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NodeConfig config;
    config.storage.data_dir = dir_.Sub("data");
    config.grpc.listen = "127.0.0.1:0";
    config.handle.listen = "127.0.0.1:0";
    config.http.listen = "127.0.0.1:0";
    config.stats.flush_interval_ms = 600'000;  // the test flushes
    config.clock = &clock_;
    auto node = Node::Start(config);
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = *std::move(node);
    port_ = node_->http_port();
    ASSERT_GT(port_, 0);
    channel_ = idctl::Connect(idctl::ConnectOptions{StrCat("127.0.0.1:", node_->grpc_port()), ""});
    token_ = testing::ProvisionRegistrant(channel_, node_->bootstrap_token(), "acme", "88.123.45");
    ASSERT_FALSE(token_.empty());
  }

  void Day(uint32_t day, int created, int resolved) {
    if (!history_) history_.emplace(clock_, channel_, token_);
    history_->Day(*node_, day, created, resolved);
  }

  // Three days: 60 registered and 250 resolutions, 60 and 120, then today 10 and 7.
  void MakeHistory() {
    Day(kToday - 2, 60, 250);
    Day(kToday - 1, 60, 120);
    Day(kToday, 10, 7);
  }

  testing::TempDir dir_;
  testing::FakeClock clock_{testing::LocalMillis(kToday - 2, 9)};
  std::unique_ptr<Node> node_;
  int port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
  std::string token_;
  std::optional<testing::HistoryMaker> history_;
};

// The sample line of `name` (with its labels) in an exposition, or "" when absent.
std::string Sample(const std::string& exposition, const std::string& name) {
  size_t at = exposition.find("\n" + name + " ");
  if (at == std::string::npos) return "";
  size_t end = exposition.find('\n', at + 1);
  return exposition.substr(at + 1, end - at - 1);
}

TEST_F(HttpEndpointTest, MetricsPassPromtoolAndCarryTheNodesNumbers) {
  MakeHistory();
  testing::HttpReply reply = testing::HttpRequest(port_, "/metrics");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.content_type, "text/plain; version=0.0.4; charset=utf-8");

  auto [rc, complaints] = testing::PromtoolCheck(reply.body, dir_.Sub("metrics.txt"));
  EXPECT_EQ(rc, 0) << complaints;
  EXPECT_EQ(complaints, "") << "promtool check metrics:\n" << complaints;

  // Every family is declared exactly once.
  std::regex type_line("# TYPE (\\S+) ");
  std::map<std::string, int> declared;
  for (auto it = std::sregex_iterator(reply.body.begin(), reply.body.end(), type_line);
       it != std::sregex_iterator(); ++it) {
    ++declared[(*it)[1]];
  }
  EXPECT_GE(declared.size(), 20u);
  for (const auto& [name, count] : declared) EXPECT_EQ(count, 1) << name;

  const std::string& m = reply.body;
  EXPECT_EQ(Sample(m, "idnode_identifiers_registered"), "idnode_identifiers_registered 130");
  EXPECT_EQ(Sample(m, "idnode_identifiers_created_today"), "idnode_identifiers_created_today 10");
  EXPECT_EQ(Sample(m, "idnode_resolutions_today"), "idnode_resolutions_today 7");
  EXPECT_NE(
      m.find("\nidnode_resolution_requests_total{transport=\"grpc\",outcome=\"found\"} 377\n"),
      std::string::npos);
  EXPECT_NE(m.find("\nidnode_resolution_requests_total{transport=\"udp\",outcome=\"found\"} 0\n"),
            std::string::npos);
  EXPECT_NE(m.find("\nidnode_threshold_met{threshold=\"acceptance_registered\"} 1\n"),
            std::string::npos);
  EXPECT_NE(m.find("\nidnode_threshold_met{threshold=\"acceptance_daily\"} 0\n"),
            std::string::npos);
  EXPECT_NE(m.find("\nidnode_threshold_target{threshold=\"bonus_new_in_year\"} 100000000\n"),
            std::string::npos);
  // (250 + 120) / 30 full days.
  EXPECT_NE(m.find("\nidnode_threshold_measured{threshold=\"acceptance_daily\"} 12.333333333333"),
            std::string::npos);
  EXPECT_EQ(Sample(m, "idnode_stats_flush_failures_total"), "idnode_stats_flush_failures_total 0");
}

TEST_F(HttpEndpointTest, ApiStatsIsTheReport) {
  MakeHistory();
  testing::HttpReply reply =
      testing::HttpRequest(port_, "/api/stats?from=2026-11-19&to=2026-11-21&by_prefix=true");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.content_type, "application/json");
  json report = json::parse(reply.body);
  EXPECT_EQ(report["node_prefix"], "88.123");
  EXPECT_EQ(report["today"], "2026-11-21");
  EXPECT_EQ(report["registered"], "130");
  ASSERT_EQ(report["days"].size(), 3u);
  const std::pair<const char*, const char*> expected[] = {
      {"250", "60"}, {"120", "120"}, {"7", "130"}};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(report["days"][i]["resolutions"], expected[i].first) << i;
    EXPECT_EQ(report["days"][i]["registered"], expected[i].second) << i;
  }
  ASSERT_EQ(report["prefixes"].size(), 1u);
  EXPECT_EQ(report["prefixes"][0]["prefix"], "88.123.45");
  EXPECT_EQ(report["prefixes"][0]["resolutions"], "377");
  ASSERT_EQ(report["thresholds"].size(), 4u);
  EXPECT_EQ(report["thresholds"][0]["id"], "acceptance_registered");
  EXPECT_EQ(report["thresholds"][0]["met"], true);

  // The default range is the last 30 days, today included; no prefixes unless asked.
  json plain = json::parse(testing::HttpRequest(port_, "/api/stats").body);
  EXPECT_EQ(plain["days"].size(), 30u);
  EXPECT_EQ(plain["prefixes"].size(), 0u);
  // Ranges in the future are well formed, with zeros.
  json future = json::parse(testing::HttpRequest(port_, "/api/stats?from=2027-01-01").body);
  EXPECT_EQ(future["days"].size(), 0u) << future.dump();
}

TEST_F(HttpEndpointTest, RefusesBadRequestsWithAMessageAndKeepsServing) {
  struct Case {
    std::string target;
    int status;
    std::string message;
  };
  const Case cases[] = {
      {"/api/stats?from=2026-13-01", 400, "from: \\\"2026-13-01\\\" is not a valid date"},
      {"/api/stats?from=2026-11-10&to=2026-11-01", 400, "to"},
      {"/api/stats?by_prefix=maybe", 400, "by_prefix: \\\"maybe\\\" is not true or false"},
      {"/api/stats?form=2026-11-01", 400, "unknown parameter \\\"form\\\""},
      {"/metrics?x=1", 400, "/metrics takes no parameters"},
      {"/api/stats?from=%zz", 400, "malformed percent escape"},
      {"/nope", 404, "no such page: /nope"},
      // Not UTF-8, or a control character: refused before any page sees it (a JSON error body
      // naming such a path used to throw, answering 500 and logging the raw path).
      {"/%FF%FE", 400, "path: invalid UTF-8 at byte offset 1"},
      {"/%0A%5Binfo%5D%20idnode:%20FORGED", 400, "path: control character"},
      {"/api/stats?from=%C3", 400, "query parameter from: invalid UTF-8"},
  };
  for (const Case& c : cases) {
    testing::HttpReply reply = testing::HttpRequest(port_, c.target);
    EXPECT_EQ(reply.status, c.status) << c.target;
    EXPECT_NE(reply.body.find(c.message), std::string::npos) << c.target << ": " << reply.body;
  }
  testing::HttpReply post = testing::HttpRequest(port_, "/metrics", "POST");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.allow, "GET, HEAD");
  testing::HttpReply huge =
      testing::HttpRequest(port_, "/healthz", "GET", "X-Padding: " + std::string(20000, 'x'));
  EXPECT_EQ(huge.status, 400) << huge.body;
  testing::HttpReply head = testing::HttpRequest(port_, "/healthz", "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  EXPECT_NE(head.content_length, "0");

  // Still serving, and the refusals were counted.
  testing::HttpReply health = testing::HttpRequest(port_, "/healthz");
  ASSERT_EQ(health.status, 200);
  EXPECT_EQ(json::parse(health.body)["status"], "ok");
  // The bad escape, the three that are not printable UTF-8, POST and the huge header.
  EXPECT_EQ(node_->Find<HttpEndpoints>()->stats().refused, 6u);
}

// The dashboard as an operator's browser shows it: the page's script fetches /api/stats and
// draws SVG charts; Chromium writes the DOM after the script ran.
TEST_F(HttpEndpointTest, DashboardDrawsTheNodesNumbersInChromium) {
  MakeHistory();
  auto [rc, dom] = testing::ChromiumDumpDom(StrCat("http://127.0.0.1:", port_, "/dashboard"),
                                            dir_.Sub("chromium-profile"));
  ASSERT_EQ(rc, 0) << dom;
  ASSERT_NE(dom.find("<body data-state=\"ready\">"), std::string::npos) << dom;

  // Daily resolutions as bars, and registered identifiers at the end of each day as points.
  const std::tuple<const char*, int, int> days[] = {
      {"2026-11-19", 250, 60}, {"2026-11-20", 120, 120}, {"2026-11-21", 7, 130}};
  for (const auto& [day, resolutions, registered] : days) {
    EXPECT_TRUE(std::regex_search(dom, std::regex(StrCat("<rect class=\"bar\"[^>]*data-day=\"", day,
                                                         "\" data-value=\"", resolutions, "\""))))
        << day;
    EXPECT_TRUE(
        std::regex_search(dom, std::regex(StrCat("<circle class=\"point\"[^>]*data-day=\"", day,
                                                 "\" data-value=\"", registered, "\""))))
        << day;
  }
  // A day with nothing is drawn as zero, not left out.
  EXPECT_TRUE(std::regex_search(
      dom, std::regex("<rect class=\"bar\"[^>]*data-day=\"2026-11-18\" data-value=\"0\"")));

  // The threshold lines, at the configured targets.
  EXPECT_TRUE(std::regex_search(
      dom, std::regex("<line class=\"threshold acceptance\"[^>]*data-threshold=\"acceptance_"
                      "daily\" data-target=\"200\"")));
  EXPECT_TRUE(std::regex_search(
      dom, std::regex("<line class=\"threshold acceptance\"[^>]*data-threshold=\"acceptance_"
                      "registered\" data-target=\"100\"")));
  // 30,000 a day is more than three times the highest bar: said, not drawn.
  EXPECT_EQ(dom.find("data-threshold=\"bonus_daily\""), std::string::npos);
  EXPECT_NE(dom.find("bonus &gt; 30,000 a day: off the scale"), std::string::npos);

  // Met and not met, per threshold.
  EXPECT_NE(dom.find("id=\"threshold-acceptance_registered\" data-met=\"true\""),
            std::string::npos);
  EXPECT_NE(dom.find("id=\"threshold-acceptance_daily\" data-met=\"false\""), std::string::npos);
  EXPECT_NE(dom.find("id=\"threshold-bonus_daily\" data-met=\"false\""), std::string::npos);
  EXPECT_NE(dom.find("130 ≥ 100"), std::string::npos);
  EXPECT_NE(dom.find("<span id=\"node\">88.123</span>"), std::string::npos);
}

}  // namespace
}  // namespace idnode::node
