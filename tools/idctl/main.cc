// idctl: the operator and registrant CLI for idnode. Human output by default, --json for
// scripts. Errors print the node's code and message and exit non-zero.

#include <google/protobuf/util/json_util.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "tools/idctl/cli.h"
#include "tools/idctl/client.h"
#include "tools/idctl/federation_commands.h"
#include "tools/idctl/import.h"
#include "tools/idctl/report_commands.h"
#include "tools/idctl/template_commands.h"
#include "tools/idctl/wire_commands.h"

using namespace idnode;
using namespace idnode::idctl;

int main(int argc, char** argv) {
  CLI::App app{"idctl: manage and query an idnode secondary node"};
  app.fallthrough();  // global flags such as --json may also follow the subcommand
  app.require_subcommand(1);
  Globals g;
  g.connect.server = EnvOr("IDNODE_SERVER", "127.0.0.1:2642");
  g.token = EnvOr("IDNODE_TOKEN", "");
  app.add_option("-s,--server", g.connect.server, "node address HOST:PORT (env IDNODE_SERVER)");
  app.add_option("-t,--token", g.token, "bearer token (env IDNODE_TOKEN)");
  app.add_option("--tls-ca", g.connect.tls_ca_file, "connect with TLS, trusting this CA file")
      ->check(CLI::ExistingFile);
  app.add_option("--timeout", g.timeout_seconds, "seconds to wait for a reply")
      ->check(CLI::PositiveNumber);
  app.add_flag("--json", g.json, "print machine-readable JSON");
  Cli cli(g);
  int rc = 0;

  // ---- prefix ----
  auto* prefix = app.add_subcommand("prefix", "enterprise prefixes")->require_subcommand(1);
  std::string prefix_name, owner;
  uint64_t quota = 0;
  auto* allocate = prefix->add_subcommand("allocate", "allocate an enterprise prefix (admin)");
  allocate->add_option("prefix", prefix_name, "e.g. 88.123.45")->required();
  allocate->add_option("--owner", owner, "registrant account")->required();
  allocate->add_option("--quota", quota, "maximum identifiers (0: unlimited)");
  allocate->callback([&] {
    rc = cli.Call([&](auto channel, grpc::ClientContext& context) {
      v1::AllocatePrefixRequest request;
      request.set_prefix(prefix_name);
      request.set_owner(owner);
      request.set_quota(quota);
      v1::Prefix response;
      auto status = v1::Admin::NewStub(channel)->AllocatePrefix(&context, request, &response);
      if (!status.ok()) return Report(status);
      return cli.Print(response, [&] {
        std::cout << "allocated " << response.prefix() << " to " << response.owner() << "\n";
      });
    });
  });
  auto* release = prefix->add_subcommand(
      "release", "release an enterprise prefix with no identifiers left (admin)");
  release->add_option("prefix", prefix_name, "e.g. 88.123.45")->required();
  release->callback([&] {
    rc = cli.Call([&](auto channel, grpc::ClientContext& context) {
      v1::ReleasePrefixRequest request;
      request.set_prefix(prefix_name);
      v1::ReleasePrefixResponse response;
      auto status = v1::Admin::NewStub(channel)->ReleasePrefix(&context, request, &response);
      if (!status.ok()) return Report(status);
      return cli.Print(response, [&] { std::cout << "released " << prefix_name << "\n"; });
    });
  });
  auto* prefix_list = prefix->add_subcommand("list", "list allocated prefixes");
  prefix_list->add_option("--owner", owner, "only this account's");
  prefix_list->callback([&] {
    rc = cli.Call([&](auto channel, grpc::ClientContext& context) {
      v1::ListPrefixesRequest request;
      request.set_owner(owner);
      v1::ListPrefixesResponse response;
      auto status = v1::Admin::NewStub(channel)->ListPrefixes(&context, request, &response);
      if (!status.ok()) return Report(status);
      return cli.Print(response, [&] {
        for (const auto& p : response.prefixes()) {
          std::cout << p.prefix() << "  owner " << p.owner() << "  quota "
                    << (p.quota() ? std::to_string(p.quota()) : "unlimited") << "  since "
                    << FormatTime(p.created_ms()) << "\n";
        }
      });
    });
  });

  // ---- account ----
  auto* account = app.add_subcommand("account", "accounts")->require_subcommand(1);
  std::string account_id, role = "registrant";
  std::vector<std::string> grants;
  auto* account_create = account->add_subcommand("create", "create an account (admin)");
  account_create->add_option("id", account_id, "account id, e.g. acme")->required();
  account_create->add_option("--role", role, "admin, registrant, operator or node")
      ->check(CLI::IsMember({"admin", "registrant", "operator", "node"}));
  account_create->add_option("--grant", grants,
                             "node accounts (on a top node): a prefix the node may register, "
                             "e.g. 88.123; repeatable");
  account_create->callback([&] {
    rc = cli.Call([&](auto channel, grpc::ClientContext& context) {
      v1::CreateAccountRequest request;
      request.set_id(account_id);
      request.set_role(role);
      for (const std::string& grant : grants) request.add_grants(grant);
      v1::Account response;
      auto status = v1::Admin::NewStub(channel)->CreateAccount(&context, request, &response);
      if (!status.ok()) return Report(status);
      return cli.Print(response, [&] {
        std::cout << "created account " << response.id() << " (" << response.role() << ")";
        for (const auto& grant : response.grants()) std::cout << "  grant " << grant;
        std::cout << "\n";
      });
    });
  });
  account->add_subcommand("list", "list accounts (admin)")->callback([&] {
    rc = cli.Call([&](auto channel, grpc::ClientContext& context) {
      v1::ListAccountsResponse response;
      auto status = v1::Admin::NewStub(channel)->ListAccounts(&context, {}, &response);
      if (!status.ok()) return Report(status);
      return cli.Print(response, [&] {
        for (const auto& a : response.accounts()) {
          std::cout << a.id() << "  " << a.role() << "  since " << FormatTime(a.created_ms())
                    << (a.disabled() ? "  disabled" : "");
          for (const auto& grant : a.grants()) std::cout << "  grant " << grant;
          std::cout << "\n";
        }
      });
    });
  });

  // ---- token ----
  auto* token = app.add_subcommand("token", "bearer tokens")->require_subcommand(1);
  std::string label, token_id;
  auto* issue = token->add_subcommand("issue", "issue a token for an account (admin)");
  issue->add_option("account", account_id)->required();
  issue->add_option("--label", label, "a note to recognise the token by");
  uint64_t valid_days = 0;
  issue->add_option("--valid-days", valid_days, "the token expires after this many days (0: never)")
      ->check(CLI::Range(uint64_t{0}, uint64_t{36500}));
  issue->callback([&] {
    rc = cli.Call([&](auto channel, grpc::ClientContext& context) {
      v1::IssueTokenRequest request;
      request.set_account(account_id);
      request.set_label(label);
      request.set_valid_seconds(valid_days * 86'400);
      v1::IssueTokenResponse response;
      auto status = v1::Admin::NewStub(channel)->IssueToken(&context, request, &response);
      if (!status.ok()) return Report(status);
      return cli.Print(response, [&] {
        std::cout << "token " << response.token_id() << " for " << account_id
                  << (response.expires_ms() ? ", expires " + FormatTime(response.expires_ms()) : "")
                  << " (shown once, keep it):\n  " << response.token() << "\n";
      });
    });
  });
  auto* revoke = token->add_subcommand("revoke", "revoke a token by its id (admin)");
  revoke->add_option("token_id", token_id, "16 hex digits, from 'token list'")->required();
  revoke->callback([&] {
    rc = cli.Call([&](auto channel, grpc::ClientContext& context) {
      v1::RevokeTokenRequest request;
      request.set_token_id(token_id);
      v1::RevokeTokenResponse response;
      auto status = v1::Admin::NewStub(channel)->RevokeToken(&context, request, &response);
      if (!status.ok()) return Report(status);
      return cli.Print(response, [&] {
        std::cout << (response.revoked() ? "revoked " : "already revoked ") << token_id << "\n";
      });
    });
  });
  auto* token_list = token->add_subcommand("list", "list tokens (admin)");
  token_list->add_option("--account", account_id, "only this account's");
  token_list->callback([&] {
    rc = cli.Call([&](auto channel, grpc::ClientContext& context) {
      v1::ListTokensRequest request;
      request.set_account(account_id);
      v1::ListTokensResponse response;
      auto status = v1::Admin::NewStub(channel)->ListTokens(&context, request, &response);
      if (!status.ok()) return Report(status);
      return cli.Print(response, [&] {
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

  AddTemplateCommands(app, cli, rc);
  AddFederationCommands(app, cli, rc);
  AddSiteInfoCommand(app, cli, rc);
  AddReportCommand(app, cli, rc);

  // ---- identifiers ----
  std::string identifier;
  std::vector<std::string> value_specs, add_specs, modify_specs;
  std::vector<uint32_t> remove_indexes, indexes;
  std::vector<std::string> types;
  int ttl = -1;
  auto* reg = app.add_subcommand("register", "register an identifier");
  reg->add_option("identifier", identifier, "PREFIX/SUFFIX")->required();
  reg->add_option("-v,--value", value_specs, "INDEX:TYPE:DATA (repeatable)")->required();
  reg->add_option("--ttl", ttl, "TTL in seconds for these values (default 86400)");
  uint32_t template_version = 0;
  reg->add_option("--template", template_version,
                  "check the values against this version of the prefix's data template "
                  "(adds value 1001:TEMPLATE_VERSION:N)")
      ->check(CLI::PositiveNumber);
  reg->callback([&] {
    v1::CreateRequest request;
    request.set_identifier(identifier);
    if (!AddValues(value_specs, request.mutable_values(), ttl)) {
      rc = 2;
      return;
    }
    if (template_version != 0) {
      v1::Value* named = request.add_values();
      named->set_index(1001);
      named->set_type("TEMPLATE_VERSION");
      named->set_data(std::to_string(template_version));
    }
    rc = cli.Call([&](auto channel, grpc::ClientContext& context) {
      v1::CreateResponse response;
      auto status = v1::Registry::NewStub(channel)->Create(&context, request, &response);
      if (!status.ok()) return Report(status);
      return cli.Print(response, [&] {
        std::cout << (response.unchanged() ? "unchanged " : "registered ") << response.identifier()
                  << " (version " << response.version() << ")\n";
      });
    });
  });

  auto* get = app.add_subcommand("get", "show an identifier's full record (owner or admin)");
  get->add_option("identifier", identifier)->required();
  get->callback([&] {
    rc = cli.Call([&](auto channel, grpc::ClientContext& context) {
      v1::GetRequest request;
      request.set_identifier(identifier);
      v1::Record response;
      auto status = v1::Registry::NewStub(channel)->Get(&context, request, &response);
      if (!status.ok()) return Report(status);
      return cli.Print(response, [&] {
        std::cout << response.identifier() << "  version " << response.version() << "  owner "
                  << response.owner() << "  updated " << FormatTime(response.updated_ms()) << "\n";
        PrintValues(response.values());
      });
    });
  });

  auto* resolve = app.add_subcommand("resolve", "resolve an identifier (public values)");
  resolve->add_option("identifier", identifier)->required();
  resolve->add_option("--index", indexes, "only these indexes (repeatable)");
  resolve->add_option("--type", types, "only these types; TYPE. matches a sub-hierarchy");
  WireTarget wire_target;
  AddWireTargetOptions(*resolve, wire_target);
  AddWalkOptions(*resolve, wire_target);
  resolve->callback([&] {
    if (wire_target.given()) {
      rc = ResolveOverWire(wire_target, identifier, indexes, types, cli);
      return;
    }
    rc = cli.Call([&](auto channel, grpc::ClientContext& context) {
      v1::ResolveRequest request;
      request.set_identifier(identifier);
      for (uint32_t i : indexes) request.add_indexes(i);
      for (const auto& t : types) request.add_types(t);
      v1::ResolveResponse response;
      auto status = v1::Resolver::NewStub(channel)->Resolve(&context, request, &response);
      if (!status.ok()) return Report(status);
      return cli.Print(response, [&] {
        std::cout << response.identifier() << "\n";
        PrintValues(response.values());
      });
    });
  });

  bool replace_all = false;
  auto* update = app.add_subcommand("update", "change an identifier's values");
  update->add_option("identifier", identifier)->required();
  update->add_flag("--replace-all", replace_all, "replace every value with the --value list");
  update->add_option("-v,--value", value_specs, "INDEX:TYPE:DATA for --replace-all");
  update->add_option("--add", add_specs, "add INDEX:TYPE:DATA (repeatable)");
  update->add_option("--modify", modify_specs, "replace the value at INDEX (repeatable)");
  update->add_option("--remove", remove_indexes, "remove the value at INDEX (repeatable)");
  update->add_option("--ttl", ttl, "TTL in seconds for the given values");
  update->callback([&] {
    v1::UpdateRequest request;
    request.set_identifier(identifier);
    request.set_replace_all(replace_all);
    if (!AddValues(value_specs, request.mutable_replace(), ttl) ||
        !AddValues(add_specs, request.mutable_add(), ttl) ||
        !AddValues(modify_specs, request.mutable_modify(), ttl)) {
      rc = 2;
      return;
    }
    for (uint32_t i : remove_indexes) request.add_remove(i);
    rc = cli.Call([&](auto channel, grpc::ClientContext& context) {
      v1::UpdateResponse response;
      auto status = v1::Registry::NewStub(channel)->Update(&context, request, &response);
      if (!status.ok()) return Report(status);
      return cli.Print(response, [&] {
        std::cout << "updated " << identifier << " (version " << response.version() << ")\n";
      });
    });
  });

  auto* del = app.add_subcommand("delete", "delete an identifier");
  del->add_option("identifier", identifier)->required();
  del->callback([&] {
    rc = cli.Call([&](auto channel, grpc::ClientContext& context) {
      v1::DeleteRequest request;
      request.set_identifier(identifier);
      v1::DeleteResponse response;
      auto status = v1::Registry::NewStub(channel)->Delete(&context, request, &response);
      if (!status.ok()) return Report(status);
      return cli.Print(response, [&] { std::cout << "deleted " << identifier << "\n"; });
    });
  });

  uint32_t page_size = 100;
  std::string page_token;
  bool all_pages = false;
  auto* list = app.add_subcommand("list", "list identifiers under an enterprise prefix");
  list->add_option("prefix", prefix_name)->required();
  list->add_option("--page-size", page_size, "1..1000")->check(CLI::Range(1, 1000));
  list->add_option("--page-token", page_token, "continue from a previous page");
  list->add_flag("--all", all_pages, "follow every page");
  list->callback([&] {
    auto stub = v1::Registry::NewStub(client::Connect(g.connect));
    do {
      grpc::ClientContext context;
      client::Authorize(context, g.token);
      v1::ListRequest request;
      request.set_prefix(prefix_name);
      request.set_page_size(page_size);
      request.set_page_token(page_token);
      v1::ListResponse response;
      auto status = stub->List(&context, request, &response);
      if (!status.ok()) {
        rc = Report(status);
        return;
      }
      cli.Print(response, [&] {
        for (const auto& id : response.identifiers()) std::cout << id << "\n";
        if (!all_pages && !response.next_page_token().empty()) {
          std::cerr << "more: --page-token '" << response.next_page_token() << "'\n";
        }
      });
      page_token = response.next_page_token();
    } while (all_pages && !page_token.empty());
  });

  std::string file, format;
  size_t batch_size = 1000;
  auto* import = app.add_subcommand("import", "bulk-register from JSON Lines or CSV");
  import->add_option("file", file, "input file, or - for standard input")->required();
  import->add_option("--format", format, "jsonl or csv (default: from the file name)")
      ->check(CLI::IsMember({"jsonl", "csv"}));
  import->add_option("--batch-size", batch_size, "identifiers per batch")
      ->check(CLI::Range(1, 10000));
  import->callback([&] {
    std::ifstream file_stream;
  std::istream* in = &std::cin;
  if (file != "-") {
    file_stream.open(file);
    if (!file_stream) {
      std::cerr << "idctl: file: cannot open " << file << "\n";
      rc = 2;
      return;
    }
    in = &file_stream;
  }
  client::ImportOptions options;
  bool csv = format == "csv" ||
             (format.empty() && file.size() > 4 && file.compare(file.size() - 4, 4, ".csv") == 0);
  options.format = csv ? client::ImportFormat::kCsv : client::ImportFormat::kJsonLines;
  options.batch_size = batch_size;
  auto start = std::chrono::steady_clock::now();
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  const bool tty = isatty(STDERR_FILENO) && !g.json;
  auto last_draw = start;
  options.progress = [&](const client::ImportSummary& s) {
    auto now = std::chrono::steady_clock::now();
    if (!tty || now - last_draw < std::chrono::milliseconds(200)) return;
    last_draw = now;
    uint64_t done = s.created + s.unchanged + s.failed;
    std::cerr << "\r[" << done << " lines] created " << s.created << ", unchanged " << s.unchanged
              << ", failed " << s.failed << "  ("
              << static_cast<uint64_t>(done / std::max(seconds(), 1e-3)) << "/s)   " << std::flush;
  };
  auto stub = v1::Registry::NewStub(client::Connect(g.connect));
  client::ImportSummary s = client::RunImport(*stub, g.token, *in, options);
  double elapsed = seconds();
  if (tty) std::cerr << "\n";
  if (g.json) {
    nlohmann::json out = {{"lines", s.lines},         {"created", s.created},
                          {"unchanged", s.unchanged}, {"failed", s.failed},
                          {"seconds", elapsed},       {"failures", nlohmann::json::array()}};
    if (!s.stream_error.empty()) out["error"] = s.stream_error;
    for (const auto& f : s.failures) {
      out["failures"].push_back({{"line", f.line},
                                 {"identifier", f.identifier},
                                 {"code", f.code},
                                 {"message", f.message}});
    }
    std::cout << out.dump() << "\n";
  } else {
    std::cout << "imported " << s.lines << " lines in " << elapsed << " s: created " << s.created
              << ", unchanged " << s.unchanged << ", failed " << s.failed << "\n";
    for (size_t i = 0; i < s.failures.size() && i < 50; ++i) {
      const auto& f = s.failures[i];
      std::cout << "  line " << f.line << ": " << (f.identifier.empty() ? "-" : f.identifier)
                << ": " << f.code << ": " << f.message << "\n";
    }
    if (s.failed > 50) std::cout << "  ... " << s.failed - 50 << " more (use --json)\n";
    if (!s.stream_error.empty()) std::cerr << "idctl: import stopped: " << s.stream_error << "\n";
  }
  rc = (!s.stream_error.empty() || s.failed > 0) ? 1 : 0;
});

CLI11_PARSE(app, argc, argv);
return rc;
}
