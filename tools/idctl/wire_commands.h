#pragma once

// The Handle protocol path of idctl: `idctl resolve --udp|--tcp HOST:PORT` and
// `idctl site-info --udp|--tcp HOST:PORT`, so an operator can check what Handle clients see.

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "tools/idctl/cli.h"

namespace idnode::idctl {

// Where a wire command sends its request: set by --udp or --tcp, or for resolve, --via (a top
// node to start the client walk at) with --over and --trace.
struct WireTarget {
  std::string udp;
  std::string tcp;
  std::string via;
  std::string over = "udp";
  bool trace = false;
  bool given() const { return !udp.empty() || !tcp.empty() || !via.empty(); }
};

// Adds --udp and --tcp (mutually exclusive) to `command`.
void AddWireTargetOptions(CLI::App& command, WireTarget& target);
// Adds --via, --over and --trace (resolve only).
void AddWalkOptions(CLI::App& command, WireTarget& target);

// Resolves `identifier` over the Handle protocol and prints the values (text or --json, as the
// gRPC path does). Returns the exit code: 0 on success, 1 with the response code named.
int ResolveOverWire(const WireTarget& target, const std::string& identifier,
                    const std::vector<uint32_t>& indexes, const std::vector<std::string>& types,
                    const Cli& cli);

// Adds the `site-info` subcommand.
void AddSiteInfoCommand(CLI::App& app, Cli& cli, int& rc);

}  // namespace idnode::idctl
