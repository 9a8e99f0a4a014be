#include <charconv>

#include "api/grpc/internal/unary.h"
#include "api/grpc/services.h"
#include "registry/base/strings.h"
#include "registry/base/utf8.h"
#include "registry/identifier/identifier.h"
#include "registry/templates/template_store.h"
#include "registry/writer/template_ops.h"

namespace idnode::rpc {
namespace {

// A version holds up to 512 attributes (tens of kilobytes): pages keep a reply small.
constexpr uint32_t kDefaultTemplatePageSize = 10;
constexpr uint32_t kMaxTemplatePageSize = 50;

absl::StatusOr<templates::DataTemplate> FromProto(const v1::PublishTemplateRequest& request) {
  templates::DataTemplate t;
  t.description = request.description();
  for (int i = 0; i < request.attributes_size(); ++i) {
    const v1::TemplateAttribute& in = request.attributes(i);
    auto type = templates::ParseAttributeType(in.type(), StrCat("attributes[", i, "] type"));
    if (!type.ok()) return type.status();
    t.attributes.push_back(templates::TemplateAttribute{in.index(), in.name(), *type, in.required(),
                                                        in.min_length(), in.max_length(),
                                                        in.disabled()});
  }
  return t;
}

void ToProto(std::string_view prefix, const templates::DataTemplate& t, v1::DataTemplate* out) {
  out->set_prefix(std::string(prefix));
  out->set_version(t.version);
  out->set_description(t.description);
  out->set_created_ms(t.created_ms);
  out->set_author(t.author);
  for (const templates::TemplateAttribute& a : t.attributes) {
    v1::TemplateAttribute* attribute = out->add_attributes();
    attribute->set_index(a.index);
    attribute->set_name(a.name);
    attribute->set_type(std::string(AttributeTypeName(a.type)));
    attribute->set_required(a.required);
    attribute->set_min_length(a.min_length);
    attribute->set_max_length(a.max_length);
    attribute->set_disabled(a.disabled);
  }
}

}  // namespace

grpc::ServerUnaryReactor* TemplatesService::PublishTemplate(
    grpc::CallbackServerContext* context, const v1::PublishTemplateRequest* request,
    v1::DataTemplate* response) {
  return internal::RunWrite(
      env_, context, accounts::Role::kRegistrant,
      [&](const accounts::Principal& caller, auto* reactor) -> internal::OpOrError {
        auto prefix = identifier::NormalizePrefix(request->prefix(), "prefix");
        if (!prefix.ok()) return prefix.status();
        auto candidate = FromProto(*request);
        if (!candidate.ok()) return candidate.status();
        return writer::MakePublishTemplateOp(
            caller, *prefix, request->base_version(), *std::move(candidate),
            [reactor, response, prefix = *prefix](absl::StatusOr<templates::DataTemplate> result) {
              if (result.ok()) ToProto(prefix, *result, response);
              reactor->Finish(ToGrpc(result.status()));
            });
      });
}

grpc::ServerUnaryReactor* TemplatesService::GetTemplate(grpc::CallbackServerContext* context,
                                                        const v1::GetTemplateRequest* request,
                                                        v1::DataTemplate* response) {
  return internal::RunPublicRead(env_, context, [&](const store::ReadTxn& txn) -> absl::Status {
    auto prefix = identifier::NormalizePrefix(request->prefix(), "prefix");
    if (!prefix.ok()) return prefix.status();
    auto found = templates::FindTemplate(txn, *prefix, request->version());
    if (!found.ok()) return found.status();
    if (!found->has_value()) {
      return absl::NotFoundError(
          request->version() == 0
              ? StrCat("prefix ", *prefix, " has no data template")
              : StrCat("prefix ", *prefix, " has no template version ", request->version()));
    }
    ToProto(*prefix, **found, response);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* TemplatesService::ListTemplates(grpc::CallbackServerContext* context,
                                                          const v1::ListTemplatesRequest* request,
                                                          v1::ListTemplatesResponse* response) {
  return internal::RunPublicRead(env_, context, [&](const store::ReadTxn& txn) -> absl::Status {
    auto prefix = identifier::NormalizePrefix(request->prefix(), "prefix");
    if (!prefix.ok()) return prefix.status();
    if (request->page_size() > kMaxTemplatePageSize) {
      return absl::InvalidArgumentError(StrCat("page_size: ", request->page_size(),
                                               " is above the limit of ", kMaxTemplatePageSize));
    }
    const uint32_t page_size =
        request->page_size() == 0 ? kDefaultTemplatePageSize : request->page_size();
    uint32_t after = 0;
    if (const std::string& token = request->page_token(); !token.empty()) {
      const auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), after);
      if (error != std::errc() || end != token.data() + token.size() || after == 0) {
        return absl::InvalidArgumentError(
            StrCat("page_token: \"", EscapeForLog(token, 32), "\" is not a template version"));
      }
    }
    bool more = false;
    auto versions = templates::ListTemplateVersions(txn, *prefix, after, page_size, more);
    if (!versions.ok()) return versions.status();
    for (const templates::DataTemplate& t : *versions)
      ToProto(*prefix, t, response->add_templates());
    if (more) response->set_next_page_token(std::to_string(versions->back().version));
    return absl::OkStatus();
  });
}

}  // namespace idnode::rpc
