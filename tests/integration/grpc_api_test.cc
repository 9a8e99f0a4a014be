// The registration, resolution and admin services through a real idnode process and a real
// gRPC channel on 127.0.0.1.

#include <gtest/gtest.h>

#include <sstream>

#include "tests/integration/node_process.h"
#include "tests/support/temp_dir.h"
#include "tools/idctl/import.h"

namespace idnode {
namespace {

class GrpcApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    node_ = new testing::NodeProcess(dir_->Sub("node"));
    ASSERT_TRUE(node_->Start());
    ASSERT_FALSE(node_->admin_token().empty());
    admin_ = new std::string(node_->admin_token());
    for (const char* account : {"acme", "other"}) {
      ASSERT_TRUE(AdminCall([&](auto& stub, auto* ctx) {
                    v1::CreateAccountRequest r;
                    r.set_id(account);
                    r.set_role("registrant");
                    v1::Account out;
                    return stub.CreateAccount(ctx, r, &out);
                  }).ok());
    }
    ASSERT_TRUE(Allocate("88.123.45", "acme").ok());
    ASSERT_TRUE(Allocate("88.123.46", "other").ok());
    acme_ = new std::string(Issue("acme"));
    other_ = new std::string(Issue("other"));
  }
  static void TearDownTestSuite() {
    delete node_;
    delete dir_;
    delete admin_;
    delete acme_;
    delete other_;
  }

  template <typename Fn>
  static grpc::Status AdminCall(Fn fn, const std::string* token = nullptr) {
    auto stub = v1::Admin::NewStub(node_->Channel());
    grpc::ClientContext ctx;
    idctl::Authorize(ctx, token ? *token : *admin_);
    return fn(*stub, &ctx);
  }
  static grpc::Status Allocate(const std::string& prefix, const std::string& owner,
                               const std::string* token = nullptr) {
    return AdminCall(
        [&](auto& stub, auto* ctx) {
          v1::AllocatePrefixRequest r;
          r.set_prefix(prefix);
          r.set_owner(owner);
          v1::Prefix out;
          return stub.AllocatePrefix(ctx, r, &out);
        },
        token);
  }
  static std::string Issue(const std::string& account, std::string* token_id = nullptr) {
    v1::IssueTokenResponse out;
    EXPECT_TRUE(AdminCall([&](auto& stub, auto* ctx) {
                  v1::IssueTokenRequest r;
                  r.set_account(account);
                  return stub.IssueToken(ctx, r, &out);
                }).ok());
    if (token_id) *token_id = out.token_id();
    return out.token();
  }

  static grpc::Status Revoke(const std::string& token_id) {
    return AdminCall([&](auto& stub, auto* ctx) {
      v1::RevokeTokenRequest r;
      r.set_token_id(token_id);
      v1::RevokeTokenResponse out;
      return stub.RevokeToken(ctx, r, &out);
    });
  }

  static v1::CreateRequest Request(const std::string& id, const std::string& url = "https://x") {
    v1::CreateRequest r;
    r.set_identifier(id);
    v1::Value* v = r.add_values();
    v->set_index(1);
    v->set_type("URL");
    v->set_data(url);
    v = r.add_values();
    v->set_index(2);
    v->set_type("EMAIL");
    v->set_data("ops@example.com");
    v->set_permissions(0x0C);  // admin only: not public
    return r;
  }

  grpc::Status Create(const v1::CreateRequest& request, const std::string& token,
                      v1::CreateResponse* out = nullptr) {
    auto stub = v1::Registry::NewStub(node_->Channel());
    grpc::ClientContext ctx;
    idctl::Authorize(ctx, token);
    v1::CreateResponse local;
    return stub->Create(&ctx, request, out ? out : &local);
  }
  grpc::Status Resolve(const v1::ResolveRequest& request, v1::ResolveResponse* out) {
    auto stub = v1::Resolver::NewStub(node_->Channel());
    grpc::ClientContext ctx;
    return stub->Resolve(&ctx, request, out);
  }
  grpc::Status Update(const v1::UpdateRequest& request, v1::UpdateResponse* out) {
    auto stub = v1::Registry::NewStub(node_->Channel());
    grpc::ClientContext ctx;
    idctl::Authorize(ctx, *acme_);
    return stub->Update(&ctx, request, out);
  }

  static inline testing::TempDir* dir_;
  static inline testing::NodeProcess* node_;
  static inline std::string* admin_;
  static inline std::string* acme_;
  static inline std::string* other_;
};

TEST_F(GrpcApiTest, CreatesResolvesAndRetriesAsUnchanged) {
  v1::CreateResponse created;
  ASSERT_TRUE(Create(Request("88.123.45/Pump-1"), *acme_, &created).ok());
  EXPECT_FALSE(created.unchanged());
  EXPECT_EQ(created.version(), 1u);
  ASSERT_TRUE(Create(Request("88.123.45/PUMP-1"), *acme_, &created).ok());
  EXPECT_TRUE(created.unchanged());
  grpc::Status different = Create(Request("88.123.45/PUMP-1", "https://y"), *acme_);
  EXPECT_EQ(different.error_code(), grpc::StatusCode::ALREADY_EXISTS);

  v1::ResolveRequest resolve;
  resolve.set_identifier("88.123.45/pump-1");
  v1::ResolveResponse resolved;
  ASSERT_TRUE(Resolve(resolve, &resolved).ok());
  EXPECT_EQ(resolved.identifier(), "88.123.45/Pump-1");
  ASSERT_EQ(resolved.values_size(), 1);  // the EMAIL value is not publicly readable
  EXPECT_EQ(resolved.values(0).data(), "https://x");
  EXPECT_GT(resolved.values(0).timestamp(), 0u);
}

TEST_F(GrpcApiTest, ResolveFiltersByIndexAndTypeHierarchy) {
  v1::CreateRequest request = Request("88.123.45/FILTER");
  v1::Value* v = request.add_values();
  v->set_index(3);
  v->set_type("URL.backup");
  v->set_data("https://backup");
  v = request.add_values();
  v->set_index(4);
  v->set_type("URLX");  // not below URL
  v->set_data("https://other");
  ASSERT_TRUE(Create(request, *acme_).ok());
  v1::ResolveRequest resolve;
  resolve.set_identifier("88.123.45/FILTER");
  resolve.add_types("url.");  // URL itself and below it, as at the reference server
  v1::ResolveResponse out;
  ASSERT_TRUE(Resolve(resolve, &out).ok());
  ASSERT_EQ(out.values_size(), 2);
  EXPECT_EQ(out.values(0).index(), 1u);
  EXPECT_EQ(out.values(1).index(), 3u);
  resolve.clear_types();
  resolve.add_indexes(1);
  out.Clear();
  ASSERT_TRUE(Resolve(resolve, &out).ok());
  ASSERT_EQ(out.values_size(), 1);
  EXPECT_EQ(out.values(0).index(), 1u);
  resolve.clear_indexes();
  resolve.add_types("NOPE");
  EXPECT_EQ(Resolve(resolve, &out).error_code(), grpc::StatusCode::NOT_FOUND);
  resolve.set_identifier("88.123.45/MISSING");
  EXPECT_EQ(Resolve(resolve, &out).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(GrpcApiTest, RejectsWritesWithoutAValidToken) {
  grpc::Status none = Create(Request("88.123.45/NOAUTH"), "");
  EXPECT_EQ(none.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(none.error_message().find("missing bearer token"), std::string::npos);
  EXPECT_EQ(Create(Request("88.123.45/NOAUTH"), "idn_bogus").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);

  std::string token_id;
  std::string token = Issue("acme", &token_id);
  ASSERT_TRUE(Create(Request("88.123.45/BEFORE-REVOKE"), token).ok());
  ASSERT_TRUE(Revoke(token_id).ok());
  grpc::Status revoked = Create(Request("88.123.45/AFTER-REVOKE"), token);
  EXPECT_EQ(revoked.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(revoked.error_message().find("revoked"), std::string::npos);
}

TEST_F(GrpcApiTest, RefusesWritesUnderAnotherRegistrantsPrefix) {
  grpc::Status denied = Create(Request("88.123.46/MINE"), *acme_);
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(denied.error_message().find("88.123.46"), std::string::npos);
  EXPECT_TRUE(Create(Request("88.123.46/MINE"), *other_).ok());
  EXPECT_EQ(Create(Request("88.123.99/X"), *acme_).error_code(), grpc::StatusCode::NOT_FOUND);
  // Registrants cannot allocate prefixes.
  EXPECT_EQ(Allocate("88.123.47", "acme", acme_).error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(GrpcApiTest, RejectsMalformedInputNamingTheRule) {
  struct Case {
    std::string identifier;
    std::string expected;
  };
  for (const Case& c : std::vector<Case>{{"88.123.45", "no '/'"},
                                         {"/SUFFIX", "prefix before '/' is empty"},
                                         {"88.123.45/", "suffix after '/' is empty"},
                                         {"88.123.45/" + std::string(250, 'A'), "limit is 255"},
                                         {"88.123.45/A\xff", "invalid UTF-8"},
                                         {"88.123.45/A\tB", "control character"}}) {
    grpc::Status s = Create(Request(c.identifier), *acme_);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.identifier;
    EXPECT_NE(s.error_message().find(c.expected), std::string::npos) << s.error_message();
  }
  v1::CreateRequest duplicate = Request("88.123.45/DUP");
  duplicate.mutable_values(1)->set_index(1);
  grpc::Status dup = Create(duplicate, *acme_);
  EXPECT_EQ(dup.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(dup.error_message().find("duplicate index 1"), std::string::npos);
  v1::CreateRequest oversized = Request("88.123.45/BIG");
  oversized.mutable_values(0)->set_data(std::string(70000, 'x'));
  grpc::Status big = Create(oversized, *acme_);
  EXPECT_EQ(big.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(big.error_message().find("data is 70000 bytes"), std::string::npos);
}

TEST_F(GrpcApiTest, UpdatesValuesByIndexAndReplacesAll) {
  ASSERT_TRUE(Create(Request("88.123.45/UPD"), *acme_).ok());
  v1::UpdateRequest update;
  update.set_identifier("88.123.45/UPD");
  v1::Value* added = update.add_add();
  added->set_index(5);
  added->set_type("DESC");
  added->set_data("five");
  update.add_remove(2);
  v1::UpdateResponse out;
  ASSERT_TRUE(Update(update, &out).ok());
  EXPECT_EQ(out.version(), 2u);
  EXPECT_EQ(Update(update, &out).error_code(), grpc::StatusCode::NOT_FOUND);  // 2 is gone

  v1::UpdateRequest replace;
  replace.set_identifier("88.123.45/UPD");
  replace.set_replace_all(true);
  *replace.add_replace() = Request("x").values(0);
  ASSERT_TRUE(Update(replace, &out).ok());
  v1::ResolveRequest resolve;
  resolve.set_identifier("88.123.45/UPD");
  v1::ResolveResponse resolved;
  ASSERT_TRUE(Resolve(resolve, &resolved).ok());
  ASSERT_EQ(resolved.values_size(), 1);
  EXPECT_EQ(resolved.values(0).index(), 1u);

  v1::UpdateRequest missing;
  missing.set_identifier("88.123.45/NOT-THERE");
  *missing.add_add() = Request("x").values(0);
  EXPECT_EQ(Update(missing, &out).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(GrpcApiTest, DeletesAndListsWithPaging) {
  for (int i = 0; i < 25; ++i) {
    ASSERT_TRUE(Create(Request("88.123.45/LIST-" + std::to_string(100 + i)), *acme_).ok());
  }
  auto stub = v1::Registry::NewStub(node_->Channel());
  {
    grpc::ClientContext ctx;
    idctl::Authorize(ctx, *acme_);
    v1::DeleteRequest del;
    del.set_identifier("88.123.45/LIST-100");
    v1::DeleteResponse out;
    ASSERT_TRUE(stub->Delete(&ctx, del, &out).ok());
  }
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    grpc::ClientContext ctx;
    idctl::Authorize(ctx, *acme_);
    v1::ListRequest list;
    list.set_prefix("88.123.45");
    list.set_page_size(10);
    list.set_page_token(token);
    v1::ListResponse out;
    ASSERT_TRUE(stub->List(&ctx, list, &out).ok());
    for (const auto& id : out.identifiers()) {
      if (id.rfind("88.123.45/LIST-", 0) == 0) seen.push_back(id);
    }
    token = out.next_page_token();
    ++pages;
  } while (!token.empty() && pages < 100);
  EXPECT_EQ(seen.size(), 24u);
  EXPECT_EQ(seen.front(), "88.123.45/LIST-101");
  grpc::ClientContext ctx;
  idctl::Authorize(ctx, *other_);
  v1::ListRequest foreign;
  foreign.set_prefix("88.123.45");
  v1::ListResponse out;
  EXPECT_EQ(stub->List(&ctx, foreign, &out).error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(GrpcApiTest, BatchCreateAnswersEveryItem) {
  auto stub = v1::Registry::NewStub(node_->Channel());
  int sent = 0;
  std::map<uint64_t, v1::BatchCreateResponse> responses;
  grpc::Status status = idctl::StreamBatches(
      *stub, *acme_,
      [&](v1::BatchCreateRequest& request) {
        if (sent == 5) return false;
        request.set_batch_id(++sent);
        for (int i = 0; i < 100; ++i) {
          *request.add_items() =
              Request("88.123.45/B" + std::to_string(sent) + "-" + std::to_string(i));
        }
        *request.add_items() = Request("88.123.46/NOT-MINE");
        *request.add_items() = Request("bad identifier");
        return true;
      },
      [&](const v1::BatchCreateResponse& r) { responses[r.batch_id()] = r; });
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(responses.size(), 5u);
  for (const auto& [id, r] : responses) {
    ASSERT_EQ(r.results_size(), 102);
    for (int i = 0; i < 100; ++i) EXPECT_EQ(r.results(i).code(), 0) << r.results(i).message();
    EXPECT_EQ(r.results(100).code(), static_cast<int>(grpc::StatusCode::PERMISSION_DENIED));
    EXPECT_EQ(r.results(101).code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  }
}

TEST_F(GrpcApiTest, BatchCreateAnswersAnEmptyBatchOnAnIdleNode) {
  auto stub = v1::Registry::NewStub(node_->Channel());
  bool sent = false;
  std::vector<v1::BatchCreateResponse> responses;
  grpc::Status status = idctl::StreamBatches(
      *stub, *acme_,
      [&](v1::BatchCreateRequest& request) {
        if (sent) return false;
        sent = true;
        request.set_batch_id(42);  // and no items
        return true;
      },
      [&](const v1::BatchCreateResponse& r) { responses.push_back(r); });
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].batch_id(), 42u);
  EXPECT_EQ(responses[0].results_size(), 0);
}

TEST_F(GrpcApiTest, BatchCreateWithoutTokenEndsUnauthenticated) {
  auto stub = v1::Registry::NewStub(node_->Channel());
  grpc::Status status = idctl::StreamBatches(
      *stub, "",
      [&](v1::BatchCreateRequest& request) {
        *request.add_items() = Request("88.123.45/X");
        return false;
      },
      [](const v1::BatchCreateResponse&) {});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(GrpcApiTest, BatchCreateStopsAtTheNextBatchOnceItsTokenIsRevoked) {
  std::string token_id;
  std::string token = Issue("acme", &token_id);
  auto stub = v1::Registry::NewStub(node_->Channel());
  grpc::ClientContext context;
  idctl::Authorize(context, token);
  auto stream = stub->BatchCreate(&context);
  v1::BatchCreateRequest batch;
  batch.set_batch_id(1);
  *batch.add_items() = Request("88.123.45/STREAM-BEFORE");
  ASSERT_TRUE(stream->Write(batch));
  v1::BatchCreateResponse response;
  ASSERT_TRUE(stream->Read(&response));
  ASSERT_EQ(response.results_size(), 1);
  EXPECT_EQ(response.results(0).code(), 0);

  ASSERT_TRUE(Revoke(token_id).ok());
  batch.set_batch_id(2);
  batch.clear_items();
  *batch.add_items() = Request("88.123.45/STREAM-AFTER");
  stream->Write(batch);  // may fail once the node has ended the stream
  stream->WritesDone();
  EXPECT_FALSE(stream->Read(&response));
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(status.error_message().find("revoked"), std::string::npos) << status.error_message();

  v1::ResolveRequest resolve;
  v1::ResolveResponse out;
  resolve.set_identifier("88.123.45/STREAM-BEFORE");
  EXPECT_TRUE(Resolve(resolve, &out).ok());
  resolve.set_identifier("88.123.45/STREAM-AFTER");
  EXPECT_EQ(Resolve(resolve, &out).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(GrpcApiTest, ImportReportsFailedLinesAndContinues) {
  std::stringstream input;
  input << R"({"identifier":"88.123.45/IMP-1","values":[{"index":1,"type":"URL","data":"u"}]})"
        << "\nnot json\n"
        << R"({"identifier":"88.123.45/IMP-2","values":[{"index":1,"type":"URL","data":"u"},)"
        << R"({"index":1,"type":"URL","data":"v"}]})"
        << "\n\n"
        << R"({"identifier":"88.123.45/IMP-3","values":[{"index":1,"type":"URL","data":"u"}]})"
        << "\n";
  auto stub = v1::Registry::NewStub(node_->Channel());
  idctl::ImportOptions options;
  options.batch_size = 2;
  idctl::ImportSummary summary = idctl::RunImport(*stub, *acme_, input, options);
  EXPECT_EQ(summary.lines, 4u);
  EXPECT_EQ(summary.created, 2u);
  EXPECT_EQ(summary.failed, 2u);
  ASSERT_EQ(summary.failures.size(), 2u);
  EXPECT_EQ(summary.failures[0].line, 2u);
  EXPECT_EQ(summary.failures[1].line, 3u);
  EXPECT_NE(summary.failures[1].message.find("duplicate index"), std::string::npos);

  std::stringstream csv(
      "identifier,1:URL,2:EMAIL\n88.123.45/CSV-1,https://a,\"a,b@c\"\n"
      "88.123.45/CSV-2,https://b,\n88.123.45/CSV-3,only-two-columns\n");
  options.format = idctl::ImportFormat::kCsv;
  summary = idctl::RunImport(*stub, *acme_, csv, options);
  EXPECT_EQ(summary.created, 2u);
  EXPECT_EQ(summary.failed, 1u);
  std::stringstream again("identifier,1:URL,2:EMAIL\n88.123.45/CSV-1,https://a,\"a,b@c\"\n");
  summary = idctl::RunImport(*stub, *acme_, again, options);
  EXPECT_EQ(summary.unchanged, 1u);
}

}  // namespace
}  // namespace idnode
