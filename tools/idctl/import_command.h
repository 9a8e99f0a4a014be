#pragma once

// `idctl import FILE`: bulk registration from JSON Lines or CSV (tools/idctl/import.h has the
// formats), with progress on a terminal and a summary, or --json, at the end. Exit 1 when a line
// failed or the stream stopped, 2 when the file cannot be opened.

#include <CLI/CLI.hpp>

#include "tools/idctl/cli.h"

namespace idnode::idctl {

void AddImportCommand(CLI::App& app, Cli& cli, int& rc);

}  // namespace idnode::idctl
