#include "tools/idctl/identifier_commands.h"

#include <iostream>

namespace idnode::idctl {

IdentifierCommands::IdentifierCommands(CLI::App& app, Cli& cli, int& rc) : cli_(cli), rc_(rc) {
  AddRegister(app);
  AddReadCommands(app);
  AddChangeCommands(app);
  AddList(app);
}

void IdentifierCommands::AddRegister(CLI::App& app) {
  auto* reg = app.add_subcommand("register", "register an identifier");
  reg->add_option("identifier", args_.identifier, "PREFIX/SUFFIX")->required();
  reg->add_option("-v,--value", args_.value_specs, "INDEX:TYPE:DATA (repeatable)")->required();
  reg->add_option("--ttl", args_.ttl, "TTL in seconds for these values (default 86400)");
  reg->add_option("--template", args_.template_version,
                  "check the values against this version of the prefix's data template "
                  "(adds value 1001:TEMPLATE_VERSION:N)")
      ->check(CLI::PositiveNumber);
  reg->callback([&] {
    v1::CreateRequest request;
    request.set_identifier(args_.identifier);
    if (!AddValues(args_.value_specs, request.mutable_values(), args_.ttl)) {
      rc_ = 2;
      return;
    }
    if (args_.template_version != 0) {
      v1::Value* named = request.add_values();
      named->set_index(1001);
      named->set_type("TEMPLATE_VERSION");
      named->set_data(std::to_string(args_.template_version));
    }
    rc_ = cli_.Call([&](auto channel, grpc::ClientContext& context) {
      v1::CreateResponse response;
      auto status = v1::Registry::NewStub(channel)->Create(&context, request, &response);
      if (!status.ok()) return Report(status);
      return cli_.Print(response, [&] {
        std::cout << (response.unchanged() ? "unchanged " : "registered ") << response.identifier()
                  << " (version " << response.version() << ")\n";
      });
    });
  });
}

void IdentifierCommands::AddReadCommands(CLI::App& app) {
  auto* get = app.add_subcommand("get", "show an identifier's full record (owner or admin)");
  get->add_option("identifier", args_.identifier)->required();
  get->callback([&] {
    rc_ = cli_.Call([&](auto channel, grpc::ClientContext& context) {
      v1::GetRequest request;
      request.set_identifier(args_.identifier);
      v1::Record response;
      auto status = v1::Registry::NewStub(channel)->Get(&context, request, &response);
      if (!status.ok()) return Report(status);
      return cli_.Print(response, [&] {
        std::cout << response.identifier() << "  version " << response.version() << "  owner "
                  << response.owner() << "  updated " << FormatTime(response.updated_ms()) << "\n";
        PrintValues(response.values());
      });
    });
  });

  auto* resolve = app.add_subcommand("resolve", "resolve an identifier (public values)");
  resolve->add_option("identifier", args_.identifier)->required();
  resolve->add_option("--index", args_.indexes, "only these indexes (repeatable)");
  resolve->add_option("--type", args_.types, "only these types; TYPE. matches a sub-hierarchy");
  AddWireTargetOptions(*resolve, args_.wire_target);
  AddWalkOptions(*resolve, args_.wire_target);
  resolve->callback([&] {
    if (args_.wire_target.given()) {
      rc_ = ResolveOverWire(args_.wire_target, args_.identifier, args_.indexes, args_.types, cli_);
      return;
    }
    rc_ = cli_.Call([&](auto channel, grpc::ClientContext& context) {
      v1::ResolveRequest request;
      request.set_identifier(args_.identifier);
      for (uint32_t i : args_.indexes) request.add_indexes(i);
      for (const auto& t : args_.types) request.add_types(t);
      v1::ResolveResponse response;
      auto status = v1::Resolver::NewStub(channel)->Resolve(&context, request, &response);
      if (!status.ok()) return Report(status);
      return cli_.Print(response, [&] {
        std::cout << response.identifier() << "\n";
        PrintValues(response.values());
      });
    });
  });
}

void IdentifierCommands::AddChangeCommands(CLI::App& app) {
  auto* update = app.add_subcommand("update", "change an identifier's values");
  update->add_option("identifier", args_.identifier)->required();
  update->add_flag("--replace-all", args_.replace_all, "replace every value with the --value list");
  update->add_option("-v,--value", args_.value_specs, "INDEX:TYPE:DATA for --replace-all");
  update->add_option("--add", args_.add_specs, "add INDEX:TYPE:DATA (repeatable)");
  update->add_option("--modify", args_.modify_specs, "replace the value at INDEX (repeatable)");
  update->add_option("--remove", args_.remove_indexes, "remove the value at INDEX (repeatable)");
  update->add_option("--ttl", args_.ttl, "TTL in seconds for the given values");
  update->callback([&] {
    v1::UpdateRequest request;
    request.set_identifier(args_.identifier);
    request.set_replace_all(args_.replace_all);
    if (!AddValues(args_.value_specs, request.mutable_replace(), args_.ttl) ||
        !AddValues(args_.add_specs, request.mutable_add(), args_.ttl) ||
        !AddValues(args_.modify_specs, request.mutable_modify(), args_.ttl)) {
      rc_ = 2;
      return;
    }
    for (uint32_t i : args_.remove_indexes) request.add_remove(i);
    rc_ = cli_.Call([&](auto channel, grpc::ClientContext& context) {
      v1::UpdateResponse response;
      auto status = v1::Registry::NewStub(channel)->Update(&context, request, &response);
      if (!status.ok()) return Report(status);
      return cli_.Print(response, [&] {
        std::cout << "updated " << args_.identifier << " (version " << response.version() << ")\n";
      });
    });
  });

  auto* del = app.add_subcommand("delete", "delete an identifier");
  del->add_option("identifier", args_.identifier)->required();
  del->callback([&] {
    rc_ = cli_.Call([&](auto channel, grpc::ClientContext& context) {
      v1::DeleteRequest request;
      request.set_identifier(args_.identifier);
      v1::DeleteResponse response;
      auto status = v1::Registry::NewStub(channel)->Delete(&context, request, &response);
      if (!status.ok()) return Report(status);
      return cli_.Print(response, [&] { std::cout << "deleted " << args_.identifier << "\n"; });
    });
  });
}

void IdentifierCommands::AddList(CLI::App& app) {
  auto* list = app.add_subcommand("list", "list identifiers under an enterprise prefix");
  list->add_option("prefix", args_.prefix_name)->required();
  list->add_option("--page-size", args_.page_size, "1..1000")->check(CLI::Range(1, 1000));
  list->add_option("--page-token", args_.page_token, "continue from a previous page");
  list->add_flag("--all", args_.all_pages, "follow every page");
  list->callback([&] {
    auto stub = v1::Registry::NewStub(Connect(cli_.globals().connect));
    do {
      grpc::ClientContext context;
      Authorize(context, cli_.globals().token);
      v1::ListRequest request;
      request.set_prefix(args_.prefix_name);
      request.set_page_size(args_.page_size);
      request.set_page_token(args_.page_token);
      v1::ListResponse response;
      auto status = stub->List(&context, request, &response);
      if (!status.ok()) {
        rc_ = Report(status);
        return;
      }
      cli_.Print(response, [&] {
        for (const auto& id : response.identifiers()) std::cout << id << "\n";
        if (!args_.all_pages && !response.next_page_token().empty()) {
          std::cerr << "more: --page-token '" << response.next_page_token() << "'\n";
        }
      });
      args_.page_token = response.next_page_token();
    } while (args_.all_pages && !args_.page_token.empty());
  });
}

}  // namespace idnode::idctl
