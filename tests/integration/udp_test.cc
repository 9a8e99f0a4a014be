// The Handle protocol over real UDP datagrams to a real idnode process on 127.0.0.1.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <random>

#include "registry/base/bytes.h"
#include "registry/identifier/value.h"
#include "resolver/client/handle_client.h"
#include "resolver/wire/wire.h"
#include "tests/integration/node_process.h"
#include "tests/support/handle_vectors.h"
#include "tests/support/temp_dir.h"

namespace idnode {
namespace {

// A UDP client socket on 127.0.0.1 that talks to one port.
class UdpClient {
 public:
  explicit UdpClient(int port) {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    server_.sin_family = AF_INET;
    server_.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &server_.sin_addr);
  }
  ~UdpClient() { close(fd_); }

  bool Send(std::string_view datagram) {
    return sendto(fd_, datagram.data(), datagram.size(), 0,
                  reinterpret_cast<const sockaddr*>(&server_),
                  sizeof server_) == static_cast<ssize_t>(datagram.size());
  }

  // Collects the datagrams of the reply to `request_id` until the whole message is there (or 5 s
  // pass) and returns envelope + message, or "" on timeout. `pieces` counts the datagrams.
  std::string Receive(uint32_t request_id, int* pieces = nullptr) {
    std::map<uint32_t, std::string> slices;
    wire::Envelope first;
    size_t have = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char buffer[65536];
      ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
      wire::Envelope envelope;
      if (n <= 0 ||
          wire::DecodeEnvelope(std::string_view(buffer, static_cast<size_t>(n)), envelope) !=
              wire::WireError::kOk ||
          envelope.request_id != request_id) {
        continue;
      }
      first = envelope;
      std::string slice(buffer + wire::kEnvelopeBytes,
                        static_cast<size_t>(n) - wire::kEnvelopeBytes);
      have += slice.size();
      slices[envelope.sequence] = std::move(slice);
      if (have >= envelope.message_length) break;
    }
    if (have < first.message_length || slices.empty()) return "";
    if (pieces) *pieces = static_cast<int>(slices.size());
    first.flags = 0;
    first.sequence = 0;
    std::string whole;
    wire::EncodeEnvelope(first, whole);
    for (auto& [sequence, slice] : slices) whole += slice;
    return whole;
  }

 private:
  int fd_;
  sockaddr_in server_{};
};

struct Reply {
  uint32_t code = 0;
  std::vector<std::pair<uint32_t, std::string>> values;  // index, data
};

Reply Decode(const std::string& whole) {
  Reply reply;
  wire::Header header;
  std::string_view body;
  if (whole.size() < wire::kEnvelopeBytes ||
      wire::DecodeHeader(std::string_view(whole).substr(wire::kEnvelopeBytes), header, body) !=
          wire::WireError::kOk) {
    return reply;
  }
  reply.code = header.response_code;
  if (reply.code != wire::rc::kSuccess) return reply;
  ByteReader r(body);
  std::string_view handle;
  uint32_t count = 0;
  if (!r.Bytes32(handle, 4096) || !r.U32(count)) return reply;
  auto values = DecodeValueList(body.substr(r.position() - 4));
  if (!values.ok()) return reply;
  for (const HandleValue& v : *values) reply.values.emplace_back(v.index, v.data);
  return reply;
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
  UdpClient client(node_->handle_port());
  ASSERT_TRUE(client.Send(testing::BuildRequest("88.123.45/udp-2", 0x19000000, 101)));
  int pieces = 0;
  Reply reply = Decode(client.Receive(101, &pieces));
  EXPECT_EQ(reply.code, wire::rc::kSuccess);
  EXPECT_EQ(pieces, 1);
  ASSERT_EQ(reply.values.size(), 2u);
  EXPECT_EQ(reply.values[1].first, 2u);

  ASSERT_TRUE(client.Send(testing::BuildRequest("88.123.45/NOPE", 0x19000000, 102)));
  EXPECT_EQ(Decode(client.Receive(102)).code, wire::rc::kHandleNotFound);
  ASSERT_TRUE(client.Send(testing::BuildRequest("86.1/ELSEWHERE", 0x19000000, 103)));
  EXPECT_EQ(Decode(client.Receive(103)).code, wire::rc::kServerNotResponsible);
}

TEST_F(UdpTest, SplitsLargeRepliesIntoPiecesClientsReassemble) {
  UdpClient client(node_->handle_port());
  ASSERT_TRUE(client.Send(testing::BuildRequest("88.123.45/UDP-40", 0x19000000, 201)));
  int pieces = 0;
  Reply reply = Decode(client.Receive(201, &pieces));
  EXPECT_EQ(reply.code, wire::rc::kSuccess);
  EXPECT_GT(pieces, 1);
  ASSERT_EQ(reply.values.size(), 40u);
  EXPECT_EQ(reply.values[39].second.substr(reply.values[39].second.size() - 3), "/40");
}

TEST_F(UdpTest, KeepsAnsweringUnderAFloodOfGarbage) {
  // The flood comes from its own socket, whose replies nobody reads.
  UdpClient flooder(node_->handle_port());
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
    flooder.Send(garbage);
  }
  UdpClient client(node_->handle_port());
  ASSERT_TRUE(client.Send(testing::BuildRequest("88.123.45/UDP-2", 0x19000000, 301)));
  Reply reply = Decode(client.Receive(301));
  EXPECT_EQ(reply.code, wire::rc::kSuccess);
  EXPECT_EQ(reply.values.size(), 2u);
}

TEST_F(UdpTest, AnswersARequestSentInSeveralPieces) {
  // 80 type filters make a request of about 2 KiB: the client sends it as 492-byte pieces.
  resolver::HandleRequest request;
  request.handle = "88.123.45/UDP-2";
  for (int i = 0; i < 80; ++i) request.types.push_back("SOME_TYPE_NAME_" + std::to_string(i));
  request.types.push_back("URL");
  std::string message;
  resolver::EncodeRequest(request, 301, message);
  ASSERT_GT(message.size(), 3 * wire::kUdpPieceBytes);
  auto connection = resolver::HandleConnection::Open(
      resolver::Transport::kUdp, {0x7f000001, static_cast<uint16_t>(node_->handle_port())},
      std::chrono::seconds(5));
  ASSERT_TRUE(connection.ok());
  ASSERT_TRUE(connection->Send(message).ok());
  auto whole = connection->Receive(301, std::chrono::seconds(5));
  ASSERT_TRUE(whole.ok()) << whole.status();
  auto reply = resolver::DecodeReply(*whole, wire::opcode::kResolution);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->header.response_code, wire::rc::kSuccess);
  EXPECT_EQ(reply->values.size(), 2u);
}

}  // namespace
}  // namespace idnode
