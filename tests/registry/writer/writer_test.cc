#include "registry/writer/writer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <stdexcept>
#include <thread>

#include "registry/identifier/record.h"
#include "registry/templates/template_store.h"
#include "registry/writer/admin_ops.h"
#include "registry/writer/registry_ops.h"
#include "registry/writer/submit.h"
#include "registry/writer/template_ops.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"
#include "tests/support/values.h"

namespace idnode::writer {
namespace {

using testing::FakeClock;
using testing::MakeValue;

// 2026-11-21T15:30:00Z = 2026-11-21T23:30+08:00.
constexpr int64_t kNow = 1'795'275'000'000;

class WriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = store::Store::Open({dir_.path(), size_t{1} << 20});  // small: exercises growth
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    auto writer = Writer::Start(*store_, clock_, WriterOptions{});
    ASSERT_TRUE(writer.ok());
    writer_ = *std::move(writer);
    ASSERT_TRUE(Run<bool>([](auto done) {
                  return MakeCreateAccountOp("test", "acme", accounts::Role::kRegistrant, {}, done);
                }).ok());
    ASSERT_TRUE(Run<bool>([](auto done) {
                  return MakeCreateAccountOp("test", "other", accounts::Role::kRegistrant, {},
                                             done);
                }).ok());
    ASSERT_TRUE(Run<bool>([](auto done) {
                  return MakeAllocatePrefixOp("test", "88.123", "88.123.45", "acme", 0, {}, done);
                }).ok());
  }

  // Submits the op built by `make(done)` and waits for its durable result.
  template <typename T, typename Make>
  absl::StatusOr<T> Run(Make make) {
    return SubmitAndWait<absl::StatusOr<T>>(*writer_, make);
  }

  std::vector<ItemOutcome> Create(const accounts::Principal& who,
                                  std::vector<absl::StatusOr<PreparedRecord>> items) {
    std::promise<std::vector<ItemOutcome>> promise;
    auto future = promise.get_future();
    EXPECT_TRUE(writer_
                    ->Submit(std::make_unique<CreateOp>(
                        who, std::move(items),
                        [&](const absl::Status& status, std::vector<ItemOutcome>& outcomes) {
                          EXPECT_TRUE(status.ok()) << status;
                          promise.set_value(outcomes);
                        }))
                    .ok());
    return future.get();
  }

  static absl::StatusOr<PreparedRecord> Record(std::string id, std::string url) {
    return PrepareRecord(id, {testing::MakeValue(1, "URL", std::move(url))}, {});
  }

  ItemOutcome Update(UpdateRequest request) {
    std::promise<ItemOutcome> promise;
    auto future = promise.get_future();
    EXPECT_TRUE(writer_
                    ->Submit(std::make_unique<UpdateOp>(
                        acme_, std::move(request),
                        [&](const absl::Status&, const ItemOutcome& o) { promise.set_value(o); }))
                    .ok());
    return future.get();
  }

  // Restarts the writer to trim after 1 MiB and `idle`, and commits 30 records of 60 KB.
  void CommitBigRecords(std::chrono::milliseconds idle) {
    writer_.reset();
    WriterOptions options;
    options.trim_after_bytes = size_t{1} << 20;
    options.trim_when_idle_for = idle;
    auto writer = Writer::Start(*store_, clock_, options);
    ASSERT_TRUE(writer.ok());
    writer_ = *std::move(writer);
    std::vector<absl::StatusOr<PreparedRecord>> items;
    for (int i = 0; i < 30; ++i) {
      items.push_back(Record("88.123.45/BIG" + std::to_string(i), std::string(60'000, 'v')));
    }
    for (const auto& o : Create(acme_, std::move(items))) ASSERT_TRUE(o.status.ok()) << o.status;
  }

  uint64_t Counter(stats::Metric metric, uint32_t day, std::string_view scope) {
    auto txn = store_->BeginRead();
    EXPECT_TRUE(txn.ok());
    auto value = stats::CounterTable::Get(*txn, stats::CounterKey(metric, day, scope));
    EXPECT_TRUE(value.ok()) << value.status();
    return value.ok() ? value->value_or(0) : 0;
  }

  testing::TempDir dir_;
  FakeClock clock_{kNow};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Writer> writer_;
  const accounts::Principal acme_{"acme", accounts::Role::kRegistrant, {}};
  const accounts::Principal other_{"other", accounts::Role::kRegistrant, {}};
};

TEST_F(WriterTest, CreatesAndCountsRegistrationsInTheReportingDay) {
  std::vector<absl::StatusOr<PreparedRecord>> items;
  for (int i = 0; i < 3; ++i) items.push_back(Record("88.123.45/P" + std::to_string(i), "u"));
  auto outcomes = Create(acme_, std::move(items));
  ASSERT_EQ(outcomes.size(), 3u);
  for (const auto& o : outcomes) EXPECT_TRUE(o.status.ok()) << o.status;
  const uint32_t day = ReportingDay(kNow, 8 * 60);
  EXPECT_EQ(day, ReportingDay(kNow, 0) + 0);  // 15:30Z and 23:30+08:00 share the date
  EXPECT_EQ(Counter(stats::Metric::kIdentifiersCreated, day, ""), 3u);
  EXPECT_EQ(Counter(stats::Metric::kIdentifiersCreated, day, "88.123.45"), 3u);
  EXPECT_EQ(Counter(stats::Metric::kIdentifiersTotal, stats::kAllTime, ""), 3u);
  // One hour later it is the next day in UTC+08:00.
  clock_.Set(kNow + 3'600'000);
  std::vector<absl::StatusOr<PreparedRecord>> more;
  more.push_back(Record("88.123.45/LATE", "u"));
  Create(acme_, std::move(more));
  EXPECT_EQ(Counter(stats::Metric::kIdentifiersCreated, day + 1, ""), 1u);
  EXPECT_EQ(Counter(stats::Metric::kIdentifiersTotal, stats::kAllTime, "88.123.45"), 4u);
}

TEST_F(WriterTest, IdenticalCreateIsUnchangedAndDifferentOneAlreadyExists) {
  std::vector<absl::StatusOr<PreparedRecord>> items;
  items.push_back(Record("88.123.45/A", "u1"));
  items.push_back(Record("88.123.45/a", "u1"));  // same key, same values, in the same batch
  items.push_back(Record("88.123.45/A", "u2"));
  auto outcomes = Create(acme_, std::move(items));
  EXPECT_TRUE(outcomes[0].status.ok());
  EXPECT_FALSE(outcomes[0].unchanged);
  EXPECT_TRUE(outcomes[1].status.ok());
  EXPECT_TRUE(outcomes[1].unchanged);
  EXPECT_EQ(outcomes[2].status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Counter(stats::Metric::kIdentifiersTotal, stats::kAllTime, ""), 1u);
}

TEST_F(WriterTest, RefusesAnotherRegistrantsPrefixAndUnallocatedPrefixes) {
  std::vector<absl::StatusOr<PreparedRecord>> items;
  items.push_back(Record("88.123.45/A", "u"));
  items.push_back(Record("88.123.46/A", "u"));
  auto outcomes = Create(other_, std::move(items));
  EXPECT_EQ(outcomes[0].status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(outcomes[1].status.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(outcomes[1].status.message().find("not allocated"), absl::string_view::npos);
}

TEST_F(WriterTest, KeepsInvalidItemsAlignedWithTheirResults) {
  std::vector<absl::StatusOr<PreparedRecord>> items;
  items.push_back(Record("88.123.45/OK", "u"));
  items.push_back(Record("no-slash", "u"));
  auto outcomes = Create(acme_, std::move(items));
  EXPECT_TRUE(outcomes[0].status.ok());
  EXPECT_EQ(outcomes[1].status.code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(WriterTest, GrowsTheMapWithoutFailingWrites) {
  const size_t before = store_->map_bytes();
  std::vector<absl::StatusOr<PreparedRecord>> items;
  for (int i = 0; i < 2000; ++i) {
    items.push_back(Record("88.123.45/BIG-" + std::to_string(i), std::string(1000, 'x')));
  }
  auto outcomes = Create(acme_, std::move(items));
  for (const auto& o : outcomes) ASSERT_TRUE(o.status.ok()) << o.status;
  EXPECT_GT(store_->map_bytes(), before);
  EXPECT_GE(writer_->stats().map_growths, 1u);
  auto txn = store_->BeginRead();
  ASSERT_TRUE(txn.ok());
  EXPECT_TRUE(txn->Get(store::Db::kIds, "88.123.45/BIG-1999").value().has_value());
}

TEST_F(WriterTest, EnforcesPrefixQuota) {
  ASSERT_TRUE(Run<bool>([](auto done) {
                return MakeAllocatePrefixOp("test", "88.123", "88.123.50", "acme", 2, {}, done);
              }).ok());
  std::vector<absl::StatusOr<PreparedRecord>> items;
  for (int i = 0; i < 3; ++i) items.push_back(Record("88.123.50/Q" + std::to_string(i), "u"));
  auto outcomes = Create(acme_, std::move(items));
  EXPECT_TRUE(outcomes[1].status.ok());
  EXPECT_EQ(outcomes[2].status.code(), absl::StatusCode::kResourceExhausted);
}

TEST_F(WriterTest, RefusesPrefixesOutsideTheNodeOrOverlappingAnAllocation) {
  auto allocate = [&](std::string prefix) {
    return Run<bool>([&](auto done) {
             return MakeAllocatePrefixOp("test", "88.123", prefix, "acme", 0, {}, done);
           })
        .status();
  };
  EXPECT_EQ(allocate("88.124.1").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(allocate("88.123").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(allocate("88.123.45").code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(allocate("88.123.45.7").code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(allocate("88.123.46.7").ok());
  EXPECT_EQ(allocate("88.123.46").code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(WriterTest, UpdatesByIndexAndRecordsChanges) {
  std::vector<absl::StatusOr<PreparedRecord>> items;
  items.push_back(Record("88.123.45/U", "u"));
  Create(acme_, std::move(items));
  identifier::HandleValue email;
  email.index = 2;
  email.type = "EMAIL";
  email.data = "a@b";
  UpdateRequest add{*identifier::Identifier::Parse("88.123.45/U"), false, {}, {email}, {}, {}};
  ItemOutcome added = Update(add);
  EXPECT_TRUE(added.status.ok()) << added.status;
  EXPECT_EQ(added.version, 2u);
  EXPECT_EQ(Update(add).status.code(), absl::StatusCode::kAlreadyExists);
  UpdateRequest remove_missing{
      *identifier::Identifier::Parse("88.123.45/U"), false, {}, {}, {}, {7}};
  EXPECT_EQ(Update(remove_missing).status.code(), absl::StatusCode::kNotFound);
  UpdateRequest remove_all{
      *identifier::Identifier::Parse("88.123.45/U"), false, {}, {}, {}, {1, 2}};
  EXPECT_EQ(Update(remove_all).status.code(), absl::StatusCode::kFailedPrecondition);

  auto txn = store_->BeginRead();
  ASSERT_TRUE(txn.ok());
  auto record = identifier::DecodeRecord(*txn->Get(store::Db::kIds, "88.123.45/U").value());
  ASSERT_TRUE(record.ok());
  auto values = identifier::DecodeValueList(record->values);
  ASSERT_TRUE(values.ok());
  ASSERT_EQ(values->size(), 2u);
  EXPECT_EQ((*values)[1].data, "a@b");
  // Accounts, prefix, create and update each left a change record.
  store::Cursor changes = txn->OpenCursor(store::Db::kChanges);
  int count = 0;
  for (bool more = changes.Seek(""); more; more = changes.Next()) ++count;
  EXPECT_EQ(count, 5);
}

templates::DataTemplate ModelTemplate() {
  templates::DataTemplate t;
  t.attributes.push_back({2001, "MODEL", templates::AttributeType::kString, true, 2, 8, false});
  t.attributes.push_back({2002, "MADE_ON", templates::AttributeType::kDate, false, 0, 0, false});
  return t;
}

absl::StatusOr<PreparedRecord> Templated(std::string id, std::string version, std::string model) {
  return PrepareRecord(id,
                       {testing::MakeValue(1001, "TEMPLATE_VERSION", std::move(version)),
                        MakeValue(2001, "MODEL", std::move(model))},
                       {});
}

TEST_F(WriterTest, PublishesTemplateVersionsOnTopOfTheLatest) {
  auto publish = [&](const accounts::Principal& who, uint32_t base, templates::DataTemplate t) {
    return Run<templates::DataTemplate>([&](auto done) {
      return MakePublishTemplateOp(who, "88.123.45", base, std::move(t), done);
    });
  };
  auto v1 = publish(acme_, 0, ModelTemplate());
  ASSERT_TRUE(v1.ok()) << v1.status();
  EXPECT_EQ(v1->version, 1u);
  EXPECT_EQ(v1->author, "acme");
  EXPECT_EQ(v1->created_ms, kNow);
  // A stale base (someone published meanwhile) is refused; so is another registrant.
  EXPECT_EQ(publish(acme_, 0, ModelTemplate()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(publish(other_, 1, ModelTemplate()).status().code(),
            absl::StatusCode::kPermissionDenied);
  templates::DataTemplate dropped = ModelTemplate();
  dropped.attributes.pop_back();
  EXPECT_EQ(publish(acme_, 1, dropped).status().code(), absl::StatusCode::kFailedPrecondition);
  templates::DataTemplate disabled = ModelTemplate();
  disabled.attributes[1].disabled = true;
  auto v2 = publish(acme_, 1, disabled);
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(v2->version, 2u);

  auto txn = store_->BeginRead();
  ASSERT_TRUE(txn.ok());
  auto latest = templates::FindTemplate(*txn, "88.123.45", 0);
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->version, 2u);
  EXPECT_TRUE((*latest)->attributes[1].disabled);
  bool more = true;
  auto versions = templates::ListTemplateVersions(*txn, "88.123.45", 0, 10, more);
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ(versions->size(), 2u);
  EXPECT_FALSE(more);
  auto first = templates::ListTemplateVersions(*txn, "88.123.45", 0, 1, more);  // one page of one
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ((*first)[0].version, 1u);
  EXPECT_TRUE(more);
  auto second = templates::ListTemplateVersions(*txn, "88.123.45", 1, 1, more);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->size(), 1u);
  EXPECT_EQ((*second)[0].version, 2u);
  EXPECT_FALSE(more);
  auto none = templates::FindTemplate(*txn, "88.123.4", 0);  // a shorter prefix shares no keys
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_F(WriterTest, OneWriteOverAQueueBoundIsRefusedEvenOnAnEmptyQueue) {
  writer_.reset();
  WriterOptions options;
  options.max_queued_items = 100;
  options.max_queued_bytes = size_t{1} << 20;
  auto writer = Writer::Start(*store_, clock_, options);
  ASSERT_TRUE(writer.ok());
  writer_ = *std::move(writer);
  auto submit = [&](size_t count, size_t value_bytes) {
    std::vector<absl::StatusOr<PreparedRecord>> items;
    for (size_t i = 0; i < count; ++i) {
      items.push_back(Record("88.123.45/Q" + std::to_string(i), std::string(value_bytes, 'u')));
    }
    return writer_->Submit(std::make_unique<CreateOp>(
        acme_, std::move(items), [](const absl::Status&, std::vector<ItemOutcome>&) {}));
  };
  absl::Status too_many = submit(101, 10);
  EXPECT_EQ(too_many.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(too_many.message().find("one write of 101 items is above registry.max_queued_items "
                                    "(100); send at most that many at a time"),
            std::string::npos)
      << too_many;
  absl::Status too_large = submit(20, 60'000);  // 1.2 MB of values
  EXPECT_EQ(too_large.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(too_large.message().find("KiB is above registry.max_queued_mib (1)"), std::string::npos)
      << too_large;
  EXPECT_TRUE(submit(100, 10).ok());  // at the bounds, it fits
  writer_->Stop();
  EXPECT_EQ(writer_->stats().queued_bytes, 0u);
}

TEST_F(WriterTest, TheHeapIsTrimmedOnceALoadHasDrained) {
  ASSERT_NO_FATAL_FAILURE(CommitBigRecords(std::chrono::milliseconds(200)));
  // Done() ran before the trim: wait for the writer to get there.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (writer_->stats().heap_trims == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // polling the condition
  }
  EXPECT_EQ(writer_->stats().heap_trims, 1u);
}

// The trim waits for the queue to stay empty: a drained queue alone (a gap inside a load) is not
// the end of the load.
TEST_F(WriterTest, TheHeapIsNotTrimmedUntilTheQueueHasStayedEmpty) {
  ASSERT_NO_FATAL_FAILURE(CommitBigRecords(std::chrono::hours(1)));
  // The batch counts towards a trim once the writer is back for the next: wait for that.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (writer_->stats().untrimmed_bytes < 30 * 60'000 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // polling the condition
  }
  EXPECT_GE(writer_->stats().untrimmed_bytes, 30u * 60'000);
  EXPECT_EQ(writer_->stats().heap_trims, 0u);
  writer_->Stop();  // does not wait out the idle period
}

// An operation that throws: its batch fails INTERNAL, the writer thread goes on, and its stats
// say so until a commit succeeds again.
class ThrowingOp final : public WriteOp {
 public:
  explicit ThrowingOp(std::promise<absl::Status>& done) : done_(done) {}
  absl::Status Apply(WriteContext&) override { throw std::runtime_error("boom\nforged line"); }
  void Done(const absl::Status& status) override { done_.set_value(status); }

 private:
  std::promise<absl::Status>& done_;
};

TEST_F(WriterTest, AnExceptionFailsItsBatchAndTheWriterGoesOn) {
  std::promise<absl::Status> done;
  ASSERT_TRUE(writer_->Submit(std::make_unique<ThrowingOp>(done)).ok());
  const absl::Status failed = done.get_future().get();
  EXPECT_EQ(failed.code(), absl::StatusCode::kInternal);
  EXPECT_NE(failed.message().find("exception applying the batch: boom"), std::string::npos)
      << failed;
  WriterStats stats = writer_->stats();
  EXPECT_EQ(stats.exceptions, 1u);
  EXPECT_TRUE(stats.last_commit_failed);
  EXPECT_NE(stats.last_error.find("boom"), std::string::npos);
  // Still committing.
  std::vector<absl::StatusOr<PreparedRecord>> items;
  items.push_back(Record("88.123.45/AFTER", "u"));
  EXPECT_TRUE(Create(acme_, std::move(items))[0].status.ok());
  stats = writer_->stats();
  EXPECT_FALSE(stats.last_commit_failed);
  EXPECT_EQ(stats.last_error, "");
}

TEST_F(WriterTest, APrefixPublishesAtMostTheTemplateVersionLimit) {
  // All submitted at once, each on top of the one before: the writer applies them in order.
  std::vector<std::future<absl::StatusOr<templates::DataTemplate>>> results;
  for (uint32_t base = 0; base <= templates::kMaxTemplateVersions; ++base) {
    auto promise = std::make_shared<std::promise<absl::StatusOr<templates::DataTemplate>>>();
    results.push_back(promise->get_future());
    ASSERT_TRUE(
        writer_
            ->Submit(MakePublishTemplateOp(
                acme_, "88.123.45", base, ModelTemplate(),
                [promise](absl::StatusOr<templates::DataTemplate> r) { promise->set_value(r); }))
            .ok());
  }
  for (uint32_t base = 0; base < templates::kMaxTemplateVersions; ++base) {
    ASSERT_TRUE(results[base].get().ok()) << base;
  }
  auto refused = results.back().get();
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(refused.status().message().find("has published 1000 template versions"),
            std::string::npos)
      << refused.status();
}

TEST_F(WriterTest, ChecksRegistrationsThatNameATemplate) {
  ASSERT_TRUE(Run<templates::DataTemplate>([&](auto done) {
                return MakePublishTemplateOp(acme_, "88.123.45", 0, ModelTemplate(), done);
              }).ok());
  std::vector<absl::StatusOr<PreparedRecord>> items;
  items.push_back(Templated("88.123.45/T1", "1", "P-200"));
  items.push_back(Templated("88.123.45/T2", "1", "PUMP-LONG-NAME"));
  items.push_back(Templated("88.123.45/T3", "2", "P-200"));
  items.push_back(Templated("88.123.45/T4", "x", "P-200"));
  items.push_back(Record("88.123.45/PLAIN", "u"));  // names no template: not checked
  auto outcomes = Create(acme_, std::move(items));
  EXPECT_TRUE(outcomes[0].status.ok()) << outcomes[0].status;
  EXPECT_EQ(outcomes[1].status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(outcomes[2].status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(outcomes[3].status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(outcomes[4].status.ok());
  EXPECT_EQ(Counter(stats::Metric::kIdentifiersTotal, stats::kAllTime, "88.123.45"), 2u);

  // An update is checked against the template its result names.
  identifier::HandleValue bad_date = MakeValue(2002, "MADE_ON", "2026-02-30");
  UpdateRequest add{*identifier::Identifier::Parse("88.123.45/T1"), false, {}, {bad_date}, {}, {}};
  EXPECT_EQ(Update(add).status.code(), absl::StatusCode::kInvalidArgument);
  add.add[0].data = "2026-02-28";
  EXPECT_TRUE(Update(add).status.ok());
  UpdateRequest drop_required{
      *identifier::Identifier::Parse("88.123.45/T1"), false, {}, {}, {}, {2001}};
  EXPECT_EQ(Update(drop_required).status.code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(WriterTest, DrainsQueuedWorkOnStop) {
  std::atomic<int> done{0};
  for (int i = 0; i < 50; ++i) {
    std::vector<absl::StatusOr<PreparedRecord>> items;
    items.push_back(Record("88.123.45/S" + std::to_string(i), "u"));
    ASSERT_TRUE(writer_
                    ->Submit(std::make_unique<CreateOp>(
                        acme_, std::move(items),
                        [&](const absl::Status& s, std::vector<ItemOutcome>& o) {
                          if (s.ok() && o[0].status.ok()) ++done;
                        }))
                    .ok());
  }
  writer_->Stop();
  EXPECT_EQ(done.load(), 50);
  std::vector<absl::StatusOr<PreparedRecord>> late;
  late.push_back(Record("88.123.45/LATE", "u"));
  EXPECT_EQ(writer_->Submit(std::make_unique<CreateOp>(acme_, std::move(late), nullptr)).code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(WriterTest, AnswersAnOpWithNoItemsAtOnceAndOnStop) {
  // An empty batch on an idle writer: answered without waiting for some other write.
  std::promise<size_t> answered;
  auto future = answered.get_future();
  ASSERT_TRUE(writer_
                  ->Submit(std::make_unique<CreateOp>(
                      acme_, std::vector<absl::StatusOr<PreparedRecord>>{},
                      [&](const absl::Status& s, std::vector<ItemOutcome>& o) {
                        EXPECT_TRUE(s.ok()) << s;
                        answered.set_value(o.size());
                      }))
                  .ok());
  ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(future.get(), 0u);
  // And one still queued when the writer stops is answered too, not dropped.
  std::atomic<int> done{0};
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(writer_
                    ->Submit(std::make_unique<CreateOp>(
                        acme_, std::vector<absl::StatusOr<PreparedRecord>>{},
                        [&](const absl::Status&, std::vector<ItemOutcome>&) { ++done; }))
                    .ok());
  }
  writer_->Stop();
  EXPECT_EQ(done.load(), 3);
}

}  // namespace
}  // namespace idnode::writer
