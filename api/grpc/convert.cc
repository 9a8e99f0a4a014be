#include "api/grpc/convert.h"

#include <fmt/format.h>

#include "registry/base/strings.h"

namespace idnode::rpc {
void ToProto(const stats::Report& report, v1::StatsReport* out) {
  out->set_generated_at(stats::FormatLocalTime(report.generated_ms, report.utc_offset_minutes));
  out->set_utc_offset(stats::FormatUtcOffset(report.utc_offset_minutes));
  out->set_today(stats::FormatDay(report.today));
  out->set_registered(report.registered);
  for (const stats::ThresholdResult& t : report.thresholds) {
    v1::ThresholdStatus* status = out->add_thresholds();
    status->set_id(t.id);
    status->set_description(t.description);
    status->set_measured(t.measured);
    status->set_target(t.target);
    status->set_strictly_more(t.strictly_more);
    status->set_met(t.met);
    status->set_current_rate(t.current_rate);
    if (t.met_on_day) status->set_met_on(stats::FormatDay(*t.met_on_day));
    status->set_projection(t.projection);
  }
  out->set_from(stats::FormatDay(report.from));
  out->set_to(stats::FormatDay(report.to));
  for (const stats::DayRow& d : report.days) {
    v1::DayStats* day = out->add_days();
    day->set_date(stats::FormatDay(d.day));
    day->set_created(d.created);
    day->set_deleted(d.deleted);
    day->set_registered(d.registered);
    day->set_resolutions(d.resolutions);
    day->set_requests(d.requests);
  }
  for (const stats::PrefixRow& p : report.prefixes) {
    v1::PrefixStats* prefix = out->add_prefixes();
    prefix->set_prefix(p.prefix);
    prefix->set_registered(p.registered);
    prefix->set_created(p.created);
    prefix->set_deleted(p.deleted);
    prefix->set_resolutions(p.resolutions);
    prefix->set_requests(p.requests);
  }
}

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(ToStd(status.message())));
}

absl::StatusOr<std::vector<identifier::HandleValue>> FromProto(
    const google::protobuf::RepeatedPtrField<v1::Value>& values, std::string_view field) {
  std::vector<identifier::HandleValue> out;
  out.reserve(values.size());
  for (int i = 0; i < values.size(); ++i) {
    const v1::Value& in = values[i];
    identifier::HandleValue& v = out.emplace_back();
    v.index = in.index();
    v.type = in.type();
    v.data = in.data();
    if (in.has_ttl()) v.ttl = in.ttl();
    v.ttl_type =
        in.ttl_absolute() ? identifier::TtlType::kAbsolute : identifier::TtlType::kRelative;
    if (in.has_permissions()) {
      if (in.permissions() > 0x0F) {
        return absl::InvalidArgumentError(
            StrCat(field, "[", i, "] (index ", in.index(), "): permissions ", in.permissions(),
                   " has bits beyond 0x0F (admin read/write, public read/write)"));
      }
      v.permissions = static_cast<uint8_t>(in.permissions());
    }
    for (const v1::Reference& ref : in.references()) {
      v.references.push_back(identifier::ValueReference{ref.handle(), ref.index()});
    }
  }
  return out;
}

void ToProto(const identifier::HandleValue& value, v1::Value* out) {
  out->set_index(value.index);
  out->set_type(value.type);
  out->set_data(value.data);
  out->set_ttl(value.ttl);
  out->set_ttl_absolute(value.ttl_type == identifier::TtlType::kAbsolute);
  out->set_permissions(value.permissions);
  out->set_timestamp(value.timestamp);
  for (const identifier::ValueReference& ref : value.references) {
    v1::Reference* r = out->add_references();
    r->set_handle(ref.handle);
    r->set_index(ref.index);
  }
}

}  // namespace idnode::rpc
