#pragma once

// Makes a day of statistics history on a node running in the test's process with a FakeClock:
// moves the clock to 10:00 on the reporting day, registers identifiers 88.123.45/PUMP-<n> over
// gRPC and resolves them over gRPC, flushing the resolution counts so they land on that day.

#include <gtest/gtest.h>

#include "api/node/node.h"
#include "registry/base/strings.h"
#include "tests/support/fake_clock.h"
#include "tests/support/provision.h"

namespace idnode::testing {

class HistoryMaker {
 public:
  // `token` is a registrant's under 88.123.45.
  HistoryMaker(FakeClock& clock, std::shared_ptr<grpc::Channel> channel, std::string token)
      : clock_(clock), channel_(std::move(channel)), token_(std::move(token)) {}

  // On `day`: registers `created` new identifiers and resolves `resolved` times (cycling over
  // those registered so far), all counted under that day.
  void Day(node::Node& node, uint32_t day, int created, int resolved) {
    clock_.Set(LocalMillis(day, 10));
    ASSERT_TRUE(node.FlushStats().ok());  // the new flush interval starts on `day`
    for (int i = 0; i < created; ++i, ++next_id_) {
      v1::CreateRequest create;
      create.set_identifier(StrCat("88.123.45/PUMP-", next_id_));
      v1::Value* value = create.add_values();
      value->set_index(1);
      value->set_type("URL");
      value->set_data(StrCat("https://example.com/pump/", next_id_));
      ASSERT_TRUE(Create(channel_, token_, create).ok());
    }
    auto stub = v1::Resolver::NewStub(channel_);
    for (int i = 0; i < resolved; ++i) {
      v1::ResolveRequest resolve;
      resolve.set_identifier(StrCat("88.123.45/PUMP-", 1 + i % (next_id_ - 1)));
      v1::ResolveResponse response;
      grpc::ClientContext context;
      ASSERT_TRUE(stub->Resolve(&context, resolve, &response).ok());
    }
    ASSERT_TRUE(node.FlushStats().ok());
  }

 private:
  FakeClock& clock_;
  std::shared_ptr<grpc::Channel> channel_;
  std::string token_;
  int next_id_ = 1;
};

}  // namespace idnode::testing
