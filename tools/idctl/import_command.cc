#include "tools/idctl/import_command.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "tools/idctl/import.h"

namespace idnode::idctl {
namespace {

struct ImportArgs {
  std::string file, format;
  size_t batch_size = 1000;
};

void PrintSummary(const ImportSummary& s, double elapsed, bool json) {
  if (json) {
    nlohmann::json out = {{"lines", s.lines},         {"created", s.created},
                          {"unchanged", s.unchanged}, {"failed", s.failed},
                          {"seconds", elapsed},       {"failures", nlohmann::json::array()}};
    if (!s.stream_error.empty()) out["error"] = s.stream_error;
    for (const auto& f : s.failures) {
      out["failures"].push_back({{"line", f.line},
                                 {"identifier", f.identifier},
                                 {"code", f.code},
                                 {"message", f.message}});
    }
    std::cout << out.dump() << "\n";
    return;
  }
  std::cout << "imported " << s.lines << " lines in " << elapsed << " s: created " << s.created
            << ", unchanged " << s.unchanged << ", failed " << s.failed << "\n";
  for (size_t i = 0; i < s.failures.size() && i < 50; ++i) {
    const auto& f = s.failures[i];
    std::cout << "  line " << f.line << ": " << (f.identifier.empty() ? "-" : f.identifier) << ": "
              << f.code << ": " << f.message << "\n";
  }
  if (s.failed > 50) std::cout << "  ... " << s.failed - 50 << " more (use --json)\n";
  if (!s.stream_error.empty()) std::cerr << "idctl: import stopped: " << s.stream_error << "\n";
}

int Import(const ImportArgs& args, const Globals& g) {
  std::ifstream file_stream;
  std::istream* in = &std::cin;
  if (args.file != "-") {
    file_stream.open(args.file);
    if (!file_stream) {
      std::cerr << "idctl: file: cannot open " << args.file << "\n";
      return 2;
    }
    in = &file_stream;
  }
  ImportOptions options;
  const std::string& file = args.file;
  const bool csv = args.format == "csv" || (args.format.empty() && file.size() > 4 &&
                                            file.compare(file.size() - 4, 4, ".csv") == 0);
  options.format = csv ? ImportFormat::kCsv : ImportFormat::kJsonLines;
  options.batch_size = args.batch_size;
  const auto start = std::chrono::steady_clock::now();
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  const bool tty = isatty(STDERR_FILENO) && !g.json;
  auto last_draw = start;
  options.progress = [&](const ImportSummary& s) {
    auto now = std::chrono::steady_clock::now();
    if (!tty || now - last_draw < std::chrono::milliseconds(200)) return;
    last_draw = now;
    uint64_t done = s.created + s.unchanged + s.failed;
    std::cerr << "\r[" << done << " lines] created " << s.created << ", unchanged " << s.unchanged
              << ", failed " << s.failed << "  ("
              << static_cast<uint64_t>(done / std::max(seconds(), 1e-3)) << "/s)   " << std::flush;
  };
  auto stub = v1::Registry::NewStub(Connect(g.connect));
  const ImportSummary s = RunImport(*stub, g.token, *in, options);
  const double elapsed = seconds();
  if (tty) std::cerr << "\n";
  PrintSummary(s, elapsed, g.json);
  return (!s.stream_error.empty() || s.failed > 0) ? 1 : 0;
}

}  // namespace

void AddImportCommand(CLI::App& app, Cli& cli, int& rc) {
  auto args = std::make_shared<ImportArgs>();
  auto* command = app.add_subcommand("import", "bulk-register from JSON Lines or CSV");
  command->add_option("file", args->file, "input file, or - for standard input")->required();
  command->add_option("--format", args->format, "jsonl or csv (default: from the file name)")
      ->check(CLI::IsMember({"jsonl", "csv"}));
  command->add_option("--batch-size", args->batch_size, "identifiers per batch")
      ->check(CLI::Range(1, 10000));
  command->callback([args, &cli, &rc] { rc = Import(*args, cli.globals()); });
}

}  // namespace idnode::idctl
