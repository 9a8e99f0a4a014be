// Federation state in a real store: node accounts and their grants, expiring credentials,
// prefix records that only their registering account may change, and the upward spool that
// prefix allocation and release write in their own transaction.

#include <gtest/gtest.h>

#include "registry/accounts/accounts.h"
#include "registry/base/status_macros.h"
#include "registry/federation/federation.h"
#include "registry/identifier/record.h"
#include "registry/writer/admin_ops.h"
#include "registry/writer/submit.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

namespace idnode::federation {
namespace {

constexpr int64_t kNow = 1'795'275'000'000;  // 2026-11-21T15:30:00Z

class FederationStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = store::Store::Open({dir_.path(), size_t{1} << 20});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    auto writer = writer::Writer::Start(*store_, clock_, writer::WriterOptions{});
    ASSERT_TRUE(writer.ok());
    writer_ = *std::move(writer);
  }

  template <typename T, typename Make>
  absl::StatusOr<T> Run(Make make) {
    return SubmitAndWait<absl::StatusOr<T>>(*writer_, make);
  }

  std::vector<PendingUpward> Spool() {
    auto txn = store_->BeginRead();
    EXPECT_TRUE(txn.ok());
    auto pending = ListUpward(*txn);
    EXPECT_TRUE(pending.ok()) << pending.status();
    return pending.ok() ? *pending : std::vector<PendingUpward>{};
  }

  testing::TempDir dir_;
  testing::FakeClock clock_{kNow};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<writer::Writer> writer_;
};

TEST_F(FederationStoreTest, NodeAccountsCarryGrantsAndOlderRecordsStillDecode) {
  EXPECT_FALSE(Run<bool>([](auto done) {
                 return MakeCreateAccountOp("admin", "node-a", accounts::Role::kNode, {}, done);
               }).ok());  // a node account needs grants
  auto refused = Run<bool>([](auto done) {
    return MakeCreateAccountOp("admin", "acme", accounts::Role::kRegistrant, {"88.1"}, done);
  });
  EXPECT_NE(refused.status().message().find("grants: only node accounts have grants"),
            std::string::npos);
  ASSERT_TRUE(Run<bool>([](auto done) {
                return MakeCreateAccountOp("admin", "node-a", accounts::Role::kNode,
                                           {"88.abc", "89"}, done);
              }).ok());
  auto txn = store_->BeginRead();
  ASSERT_TRUE(txn.ok());
  auto account = accounts::DecodeAccount(*txn->Get(store::Db::kAccounts, "node-a").value());
  ASSERT_TRUE(account.ok());
  EXPECT_EQ(account->role, accounts::Role::kNode);
  EXPECT_EQ(account->grants, (std::vector<std::string>{"88.ABC", "89"}));
  EXPECT_TRUE(accounts::GrantCovers(account->grants, "88.ABC.1"));
  EXPECT_TRUE(accounts::GrantCovers(account->grants, "89"));
  EXPECT_FALSE(accounts::GrantCovers(account->grants, "88.AB"));
  EXPECT_FALSE(accounts::GrantCovers(account->grants, "88"));

  // A record written before grants existed: format, role, created, disabled, and nothing more.
  std::string old =
      accounts::EncodeAccount(accounts::AccountRecord{accounts::Role::kOperator, kNow, false, {}});
  old.resize(old.size() - 2);
  auto decoded = accounts::DecodeAccount(old);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->role, accounts::Role::kOperator);
  EXPECT_TRUE(decoded->grants.empty());
}

TEST_F(FederationStoreTest, ACredentialExpiresAtItsTime) {
  ASSERT_TRUE(Run<bool>([](auto done) {
                return MakeCreateAccountOp("admin", "node-a", accounts::Role::kNode, {"88.123"},
                                           done);
              }).ok());
  const std::string token = "idn_" + std::string(64, 'a');
  auto issued = Run<writer::IssuedToken>(
      [&](auto done) { return MakeIssueTokenOp("admin", "node-a", token, "node", 3600, done); });
  ASSERT_TRUE(issued.ok());
  EXPECT_EQ(issued->expires_ms, kNow + 3'600'000);
  auto txn = store_->BeginRead();
  ASSERT_TRUE(txn.ok());
  auto principal = accounts::Authenticate(*txn, token, kNow + 3'599'999);
  ASSERT_TRUE(principal.ok()) << principal.status();
  EXPECT_EQ(principal->grants, std::vector<std::string>{"88.123"});
  auto expired = accounts::Authenticate(*txn, token, kNow + 3'600'000);
  EXPECT_EQ(expired.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(expired.status().message().find("expired at 2026-11-21T16:30:00Z"), std::string::npos)
      << expired.status();
}

TEST_F(FederationStoreTest, APrefixRecordBelongsToTheAccountThatRegisteredIt) {
  auto put = [&](const std::string& account, const std::string& site) {
    return Run<PrefixRecordChange>([&](auto done) {
      return MakePutPrefixRecordOp(account, "88.123", PrefixTarget{site, true, ""}, done);
    });
  };
  auto first = put("node-a", "SITE-1");
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->changed);
  EXPECT_FALSE(put("node-a", "SITE-1")->changed);  // the same again: nothing to write
  EXPECT_TRUE(put("node-a", "SITE-2")->changed);
  auto stolen = put("node-b", "SITE-3");
  EXPECT_EQ(stolen.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(stolen.status().message().find("0.NA/88.123 is registered by node account node-a"),
            std::string::npos);
  {
    auto txn = store_->BeginRead();
    ASSERT_TRUE(txn.ok());
    auto record = identifier::DecodeRecord(*txn->Get(store::Db::kIds, "0.NA/88.123").value());
    ASSERT_TRUE(record.ok());
    EXPECT_EQ(record->owner, "node-a");
    EXPECT_EQ(record->version, 2u);
    EXPECT_EQ(record->values, PrefixRecordValues("SITE-2", true, kNow / 1000));
  }
  auto removed_by_other = Run<PrefixRecordChange>(
      [](auto done) { return MakeRemovePrefixRecordOp("node-b", "88.123", done); });
  EXPECT_EQ(removed_by_other.status().code(), absl::StatusCode::kPermissionDenied);
  auto removed = Run<PrefixRecordChange>(
      [](auto done) { return MakeRemovePrefixRecordOp("node-a", "88.123", done); });
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(removed->changed);
  EXPECT_FALSE(Run<PrefixRecordChange>([](auto done) {
                 return MakeRemovePrefixRecordOp("node-a", "88.123", done);
               })->changed);
}

TEST_F(FederationStoreTest, AllocationAndReleaseSpoolTheirUpwardIntentAtomically) {
  ASSERT_TRUE(Run<bool>([](auto done) {
                return MakeCreateAccountOp("admin", "acme", accounts::Role::kRegistrant, {}, done);
              }).ok());
  writer::PrefixHook hook = MakeUpwardSpoolHook("SITE");
  ASSERT_TRUE(Run<bool>([&](auto done) {
                return MakeAllocatePrefixOp("admin", "88.123", "88.123.45", "acme", 0, hook, done);
              }).ok());
  std::vector<PendingUpward> spool = Spool();
  ASSERT_EQ(spool.size(), 1u);
  EXPECT_EQ(spool[0].entry.prefix, "88.123.45");
  EXPECT_EQ(spool[0].entry.op, UpwardOp::kRegister);
  EXPECT_EQ(spool[0].entry.site, "SITE");
  EXPECT_EQ(spool[0].entry.queued_ms, kNow);
  // A refused allocation spools nothing.
  EXPECT_FALSE(Run<bool>([&](auto done) {
                 return MakeAllocatePrefixOp("admin", "88.123", "88.123.45.6", "acme", 0, hook,
                                             done);
               }).ok());
  EXPECT_EQ(Spool().size(), 1u);

  // Release replaces the pending registration; an acknowledgement of the older intent does not
  // remove the newer one.
  const std::string older = spool[0].encoded;
  clock_.Set(kNow + 1000);
  ASSERT_TRUE(Run<bool>([&](auto done) {
                return MakeReleasePrefixOp("admin", "88.123.45", hook, done);
              }).ok());
  ASSERT_TRUE(writer::SubmitAndWait(*writer_, [&](auto done) {
                return MakeUpwardAcknowledgedOp("88.123.45", older, std::move(done));
              }).ok());
  spool = Spool();
  ASSERT_EQ(spool.size(), 1u);
  EXPECT_EQ(spool[0].entry.op, UpwardOp::kRemove);
  ASSERT_TRUE(writer::SubmitAndWait(*writer_, [&](auto done) {
                return MakeUpwardAcknowledgedOp("88.123.45", spool[0].encoded, std::move(done));
              }).ok());
  EXPECT_TRUE(Spool().empty());
  EXPECT_EQ(
      Run<bool>([&](auto done) { return MakeReleasePrefixOp("admin", "88.123.45", hook, done); })
          .status()
          .code(),
      absl::StatusCode::kNotFound);
}

TEST_F(FederationStoreTest, SyncSpoolsEverythingOnlyWhenTheSiteOrTopChanged) {
  ASSERT_TRUE(Run<bool>([](auto done) {
                return MakeCreateAccountOp("admin", "acme", accounts::Role::kRegistrant, {}, done);
              }).ok());
  for (const char* prefix : {"88.123.45", "88.123.46"}) {
    ASSERT_TRUE(Run<bool>([&](auto done) {
                  return MakeAllocatePrefixOp("admin", "88.123", prefix, "acme", 0, {}, done);
                }).ok());
  }
  auto sync = [&](const std::string& site, const std::string& top) {
    return Run<size_t>([&](auto done) { return MakeSyncUpwardOp("88.123", site, top, done); });
  };
  EXPECT_EQ(*sync("SITE", "top:1"), 3u);
  std::vector<PendingUpward> spool = Spool();
  ASSERT_EQ(spool.size(), 3u);
  EXPECT_EQ(spool[0].entry.prefix, "88.123");
  EXPECT_TRUE(spool[0].entry.derived);
  EXPECT_FALSE(spool[1].entry.derived);
  EXPECT_EQ(*sync("SITE", "top:1"), 0u);
  EXPECT_EQ(*sync("SITE-MOVED", "top:1"), 3u);
  EXPECT_EQ(*sync("SITE-MOVED", "top:2"), 3u);
  EXPECT_EQ(Spool()[2].entry.site, "SITE-MOVED");
}

TEST(UpwardEntryTest, RoundTripsAndRefusesMalformedBytes) {
  UpwardEntry entry{"88.123.45", UpwardOp::kRegister, true, kNow, "SITE"};
  auto decoded = DecodeUpwardEntry("88.123.45", EncodeUpwardEntry(entry));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->site, "SITE");
  EXPECT_TRUE(decoded->derived);
  std::string bytes = EncodeUpwardEntry(entry);
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    EXPECT_EQ(DecodeUpwardEntry("p", bytes.substr(0, cut)).status().code(),
              absl::StatusCode::kDataLoss);
  }
  bytes[1] = 9;  // no such operation
  EXPECT_FALSE(DecodeUpwardEntry("p", bytes).ok());
}

TEST_F(FederationStoreTest, TheSiteSerialGoesUpOnlyWhenTheSiteChangesAndSkipsUnknown) {
  auto serial = [&](const std::string& site) {
    auto got = Run<uint16_t>([&](auto done) { return MakeSiteSerialOp(site, done); });
    EXPECT_TRUE(got.ok()) << got.status();
    return got.ok() ? *got : uint16_t{0};
  };
  EXPECT_EQ(serial("site A"), 1);  // a new store
  EXPECT_EQ(serial("site A"), 1);  // unchanged: kept
  EXPECT_EQ(serial("site B"), 2);
  EXPECT_EQ(serial("site A"), 3);  // back to an earlier site is still a change
  // Kept across a restart of the store.
  writer_.reset();
  store_.reset();
  auto reopened = store::Store::Open({dir_.path(), size_t{1} << 20});
  ASSERT_TRUE(reopened.ok());
  store_ = *std::move(reopened);
  auto writer = writer::Writer::Start(*store_, clock_, writer::WriterOptions{});
  ASSERT_TRUE(writer.ok());
  writer_ = *std::move(writer);
  EXPECT_EQ(serial("site A"), 3);
  // After 65534 it starts again at 1: 0 and 0xFFFF mean "unknown" to clients.
  ASSERT_TRUE(Run<bool>([](auto done) {
                return std::make_unique<writer::FunctionOp<bool>>(
                    [](writer::WriteContext& context) -> absl::StatusOr<bool> {
                      RETURN_IF_ERROR(context.txn().Put(store::Db::kMeta, "site_serial",
                                                        std::string("\xff\xfe", 2)));
                      return true;
                    },
                    done);
              }).ok());
  EXPECT_EQ(serial("site A"), 0xFFFE);
  EXPECT_EQ(serial("site C"), 1);
}

}  // namespace
}  // namespace idnode::federation
