// The Handle protocol over real UDP datagrams to a real idnode process on 127.0.0.1.

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <random>

#include "resolver/client/handle_client.h"
#include "resolver/wire/wire.h"
#include "tests/integration/node_process.h"
#include "tests/support/handle_vectors.h"
#include "tests/support/temp_dir.h"

namespace idnode {
namespace {

constexpr std::chrono::seconds kTimeout(5);

// A connected UDP socket to the node's Handle port.
client::HandleConnection Connect(int port) {
  auto connection = client::HandleConnection::Open(
      client::Transport::kUdp, {0x7f000001, static_cast<uint16_t>(port)}, kTimeout);
  EXPECT_TRUE(connection.ok()) << connection.status();
  return std::move(*connection);
}

// Sends `request` and returns the decoded reply to `request_id` (all its datagrams).
client::HandleReply Exchange(client::HandleConnection& connection, const std::string& request,
                             uint32_t request_id) {
  EXPECT_TRUE(connection.Send(request).ok());
  int pieces = 0;
  auto whole = connection.Receive(request_id, kTimeout, &pieces);
  EXPECT_TRUE(whole.ok()) << whole.status();
  if (!whole.ok()) return {};
  auto reply = client::DecodeReply(*whole, wire::opcode::kResolution);
  EXPECT_TRUE(reply.ok()) << reply.status();
  if (!reply.ok()) return {};
  reply->pieces = pieces;
  return *std::move(reply);
}

class UdpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    node_ = new testing::NodeProcess(dir_->Sub("node"));
    ASSERT_TRUE(node_->Start());
    ASSERT_GT(node_->handle_port(), 0);
    std::string token = node_->ProvisionRegistrant("acme", "88.123.45");
    ASSERT_FALSE(token.empty());
    for (int values : {2, 40}) {  // 40 values of 80 bytes: a reply of about 5 KiB
      v1::CreateRequest create;
      create.set_identifier("88.123.45/UDP-" + std::to_string(values));
      for (int i = 1; i <= values; ++i) {
        v1::Value* v = create.add_values();
        v->set_index(static_cast<uint32_t>(i));
        v->set_type("URL");
        v->set_data("https://example.com/" + std::string(60, 'a' + static_cast<char>(i % 26)) +
                    "/" + std::to_string(i));
      }
      ASSERT_TRUE(node_->Create(token, create).ok());
    }
  }
  static void TearDownTestSuite() {
    delete node_;
    delete dir_;
  }

  static inline testing::TempDir* dir_;
  static inline testing::NodeProcess* node_;
};

TEST_F(UdpTest, ResolvesOverUdp) {
  client::HandleConnection client = Connect(node_->handle_port());
  client::HandleReply reply =
      Exchange(client, testing::BuildRequest("88.123.45/udp-2", 0x19000000, 101), 101);
  EXPECT_EQ(reply.header.response_code, wire::rc::kSuccess);
  EXPECT_EQ(reply.pieces, 1);
  ASSERT_EQ(reply.values.size(), 2u);
  EXPECT_EQ(reply.values[1].index, 2u);

  EXPECT_EQ(Exchange(client, testing::BuildRequest("88.123.45/NOPE", 0x19000000, 102), 102)
                .header.response_code,
            wire::rc::kHandleNotFound);
  EXPECT_EQ(Exchange(client, testing::BuildRequest("86.1/ELSEWHERE", 0x19000000, 103), 103)
                .header.response_code,
            wire::rc::kServerNotResponsible);
}

TEST_F(UdpTest, SplitsLargeRepliesIntoPiecesClientsReassemble) {
  client::HandleConnection client = Connect(node_->handle_port());
  client::HandleReply reply =
      Exchange(client, testing::BuildRequest("88.123.45/UDP-40", 0x19000000, 201), 201);
  EXPECT_EQ(reply.header.response_code, wire::rc::kSuccess);
  EXPECT_GT(reply.pieces, 1);
  ASSERT_EQ(reply.values.size(), 40u);
  EXPECT_EQ(reply.values[39].data.substr(reply.values[39].data.size() - 3), "/40");
}

TEST_F(UdpTest, KeepsAnsweringUnderAFloodOfGarbage) {
  // The flood comes from its own socket, whose replies nobody reads; each datagram goes out
  // as it is (send(2) directly, not the client's piece splitting).
  client::HandleConnection flooder = Connect(node_->handle_port());
  std::mt19937 random(7);
  std::string good = testing::BuildRequest("88.123.45/UDP-2", 0x19000000, 0);
  for (int i = 0; i < 5000; ++i) {
    std::string garbage = good;
    if (i % 2 == 0) {
      garbage.resize(random() % 600);
      for (char& c : garbage) c = static_cast<char>(random());
    } else {
      garbage[random() % garbage.size()] = static_cast<char>(random());
    }
    send(flooder.fd(), garbage.data(), garbage.size(), 0);
  }
  client::HandleConnection client = Connect(node_->handle_port());
  client::HandleReply reply =
      Exchange(client, testing::BuildRequest("88.123.45/UDP-2", 0x19000000, 301), 301);
  EXPECT_EQ(reply.header.response_code, wire::rc::kSuccess);
  EXPECT_EQ(reply.values.size(), 2u);
}

TEST_F(UdpTest, AnswersARequestSentInSeveralPieces) {
  // 80 type filters make a request of about 2 KiB: the client sends it as 492-byte pieces.
  client::HandleRequest request;
  request.handle = "88.123.45/UDP-2";
  for (int i = 0; i < 80; ++i) request.types.push_back("SOME_TYPE_NAME_" + std::to_string(i));
  request.types.push_back("URL");
  std::string message;
  client::EncodeRequest(request, 301, message);
  ASSERT_GT(message.size(), 3 * wire::kUdpPieceBytes);
  client::HandleConnection client = Connect(node_->handle_port());
  client::HandleReply reply = Exchange(client, message, 301);
  EXPECT_EQ(reply.header.response_code, wire::rc::kSuccess);
  EXPECT_EQ(reply.values.size(), 2u);
}

}  // namespace
}  // namespace idnode
