// gRPC over TLS: a node configured with a certificate serves only TLS clients that trust its CA,
// and a broken certificate or key is refused at start with a message naming the setting.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>

#include "tests/integration/node_process.h"
#include "tests/support/command.h"
#include "tests/support/temp_dir.h"

namespace idnode {
namespace {

// Runs deploy/tls-selfsigned.sh into `out` for 127.0.0.1; true on success.
bool MakeCertificates(const std::string& out) {
  std::string command = std::string(IDNODE_SOURCE_DIR) + "/deploy/tls-selfsigned.sh " + out +
                        " 127.0.0.1 localhost >/dev/null";
  return std::system(command.c_str()) == 0;
}

std::string WriteConfig(const std::string& path, const std::string& cert, const std::string& key) {
  std::ofstream(path) << "[grpc]\ntls_cert = \"" << cert << "\"\ntls_key = \"" << key << "\"\n";
  return path;
}

grpc::Status Resolve(const std::shared_ptr<grpc::Channel>& channel, v1::ResolveResponse* out) {
  v1::ResolveRequest request;
  request.set_identifier("88.123.45/TLS-1");
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  return v1::Resolver::NewStub(channel)->Resolve(&context, request, out);
}

TEST(TlsTest, ServesClientsThatTrustTheCaAndNoOthers) {
  testing::TempDir dir;
  ASSERT_TRUE(MakeCertificates(dir.Sub("tls")));
  ASSERT_TRUE(MakeCertificates(dir.Sub("stranger")));
  std::string config =
      WriteConfig(dir.Sub("idnode.toml"), dir.Sub("tls/server.pem"), dir.Sub("tls/server.key"));
  testing::NodeProcess node(dir.Sub("node"), {{"--config", config}, dir.Sub("tls/ca.pem")});
  ASSERT_TRUE(node.Start());

  // The whole write path works over TLS: provision a registrant, register, resolve.
  std::string token = node.ProvisionRegistrant("acme", "88.123.45");
  ASSERT_FALSE(token.empty());
  v1::CreateRequest create;
  create.set_identifier("88.123.45/TLS-1");
  v1::Value* value = create.add_values();
  value->set_index(1);
  value->set_type("URL");
  value->set_data("https://example.com/tls");
  grpc::ClientContext context;
  idctl::Authorize(context, token);
  v1::CreateResponse created;
  ASSERT_TRUE(v1::Registry::NewStub(node.Channel())->Create(&context, create, &created).ok());
  v1::ResolveResponse resolved;
  ASSERT_TRUE(Resolve(node.Channel(), &resolved).ok());
  ASSERT_EQ(resolved.values_size(), 1);
  EXPECT_EQ(resolved.values(0).data(), "https://example.com/tls");

  // A plaintext client, and a TLS client trusting another CA, get nowhere.
  EXPECT_EQ(Resolve(idctl::Connect({node.address(), ""}), &resolved).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(
      Resolve(idctl::Connect({node.address(), dir.Sub("stranger/ca.pem")}), &resolved).error_code(),
      grpc::StatusCode::UNAVAILABLE);
}

TEST(TlsTest, RefusesToStartWithAKeyThatDoesNotMatchTheCertificate) {
  testing::TempDir dir;
  ASSERT_TRUE(MakeCertificates(dir.Sub("a")));
  ASSERT_TRUE(MakeCertificates(dir.Sub("b")));
  auto run = [&](const std::string& cert, const std::string& key) {
    std::string config = WriteConfig(dir.Sub("bad.toml"), cert, key);
    std::string command = std::string(IDNODE_BINARY) +
                          " --quiet --listen 127.0.0.1:0 --handle-listen 127.0.0.1:0 --http-listen "
                          "127.0.0.1:0 --data-dir " +
                          dir.Sub("data") + " --admin-token-file " + dir.Sub("token") +
                          " --config " + config;
    auto [exit_code, output] = testing::RunCommand(command);
    EXPECT_GT(exit_code, 0) << output;  // exited, and not successfully
    return output;
  };
  std::string mismatched = run(dir.Sub("a/server.pem"), dir.Sub("b/server.key"));
  EXPECT_NE(mismatched.find("grpc.tls_key: does not match the certificate"), std::string::npos)
      << mismatched;
  std::string swapped = run(dir.Sub("a/server.key"), dir.Sub("a/server.pem"));
  EXPECT_NE(swapped.find("grpc.tls_cert: not a PEM certificate"), std::string::npos) << swapped;
  std::string missing = run(dir.Sub("a/server.pem"), dir.Sub("a/nothing.key"));
  EXPECT_NE(missing.find("grpc.tls_key: cannot read"), std::string::npos) << missing;
}

}  // namespace
}  // namespace idnode
