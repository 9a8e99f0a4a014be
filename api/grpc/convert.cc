#include "api/grpc/convert.h"

#include "registry/base/strings.h"

namespace idnode::api {

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(ToStd(status.message())));
}

absl::StatusOr<std::vector<HandleValue>> FromProto(
    const google::protobuf::RepeatedPtrField<v1::Value>& values, std::string_view field) {
  std::vector<HandleValue> out;
  out.reserve(values.size());
  for (int i = 0; i < values.size(); ++i) {
    const v1::Value& in = values[i];
    HandleValue& v = out.emplace_back();
    v.index = in.index();
    v.type = in.type();
    v.data = in.data();
    if (in.has_ttl()) v.ttl = in.ttl();
    v.ttl_type = in.ttl_absolute() ? TtlType::kAbsolute : TtlType::kRelative;
    if (in.has_permissions()) {
      if (in.permissions() > 0x0F) {
        return absl::InvalidArgumentError(
            StrCat(field, "[", i, "] (index ", in.index(), "): permissions ", in.permissions(),
                   " has bits beyond 0x0F (admin read/write, public read/write)"));
      }
      v.permissions = static_cast<uint8_t>(in.permissions());
    }
    for (const v1::Reference& ref : in.references()) {
      v.references.push_back(ValueReference{ref.handle(), ref.index()});
    }
  }
  return out;
}

void ToProto(const HandleValue& value, v1::Value* out) {
  out->set_index(value.index);
  out->set_type(value.type);
  out->set_data(value.data);
  out->set_ttl(value.ttl);
  out->set_ttl_absolute(value.ttl_type == TtlType::kAbsolute);
  out->set_permissions(value.permissions);
  out->set_timestamp(value.timestamp);
  for (const ValueReference& ref : value.references) {
    v1::Reference* r = out->add_references();
    r->set_handle(ref.handle);
    r->set_index(ref.index);
  }
}

}  // namespace idnode::api
