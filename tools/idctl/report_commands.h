#pragma once

// `idctl report`: the statistics the authorities judge the node by (operator or admin).
//   idctl report                          thresholds: measured, target, met, projected date
//   idctl report --from D --to D          ... and the per-day series
//   idctl report --by-prefix              ... and the per enterprise prefix breakdown
//   --format table|json|csv               (csv: one table, the most specific asked for)

#include <CLI/CLI.hpp>

#include "tools/idctl/cli.h"

namespace idnode::idctl {

void AddReportCommand(CLI::App& app, Cli& cli, int& rc);

}  // namespace idnode::idctl
