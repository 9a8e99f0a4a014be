#include "api/grpc/internal/unary.h"
#include "api/grpc/services.h"
#include "registry/base/status_macros.h"
#include "registry/base/strings.h"

namespace idnode::api {
namespace {

std::string FormatOffset(int32_t minutes) {
  const char sign = minutes < 0 ? '-' : '+';
  const int32_t magnitude = minutes < 0 ? -minutes : minutes;
  return fmt::format("{}{:02}:{:02}", sign, magnitude / 60, magnitude % 60);
}

// RFC 3339 time of `unix_ms` in the reporting offset.
std::string FormatTime(int64_t unix_ms, int32_t offset_minutes) {
  const int64_t local_s = unix_ms / 1000 + int64_t{offset_minutes} * 60;
  const int64_t day = local_s >= 0 ? local_s / 86400 : (local_s - 86399) / 86400;
  const int64_t second_of_day = local_s - day * 86400;
  return fmt::format("{}T{:02}:{:02}:{:02}{}", stats::FormatDay(static_cast<uint32_t>(day)),
                     second_of_day / 3600, second_of_day / 60 % 60, second_of_day % 60,
                     FormatOffset(offset_minutes));
}

void ToProto(const stats::Report& report, v1::StatsReport* out) {
  out->set_generated_at(FormatTime(report.generated_ms, report.utc_offset_minutes));
  out->set_utc_offset(FormatOffset(report.utc_offset_minutes));
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

}  // namespace

grpc::ServerUnaryReactor* StatsService::Report(grpc::CallbackServerContext* context,
                                               const v1::StatsReportRequest* request,
                                               v1::StatsReport* response) {
  return internal::RunRead(
      env_, context, Role::kOperator,
      [&](const Principal&, const store::ReadTxn& txn) -> absl::Status {
        stats::ReportOptions options;
        options.by_prefix = request->by_prefix();
        if (!request->from().empty()) {
          ASSIGN_OR_RETURN(options.from, stats::ParseDay(request->from(), "from"));
        }
        if (!request->to().empty()) {
          ASSIGN_OR_RETURN(options.to, stats::ParseDay(request->to(), "to"));
        }
        ASSIGN_OR_RETURN(
            stats::Report report,
            stats::BuildReport(txn, clock_.NowMillis(), utc_offset_minutes_, thresholds_, options));
        ToProto(report, response);
        return absl::OkStatus();
      });
}

}  // namespace idnode::api
