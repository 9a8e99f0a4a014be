#include "registry/store/store.h"

#include <gtest/gtest.h>

#include "registry/base/bytes.h"
#include "tests/support/temp_dir.h"
#include "tests/support/write_access.h"

namespace idnode::store {
namespace {

TEST(StoreTest, RecordsSchemaVersionOnCreation) {
  testing::TempDir dir;
  auto store = Store::Open({dir.path()});
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->schema_version(), kSchemaVersion);
  auto txn = (*store)->BeginRead();
  ASSERT_TRUE(txn.ok());
  auto stored = txn->Get(Db::kMeta, "schema_version").value();
  ASSERT_TRUE(stored.has_value());
  uint32_t version = 0;
  ASSERT_TRUE(ByteReader(*stored).U32(version));
  EXPECT_EQ(version, kSchemaVersion);
}

TEST(StoreTest, RefusesANewerSchemaWithAClearMessage) {
  testing::TempDir dir;
  {
    auto store = Store::Open({dir.path()});
    ASSERT_TRUE(store.ok());
    auto txn = (*store)->BeginWrite(store::WriteAccessForTests::Get());
    ASSERT_TRUE(txn.ok());
    std::string newer;
    ByteWriter(newer).U32(kSchemaVersion + 1);
    ASSERT_TRUE(txn->Put(Db::kMeta, "schema_version", newer).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  auto reopened = Store::Open({dir.path()});
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(reopened.status().message().find("newer than"), absl::string_view::npos);
}

TEST(StoreTest, WriteTransactionAbortsUnlessCommitted) {
  testing::TempDir dir;
  auto store = Store::Open({dir.path()});
  ASSERT_TRUE(store.ok());
  {
    auto txn = (*store)->BeginWrite(store::WriteAccessForTests::Get());
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(txn->Put(Db::kIds, "88.123.45/A", "x").ok());
  }
  auto read = (*store)->BeginRead();
  ASSERT_TRUE(read.ok());
  EXPECT_FALSE(read->Get(Db::kIds, "88.123.45/A").value().has_value());
}

TEST(StoreTest, DataSurvivesReopen) {
  testing::TempDir dir;
  {
    auto store = Store::Open({dir.path()});
    ASSERT_TRUE(store.ok());
    auto txn = (*store)->BeginWrite(store::WriteAccessForTests::Get());
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(txn->Put(Db::kIds, "88.123.45/A", "x").ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  auto store = Store::Open({dir.path()});
  ASSERT_TRUE(store.ok());
  auto read = (*store)->BeginRead();
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->Get(Db::kIds, "88.123.45/A").value(), "x");
}

TEST(StoreTest, ReportsMapFullAndGrows) {
  testing::TempDir dir;
  auto store = Store::Open({dir.path(), size_t{1} << 20});
  ASSERT_TRUE(store.ok());
  const std::string value(4000, 'v');
  absl::Status status;
  {
    auto txn = (*store)->BeginWrite(store::WriteAccessForTests::Get());
    ASSERT_TRUE(txn.ok());
    for (int i = 0; i < 1000 && status.ok(); ++i) {
      status = txn->Put(Db::kIds, "key" + std::to_string(i), value);
    }
  }
  ASSERT_TRUE(IsMapFull(status)) << status;
  EXPECT_TRUE(IsStoreError(status));
  size_t before = (*store)->map_bytes();
  for (int growth = 0; growth < 4; ++growth) ASSERT_TRUE((*store)->GrowMap().ok());
  EXPECT_EQ((*store)->map_bytes(), before * 16);
  auto txn = (*store)->BeginWrite(store::WriteAccessForTests::Get());
  ASSERT_TRUE(txn.ok());
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(txn->Put(Db::kIds, "key" + std::to_string(i), value).ok()) << i;
  }
  EXPECT_TRUE(txn->Commit().ok());
}

// The read contract: absent, and keys that cannot be stored, are nullopt; a failure of LMDB is
// a store error naming the table, never "absent".
TEST(StoreTest, GetTellsAbsentFromAFailedRead) {
  testing::TempDir dir;
  auto store = Store::Open({dir.path(), size_t{1} << 20});
  ASSERT_TRUE(store.ok());
  auto txn = (*store)->BeginWrite(store::WriteAccessForTests::Get());
  ASSERT_TRUE(txn.ok());
  ASSERT_TRUE(txn->Put(Db::kIds, "88.123.45/A", "x").ok());
  for (const std::string& key :
       {std::string("88.123.45/B"), std::string(), std::string(600, 'k')}) {
    auto absent = txn->Get(Db::kIds, key);
    ASSERT_TRUE(absent.ok()) << absent.status();
    EXPECT_FALSE(absent->has_value()) << key.size();
  }
  // A transaction LMDB has put in its error state (here by filling the map) fails every read.
  const std::string value(4000, 'v');
  absl::Status put;
  for (int i = 0; i < 1000 && put.ok(); ++i)
    put = txn->Put(Db::kIds, "key" + std::to_string(i), value);
  ASSERT_TRUE(IsMapFull(put)) << put;
  auto failed = txn->Get(Db::kIds, "88.123.45/A");
  ASSERT_FALSE(failed.ok());
  EXPECT_TRUE(IsStoreError(failed.status())) << failed.status();
  EXPECT_NE(std::string(failed.status().message()).find("reading ids_v1"), std::string::npos)
      << failed.status();
}

TEST(StoreTest, CursorSeeksInKeyOrder) {
  testing::TempDir dir;
  auto store = Store::Open({dir.path()});
  ASSERT_TRUE(store.ok());
  auto txn = (*store)->BeginWrite(store::WriteAccessForTests::Get());
  ASSERT_TRUE(txn.ok());
  for (const char* key : {"b", "a", "c"}) ASSERT_TRUE(txn->Put(Db::kIds, key, key).ok());
  ASSERT_TRUE(txn->Commit().ok());
  auto read = (*store)->BeginRead();
  ASSERT_TRUE(read.ok());
  Cursor cursor = read->OpenCursor(Db::kIds);
  ASSERT_TRUE(cursor.Seek("aa"));
  EXPECT_EQ(cursor.key(), "b");
  ASSERT_TRUE(cursor.Next());
  EXPECT_EQ(cursor.key(), "c");
  EXPECT_FALSE(cursor.Next());
  ASSERT_TRUE(cursor.Last());
  EXPECT_EQ(cursor.key(), "c");
}

TEST(StoreTest, CursorSeeksBeforeAKey) {
  testing::TempDir dir;
  auto store = Store::Open({dir.path()});
  ASSERT_TRUE(store.ok());
  auto txn = (*store)->BeginWrite(store::WriteAccessForTests::Get());
  ASSERT_TRUE(txn.ok());
  for (const char* key : {"b", "d"}) ASSERT_TRUE(txn->Put(Db::kIds, key, key).ok());
  Cursor cursor = txn->OpenCursor(Db::kIds);
  ASSERT_TRUE(cursor.SeekBefore("c"));
  EXPECT_EQ(cursor.key(), "b");
  ASSERT_TRUE(cursor.SeekBefore("d"));
  EXPECT_EQ(cursor.key(), "b");
  ASSERT_TRUE(cursor.SeekBefore("z"));  // past the end: the last key
  EXPECT_EQ(cursor.key(), "d");
  EXPECT_FALSE(cursor.SeekBefore("b"));  // nothing before the first key
  ASSERT_TRUE(cursor.Last());
  ASSERT_TRUE(cursor.Prev());
  EXPECT_EQ(cursor.key(), "b");
  EXPECT_FALSE(cursor.Prev());
}

}  // namespace
}  // namespace idnode::store
