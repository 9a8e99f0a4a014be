// Recursion on a secondary node below the network: the answer cache, and the query processor's
// side of it (the limit, cache hits, deferral and the busy answer) fed raw request bytes over a
// real LMDB store. The walks themselves run between real processes in federation_test.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <stdexcept>

#include "registry/base/bytes.h"
#include "resolver/client/handle_client.h"
#include "resolver/query/query.h"
#include "resolver/recursion/recursor.h"
#include "tests/support/handle_vectors.h"
#include "tests/support/temp_dir.h"
#include "tests/support/values.h"

namespace idnode::recursion {
namespace {

using testing::BuildRequest;

constexpr uint32_t kResolve = wire::op_flag::kRecursive | wire::op_flag::kCacheCertify |
                              wire::op_flag::kPublicOnly;  // what Handle clients send

query::RecursionAnswer Found(std::string_view data) {
  auto values = identifier::EncodeValueList({testing::MakeValue(1, "URL", std::string(data)),
                                             testing::MakeValue(2, "EMAIL", "ops@example.cn")});
  EXPECT_TRUE(values.ok());
  return query::RecursionAnswer{wire::rc::kSuccess, *values, ""};
}

TEST(RecursionCacheTest, KeepsAnswersUntilTheyExpireAndDropsTheLeastRecentlyUsed) {
  query::RecursionCache cache(2);
  query::RecursionAnswer out;
  EXPECT_FALSE(cache.Get("88.200.7/A", 1000, out));
  cache.Put("88.200.7/A", Found("a"), 2000);
  cache.Put("88.200.7/B", query::RecursionAnswer{wire::rc::kHandleNotFound, "", "not here"}, 5000);
  ASSERT_TRUE(cache.Get("88.200.7/A", 1999, out));
  EXPECT_EQ(out.response_code, wire::rc::kSuccess);
  EXPECT_EQ(out.values, Found("a").values);
  // A was used last, so C pushes B out.
  cache.Put("88.200.7/C", Found("c"), 5000);
  EXPECT_FALSE(cache.Get("88.200.7/B", 1999, out));
  EXPECT_TRUE(cache.Get("88.200.7/C", 1999, out));
  // An answer is gone at its expiry time, not after.
  EXPECT_FALSE(cache.Get("88.200.7/A", 2000, out));
  EXPECT_EQ(cache.stats().entries, 1u);
  // A newer answer replaces the older one.
  cache.Put("88.200.7/C", query::RecursionAnswer{wire::rc::kHandleNotFound, "", "gone"}, 9000);
  ASSERT_TRUE(cache.Get("88.200.7/C", 8999, out));
  EXPECT_EQ(out.response_code, wire::rc::kHandleNotFound);
  EXPECT_EQ(out.message, "gone");
  EXPECT_EQ(cache.stats().hits, 3u);
  EXPECT_EQ(cache.stats().misses, 3u);

  query::RecursionCache none(0);
  none.Put("88.200.7/A", Found("a"), 2000);
  EXPECT_FALSE(none.Get("88.200.7/A", 1000, out));
}

class RecursionQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = store::Store::Open({dir_.path()});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    auto txn = store_->BeginRead();
    ASSERT_TRUE(txn.ok());
    txn_.emplace(*std::move(txn));
  }

  query::QueryOutcome Process(std::string_view request) {
    return processor_.Process(request, *txn_, scratch_);
  }

  client::HandleReply Reply() const {
    auto reply = client::DecodeReply(scratch_.reply, wire::opcode::kResolution);
    EXPECT_TRUE(reply.ok()) << reply.status();
    return reply.ok() ? *reply : client::HandleReply{};
  }

  testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  std::optional<store::ReadTxn> txn_;
  query::RecursionCache cache_{16};
  // Never started, so it takes nothing: what a full queue looks like to the front ends.
  Recursor recursor_{RecursorOptions{}, &cache_};
  query::QueryProcessor processor_{query::QueryConfig{
      "88.123", {}, 1, "", false, "", "", query::RecursionConfig{&recursor_, &cache_, 3}}};
  query::QueryScratch scratch_;
};

TEST_F(RecursionQueryTest, OnlyRequestsWithRecForOtherNodesHandlesRecurse) {
  EXPECT_EQ(Process(BuildRequest("88.200.7/VALVE-9", kResolve & ~wire::op_flag::kRecursive)),
            query::QueryOutcome::kNotResponsible);
  EXPECT_FALSE(scratch_.deferred);
  // Its own space is answered from its own store, REC or not.
  EXPECT_EQ(Process(BuildRequest("88.123.45/NONE", kResolve)),
            query::QueryOutcome::kHandleNotFound);
  EXPECT_FALSE(scratch_.deferred);

  EXPECT_EQ(
      Process(BuildRequest("88.abc.7/Valve-9", kResolve, 7, {}, {}, wire::opcode::kResolution, 2)),
      query::QueryOutcome::kRecursed);
  ASSERT_TRUE(scratch_.deferred);
  EXPECT_EQ(scratch_.question.handle, "88.abc.7/Valve-9");
  EXPECT_EQ(scratch_.question.cache_key, "88.ABC.7/Valve-9");  // the suffix keeps its case
  EXPECT_EQ(scratch_.question.recursion_count, 2);
  // The reply left for the front end should the recursor refuse: server too busy.
  EXPECT_EQ(Reply().header.response_code, wire::rc::kServerTooBusy);
  EXPECT_FALSE(
      processor_.Defer(query::DeferredRequest{"", scratch_.question, 0, [](std::string_view) {}}));
  EXPECT_EQ(recursor_.stats().refused, 1u);
  // 0.NA/ of a prefix this node does not serve recurses too, and so does the bare prefix
  // (id-pointer-sdk's lookup), which the walk resolves as 0.NA/<prefix>.
  EXPECT_EQ(Process(BuildRequest("0.NA/88.200.7", kResolve)), query::QueryOutcome::kRecursed);
  EXPECT_TRUE(scratch_.deferred);
  EXPECT_EQ(Process(BuildRequest("88.200.7", kResolve)), query::QueryOutcome::kRecursed);
  ASSERT_TRUE(scratch_.deferred);
  EXPECT_EQ(scratch_.question.handle, "0.NA/88.200.7");
  // Its reply once the walk ends echoes the handle as asked.
  EXPECT_EQ(
      processor_.AnswerRecursion(BuildRequest("88.200.7", kResolve, 8), Found("site"), scratch_, 0),
      query::QueryOutcome::kRecursed);
  EXPECT_EQ(Reply().handle, "88.200.7");
}

TEST_F(RecursionQueryTest, ARequestAtTheRecursionLimitGetsRc6) {
  EXPECT_EQ(
      Process(BuildRequest("88.200.7/VALVE-9", kResolve, 7, {}, {}, wire::opcode::kResolution, 3)),
      query::QueryOutcome::kRecursionLimit);
  EXPECT_FALSE(scratch_.deferred);
  client::HandleReply reply = Reply();
  EXPECT_EQ(reply.header.response_code, wire::rc::kRecursionCountTooHigh);
  EXPECT_EQ(reply.message,
            "recursion count 3 has reached this node's limit of 3 (a referral loop between "
            "nodes?)");
}

TEST_F(RecursionQueryTest, CachedAnswersAreFilteredAndNotAuthoritativeUnlessAtBypassesThem) {
  cache_.Put("88.200.7/VALVE-9", Found("https://b.example/valve-9"),
             query::SteadyMillis() + 60'000);
  static constexpr std::string_view kUrl[] = {"URL"};
  EXPECT_EQ(Process(BuildRequest("88.200.7/VALVE-9", kResolve, 7, {}, kUrl)),
            query::QueryOutcome::kRecursed);
  EXPECT_FALSE(scratch_.deferred);
  client::HandleReply reply = Reply();
  EXPECT_EQ(reply.header.response_code, wire::rc::kSuccess);
  EXPECT_EQ(reply.header.flags & wire::op_flag::kAuthoritative, 0u);
  EXPECT_EQ(reply.handle, "88.200.7/VALVE-9");
  ASSERT_EQ(reply.values.size(), 1u);  // the type filter applies to the cached list
  EXPECT_EQ(reply.values[0].data, "https://b.example/valve-9");
  static constexpr uint32_t kNoSuchIndex[] = {9};
  EXPECT_EQ(Process(BuildRequest("88.200.7/VALVE-9", kResolve, 7, kNoSuchIndex)),
            query::QueryOutcome::kRecursed);  // counted as recursed, whatever the answer
  EXPECT_EQ(Reply().header.response_code, wire::rc::kValuesNotFound);

  // AT: the client wants an authoritative answer, so the cache is not used.
  EXPECT_EQ(Process(BuildRequest("88.200.7/VALVE-9", kResolve | wire::op_flag::kAuthoritative)),
            query::QueryOutcome::kRecursed);
  EXPECT_TRUE(scratch_.deferred);

  // What the recursor builds once a walk ends: the same reply as from the cache.
  const std::string request = BuildRequest("88.200.7/GONE", kResolve, 42);
  EXPECT_EQ(
      processor_.AnswerRecursion(
          request, query::RecursionAnswer{wire::rc::kHandleNotFound, "", "no such identifier"},
          scratch_, 0),
      query::QueryOutcome::kRecursed);
  reply = Reply();
  EXPECT_EQ(reply.envelope.request_id, 42u);
  EXPECT_EQ(reply.header.response_code, wire::rc::kHandleNotFound);
  EXPECT_EQ(reply.message, "no such identifier");
  EXPECT_EQ(reply.header.flags & wire::op_flag::kAuthoritative, 0u);
  EXPECT_EQ(processor_.AnswerRecursion(
                request, query::RecursionAnswer{wire::rc::kRecursionCountTooHigh, "", "loop"},
                scratch_, 0),
            query::QueryOutcome::kRecursionLimit);
  // An answer above the transport's bound becomes the error naming it.
  EXPECT_EQ(processor_.AnswerRecursion(request, Found(std::string(600, 'x')), scratch_, 512),
            query::QueryOutcome::kReplyTooLarge);
}

// A reply callback that throws does not end the recursor's worker (before, std::terminate ended
// the process): the exception is counted and the next request is answered.
TEST_F(RecursionQueryTest, AnExceptionInAReplyIsCountedAndTheWorkerGoesOn) {
  // The "top node": a loopback UDP socket that never answers, so each walk times out quickly.
  const int silent = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(silent, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(silent, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
  socklen_t length = sizeof address;
  ASSERT_EQ(getsockname(silent, reinterpret_cast<sockaddr*>(&address), &length), 0);
  RecursorOptions options;
  options.top = net::Endpoint(INADDR_LOOPBACK, ntohs(address.sin_port));
  options.workers = 1;
  options.max_hops = 1;
  options.timeout = std::chrono::milliseconds(50);
  Recursor recursor(options, nullptr);
  recursor.Start(processor_);

  ASSERT_EQ(Process(BuildRequest("88.200.7/VALVE-9", kResolve)), query::QueryOutcome::kRecursed);
  ASSERT_TRUE(scratch_.deferred);
  const std::string request = BuildRequest("88.200.7/VALVE-9", kResolve, 11);
  ASSERT_TRUE(
      recursor.Submit(query::DeferredRequest{request, scratch_.question, 0, [](std::string_view) {
                                               throw std::runtime_error("the reply's socket broke");
                                             }}));
  std::promise<std::string> answered;
  ASSERT_TRUE(recursor.Submit(query::DeferredRequest{
      request, scratch_.question, 0,
      [&answered](std::string_view reply) { answered.set_value(std::string(reply)); }}));
  std::future<std::string> reply = answered.get_future();
  ASSERT_EQ(reply.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  scratch_.reply = reply.get();
  EXPECT_EQ(Reply().header.response_code, wire::rc::kError);  // the top node did not answer
  const CaughtStats caught = recursor.guard().stats();
  EXPECT_EQ(caught.exceptions, 1u);
  EXPECT_NE(caught.last_error.find("the reply's socket broke"), std::string::npos)
      << caught.last_error;
  recursor.Stop();
  close(silent);
}

}  // namespace
}  // namespace idnode::recursion
