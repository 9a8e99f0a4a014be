#include "tools/idctl/cli.h"

#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <iostream>

namespace idnode::idctl {

std::string EnvOr(const char* name, std::string fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : std::move(fallback);
}

int Report(const grpc::Status& status) {
  std::cerr << "idctl: " << CodeName(status.error_code()) << ": " << status.error_message() << "\n";
  return 1;
}

bool ParseValueSpec(const std::string& spec, v1::Value& out, std::string& error) {
  size_t first = spec.find(':');
  size_t second = first == std::string::npos ? first : spec.find(':', first + 1);
  if (second == std::string::npos) {
    error = "value \"" + spec + "\": expected INDEX:TYPE:DATA, e.g. 1:URL:https://example.com";
    return false;
  }
  std::string index = spec.substr(0, first);
  if (index.empty() || index.size() > 10 ||
      index.find_first_not_of("0123456789") != std::string::npos ||
      std::stoull(index) > UINT32_MAX) {
    error = "value \"" + spec + "\": INDEX must be a number 1..4294967295";
    return false;
  }
  out.set_index(static_cast<uint32_t>(std::stoull(index)));
  out.set_type(spec.substr(first + 1, second - first - 1));
  out.set_data(spec.substr(second + 1));
  return true;
}

bool AddValues(const std::vector<std::string>& specs,
               google::protobuf::RepeatedPtrField<v1::Value>* out, int ttl) {
  for (const std::string& spec : specs) {
    std::string error;
    v1::Value value;
    if (!ParseValueSpec(spec, value, error)) {
      std::cerr << "idctl: " << error << "\n";
      return false;
    }
    if (ttl >= 0) value.set_ttl(static_cast<uint32_t>(ttl));
    *out->Add() = std::move(value);
  }
  return true;
}

void PrintValues(const google::protobuf::RepeatedPtrField<v1::Value>& values) {
  for (const v1::Value& v : values) {
    std::cout << "  " << v.index() << "  " << v.type() << "  " << v.data() << "  (ttl " << v.ttl()
              << ", permissions 0x" << std::hex << v.permissions() << std::dec << ")\n";
  }
}

std::string FormatTime(int64_t ms) {
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&seconds));
  return buffer;
}

}  // namespace idnode::idctl
