#include "api/grpc/convert.h"
#include "api/grpc/internal/unary.h"
#include "api/grpc/services.h"
#include "registry/base/status_macros.h"
#include "registry/base/strings.h"
#include "registry/stats/upload.h"

namespace idnode::rpc {

grpc::ServerUnaryReactor* StatsService::Report(grpc::CallbackServerContext* context,
                                               const v1::StatsReportRequest* request,
                                               v1::StatsReport* response) {
  return internal::RunRead(
      env_, context, accounts::Role::kOperator,
      [&](const accounts::Principal&, const store::ReadTxn& txn) -> absl::Status {
        ASSIGN_OR_RETURN(
            stats::ReportOptions options,
            stats::ParseReportOptions(request->from(), request->to(), request->by_prefix()));
        ASSIGN_OR_RETURN(
            stats::Report report,
            stats::BuildReport(txn, clock_.NowMillis(), utc_offset_minutes_, thresholds_, options));
        ToProto(report, response);
        response->set_node_prefix(env_.node_prefix);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* StatsService::PendingUploads(grpc::CallbackServerContext* context,
                                                       const v1::PendingUploadsRequest*,
                                                       v1::PendingUploadsResponse* response) {
  return internal::RunRead(
      env_, context, accounts::Role::kOperator,
      [&](const accounts::Principal&, const store::ReadTxn& txn) -> absl::Status {
        ASSIGN_OR_RETURN(std::vector<stats::PendingUpload> pending, stats::ListPendingUploads(txn));
        for (const stats::PendingUpload& p : pending) {
          v1::PendingUpload* out = response->add_reports();
          out->set_report_id(p.report_id);
          out->set_first_day(stats::FormatDay(p.first_day));
          out->set_last_day(stats::FormatDay(p.last_day));
          out->set_created_at(stats::FormatLocalTime(p.created_ms, utc_offset_minutes_));
          out->set_bytes(p.body.size());
        }
        return absl::OkStatus();
      });
}

}  // namespace idnode::rpc
