#pragma once

// idctl's identifier commands: register, get, resolve (over gRPC, or the Handle protocol with
// --handle/--walk), update, delete and list.

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "tools/idctl/cli.h"
#include "tools/idctl/wire_commands.h"

namespace idnode::idctl {

// Adds the commands to `app`; they run with `cli` and set `rc`. Holds their arguments, so it
// must live until the command line is parsed and run.
class IdentifierCommands {
 public:
  IdentifierCommands(CLI::App& app, Cli& cli, int& rc);
  IdentifierCommands(const IdentifierCommands&) = delete;
  IdentifierCommands& operator=(const IdentifierCommands&) = delete;

 private:
  void AddRegister(CLI::App& app);
  void AddReadCommands(CLI::App& app);
  void AddChangeCommands(CLI::App& app);
  void AddList(CLI::App& app);

  Cli& cli_;
  int& rc_;
  struct Args {
    std::string identifier, prefix_name;
    std::vector<std::string> value_specs, add_specs, modify_specs;
    std::vector<uint32_t> remove_indexes, indexes;
    std::vector<std::string> types;
    int ttl = -1;
    uint32_t template_version = 0;
    WireTarget wire_target;
    bool replace_all = false;
    uint32_t page_size = 100;
    std::string page_token;
    bool all_pages = false;
  } args_;
};

}  // namespace idnode::idctl
