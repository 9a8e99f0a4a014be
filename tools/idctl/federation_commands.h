#pragma once

// `idctl federation status`: the node's federation role and state (operator or admin). On a
// secondary node: the top node, what waits in the upward spool, deliveries and the last error.
// On a top node: registrations accepted and refused since start.

#include <CLI/CLI.hpp>

#include "tools/idctl/cli.h"

namespace idnode::idctl {

void AddFederationCommands(CLI::App& app, Cli& cli, int& rc);

}  // namespace idnode::idctl
