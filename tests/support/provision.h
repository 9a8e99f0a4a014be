#pragma once

// gRPC set-up steps the tests share: provisioning a registrant and registering identifiers on a
// running node (in this process or another).

#include <memory>
#include <string>
#include <vector>

#include "tools/idctl/client.h"

namespace idnode::testing {

// As the admin: creates registrant `account`, allocates it `prefix` and issues it a token.
// Returns the token, or an empty string when a step failed.
inline std::string ProvisionRegistrant(const std::shared_ptr<grpc::Channel>& channel,
                                       const std::string& admin_token, const std::string& account,
                                       const std::string& prefix) {
  auto admin = v1::Admin::NewStub(channel);
  auto call = [&](auto rpc, const auto& request, auto* response) {
    grpc::ClientContext context;
    idctl::Authorize(context, admin_token);
    return ((*admin).*rpc)(&context, request, response).ok();
  };
  v1::CreateAccountRequest create;
  create.set_id(account);
  create.set_role("registrant");
  v1::Account created;
  v1::AllocatePrefixRequest allocate;
  allocate.set_prefix(prefix);
  allocate.set_owner(account);
  v1::Prefix allocated;
  v1::IssueTokenRequest issue;
  issue.set_account(account);
  v1::IssueTokenResponse issued;
  if (!call(&v1::Admin::Stub::CreateAccount, create, &created) ||
      !call(&v1::Admin::Stub::AllocatePrefix, allocate, &allocated) ||
      !call(&v1::Admin::Stub::IssueToken, issue, &issued)) {
    return "";
  }
  return issued.token();
}

// As a top node's admin: creates node account `account` with `grants` and issues it a token (a
// node credential) valid for `valid_seconds` (0: no expiry). Empty when a step failed.
inline std::string ProvisionNode(const std::shared_ptr<grpc::Channel>& channel,
                                 const std::string& admin_token, const std::string& account,
                                 const std::vector<std::string>& grants,
                                 uint64_t valid_seconds = 0) {
  auto admin = v1::Admin::NewStub(channel);
  v1::CreateAccountRequest create;
  create.set_id(account);
  create.set_role("node");
  for (const std::string& grant : grants) create.add_grants(grant);
  v1::Account created;
  grpc::ClientContext create_context;
  idctl::Authorize(create_context, admin_token);
  if (!admin->CreateAccount(&create_context, create, &created).ok()) return "";
  v1::IssueTokenRequest issue;
  issue.set_account(account);
  issue.set_valid_seconds(valid_seconds);
  v1::IssueTokenResponse issued;
  grpc::ClientContext issue_context;
  idctl::Authorize(issue_context, admin_token);
  if (!admin->IssueToken(&issue_context, issue, &issued).ok()) return "";
  return issued.token();
}

// A create request for `identifier` with one value: index 1, type URL, data `url`.
inline v1::CreateRequest UrlRecord(const std::string& identifier, const std::string& url) {
  v1::CreateRequest create;
  create.set_identifier(identifier);
  v1::Value* value = create.add_values();
  value->set_index(1);
  value->set_type("URL");
  value->set_data(url);
  return create;
}

// A create request for `identifier` with `count` values (indexes 1.., type DESC) of `bytes` bytes
// each: a record whose answer is large.
inline v1::CreateRequest LargeRecord(const std::string& identifier, uint32_t count, size_t bytes) {
  v1::CreateRequest create;
  create.set_identifier(identifier);
  for (uint32_t index = 1; index <= count; ++index) {
    v1::Value* value = create.add_values();
    value->set_index(index);
    value->set_type("DESC");
    value->set_data(std::string(bytes, static_cast<char>('a' + index % 26)));
  }
  return create;
}

// Registers `create` with `token`.
inline grpc::Status Create(const std::shared_ptr<grpc::Channel>& channel, const std::string& token,
                           const v1::CreateRequest& create) {
  auto stub = v1::Registry::NewStub(channel);
  grpc::ClientContext context;
  idctl::Authorize(context, token);
  v1::CreateResponse created;
  return stub->Create(&context, create, &created);
}

}  // namespace idnode::testing
