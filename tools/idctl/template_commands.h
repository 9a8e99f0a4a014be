#pragma once

// `idctl template publish|get|list|disable`: data templates of an enterprise prefix.

#include <CLI/CLI.hpp>

#include "tools/idctl/cli.h"

namespace idnode::idctl {

// Adds the `template` subcommand to `app`. Callbacks store their exit code in `rc`; `cli` and
// `rc` must outlive parsing.
void AddTemplateCommands(CLI::App& app, Cli& cli, int& rc);

}  // namespace idnode::idctl
