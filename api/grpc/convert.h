#pragma once

// Conversions between the gRPC messages and the registry's model, and the one mapping from
// absl::Status to grpc::Status (codes correspond one to one).

#include <grpcpp/grpcpp.h>

#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "idnode/v1/idnode.grpc.pb.h"
#include "registry/identifier/value.h"
#include "registry/stats/report.h"

namespace idnode::rpc {

grpc::Status ToGrpc(const absl::Status& status);

// `field` names the list in error messages ("values", "add", ...).
absl::StatusOr<std::vector<identifier::HandleValue>> FromProto(
    const google::protobuf::RepeatedPtrField<v1::Value>& values, std::string_view field);
void ToProto(const identifier::HandleValue& value, v1::Value* out);

// The statistics report as the Stats service, `idctl report --format json` and /api/stats show it
// (dates as YYYY-MM-DD, times in RFC 3339 in the reporting offset).
void ToProto(const stats::Report& report, v1::StatsReport* out);

}  // namespace idnode::rpc
