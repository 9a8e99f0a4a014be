// Nothing acknowledged is lost: stream batches into a real node, SIGKILL it mid-stream, restart
// it over the same data directory and find every acknowledged identifier intact.

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "tests/integration/node_process.h"
#include "tests/support/temp_dir.h"

namespace idnode {
namespace {

constexpr int kBatchSize = 500;

std::string Id(uint64_t batch, int item) {
  return "88.123.45/CRASH-" + std::to_string(batch) + "-" + std::to_string(item);
}

v1::CreateRequest Item(uint64_t batch, int item) {
  v1::CreateRequest r;
  r.set_identifier(Id(batch, item));
  for (uint32_t index = 1; index <= 3; ++index) {
    v1::Value* v = r.add_values();
    v->set_index(index);
    v->set_type(index == 1 ? "URL" : "ATTR" + std::to_string(index));
    v->set_data(r.identifier() + "#" + std::to_string(index));
  }
  return r;
}

class CrashTest : public ::testing::TestWithParam<int> {};

TEST_P(CrashTest, AcknowledgedRegistrationsSurviveSigkill) {
  testing::TempDir dir;
  const std::string data = dir.Sub("node");
  std::string token;
  {
    testing::NodeProcess node(data);
    ASSERT_TRUE(node.Start());
    token = node.ProvisionRegistrant("acme", "88.123.45");
    ASSERT_FALSE(token.empty());

    // Stream until killed; remember which batches the node acknowledged.
    std::mutex mu;
    std::condition_variable acked_cv;
    std::set<uint64_t> acknowledged;
    std::atomic<uint64_t> next_batch{0};
    std::thread streamer([&] {
      auto stub = v1::Registry::NewStub(node.Channel());
      idctl::StreamBatches(
          *stub, token,
          [&](v1::BatchCreateRequest& request) {
            uint64_t batch = ++next_batch;
            if (batch > 100000) return false;
            request.set_batch_id(batch);
            for (int i = 0; i < kBatchSize; ++i) *request.add_items() = Item(batch, i);
            return true;
          },
          [&](const v1::BatchCreateResponse& response) {
            bool all_ok = response.results_size() == kBatchSize;
            for (const auto& r : response.results()) all_ok = all_ok && r.code() == 0;
            std::lock_guard lock(mu);
            if (all_ok) acknowledged.insert(response.batch_id());
            acked_cv.notify_all();
          });
    });
    {
      // Kill after a number of acknowledgements that varies with the test parameter.
      std::unique_lock lock(mu);
      const size_t kill_after = 3 + static_cast<size_t>(GetParam()) * 4;
      ASSERT_TRUE(acked_cv.wait_for(lock, std::chrono::seconds(60),
                                    [&] { return acknowledged.size() >= kill_after; }));
    }
    int status = node.Kill(SIGKILL);
    EXPECT_TRUE(WIFSIGNALED(status));
    streamer.join();

    std::lock_guard lock(mu);
    ASSERT_FALSE(acknowledged.empty());
    testing::NodeProcess restarted(data);
    ASSERT_TRUE(restarted.Start()) << "the store did not reopen after SIGKILL";
    auto resolver = v1::Resolver::NewStub(restarted.Channel());
    for (uint64_t batch : acknowledged) {
      for (int i = 0; i < kBatchSize; i += 7) {
        grpc::ClientContext ctx;
        v1::ResolveRequest r;
        r.set_identifier(Id(batch, i));
        v1::ResolveResponse out;
        grpc::Status s = resolver->Resolve(&ctx, r, &out);
        ASSERT_TRUE(s.ok()) << Id(batch, i) << ": " << s.error_message();
        ASSERT_EQ(out.values_size(), 3);
        EXPECT_EQ(out.values(2).data(), Id(batch, i) + "#3");
      }
    }
    // The restarted node still takes writes.
    auto registry = v1::Registry::NewStub(restarted.Channel());
    grpc::ClientContext ctx;
    idctl::Authorize(ctx, token);
    v1::CreateResponse created;
    EXPECT_TRUE(registry->Create(&ctx, Item(999999, 0), &created).ok());
    // And it stops cleanly on SIGTERM.
    int term = restarted.Kill(SIGTERM);
    EXPECT_TRUE(WIFEXITED(term) && WEXITSTATUS(term) == 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Repeated, CrashTest, ::testing::Range(0, 4));

}  // namespace
}  // namespace idnode
