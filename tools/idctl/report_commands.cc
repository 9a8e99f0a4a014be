#include "tools/idctl/report_commands.h"

#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <string>

namespace idnode::idctl {
namespace {

struct ReportArgs {
  std::string from, to;
  bool by_prefix = false;
  std::string format = "table";
  bool pending = false;
};

std::string Number(double value) {
  return value == static_cast<double>(static_cast<uint64_t>(value))
             ? fmt::format("{}", static_cast<uint64_t>(value))
             : fmt::format("{:.1f}", value);
}

void PrintTable(const v1::StatsReport& r, bool series, bool by_prefix) {
  std::cout << "idnode statistics at " << r.generated_at() << " (reporting day " << r.today()
            << ", UTC" << r.utc_offset() << ")\n"
            << "identifiers registered: " << r.registered() << "\n\n";
  std::cout << fmt::format("{:<23} {:>14} {:>14}  {:<8} {}\n", "threshold", "measured", "target",
                           "status", "projection");
  for (const v1::ThresholdStatus& t : r.thresholds()) {
    std::string target = (t.strictly_more() ? "> " : ">= ") + std::to_string(t.target());
    std::cout << fmt::format("{:<23} {:>14} {:>14}  {:<8} {}\n", t.id(), Number(t.measured()),
                             target, t.met() ? "met" : "not met", t.projection());
  }
  std::cout << "\n";
  for (const v1::ThresholdStatus& t : r.thresholds()) {
    std::cout << "  " << t.id() << ": " << t.description() << "; current rate "
              << Number(t.current_rate()) << " a day\n";
  }
  if (series) {
    std::cout << fmt::format("\n{:<10} {:>10} {:>10} {:>12} {:>12} {:>12}\n", "date", "created",
                             "deleted", "registered", "resolutions", "requests");
    for (const v1::DayStats& d : r.days()) {
      std::cout << fmt::format("{:<10} {:>10} {:>10} {:>12} {:>12} {:>12}\n", d.date(), d.created(),
                               d.deleted(), d.registered(), d.resolutions(), d.requests());
    }
  }
  if (by_prefix) {
    std::cout << fmt::format("\nper enterprise prefix, {} to {}\n", r.from(), r.to());
    std::cout << fmt::format("{:<20} {:>12} {:>10} {:>10} {:>12} {:>12}\n", "prefix", "registered",
                             "created", "deleted", "resolutions", "requests");
    if (r.prefixes().empty()) std::cout << "(none)\n";
    for (const v1::PrefixStats& p : r.prefixes()) {
      std::cout << fmt::format("{:<20} {:>12} {:>10} {:>10} {:>12} {:>12}\n", p.prefix(),
                               p.registered(), p.created(), p.deleted(), p.resolutions(),
                               p.requests());
    }
  }
}

// CSV fields here are dates, numbers, prefixes (letters, digits, '.', '-', '_') and fixed words,
// except the projection and description, which are quoted.
std::string Quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

void PrintCsv(const v1::StatsReport& r, bool series, bool by_prefix) {
  if (by_prefix) {
    std::cout << "prefix,registered,created,deleted,resolutions,requests,from,to\n";
    for (const v1::PrefixStats& p : r.prefixes()) {
      std::cout << fmt::format("{},{},{},{},{},{},{},{}\n", p.prefix(), p.registered(), p.created(),
                               p.deleted(), p.resolutions(), p.requests(), r.from(), r.to());
    }
  } else if (series) {
    std::cout << "date,created,deleted,registered,resolutions,requests\n";
    for (const v1::DayStats& d : r.days()) {
      std::cout << fmt::format("{},{},{},{},{},{}\n", d.date(), d.created(), d.deleted(),
                               d.registered(), d.resolutions(), d.requests());
    }
  } else {
    std::cout << "threshold,measured,comparison,target,met,current_rate,met_on,projection,"
                 "description\n";
    for (const v1::ThresholdStatus& t : r.thresholds()) {
      std::cout << fmt::format("{},{},{},{},{},{},{},{},{}\n", t.id(), Number(t.measured()),
                               t.strictly_more() ? ">" : ">=", t.target(),
                               t.met() ? "true" : "false", Number(t.current_rate()), t.met_on(),
                               Quoted(t.projection()), Quoted(t.description()));
    }
  }
}

void PrintPending(const v1::PendingUploadsResponse& r, const std::string& format) {
  if (format == "csv") {
    std::cout << "report_id,first_day,last_day,created_at,bytes\n";
    for (const v1::PendingUpload& p : r.reports()) {
      std::cout << fmt::format("{},{},{},{},{}\n", p.report_id(), p.first_day(), p.last_day(),
                               p.created_at(), p.bytes());
    }
    return;
  }
  std::cout << fmt::format("{} statistics report(s) not yet delivered to the authority\n",
                           r.reports_size());
  if (r.reports_size() == 0) return;
  std::cout << fmt::format("{:<40} {:<10} {:<10} {:<25} {:>8}\n", "report", "from", "to", "made at",
                           "bytes");
  for (const v1::PendingUpload& p : r.reports()) {
    std::cout << fmt::format("{:<40} {:<10} {:<10} {:<25} {:>8}\n", p.report_id(), p.first_day(),
                             p.last_day(), p.created_at(), p.bytes());
  }
}

}  // namespace

void AddReportCommand(CLI::App& app, Cli& cli, int& rc) {
  auto args = std::make_shared<ReportArgs>();
  auto* report = app.add_subcommand(
      "report", "registrations and resolutions against the policy thresholds (operator, admin)");
  report->add_option("--from", args->from, "first day of the per-day series, YYYY-MM-DD");
  report->add_option("--to", args->to,
                     "last day of the per-day series, YYYY-MM-DD (default today)");
  report->add_flag("--by-prefix", args->by_prefix, "break down by enterprise prefix");
  report->add_flag("--pending", args->pending,
                   "list the reports spooled for the authority and not yet delivered");
  report->add_option("--format", args->format, "table (default), json or csv")
      ->check(CLI::IsMember({"table", "json", "csv"}));
  report->callback([&cli, &rc, args] {
    const bool series = !args->from.empty() || !args->to.empty();
    if (args->pending) {
      if (series || args->by_prefix) {
        std::cerr << "idctl: --pending lists the upload spool; it takes no --from, --to or "
                     "--by-prefix\n";
        rc = 2;
        return;
      }
      rc = cli.Call([&](auto channel, grpc::ClientContext& context) {
        v1::PendingUploadsResponse response;
        auto status = v1::Stats::NewStub(channel)->PendingUploads(
            &context, v1::PendingUploadsRequest(), &response);
        if (!status.ok()) return Report(status);
        if (args->format == "json" || cli.globals().json) {
          std::cout << ToJson(response) << "\n";
        } else {
          PrintPending(response, args->format);
        }
        return 0;
      });
      return;
    }
    rc = cli.Call([&](auto channel, grpc::ClientContext& context) {
      v1::StatsReportRequest request;
      request.set_from(args->from);
      request.set_to(args->to);
      request.set_by_prefix(args->by_prefix);
      v1::StatsReport response;
      auto status = v1::Stats::NewStub(channel)->Report(&context, request, &response);
      if (!status.ok()) return Report(status);
      if (args->format == "json" || cli.globals().json) {
        std::cout << ToJson(response) << "\n";
      } else if (args->format == "csv") {
        PrintCsv(response, series, args->by_prefix);
      } else {
        PrintTable(response, series, args->by_prefix);
      }
      return 0;
    });
  });
}

}  // namespace idnode::idctl
