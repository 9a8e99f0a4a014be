// The federation client's catch-all, over a real LMDB store and writer: a registrar that throws
// is a failed round (counted, retried after the back-off), not the end of the process.

#include "api/node/federation_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "registry/federation/federation.h"
#include "tests/support/temp_dir.h"
#include "tests/support/write_access.h"

namespace idnode::node {
namespace {

using namespace std::chrono_literals;

// Throws on its first call, then accepts.
class FlakyRegistrar final : public UpstreamRegistrar {
 public:
  absl::Status Register(const federation::UpwardEntry&) override {
    if (calls_.fetch_add(1) == 0) throw std::runtime_error("the channel broke");
    return absl::OkStatus();
  }
  absl::Status Remove(const federation::UpwardEntry&) override { return absl::OkStatus(); }

 private:
  std::atomic<int> calls_{0};
};

TEST(FederationClientTest, AnExceptionIsAFailedRoundThatIsCountedAndRetried) {
  testing::TempDir dir;
  auto store = store::Store::Open({dir.path(), size_t{16} << 20});
  ASSERT_TRUE(store.ok()) << store.status();
  {
    auto txn = (*store)->BeginWrite(store::WriteAccessForTests::Get());
    ASSERT_TRUE(txn.ok()) << txn.status();
    federation::UpwardEntry entry;
    entry.prefix = "88.123.45";
    entry.site = "site";
    ASSERT_TRUE(federation::SpoolUpward(*txn, entry).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  auto writer = writer::Writer::Start(**store, SystemClock::Get(), writer::WriterOptions{});
  ASSERT_TRUE(writer.ok()) << writer.status();
  FederationClientOptions options;
  options.retry_initial = 10ms;
  FederationClient client(**store, **writer, SystemClock::Get(), std::make_unique<FlakyRegistrar>(),
                          options);
  client.Start();
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (client.stats().delivered == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);  // polling the condition
  }
  EXPECT_EQ(client.stats().delivered, 1u);  // the retry after the exception
  const CaughtStats caught = client.guard().stats();
  EXPECT_EQ(caught.exceptions, 1u);
  EXPECT_EQ(caught.last_error, "sending upward registrations: the channel broke");
  client.Stop();
}

}  // namespace
}  // namespace idnode::node
