#pragma once

// `idctl import FILE`: reads JSON Lines or CSV and streams it through Registry.BatchCreate.
// A line that fails (locally when parsed, or on the node) is reported and never stops the rest.
//
// JSON Lines: one object per line:
//   {"identifier": "88.123.45/PUMP-1", "values": [{"index": 1, "type": "URL",
//    "data": "https://...", "ttl": 86400, "permissions": 14}]}
// CSV (RFC 4180 quoting): a header `identifier,INDEX:TYPE,INDEX:TYPE,...`, then one row per
// identifier whose cells are the values' data; an empty cell means no value at that index.

#include <cstdint>
#include <functional>
#include <istream>
#include <string>
#include <vector>

#include "idnode/v1/idnode.grpc.pb.h"

namespace idnode::idctl {

enum class ImportFormat { kJsonLines, kCsv };

// Parses one JSON Lines record. On failure returns false and sets `error`, naming the field.
bool ParseJsonLine(std::string_view line, v1::CreateRequest& out, std::string& error);

// CSV: a header describing the value columns, then rows.
class CsvSchema {
 public:
  // Parses the header row. False with `error` when a column is not INDEX:TYPE.
  bool ParseHeader(const std::vector<std::string>& cells, std::string& error);
  bool ParseRow(const std::vector<std::string>& cells, v1::CreateRequest& out,
                std::string& error) const;

 private:
  struct Column {
    uint32_t index;
    std::string type;
  };
  std::vector<Column> columns_;
};

// Reads one CSV record (which may span lines inside quotes) into cells. False at end of input;
// `lines` is advanced by the number of physical lines read.
bool ReadCsvRecord(std::istream& in, std::vector<std::string>& cells, uint64_t& lines,
                   std::string& error);

struct ImportFailure {
  uint64_t line = 0;
  std::string identifier;
  std::string code;
  std::string message;
};

struct ImportSummary {
  uint64_t lines = 0;
  uint64_t created = 0;
  uint64_t unchanged = 0;
  uint64_t failed = 0;
  std::vector<ImportFailure> failures;  // the first kMaxReportedFailures
  std::string stream_error;             // set when the call itself failed
};

inline constexpr size_t kMaxReportedFailures = 1000;

struct ImportOptions {
  ImportFormat format = ImportFormat::kJsonLines;
  size_t batch_size = 1000;
  // Called from the receiving thread after each batch is acknowledged.
  std::function<void(const ImportSummary&)> progress;
};

ImportSummary RunImport(v1::Registry::Stub& stub, const std::string& token, std::istream& in,
                        const ImportOptions& options);

}  // namespace idnode::idctl
