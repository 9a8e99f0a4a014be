#pragma once

// Messages as JSON, one way for every place that prints them (`idctl --json`, `idctl report
// --format json`, /api/stats): the proto field names, every field present even when zero, and
// 64-bit integers as strings (protobuf's JSON mapping).

#include <google/protobuf/message.h>

#include <string>

namespace idnode::rpc {

std::string ToJson(const google::protobuf::Message& message);

}  // namespace idnode::rpc
