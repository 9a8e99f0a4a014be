// Registration memory is bounded by bytes as well as items, and returns after a load: against a
// real idnode process, with real BatchCreate streams.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/node_process.h"
#include "tests/support/temp_dir.h"
#include "tools/idctl/client.h"

namespace idnode {
namespace {

// Streams `batches` messages of `items` identifiers, each with one URL value of `value_bytes`.
grpc::Status Stream(const testing::NodeProcess& node, const std::string& token,
                    const std::string& name, int batches, int items, size_t value_bytes) {
  auto stub = v1::Registry::NewStub(node.Channel());
  int sent = 0;
  return idctl::StreamBatches(
      *stub, token,
      [&](v1::BatchCreateRequest& request) {
        if (sent == batches) return false;
        request.set_batch_id(static_cast<uint64_t>(sent));
        for (int i = 0; i < items; ++i) {
          v1::CreateRequest* item = request.add_items();
          item->set_identifier("88.123.45/" + name + "-" + std::to_string(sent) + "-" +
                               std::to_string(i));
          v1::Value* value = item->add_values();
          value->set_index(1);
          value->set_type("URL");
          value->set_data(std::string(value_bytes, 'm'));
        }
        ++sent;
        return true;
      },
      [](const v1::BatchCreateResponse&) {});
}

TEST(MemoryTest, OneBatchOverTheItemBoundIsRefusedNamingIt) {
  testing::TempDir dir;
  testing::NodeProcess node(dir.Sub("data"));
  ASSERT_TRUE(node.Start()) << node.Log();
  const std::string token = node.ProvisionRegistrant("acme", "88.123.45");
  ASSERT_FALSE(token.empty());
  const int64_t items_before = node.Metric("idnode_writer_items_total");
  // 300,000 items in one message, over the default registry.max_queued_items of 200,000.
  grpc::Status refused = Stream(node, token, "HUGE", 1, 300'000, 4);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << refused.error_message();
  EXPECT_NE(refused.error_message().find(
                "one write of 300000 items is above registry.max_queued_items (200000)"),
            std::string::npos)
      << refused.error_message();
  EXPECT_EQ(node.Metric("idnode_writer_items_total"), items_before);  // nothing of it committed
}

TEST(MemoryTest, LargeBatchStreamsGiveTheirMemoryBackOnceTheyEnd) {
  if (testing::kAddressSanitizer) GTEST_SKIP() << "memory is measured without AddressSanitizer";
  testing::TempDir dir;
  testing::NodeProcess node(dir.Sub("data"));
  ASSERT_TRUE(node.Start()) << node.Log();
  const std::string token = node.ProvisionRegistrant("acme", "88.123.45");
  ASSERT_FALSE(token.empty());
  const int64_t before = node.RssAnonKib();
  ASSERT_GT(before, 0);
  // Four streams at once, each of 8 messages of 400 values of 20 KB: 256 MB in all.
  std::atomic<int64_t> peak{before};
  std::atomic<bool> loading{true};
  std::thread sampler([&] {
    while (loading) {
      peak = std::max<int64_t>(peak, node.RssAnonKib());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // sampling while it loads
    }
  });
  std::vector<std::thread> streams;
  std::vector<grpc::Status> results(4);
  for (int s = 0; s < 4; ++s) {
    streams.emplace_back(
        [&, s] { results[s] = Stream(node, token, "S" + std::to_string(s), 8, 400, 20'000); });
  }
  for (auto& t : streams) t.join();
  loading = false;
  sampler.join();
  for (const grpc::Status& status : results) EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(node.Metric("idnode_writer_queued_bytes"), 0);
  // The writer trims once it has been idle for 200 ms after the load (and perhaps during it, in a
  // pause that long): wait until what it committed since the last trim is under the 16 MiB that
  // makes one due.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while ((node.Metric("idnode_writer_heap_trims_total") < 1 ||
          node.Metric("idnode_writer_untrimmed_bytes") >= (16 << 20)) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling the condition
  }
  ASSERT_GE(node.Metric("idnode_writer_heap_trims_total"), 1);
  ASSERT_LT(node.Metric("idnode_writer_untrimmed_bytes"), 16 << 20);
  const int64_t after = node.RssAnonKib();
  std::cout << "RssAnon KiB: before " << before << ", peak " << peak << ", after " << after << "\n";
  EXPECT_LT(after - before, 64 * 1024) << "peak " << peak;
}

}  // namespace
}  // namespace idnode
