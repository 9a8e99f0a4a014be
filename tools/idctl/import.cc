#include "tools/idctl/import.h"

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "tools/idctl/client.h"

namespace idnode::idctl {
namespace {

using nlohmann::json;

bool Fail(std::string& error, std::string message) {
  error = std::move(message);
  return false;
}

bool ParseJsonValue(const json& in, size_t position, v1::Value& out, std::string& error) {
  std::string field = "values[" + std::to_string(position) + "]";
  if (!in.is_object()) return Fail(error, field + ": must be an object");
  auto uint_field = [&](const char* key, bool required, auto setter) {
    auto it = in.find(key);
    if (it == in.end()) return required ? Fail(error, field + "." + key + ": is missing") : true;
    if (!it->is_number_unsigned() || it->get<uint64_t>() > UINT32_MAX) {
      return Fail(error, field + "." + key + ": must be an integer 0..4294967295");
    }
    setter(static_cast<uint32_t>(it->get<uint64_t>()));
    return true;
  };
  if (!uint_field("index", true, [&](uint32_t v) { out.set_index(v); })) return false;
  if (!uint_field("ttl", false, [&](uint32_t v) { out.set_ttl(v); })) return false;
  if (!uint_field("permissions", false, [&](uint32_t v) { out.set_permissions(v); })) return false;
  auto type = in.find("type");
  if (type == in.end() || !type->is_string()) return Fail(error, field + ".type: must be a string");
  out.set_type(type->get_ref<const std::string&>());
  auto data = in.find("data");
  if (data != in.end()) {
    if (!data->is_string()) return Fail(error, field + ".data: must be a string");
    out.set_data(data->get_ref<const std::string&>());
  }
  return true;
}

}  // namespace

bool ParseJsonLine(std::string_view line, v1::CreateRequest& out, std::string& error) {
  json doc = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Fail(error, "not valid JSON");
  if (!doc.is_object()) return Fail(error, "must be a JSON object");
  auto id = doc.find("identifier");
  if (id == doc.end() || !id->is_string()) return Fail(error, "identifier: must be a string");
  out.set_identifier(id->get_ref<const std::string&>());
  auto values = doc.find("values");
  if (values == doc.end() || !values->is_array()) return Fail(error, "values: must be an array");
  for (size_t i = 0; i < values->size(); ++i) {
    if (!ParseJsonValue((*values)[i], i, *out.add_values(), error)) return false;
  }
  return true;
}

bool CsvSchema::ParseHeader(const std::vector<std::string>& cells, std::string& error) {
  if (cells.empty() || cells[0] != "identifier") {
    return Fail(error, "header: the first column must be 'identifier'");
  }
  columns_.clear();
  for (size_t i = 1; i < cells.size(); ++i) {
    const std::string& cell = cells[i];
    size_t colon = cell.find(':');
    uint64_t index = 0;
    bool digits = colon != std::string::npos && colon > 0 && colon <= 10;
    for (size_t k = 0; digits && k < colon; ++k) {
      digits = cell[k] >= '0' && cell[k] <= '9';
      index = index * 10 + static_cast<uint64_t>(cell[k] - '0');
    }
    if (!digits || index == 0 || index > UINT32_MAX || colon + 1 == cell.size()) {
      return Fail(error, "header column " + std::to_string(i + 1) + " \"" + cell +
                             "\": must be INDEX:TYPE, e.g. 1:URL");
    }
    columns_.push_back(Column{static_cast<uint32_t>(index), cell.substr(colon + 1)});
  }
  return true;
}

bool CsvSchema::ParseRow(const std::vector<std::string>& cells, v1::CreateRequest& out,
                         std::string& error) const {
  if (cells.size() != columns_.size() + 1) {
    return Fail(error, "has " + std::to_string(cells.size()) + " columns, the header has " +
                           std::to_string(columns_.size() + 1));
  }
  out.set_identifier(cells[0]);
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (cells[i + 1].empty()) continue;
    v1::Value* value = out.add_values();
    value->set_index(columns_[i].index);
    value->set_type(columns_[i].type);
    value->set_data(cells[i + 1]);
  }
  return true;
}

bool ReadCsvRecord(std::istream& in, std::vector<std::string>& cells, uint64_t& lines,
                   std::string& error) {
  cells.clear();
  std::string line;
  if (!std::getline(in, line)) return false;
  ++lines;
  std::string cell;
  bool quoted = false;
  for (size_t i = 0;; ++i) {
    if (i == line.size()) {
      if (!quoted) break;
      std::string more;
      if (!std::getline(in, more)) {
        error = "unterminated quoted field";
        cells.push_back(std::move(cell));
        return true;
      }
      ++lines;
      cell.push_back('\n');
      line = std::move(more);
      i = static_cast<size_t>(-1);
      continue;
    }
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cell.push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cell.push_back(c);
      }
    } else if (c == '"' && cell.empty()) {
      quoted = true;
    } else if (c == ',') {
      cells.push_back(std::move(cell));
      cell.clear();
    } else if (c == '\r' && i + 1 == line.size()) {
      // CRLF line ending
    } else {
      cell.push_back(c);
    }
  }
  cells.push_back(std::move(cell));
  return true;
}

ImportSummary RunImport(v1::Registry::Stub& stub, const std::string& token, std::istream& in,
                        const ImportOptions& options) {
  std::mutex mu;
  ImportSummary summary;
  // Per batch in flight: the source line and identifier of each item.
  struct Origin {
    uint64_t line;
    std::string identifier;
  };
  std::map<uint64_t, std::vector<Origin>> in_flight;
  auto record_failure = [&](uint64_t line, std::string identifier, std::string code,
                            std::string message) {
    ++summary.failed;
    if (summary.failures.size() < kMaxReportedFailures) {
      summary.failures.push_back(
          ImportFailure{line, std::move(identifier), std::move(code), std::move(message)});
    }
  };

  CsvSchema csv;
  bool header_done = options.format != ImportFormat::kCsv;
  uint64_t line_number = 0;
  uint64_t next_batch_id = 1;
  std::vector<std::string> cells;
  std::string line, error;

  auto next = [&](v1::BatchCreateRequest& request) {
    std::vector<Origin> origins;
    origins.reserve(options.batch_size);
    while (static_cast<size_t>(request.items_size()) < options.batch_size) {
      uint64_t first_line = line_number + 1;
      error.clear();
      v1::CreateRequest item;
      bool parsed = false;
      if (options.format == ImportFormat::kCsv) {
        if (!ReadCsvRecord(in, cells, line_number, error)) break;
        if (cells.size() == 1 && cells[0].empty()) continue;  // blank line
        if (!header_done) {
          header_done = true;
          if (!csv.ParseHeader(cells, error)) {
            std::lock_guard lock(mu);
            summary.stream_error = "line 1: " + error;
            return false;
          }
          continue;
        }
        parsed = error.empty() && csv.ParseRow(cells, item, error);
      } else {
        if (!std::getline(in, line)) break;
        ++line_number;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        parsed = ParseJsonLine(line, item, error);
      }
      std::lock_guard lock(mu);
      ++summary.lines;
      if (!parsed) {
        record_failure(first_line, item.identifier(), "INVALID_ARGUMENT", error);
        continue;
      }
      origins.push_back(Origin{first_line, item.identifier()});
      *request.add_items() = std::move(item);
    }
    if (request.items_size() == 0) return false;
    request.set_batch_id(next_batch_id++);
    std::lock_guard lock(mu);
    in_flight.emplace(request.batch_id(), std::move(origins));
    return true;
  };

  auto on_response = [&](const v1::BatchCreateResponse& response) {
    std::lock_guard lock(mu);
    auto it = in_flight.find(response.batch_id());
    if (it == in_flight.end()) return;
    const std::vector<Origin>& origins = it->second;
    for (int i = 0; i < response.results_size() && i < static_cast<int>(origins.size()); ++i) {
      const v1::ItemResult& result = response.results(i);
      if (result.code() != 0) {
        record_failure(origins[i].line, origins[i].identifier, CodeName(result.code()),
                       result.message());
      } else if (result.unchanged()) {
        ++summary.unchanged;
      } else {
        ++summary.created;
      }
    }
    in_flight.erase(it);
    if (options.progress) options.progress(summary);
  };

  grpc::Status status = StreamBatches(stub, token, next, on_response);
  std::lock_guard lock(mu);
  if (!status.ok()) {
    summary.stream_error = CodeName(status.error_code()) + ": " + status.error_message();
    for (const auto& [batch, origins] : in_flight) {
      for (const Origin& origin : origins) {
        record_failure(origin.line, origin.identifier, "UNAVAILABLE",
                       "not acknowledged before the stream ended");
      }
    }
  }
  return summary;
}

}  // namespace idnode::idctl
