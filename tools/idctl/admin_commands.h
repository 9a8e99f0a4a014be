#pragma once

// idctl's administration commands (admin role unless a command says otherwise):
//   idctl prefix allocate|release|list     enterprise prefixes
//   idctl account create|list              accounts and their roles
//   idctl token issue|revoke|list          bearer tokens

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "tools/idctl/cli.h"

namespace idnode::idctl {

// Adds the commands to `app`; they run with `cli` and set `rc`. Holds their arguments, so it
// must live until the command line is parsed and run.
class AdminCommands {
 public:
  AdminCommands(CLI::App& app, Cli& cli, int& rc);
  AdminCommands(const AdminCommands&) = delete;
  AdminCommands& operator=(const AdminCommands&) = delete;

 private:
  void AddPrefixCommands(CLI::App& app);
  void AddAccountCommands(CLI::App& app);
  void AddTokenCommands(CLI::App& app);

  Cli& cli_;
  int& rc_;
  struct Args {
    std::string prefix_name, owner;
    uint64_t quota = 0;
    std::string account_id, role = "registrant";
    std::vector<std::string> grants;
    std::string label, token_id;
    uint64_t valid_days = 0;
  } args_;
};

}  // namespace idnode::idctl
