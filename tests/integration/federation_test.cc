// Federation with real processes on 127.0.0.1: one top node (TLS on its gRPC) and secondary nodes
// that register their prefixes with it, a client that knows only the top node walking to
// identifiers on both secondaries over UDP and TCP, the top node down while a prefix is
// allocated, grants and credentials refused, malformed registrations, and a referral loop.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "resolver/client/walk.h"
#include "tests/integration/node_process.h"
#include "tests/support/http_client.h"
#include "tests/support/temp_dir.h"

namespace idnode {
namespace {

using client::Transport;
using std::chrono::steady_clock;

constexpr uint32_t kLoopback = 0x7f000001;

bool MakeCertificates(const std::string& out) {
  std::string command =
      std::string(IDNODE_SOURCE_DIR) + "/deploy/tls-selfsigned.sh " + out + " 127.0.0.1 >/dev/null";
  return std::system(command.c_str()) == 0;
}

std::string WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  return path;
}

net::Endpoint HandleEndpoint(const testing::NodeProcess& node) {
  return net::Endpoint{kLoopback, static_cast<uint16_t>(node.handle_port())};
}

absl::StatusOr<client::HandleReply> Ask(const testing::NodeProcess& node, const std::string& handle,
                                        uint32_t flags = 0) {
  client::HandleRequest request;
  request.handle = handle;
  request.flags |= flags;
  return client::Query(Transport::kUdp, HandleEndpoint(node), request);
}

// Polls `node` until `handle` resolves (RC 1) or 60 s pass; true when it did.
bool WaitForRecord(const testing::NodeProcess& node, const std::string& handle) {
  const auto deadline = steady_clock::now() + std::chrono::seconds(60);
  while (steady_clock::now() < deadline) {
    auto reply = Ask(node, handle);
    if (reply.ok() && reply->header.response_code == wire::rc::kSuccess) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling the condition
  }
  return false;
}

v1::FederationStatusResponse FederationStatus(const testing::NodeProcess& node) {
  v1::FederationStatusResponse response;
  grpc::ClientContext context;
  idctl::Authorize(context, node.admin_token());
  auto status = v1::Federation::NewStub(node.Channel())->Status(&context, {}, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response;
}

// Polls the secondary's federation status until `done(status)` or 60 s pass.
template <typename Done>
bool WaitForStatus(const testing::NodeProcess& node, Done done) {
  const auto deadline = steady_clock::now() + std::chrono::seconds(60);
  while (steady_clock::now() < deadline) {
    if (done(FederationStatus(node))) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling the condition
  }
  return false;
}

void Register(const testing::NodeProcess& node, const std::string& token, const std::string& id,
              const std::string& url) {
  v1::CreateRequest create;
  create.set_identifier(id);
  v1::Value* value = create.add_values();
  value->set_index(1);
  value->set_type("URL");
  value->set_data(url);
  ASSERT_TRUE(node.Create(token, create).ok()) << id;
}

// A top node with TLS on a fixed port, and secondaries that register with it.
class FederationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(MakeCertificates(dir_.Sub("tls")));
    top_port_ = testing::FreePort();
    ASSERT_GT(top_port_, 0);
    WriteFile(dir_.Sub("top.toml"),
              "[node]\nprefix = \"88\"\nrole = \"top\"\n[grpc]\ntls_cert = \"" +
                  dir_.Sub("tls/server.pem") + "\"\ntls_key = \"" + dir_.Sub("tls/server.key") +
                  "\"\n");
  }

  std::unique_ptr<testing::NodeProcess> Top() const {
    return std::make_unique<testing::NodeProcess>(
        dir_.Sub("top"),
        testing::NodeOptions{
            {"--config", dir_.Sub("top.toml")}, dir_.Sub("tls/ca.pem"), top_port_, 0});
  }

  // A secondary node with prefix `prefix` whose node credential is `token`; `more` is added to
  // its config file's [federation] section, `sections` after it.
  std::unique_ptr<testing::NodeProcess> Secondary(const std::string& name,
                                                  const std::string& prefix,
                                                  const std::string& token,
                                                  const std::string& more = "",
                                                  const std::string& sections = "") const {
    WriteFile(dir_.Sub(name + ".credential"), token + "\n");
    WriteFile(dir_.Sub(name + ".toml"),
              "[node]\nprefix = \"" + prefix + "\"\n[federation]\ntop = \"127.0.0.1:" +
                  std::to_string(top_port_) + "\"\nca_file = \"" + dir_.Sub("tls/ca.pem") +
                  "\"\ncredential_file = \"" + dir_.Sub(name + ".credential") +
                  "\"\nretry_initial_ms = 50\nretry_max_ms = 400\ntimeout_ms = 2000\n" + more +
                  sections);
    return std::make_unique<testing::NodeProcess>(
        dir_.Sub(name), testing::NodeOptions{{"--config", dir_.Sub(name + ".toml")}, "", 0, 0});
  }

  // Secondary A (node prefix 88.123, enterprise prefix 88.123.45 for registrant acme, with
  // `a_more` in its [federation]) and B (88.200, 88.200.7 for bolt), registered with `top`.
  struct Secondaries {
    std::unique_ptr<testing::NodeProcess> a, b;
    std::string acme, bolt;  // the registrants' tokens
  };
  void StartSecondaries(const testing::NodeProcess& top, const std::string& a_more,
                        Secondaries& out) const {
    std::string token_a =
        testing::ProvisionNode(top.Channel(), top.admin_token(), "node-a", {"88.123"});
    std::string token_b =
        testing::ProvisionNode(top.Channel(), top.admin_token(), "node-b", {"88.200"});
    ASSERT_FALSE(token_a.empty());
    ASSERT_FALSE(token_b.empty());
    out.a = Secondary("a", "88.123", token_a, a_more);
    out.b = Secondary("b", "88.200", token_b);
    ASSERT_TRUE(out.a->Start());
    ASSERT_TRUE(out.b->Start());
    out.acme = out.a->ProvisionRegistrant("acme", "88.123.45");
    out.bolt = out.b->ProvisionRegistrant("bolt", "88.200.7");
    ASSERT_FALSE(out.acme.empty());
    ASSERT_FALSE(out.bolt.empty());
  }

  testing::TempDir dir_;
  int top_port_ = 0;
};

TEST_F(FederationTest, AClientThatKnowsOnlyTheTopNodeReachesIdentifiersOnBothSecondaries) {
  auto top = Top();
  ASSERT_TRUE(top->Start());
  Secondaries nodes;
  ASSERT_NO_FATAL_FAILURE(StartSecondaries(*top, "", nodes));
  auto& a = nodes.a;
  auto& b = nodes.b;
  Register(*a, nodes.acme, "88.123.45/PUMP-1", "https://a.example/pump-1");
  Register(*b, nodes.bolt, "88.200.7/VALVE-9", "https://b.example/valve-9");

  // Both nodes' own prefixes and their enterprise prefixes reach the top node by themselves.
  for (const char* handle : {"0.NA/88.123", "0.NA/88.123.45", "0.NA/88.200", "0.NA/88.200.7"}) {
    EXPECT_TRUE(WaitForRecord(*top, handle)) << handle;
  }
  auto record = Ask(*top, "0.NA/88.123.45");
  ASSERT_TRUE(record.ok());
  auto sites = client::SitesFromValues(record->values, "HS_SITE");
  ASSERT_TRUE(sites.ok()) << sites.status();
  ASSERT_EQ(sites->size(), 1u);
  auto endpoint = client::ServerEndpoint(sites->front().servers[0], Transport::kUdp);
  ASSERT_TRUE(endpoint.ok());
  EXPECT_EQ(endpoint->port, a->handle_port());
  // The spool empties just before the client counts the acknowledgement: wait for both.
  EXPECT_TRUE(
      WaitForStatus(*a, [](const auto& s) { return s.pending_size() == 0 && s.delivered() == 2; }));
  const std::string metrics = testing::HttpRequest(a->http_port(), "/metrics").body;
  EXPECT_NE(metrics.find("\nidnode_federation_pending_registrations 0\n"), std::string::npos);
  EXPECT_NE(metrics.find("\nidnode_federation_acknowledged_total 2\n"), std::string::npos);

  // The walk, over UDP and over TCP, to each secondary.
  for (Transport transport : {Transport::kUdp, Transport::kTcp}) {
    client::WalkOptions options;
    options.transport = transport;
    for (const auto& [id, url, port] :
         {std::tuple{"88.123.45/PUMP-1", "https://a.example/pump-1", a->handle_port()},
          std::tuple{"88.200.7/VALVE-9", "https://b.example/valve-9", b->handle_port()}}) {
      client::HandleRequest request;
      request.handle = id;
      auto walked = client::Walk(HandleEndpoint(*top), request, options);
      ASSERT_TRUE(walked.ok()) << walked.status();
      ASSERT_EQ(walked->reply.header.response_code, wire::rc::kSuccess) << walked->reply.message;
      ASSERT_EQ(walked->reply.values.size(), 1u);
      EXPECT_EQ(walked->reply.values[0].data, url);
      ASSERT_EQ(walked->trace.size(), 2u);
      EXPECT_EQ(walked->trace[0].server.port, top->handle_port());
      const std::string identifier(id);
      EXPECT_EQ(walked->trace[0].handle, "0.NA/" + identifier.substr(0, identifier.find('/')));
      EXPECT_EQ(walked->trace[1].server.port, port);
    }
  }

  // The same walk as an operator runs it, with the path printed.
  const std::string top_handle = "127.0.0.1:" + std::to_string(top->handle_port());
  auto [rc, output] =
      testing::RunCommand(std::string(IDCTL_BINARY) + " resolve 88.123.45/PUMP-1 --via " +
                          top_handle + " --over tcp --trace");
  EXPECT_EQ(rc, 0) << output;
  EXPECT_NE(output.find("walk from " + top_handle + " over tcp:"), std::string::npos) << output;
  EXPECT_NE(output.find("1. " + top_handle +
                        "  0.NA/88.123.45  -> SUCCESS (1); site of "
                        "0.NA/88.123.45 (1 server), chose server 1 127.0.0.1:" +
                        std::to_string(a->handle_port())),
            std::string::npos)
      << output;
  EXPECT_NE(output.find("https://a.example/pump-1"), std::string::npos) << output;
  std::tie(rc, output) =
      testing::RunCommand(std::string(IDCTL_BINARY) + " resolve 88.999.1/X --via " + top_handle);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(output.find("prefix 88.999.1 is not registered"), std::string::npos) << output;
  std::tie(rc, output) =
      testing::RunCommand(std::string(IDCTL_BINARY) + " --server " + a->address() + " --token " +
                          a->admin_token() + " federation status");
  EXPECT_EQ(rc, 0) << output;
  EXPECT_NE(output.find("role: secondary\ntop node: 127.0.0.1:" + std::to_string(top_port_)),
            std::string::npos)
      << output;
  EXPECT_NE(output.find("pending: 0"), std::string::npos) << output;

  // A prefix nobody registered ends in a clear not-found at the top node; an unallocated
  // enterprise prefix under a registered node prefix is referred (303) to that node, which says
  // not found.
  client::HandleRequest unknown;
  unknown.handle = "88.999.1/X";
  auto walked = client::Walk(HandleEndpoint(*top), unknown, {});
  ASSERT_TRUE(walked.ok()) << walked.status();
  EXPECT_EQ(walked->reply.header.response_code, wire::rc::kHandleNotFound);
  EXPECT_NE(walked->reply.message.find("prefix 88.999.1 is not registered"), std::string::npos)
      << walked->reply.message;
  unknown.handle = "88.123.99/X";
  walked = client::Walk(HandleEndpoint(*top), unknown, {});
  ASSERT_TRUE(walked.ok()) << walked.status();
  EXPECT_EQ(walked->reply.header.response_code, wire::rc::kHandleNotFound);
  ASSERT_EQ(walked->trace.size(), 2u);
  EXPECT_EQ(walked->trace[0].response_code, wire::rc::kPrefixReferral);
  EXPECT_EQ(walked->trace[1].server.port, a->handle_port());

  // Asked for the identifier itself, the top node refers (302) with the serving site's values,
  // unless the client said "do not refer".
  auto referral = Ask(*top, "88.200.7/VALVE-9");
  ASSERT_TRUE(referral.ok());
  EXPECT_EQ(referral->header.response_code, wire::rc::kServiceReferral);
  EXPECT_EQ(referral->handle, "0.NA/88.200.7");
  auto referred = client::SitesFromValues(referral->values, "HS_SITE");
  ASSERT_TRUE(referred.ok());
  ASSERT_EQ(referred->size(), 1u);
  EXPECT_EQ(client::ServerEndpoint(referred->front().servers[0], Transport::kTcp)->port,
            b->handle_port());
  auto refused = Ask(*top, "88.200.7/VALVE-9", wire::op_flag::kDoNotRefer);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->header.response_code, wire::rc::kServerNotResponsible);

  // Releasing a prefix removes its record at the top node.
  std::string cargo = a->ProvisionRegistrant("cargo", "88.123.46");
  ASSERT_FALSE(cargo.empty());
  ASSERT_TRUE(WaitForRecord(*top, "0.NA/88.123.46"));
  v1::ReleasePrefixRequest release;
  release.set_prefix("88.123.46");
  v1::ReleasePrefixResponse released;
  grpc::ClientContext context;
  idctl::Authorize(context, a->admin_token());
  ASSERT_TRUE(v1::Admin::NewStub(a->Channel())->ReleasePrefix(&context, release, &released).ok());
  // Once its own record is gone, the top node refers 0.NA/88.123.46 to the node's prefix (303).
  const auto deadline = steady_clock::now() + std::chrono::seconds(60);
  uint32_t code = 0;
  while (steady_clock::now() < deadline && code != wire::rc::kPrefixReferral) {
    auto reply = Ask(*top, "0.NA/88.123.46");
    code = reply.ok() ? reply->header.response_code : 0;
    if (code != wire::rc::kPrefixReferral) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling the condition
    }
  }
  EXPECT_EQ(code, wire::rc::kPrefixReferral);
  // 88.123, .45 and .46 registered, .46 removed.
  EXPECT_TRUE(
      WaitForStatus(*a, [](const auto& s) { return s.pending_size() == 0 && s.delivered() == 4; }));
}

TEST_F(FederationTest, ASiteWithAMirrorIsReferredWholeAndClientsSpreadOverItByTheHashRule) {
  auto top = Top();
  ASSERT_TRUE(top->Start());
  std::string token =
      testing::ProvisionNode(top->Channel(), top->admin_token(), "node-a", {"88.123"});
  ASSERT_FALSE(token.empty());
  // The mirror holds the same identifiers (registered there separately, with URLs of its own so
  // that an answer shows which server gave it) and registers nothing upward.
  testing::NodeProcess mirror(dir_.Sub("m"),
                              testing::NodeOptions{{"--prefix", "88.123"}, "", 0, 0});
  ASSERT_TRUE(mirror.Start());
  auto a = Secondary(
      "a", "88.123", token, "",
      "[handle]\nmirrors = [\"127.0.0.1:" + std::to_string(mirror.handle_port()) + "\"]\n");
  ASSERT_TRUE(a->Start());
  std::string acme_a = a->ProvisionRegistrant("acme", "88.123.45");
  std::string acme_m = mirror.ProvisionRegistrant("acme", "88.123.45");
  ASSERT_FALSE(acme_a.empty());
  ASSERT_FALSE(acme_m.empty());
  constexpr int kIdentifiers = 16;
  for (int i = 0; i < kIdentifiers; ++i) {
    const std::string id = "88.123.45/PART-" + std::to_string(i);
    Register(*a, acme_a, id, "https://a.example/" + std::to_string(i));
    Register(mirror, acme_m, id, "https://m.example/" + std::to_string(i));
  }
  ASSERT_TRUE(WaitForRecord(*top, "0.NA/88.123.45"));

  // The top node's record and its referral carry both servers, A first.
  auto record = Ask(*top, "0.NA/88.123.45");
  ASSERT_TRUE(record.ok());
  auto referral = Ask(*top, "88.123.45/PART-0");
  ASSERT_TRUE(referral.ok());
  EXPECT_EQ(referral->header.response_code, wire::rc::kServiceReferral);
  for (const client::HandleReply* reply : {&*record, &*referral}) {
    auto sites = client::SitesFromValues(reply->values, "HS_SITE");
    ASSERT_TRUE(sites.ok()) << sites.status();
    ASSERT_EQ(sites->size(), 1u);
    ASSERT_EQ(sites->front().servers.size(), 2u);
    for (Transport transport : {Transport::kUdp, Transport::kTcp}) {
      EXPECT_EQ(client::ServerEndpoint(sites->front().servers[0], transport)->port,
                a->handle_port());
      EXPECT_EQ(client::ServerEndpoint(sites->front().servers[1], transport)->port,
                mirror.handle_port());
    }
  }
  const wire::SiteInfo site = client::SitesFromValues(record->values, "HS_SITE").value().front();

  // Each identifier is asked of the server the hash rule picks, and both servers get some.
  int answered_by[2] = {0, 0};
  for (int i = 0; i < kIdentifiers; ++i) {
    client::HandleRequest request;
    request.handle = "88.123.45/PART-" + std::to_string(i);
    auto walked = client::Walk(HandleEndpoint(*top), request, {});
    ASSERT_TRUE(walked.ok()) << walked.status();
    ASSERT_EQ(walked->reply.header.response_code, wire::rc::kSuccess) << request.handle;
    const size_t chosen = client::SelectServer(site, request.handle);
    ASSERT_LT(chosen, 2u);
    ++answered_by[chosen];
    const testing::NodeProcess& expected = chosen == 0 ? *a : mirror;
    EXPECT_EQ(walked->trace.back().server.port, expected.handle_port()) << request.handle;
    ASSERT_EQ(walked->reply.values.size(), 1u);
    EXPECT_EQ(
        walked->reply.values[0].data,
        std::string(chosen == 0 ? "https://a.example/" : "https://m.example/") + std::to_string(i));
  }
  EXPECT_GT(answered_by[0], 0);
  EXPECT_GT(answered_by[1], 0);
}

TEST_F(FederationTest, APrefixAllocatedWhileTheTopNodeIsDownAppearsThereWhenItComesBack) {
  std::string token;
  {
    auto top = Top();
    ASSERT_TRUE(top->Start());
    token = testing::ProvisionNode(top->Channel(), top->admin_token(), "node-a", {"88.123"});
    ASSERT_FALSE(token.empty());
    top->Kill(SIGTERM);
  }
  auto a = Secondary("a", "88.123", token);
  ASSERT_TRUE(a->Start());
  ASSERT_FALSE(a->ProvisionRegistrant("acme", "88.123.45").empty());
  ASSERT_TRUE(WaitForStatus(*a, [](const auto& s) {
    return s.pending_size() == 2 && s.failures() >= 2 && !s.last_error().empty();
  }));
  v1::FederationStatusResponse waiting = FederationStatus(*a);
  EXPECT_EQ(waiting.pending(0).prefix(), "88.123");
  EXPECT_EQ(waiting.pending(1).prefix(), "88.123.45");
  EXPECT_EQ(waiting.pending(1).operation(), "register");
  EXPECT_EQ(waiting.delivered(), 0u);

  auto top = Top();  // the same data directory and port
  ASSERT_TRUE(top->Start());
  EXPECT_TRUE(WaitForRecord(*top, "0.NA/88.123.45"));
  EXPECT_TRUE(WaitForRecord(*top, "0.NA/88.123"));
  EXPECT_TRUE(WaitForStatus(
      *a, [](const auto& s) { return s.pending_size() == 0 && s.last_error().empty(); }));
}

TEST_F(FederationTest, ASecondaryCannotRegisterOutsideItsGrantOrWithABadCredential) {
  auto top = Top();
  ASSERT_TRUE(top->Start());
  std::string token =
      testing::ProvisionNode(top->Channel(), top->admin_token(), "node-a", {"88.123"});
  ASSERT_FALSE(token.empty());
  auto outside = Secondary("outside", "88.300", token);
  ASSERT_TRUE(outside->Start());
  ASSERT_TRUE(WaitForStatus(*outside, [](const auto& s) {
    return s.last_error().find("outside the grants of node account node-a (88.123)") !=
           std::string::npos;
  })) << FederationStatus(*outside).last_error();
  EXPECT_EQ(FederationStatus(*outside).pending_size(), 1);
  auto absent = Ask(*top, "0.NA/88.300");
  ASSERT_TRUE(absent.ok());
  EXPECT_EQ(absent->header.response_code, wire::rc::kHandleNotFound);

  auto forged = Secondary("forged", "88.123", "idn_" + std::string(64, '0'));
  ASSERT_TRUE(forged->Start());
  ASSERT_TRUE(WaitForStatus(*forged, [](const auto& s) {
    return s.last_error().find("unknown token") != std::string::npos;
  })) << FederationStatus(*forged).last_error();

  v1::FederationStatusResponse counts = FederationStatus(*top);
  EXPECT_EQ(counts.role(), "top");
  EXPECT_GE(counts.rejected_grant(), 1u);
  EXPECT_GE(counts.rejected_credential(), 1u);
  EXPECT_EQ(counts.accepted(), 0u);
}

// Calls the top node's RegisterPrefix directly, as a node would.
grpc::Status RegisterDirect(const testing::NodeProcess& top, const std::string& token,
                            const std::string& prefix, const std::string& site,
                            bool derived = false, const std::string& service = "") {
  v1::RegisterPrefixRequest request;
  request.set_prefix(prefix);
  request.set_site(site);
  request.set_derived(derived);
  request.set_service(service);
  v1::RegisterPrefixResponse response;
  grpc::ClientContext context;
  idctl::Authorize(context, token);
  return v1::Federation::NewStub(top.Channel())->RegisterPrefix(&context, request, &response);
}

std::string SiteBytes(const std::vector<uint16_t>& udp_ports, uint32_t address = kLoopback) {
  wire::SiteInfo site;
  uint32_t id = 1;
  for (uint16_t port : udp_ports) {
    wire::SiteServer server;
    server.id = id++;
    server.address = wire::SiteAddress(address);
    server.interfaces = {{wire::site::kQuery, wire::site::kUdp, port}};
    site.servers.push_back(server);
  }
  std::string bytes;
  wire::EncodeSiteInfo(site, bytes);
  return bytes;
}

TEST_F(FederationTest, APrefixRecordCanNameAServiceHandleThatClientsResolveForTheSite) {
  auto top = Top();
  ASSERT_TRUE(top->Start());
  std::string token =
      testing::ProvisionNode(top->Channel(), top->admin_token(), "node-s", {"88.123"});
  ASSERT_FALSE(token.empty());
  // A node without upward registration; its records are written at the top node directly: the
  // node prefix with the site, the enterprise prefix with HS_SERV naming the node prefix's handle.
  testing::NodeProcess s(dir_.Sub("s"), testing::NodeOptions{{"--prefix", "88.123"}, "", 0, 0});
  ASSERT_TRUE(s.Start());
  std::string acme = s.ProvisionRegistrant("acme", "88.123.45");
  ASSERT_FALSE(acme.empty());
  Register(s, acme, "88.123.45/PUMP-7", "https://s.example/pump-7");
  const auto port = static_cast<uint16_t>(s.handle_port());
  ASSERT_TRUE(RegisterDirect(*top, token, "88.123", SiteBytes({port}), true).ok());
  auto registered = RegisterDirect(*top, token, "88.123.45", "", false, "0.NA/88.123");
  ASSERT_TRUE(registered.ok()) << registered.error_message();
  auto record = Ask(*top, "0.NA/88.123.45");
  ASSERT_TRUE(record.ok());
  ASSERT_EQ(record->values.size(), 1u);
  EXPECT_EQ(record->values[0].type, "HS_SERV");
  EXPECT_EQ(record->values[0].data, "0.NA/88.123");

  client::HandleRequest request;
  request.handle = "88.123.45/PUMP-7";
  auto walked = client::Walk(HandleEndpoint(*top), request, {});
  ASSERT_TRUE(walked.ok()) << walked.status();
  ASSERT_EQ(walked->reply.header.response_code, wire::rc::kSuccess);
  EXPECT_EQ(walked->reply.values[0].data, "https://s.example/pump-7");
  ASSERT_EQ(walked->trace.size(), 3u);
  EXPECT_EQ(walked->trace[0].handle, "0.NA/88.123.45");
  EXPECT_EQ(walked->trace[0].detail, "service handle 0.NA/88.123");
  EXPECT_EQ(walked->trace[1].handle, "0.NA/88.123");
  EXPECT_EQ(walked->trace[1].detail.rfind("site of 0.NA/88.123 (1 server), chose server 1", 0), 0u)
      << walked->trace[1].detail;
  EXPECT_EQ(walked->trace[2].server.port, port);

  // A service handle that does not resolve is a clear error.
  ASSERT_TRUE(RegisterDirect(*top, token, "88.123.46", "", false, "0.NA/88.123.99").ok());
  request.handle = "88.123.46/X";
  walked = client::Walk(HandleEndpoint(*top), request, {});
  ASSERT_FALSE(walked.ok());
  EXPECT_NE(walked.status().message().find("service handle 0.NA/88.123.99 named by 0.NA/88.123.46"),
            std::string::npos)
      << walked.status();
}

TEST_F(FederationTest, MalformedRegistrationsAreRefusedAndCounted) {
  auto top = Top();
  ASSERT_TRUE(top->Start());
  std::string token =
      testing::ProvisionNode(top->Channel(), top->admin_token(), "node-a", {"88.123"});
  std::string other = testing::ProvisionNode(top->Channel(), top->admin_token(), "node-c", {"88"});
  std::string expired =
      testing::ProvisionNode(top->Channel(), top->admin_token(), "node-x", {"88.123"}, 1);
  ASSERT_FALSE(token.empty());
  ASSERT_FALSE(other.empty());

  auto expect = [&](const grpc::Status& status, grpc::StatusCode code, const std::string& words) {
    EXPECT_EQ(status.error_code(), code) << status.error_message();
    EXPECT_NE(status.error_message().find(words), std::string::npos) << status.error_message();
  };
  expect(RegisterDirect(*top, token, "88.123.45", "garbage"), grpc::StatusCode::INVALID_ARGUMENT,
         "site: HS_SITE data does not decode");
  expect(RegisterDirect(*top, token, "88.123.45", SiteBytes({})),
         grpc::StatusCode::INVALID_ARGUMENT, "site: the site lists no servers");
  expect(RegisterDirect(*top, token, "88.123.45", SiteBytes({0})),
         grpc::StatusCode::INVALID_ARGUMENT, "has no usable interface");
  expect(RegisterDirect(*top, token, "88.123.45", SiteBytes({2641}, 0)),
         grpc::StatusCode::INVALID_ARGUMENT, "has no usable address");
  expect(RegisterDirect(*top, token, "88.123.45", SiteBytes(std::vector<uint16_t>(33, 2641))),
         grpc::StatusCode::INVALID_ARGUMENT, "33 servers; at most 32");
  expect(RegisterDirect(*top, token, "88.123.45", SiteBytes({2641}), false, "0.NA/88.123"),
         grpc::StatusCode::INVALID_ARGUMENT, "service: give either site");
  expect(RegisterDirect(*top, token, "88.123.45", "", false, "no slash"),
         grpc::StatusCode::INVALID_ARGUMENT, "service");
  expect(RegisterDirect(*top, token, "88.124", SiteBytes({2641})),
         grpc::StatusCode::PERMISSION_DENIED, "outside the grants");
  expect(RegisterDirect(*top, token, "not a prefix!", SiteBytes({2641})),
         grpc::StatusCode::INVALID_ARGUMENT, "prefix");
  expect(RegisterDirect(*top, "idn_wrong", "88.123.45", SiteBytes({2641})),
         grpc::StatusCode::UNAUTHENTICATED, "unknown token");
  expect(RegisterDirect(*top, top->admin_token(), "88.123.45", SiteBytes({2641})),
         grpc::StatusCode::OK, "");
  // The admin's record is not another node's to overwrite, even under a wider grant.
  expect(RegisterDirect(*top, other, "88.123.45", SiteBytes({2642})),
         grpc::StatusCode::PERMISSION_DENIED, "is registered by node account admin");
  // A credential issued for one second is refused once that second has passed.
  const auto deadline = steady_clock::now() + std::chrono::seconds(30);
  grpc::Status late;
  do {
    late = RegisterDirect(*top, expired, "88.123.47", SiteBytes({2641}));
    if (late.ok()) std::this_thread::sleep_for(std::chrono::milliseconds(100));  // until expiry
  } while (late.ok() && steady_clock::now() < deadline);
  expect(late, grpc::StatusCode::UNAUTHENTICATED, "expired at");

  v1::FederationStatusResponse counts = FederationStatus(*top);
  EXPECT_EQ(counts.rejected_site(), 7u);
  EXPECT_EQ(counts.rejected_grant(), 2u);
  EXPECT_GE(counts.rejected_credential(), 2u);
  const std::string metrics = testing::HttpRequest(top->http_port(), "/metrics").body;
  EXPECT_NE(metrics.find("\nidnode_federation_requests_total{outcome=\"rejected_site\"} 7\n"),
            std::string::npos);
  EXPECT_NE(metrics.find("\nidnode_federation_requests_total{outcome=\"rejected_grant\"} 2\n"),
            std::string::npos);
  // The node kept answering throughout.
  auto reply = Ask(*top, "0.NA/88.123.45");
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->header.response_code, wire::rc::kSuccess);
}

TEST_F(FederationTest, AReferralLoopBetweenMisconfiguredTopNodesEndsWithAnError) {
  auto top = Top();
  ASSERT_TRUE(top->Start());
  WriteFile(dir_.Sub("top2.toml"), "[node]\nprefix = \"89\"\nrole = \"top\"\n");
  testing::NodeProcess top2(dir_.Sub("top2"), {{"--config", dir_.Sub("top2.toml")}, "", 0, 0});
  ASSERT_TRUE(top2.Start());
  std::string token1 = testing::ProvisionNode(top->Channel(), top->admin_token(), "n", {"77.1"});
  std::string token2 = testing::ProvisionNode(top2.Channel(), top2.admin_token(), "n", {"77.1"});
  // Each top node says the other serves 77.1 (a prefix neither serves itself).
  ASSERT_TRUE(RegisterDirect(*top, token1, "77.1",
                             SiteBytes({static_cast<uint16_t>(top2.handle_port())}), true)
                  .ok());
  ASSERT_TRUE(RegisterDirect(top2, token2, "77.1",
                             SiteBytes({static_cast<uint16_t>(top->handle_port())}), true)
                  .ok());
  client::HandleRequest request;
  request.handle = "77.1/LOOP";
  client::WalkOptions options;
  options.max_hops = 6;
  std::vector<client::WalkStep> trace;
  const auto started = steady_clock::now();
  auto walked = client::Walk(HandleEndpoint(*top), request, options, &trace);
  ASSERT_FALSE(walked.ok());
  EXPECT_EQ(walked.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(walked.status().message().find("gave up after 6 queries"), std::string::npos);
  EXPECT_EQ(trace.size(), 6u);
  EXPECT_LT(steady_clock::now() - started, std::chrono::seconds(20));
}

std::string RecursionSettings(int top_handle_port) {
  return "recursion = true\ntop_handle = \"127.0.0.1:" + std::to_string(top_handle_port) + "\"\n";
}

TEST_F(FederationTest, ASecondaryResolvesForItsClientsThroughTheTopNodeWhenAskedToRecurse) {
  auto top = Top();
  ASSERT_TRUE(top->Start());
  Secondaries nodes;
  ASSERT_NO_FATAL_FAILURE(StartSecondaries(*top, RecursionSettings(top->handle_port()), nodes));
  auto& a = nodes.a;
  auto& b = nodes.b;
  Register(*a, nodes.acme, "88.123.45/PUMP-1", "https://a.example/pump-1");
  for (const char* id : {"88.200.7/VALVE-9", "88.200.7/VALVE-10", "88.200.7/VALVE-11"}) {
    Register(*b, nodes.bolt, id, std::string("https://b.example/") + id);
  }
  ASSERT_TRUE(WaitForRecord(*top, "0.NA/88.200.7"));

  // REC (which Handle clients set by default): A answers B's identifier, not authoritatively.
  auto answered = Ask(*a, "88.200.7/VALVE-9");
  ASSERT_TRUE(answered.ok()) << answered.status();
  ASSERT_EQ(answered->header.response_code, wire::rc::kSuccess) << answered->message;
  ASSERT_EQ(answered->values.size(), 1u);
  EXPECT_EQ(answered->values[0].data, "https://b.example/88.200.7/VALVE-9");
  EXPECT_EQ(answered->header.flags & wire::op_flag::kAuthoritative, 0u);
  // Its own identifiers stay authoritative answers.
  auto own = Ask(*a, "88.123.45/PUMP-1");
  ASSERT_TRUE(own.ok());
  EXPECT_NE(own->header.flags & wire::op_flag::kAuthoritative, 0u);
  // Without REC the answer is 301, as before.
  client::HandleRequest plain;
  plain.handle = "88.200.7/VALVE-9";
  plain.flags = wire::op_flag::kPublicOnly;
  auto refused = client::Query(Transport::kUdp, HandleEndpoint(*a), plain);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->header.response_code, wire::rc::kServerNotResponsible);

  // Over TCP with keep-alive, a recursed request between two of A's own keeps its place: the
  // replies come back in the order of the requests (Receive skips any other id, so a reply out
  // of order would leave a later Receive waiting in vain).
  auto connection =
      client::HandleConnection::Open(Transport::kTcp, HandleEndpoint(*a), std::chrono::seconds(3));
  ASSERT_TRUE(connection.ok()) << connection.status();
  std::string batch;
  const std::vector<std::string> ids = {"88.123.45/PUMP-1", "88.200.7/VALVE-10",
                                        "88.123.45/PUMP-1"};
  for (size_t i = 0; i < ids.size(); ++i) {
    client::HandleRequest request;
    request.handle = ids[i];
    request.flags |= wire::op_flag::kKeepAlive;
    std::string whole;
    client::EncodeRequest(request, static_cast<uint32_t>(100 + i), whole);
    batch += whole;
  }
  ASSERT_TRUE(connection->Send(batch).ok());
  for (size_t i = 0; i < ids.size(); ++i) {
    auto whole = connection->Receive(static_cast<uint32_t>(100 + i), std::chrono::seconds(5));
    ASSERT_TRUE(whole.ok()) << i << ": " << whole.status();
    auto reply = client::DecodeReply(*whole, wire::opcode::kResolution);
    ASSERT_TRUE(reply.ok());
    EXPECT_EQ(reply->header.response_code, wire::rc::kSuccess) << i;
    EXPECT_EQ(reply->handle, ids[i]);
  }

  // An identifier with no public values: B answers 200 (values not found), and so does A for it
  // (before, A relayed an empty value list it could not encode: RC 2, "malformed").
  v1::CreateRequest hidden;
  hidden.set_identifier("88.200.7/PRIVATE-1");
  v1::Value* value = hidden.add_values();
  value->set_index(1);
  value->set_type("URL");
  value->set_data("https://b.example/private");
  value->set_permissions(0x0C);  // admin read and write only
  ASSERT_TRUE(b->Create(nodes.bolt, hidden).ok());
  for (int ask = 0; ask < 2; ++ask) {  // the walk, then the cache
    auto none = Ask(*a, "88.200.7/PRIVATE-1");
    ASSERT_TRUE(none.ok()) << none.status();
    EXPECT_EQ(none->header.response_code, wire::rc::kValuesNotFound)
        << ask << ": " << none->message;
  }
  EXPECT_EQ(a->Metric("idnode_recursion_walks_total{result=\"not_found\"}"), 1);

  // Two walks found values so far. Asked again, A answers from its cache: no walk, even with B
  // gone.
  EXPECT_EQ(a->Metric("idnode_recursion_walks_total{result=\"found\"}"), 2);
  b->Kill(SIGTERM);
  for (Transport transport : {Transport::kUdp, Transport::kTcp}) {
    client::HandleRequest again;
    again.handle = "88.200.7/VALVE-9";
    auto cached = client::Query(transport, HandleEndpoint(*a), again);
    ASSERT_TRUE(cached.ok());
    ASSERT_EQ(cached->header.response_code, wire::rc::kSuccess);
    EXPECT_EQ(cached->values[0].data, "https://b.example/88.200.7/VALVE-9");
  }
  EXPECT_EQ(a->Metric("idnode_recursion_walks_total{result=\"found\"}"), 2);
  EXPECT_GE(a->Metric("idnode_recursion_cache_lookups_total{result=\"hit\"}"), 2);
  // AT asks for an authoritative answer: A walks again, and B being down is a clear error.
  auto authoritative = Ask(*a, "88.200.7/VALVE-9", wire::op_flag::kAuthoritative);
  ASSERT_TRUE(authoritative.ok());
  EXPECT_EQ(authoritative->header.response_code, wire::rc::kError);
  EXPECT_NE(
      authoritative->message.find("resolving 88.200.7/VALVE-9 through the top node 127.0.0.1:" +
                                  std::to_string(top->handle_port())),
      std::string::npos)
      << authoritative->message;
  EXPECT_EQ(a->Metric("idnode_recursion_walks_total{result=\"failed\"}"), 1);

  // An unknown prefix: the top node's not-found, relayed.
  auto unknown = Ask(*a, "88.999.1/X");
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->header.response_code, wire::rc::kHandleNotFound);
  EXPECT_NE(unknown->message.find("prefix 88.999.1 is not registered"), std::string::npos)
      << unknown->message;
  EXPECT_EQ(a->Metric("idnode_recursion_walks_total{result=\"not_found\"}"), 2);
  // A request that arrives with its recursion count at the limit is refused at once.
  client::HandleRequest deep;
  deep.handle = "88.200.7/VALVE-11";
  deep.recursion_count = 4;
  auto limited = client::Query(Transport::kUdp, HandleEndpoint(*a), deep);
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited->header.response_code, wire::rc::kRecursionCountTooHigh);
  EXPECT_NE(limited->message.find("recursion count 4 has reached this node's limit of 4"),
            std::string::npos)
      << limited->message;
}

TEST_F(FederationTest, ARecursionLoopBetweenMisconfiguredSecondariesEndsAtTheLimit) {
  // Each names the other as its top node for recursion.
  const int c_port = testing::FreePort();
  const int d_port = testing::FreePort();
  ASSERT_GT(c_port, 0);
  ASSERT_GT(d_port, 0);
  WriteFile(dir_.Sub("c.toml"), "[node]\nprefix = \"77.1\"\n[federation]\n" +
                                    RecursionSettings(d_port) + "recursion_limit = 5\n");
  WriteFile(dir_.Sub("d.toml"),
            "[node]\nprefix = \"77.2\"\n[federation]\n" + RecursionSettings(c_port));
  testing::NodeProcess c(dir_.Sub("c"),
                         testing::NodeOptions{{"--config", dir_.Sub("c.toml")}, "", 0, c_port});
  testing::NodeProcess d(dir_.Sub("d"),
                         testing::NodeOptions{{"--config", dir_.Sub("d.toml")}, "", 0, d_port});
  ASSERT_TRUE(c.Start());
  ASSERT_TRUE(d.Start());
  for (Transport transport : {Transport::kUdp, Transport::kTcp}) {
    client::HandleRequest request;
    request.handle = "77.9/LOOP";
    const auto started = steady_clock::now();
    auto reply = client::Query(transport, HandleEndpoint(c), request, std::chrono::seconds(10));
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->header.response_code, wire::rc::kRecursionCountTooHigh);
    // C (count 0) -> D (1) -> C (2) -> D (3) -> C (4) -> D (5), whose limit of 4 ends it.
    EXPECT_NE(reply->message.find("recursion count 5 has reached this node's limit of 4"),
              std::string::npos)
        << reply->message;
    EXPECT_LT(steady_clock::now() - started, std::chrono::seconds(10));
  }
  EXPECT_GE(c.Metric("idnode_recursion_walks_total{result=\"recursion_limit\"}"), 2);
  EXPECT_GE(d.Metric("idnode_recursion_walks_total{result=\"recursion_limit\"}"), 2);
  // Both still answer.
  client::HandleRequest site_info;
  site_info.opcode = wire::opcode::kGetSiteInfo;
  auto site = client::Query(Transport::kUdp, HandleEndpoint(d), site_info);
  ASSERT_TRUE(site.ok());
  EXPECT_EQ(site->header.response_code, wire::rc::kSuccess);
}

TEST_F(FederationTest, RecursiveRequestsStillWaitingWhenTheNodeStopsGetAnAnswer) {
  // A "top node" that never answers: a UDP socket nobody reads.
  const testing::BoundUdpSocket silent;
  ASSERT_NE(silent.port(), 0);
  WriteFile(dir_.Sub("e.toml"), "[node]\nprefix = \"77.1\"\n[federation]\n" +
                                    RecursionSettings(silent.port()) +
                                    "recursion_workers = 1\nrecursion_timeout_ms = 1500\n");
  testing::NodeProcess e(dir_.Sub("e"),
                         testing::NodeOptions{{"--config", dir_.Sub("e.toml")}, "", 0, 0});
  ASSERT_TRUE(e.Start());
  auto connection =
      client::HandleConnection::Open(Transport::kUdp, HandleEndpoint(e), std::chrono::seconds(3));
  ASSERT_TRUE(connection.ok());
  for (uint32_t id : {1u, 2u}) {
    client::HandleRequest request;
    request.handle = "77.9/WAIT-" + std::to_string(id);
    std::string whole;
    client::EncodeRequest(request, id, whole);
    ASSERT_TRUE(connection->Send(whole).ok());
  }
  // The one worker waits on the silent top node for the first; the second waits in the queue.
  const auto deadline = steady_clock::now() + std::chrono::seconds(30);
  while (e.Metric("idnode_recursion_pending") != 1 && steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling the condition
  }
  ASSERT_EQ(e.Metric("idnode_recursion_pending"), 1);
  const int status = e.Kill(SIGTERM);  // returns once the node has exited
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;

  auto first = connection->Receive(1, std::chrono::seconds(5));
  ASSERT_TRUE(first.ok()) << first.status();
  auto failed = client::DecodeReply(*first, wire::opcode::kResolution);
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->header.response_code, wire::rc::kError);
  EXPECT_NE(failed->message.find("resolving 77.9/WAIT-1 through the top node"), std::string::npos)
      << failed->message;
  auto second = connection->Receive(2, std::chrono::seconds(5));
  ASSERT_TRUE(second.ok()) << second.status();
  auto busy = client::DecodeReply(*second, wire::opcode::kResolution);
  ASSERT_TRUE(busy.ok());
  EXPECT_EQ(busy->header.response_code, wire::rc::kServerTooBusy);
  EXPECT_EQ(busy->message, "the node is shutting down");
}

}  // namespace
}  // namespace idnode
