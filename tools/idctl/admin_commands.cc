#include "tools/idctl/admin_commands.h"

#include <iostream>

namespace idnode::idctl {

AdminCommands::AdminCommands(CLI::App& app, Cli& cli, int& rc) : cli_(cli), rc_(rc) {
  AddPrefixCommands(app);
  AddAccountCommands(app);
  AddTokenCommands(app);
}

void AdminCommands::AddPrefixCommands(CLI::App& app) {
  auto* prefix = app.add_subcommand("prefix", "enterprise prefixes")->require_subcommand(1);
  auto* allocate = prefix->add_subcommand("allocate", "allocate an enterprise prefix (admin)");
  allocate->add_option("prefix", args_.prefix_name, "e.g. 88.123.45")->required();
  allocate->add_option("--owner", args_.owner, "registrant account")->required();
  allocate->add_option("--quota", args_.quota, "maximum identifiers (0: unlimited)");
  allocate->callback([&] {
    rc_ = cli_.Call([&](auto channel, grpc::ClientContext& context) {
      v1::AllocatePrefixRequest request;
      request.set_prefix(args_.prefix_name);
      request.set_owner(args_.owner);
      request.set_quota(args_.quota);
      v1::Prefix response;
      auto status = v1::Admin::NewStub(channel)->AllocatePrefix(&context, request, &response);
      if (!status.ok()) return Report(status);
      return cli_.Print(response, [&] {
        std::cout << "allocated " << response.prefix() << " to " << response.owner() << "\n";
      });
    });
  });
  auto* release = prefix->add_subcommand(
      "release", "release an enterprise prefix with no identifiers left (admin)");
  release->add_option("prefix", args_.prefix_name, "e.g. 88.123.45")->required();
  release->callback([&] {
    rc_ = cli_.Call([&](auto channel, grpc::ClientContext& context) {
      v1::ReleasePrefixRequest request;
      request.set_prefix(args_.prefix_name);
      v1::ReleasePrefixResponse response;
      auto status = v1::Admin::NewStub(channel)->ReleasePrefix(&context, request, &response);
      if (!status.ok()) return Report(status);
      return cli_.Print(response, [&] { std::cout << "released " << args_.prefix_name << "\n"; });
    });
  });
  auto* prefix_list = prefix->add_subcommand("list", "list allocated prefixes");
  prefix_list->add_option("--owner", args_.owner, "only this account's");
  prefix_list->callback([&] {
    rc_ = cli_.Call([&](auto channel, grpc::ClientContext& context) {
      v1::ListPrefixesRequest request;
      request.set_owner(args_.owner);
      v1::ListPrefixesResponse response;
      auto status = v1::Admin::NewStub(channel)->ListPrefixes(&context, request, &response);
      if (!status.ok()) return Report(status);
      return cli_.Print(response, [&] {
        for (const auto& p : response.prefixes()) {
          std::cout << p.prefix() << "  owner " << p.owner() << "  quota "
                    << (p.quota() ? std::to_string(p.quota()) : "unlimited") << "  since "
                    << FormatTime(p.created_ms()) << "\n";
        }
      });
    });
  });
}

void AdminCommands::AddAccountCommands(CLI::App& app) {
  auto* account = app.add_subcommand("account", "accounts")->require_subcommand(1);
  auto* account_create = account->add_subcommand("create", "create an account (admin)");
  account_create->add_option("id", args_.account_id, "account id, e.g. acme")->required();
  account_create->add_option("--role", args_.role, "admin, registrant, operator or node")
      ->check(CLI::IsMember({"admin", "registrant", "operator", "node"}));
  account_create->add_option("--grant", args_.grants,
                             "node accounts (on a top node): a prefix the node may register, "
                             "e.g. 88.123; repeatable");
  account_create->callback([&] {
    rc_ = cli_.Call([&](auto channel, grpc::ClientContext& context) {
      v1::CreateAccountRequest request;
      request.set_id(args_.account_id);
      request.set_role(args_.role);
      for (const std::string& grant : args_.grants) request.add_grants(grant);
      v1::Account response;
      auto status = v1::Admin::NewStub(channel)->CreateAccount(&context, request, &response);
      if (!status.ok()) return Report(status);
      return cli_.Print(response, [&] {
        std::cout << "created account " << response.id() << " (" << response.role() << ")";
        for (const auto& grant : response.grants()) std::cout << "  grant " << grant;
        std::cout << "\n";
      });
    });
  });
  account->add_subcommand("list", "list accounts (admin)")->callback([&] {
    rc_ = cli_.Call([&](auto channel, grpc::ClientContext& context) {
      v1::ListAccountsResponse response;
      auto status = v1::Admin::NewStub(channel)->ListAccounts(&context, {}, &response);
      if (!status.ok()) return Report(status);
      return cli_.Print(response, [&] {
        for (const auto& a : response.accounts()) {
          std::cout << a.id() << "  " << a.role() << "  since " << FormatTime(a.created_ms())
                    << (a.disabled() ? "  disabled" : "");
          for (const auto& grant : a.grants()) std::cout << "  grant " << grant;
          std::cout << "\n";
        }
      });
    });
  });
}

void AdminCommands::AddTokenCommands(CLI::App& app) {
  auto* token = app.add_subcommand("token", "bearer tokens")->require_subcommand(1);
  auto* issue = token->add_subcommand("issue", "issue a token for an account (admin)");
  issue->add_option("account", args_.account_id)->required();
  issue->add_option("--label", args_.label, "a note to recognise the token by");
  issue
      ->add_option("--valid-days", args_.valid_days,
                   "the token expires after this many days (0: never)")
      ->check(CLI::Range(uint64_t{0}, uint64_t{36500}));
  issue->callback([&] {
    rc_ = cli_.Call([&](auto channel, grpc::ClientContext& context) {
      v1::IssueTokenRequest request;
      request.set_account(args_.account_id);
      request.set_label(args_.label);
      request.set_valid_seconds(args_.valid_days * 86'400);
      v1::IssueTokenResponse response;
      auto status = v1::Admin::NewStub(channel)->IssueToken(&context, request, &response);
      if (!status.ok()) return Report(status);
      return cli_.Print(response, [&] {
        std::cout << "token " << response.token_id() << " for " << args_.account_id
                  << (response.expires_ms() ? ", expires " + FormatTime(response.expires_ms()) : "")
                  << " (shown once, keep it):\n  " << response.token() << "\n";
      });
    });
  });
  auto* revoke = token->add_subcommand("revoke", "revoke a token by its id (admin)");
  revoke->add_option("token_id", args_.token_id, "16 hex digits, from 'token list'")->required();
  revoke->callback([&] {
    rc_ = cli_.Call([&](auto channel, grpc::ClientContext& context) {
      v1::RevokeTokenRequest request;
      request.set_token_id(args_.token_id);
      v1::RevokeTokenResponse response;
      auto status = v1::Admin::NewStub(channel)->RevokeToken(&context, request, &response);
      if (!status.ok()) return Report(status);
      return cli_.Print(response, [&] {
        std::cout << (response.revoked() ? "revoked " : "already revoked ") << args_.token_id
                  << "\n";
      });
    });
  });
  auto* token_list = token->add_subcommand("list", "list tokens (admin)");
  token_list->add_option("--account", args_.account_id, "only this account's");
  token_list->callback([&] {
    rc_ = cli_.Call([&](auto channel, grpc::ClientContext& context) {
      v1::ListTokensRequest request;
      request.set_account(args_.account_id);
      v1::ListTokensResponse response;
      auto status = v1::Admin::NewStub(channel)->ListTokens(&context, request, &response);
      if (!status.ok()) return Report(status);
      return cli_.Print(response, [&] {
        for (const auto& t : response.tokens()) {
          std::cout << t.token_id() << "  " << t.account() << "  issued "
                    << FormatTime(t.issued_ms())
                    << (t.revoked_ms() ? "  revoked " + FormatTime(t.revoked_ms()) : "")
                    << (t.expires_ms() ? "  expires " + FormatTime(t.expires_ms()) : "")
                    << (t.label().empty() ? "" : "  " + t.label()) << "\n";
        }
      });
    });
  });
}

}  // namespace idnode::idctl
