#include "tools/idctl/template_commands.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>

namespace idnode::idctl {
namespace {

struct TemplateArgs {
  std::string prefix;
  std::string file;
  uint32_t version = 0;
  std::optional<uint32_t> base;
  std::vector<uint32_t> disable;
  uint32_t page_size = 10;
  std::string page_token;
  bool all_pages = false;
};

void PrintTemplate(const v1::DataTemplate& t) {
  std::cout << t.prefix() << "  template version " << t.version() << "  by " << t.author() << "  "
            << FormatTime(t.created_ms()) << "\n";
  if (!t.description().empty()) std::cout << "  " << t.description() << "\n";
  for (const v1::TemplateAttribute& a : t.attributes()) {
    std::cout << "  " << a.index() << "  " << a.name() << "  " << a.type();
    if (a.required()) std::cout << "  required";
    if (a.min_length() != 0 || a.max_length() != 0) {
      std::cout << "  length " << a.min_length() << ".."
                << (a.max_length() == 0 ? std::string("") : std::to_string(a.max_length()));
    }
    if (a.disabled()) std::cout << "  disabled";
    std::cout << "\n";
  }
}

// Reads the attribute list (and description) of a template from a JSON file:
// {"description": "...", "attributes": [{"index": 2001, "name": "MODEL", "type": "string",
//   "required": true, "min_length": 2, "max_length": 32}, ...]}
bool ReadTemplateFile(const std::string& path, v1::PublishTemplateRequest& request) {
  std::ifstream in(path);
  if (!in) {
    std::cerr << "idctl: file: cannot open " << path << "\n";
    return false;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto status = google::protobuf::util::JsonStringToMessage(text.str(), &request);
  if (!status.ok()) {
    std::cerr << "idctl: " << path << ": not a template (" << status.message() << ")\n";
    return false;
  }
  if (!request.prefix().empty() || request.base_version() != 0) {
    std::cerr << "idctl: " << path << ": give prefix and base version on the command line\n";
    return false;
  }
  return true;
}

// The latest version of `prefix`'s template; NOT_FOUND when it has none.
grpc::Status FetchLatest(Cli& cli, const std::string& prefix, v1::DataTemplate& out) {
  grpc::Status status;
  cli.Call([&](auto channel, grpc::ClientContext& context) {
    v1::GetTemplateRequest request;
    request.set_prefix(prefix);
    status = v1::Templates::NewStub(channel)->GetTemplate(&context, request, &out);
    return 0;
  });
  return status;
}

int Publish(Cli& cli, const std::string& prefix, v1::PublishTemplateRequest& request) {
  request.set_prefix(prefix);
  return cli.Call([&](auto channel, grpc::ClientContext& context) {
    v1::DataTemplate response;
    auto status = v1::Templates::NewStub(channel)->PublishTemplate(&context, request, &response);
    if (!status.ok()) return Report(status);
    return cli.Print(response, [&] {
      std::cout << "published template version " << response.version() << " of "
                << response.prefix() << "\n";
    });
  });
}

}  // namespace

void AddTemplateCommands(CLI::App& app, Cli& cli, int& rc) {
  auto args = std::make_shared<TemplateArgs>();
  auto* command = app.add_subcommand("template", "data templates of an enterprise prefix")
                      ->require_subcommand(1);

  auto* publish = command->add_subcommand(
      "publish", "publish a new template version from a JSON file (prefix owner or admin)");
  publish->add_option("prefix", args->prefix, "e.g. 88.123.45")->required();
  publish->add_option("file", args->file, "JSON: {\"description\", \"attributes\": [...]}")
      ->required();
  publish->add_option("--base", args->base,
                      "the version this one follows (default: the latest; 0 for the first)");
  publish->callback([&cli, &rc, args] {
    v1::PublishTemplateRequest request;
    if (!ReadTemplateFile(args->file, request)) {
      rc = 2;
      return;
    }
    if (args->base) {
      request.set_base_version(*args->base);
    } else {
      v1::DataTemplate latest;
      grpc::Status status = FetchLatest(cli, args->prefix, latest);
      if (!status.ok() && status.error_code() != grpc::StatusCode::NOT_FOUND) {
        rc = Report(status);
        return;
      }
      request.set_base_version(status.ok() ? latest.version() : 0);
    }
    rc = Publish(cli, args->prefix, request);
  });

  auto* get = command->add_subcommand("get", "show a template version (default: the latest)");
  get->add_option("prefix", args->prefix)->required();
  get->add_option("--version", args->version, "version number");
  get->callback([&cli, &rc, args] {
    rc = cli.Call([&](auto channel, grpc::ClientContext& context) {
      v1::GetTemplateRequest request;
      request.set_prefix(args->prefix);
      request.set_version(args->version);
      v1::DataTemplate response;
      auto status = v1::Templates::NewStub(channel)->GetTemplate(&context, request, &response);
      if (!status.ok()) return Report(status);
      return cli.Print(response, [&] { PrintTemplate(response); });
    });
  });

  auto* list =
      command->add_subcommand("list", "show the versions of a prefix's template, oldest first");
  list->add_option("prefix", args->prefix)->required();
  list->add_option("--page-size", args->page_size, "1..50 (default 10)")->check(CLI::Range(1, 50));
  list->add_option("--page-token", args->page_token, "continue from a previous page");
  list->add_flag("--all", args->all_pages, "follow every page");
  list->callback([&cli, &rc, args] {
    do {
      rc = cli.Call([&](auto channel, grpc::ClientContext& context) {
        v1::ListTemplatesRequest request;
        request.set_prefix(args->prefix);
        request.set_page_size(args->page_size);
        request.set_page_token(args->page_token);
        v1::ListTemplatesResponse response;
        auto status = v1::Templates::NewStub(channel)->ListTemplates(&context, request, &response);
        if (!status.ok()) return Report(status);
        args->page_token = response.next_page_token();
        return cli.Print(response, [&] {
          if (response.templates().empty()) std::cout << "no template\n";
          for (const v1::DataTemplate& t : response.templates()) PrintTemplate(t);
          if (!args->all_pages && !response.next_page_token().empty()) {
            std::cerr << "more: --page-token '" << response.next_page_token() << "'\n";
          }
        });
      });
    } while (rc == 0 && args->all_pages && !args->page_token.empty());
  });

  auto* disable = command->add_subcommand(
      "disable", "publish a new version with these attributes disabled (prefix owner or admin)");
  disable->add_option("prefix", args->prefix)->required();
  disable->add_option("index", args->disable, "attribute indexes")->required();
  disable->callback([&cli, &rc, args] {
    v1::DataTemplate latest;
    if (grpc::Status status = FetchLatest(cli, args->prefix, latest); !status.ok()) {
      rc = Report(status);
      return;
    }
    v1::PublishTemplateRequest request;
    request.set_base_version(latest.version());
    request.set_description(latest.description());
    *request.mutable_attributes() = latest.attributes();
    for (uint32_t index : args->disable) {
      auto* attributes = request.mutable_attributes();
      auto it = std::find_if(attributes->begin(), attributes->end(),
                             [&](const v1::TemplateAttribute& a) { return a.index() == index; });
      if (it == attributes->end()) {
        std::cerr << "idctl: index: " << index << " is not an attribute of template version "
                  << latest.version() << " of " << latest.prefix() << "\n";
        rc = 2;
        return;
      }
      it->set_disabled(true);
      it->set_required(false);
    }
    rc = Publish(cli, args->prefix, request);
  });
}

}  // namespace idnode::idctl
