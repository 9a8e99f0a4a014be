// idctl: the operator and registrant CLI for idnode. Human output by default, --json for
// scripts. Errors print the node's code and message and exit non-zero.

#include <CLI/CLI.hpp>

#include "tools/idctl/admin_commands.h"
#include "tools/idctl/cli.h"
#include "tools/idctl/federation_commands.h"
#include "tools/idctl/identifier_commands.h"
#include "tools/idctl/import_command.h"
#include "tools/idctl/report_commands.h"
#include "tools/idctl/template_commands.h"
#include "tools/idctl/wire_commands.h"

using namespace idnode;
using namespace idnode::idctl;

int main(int argc, char** argv) {
  CLI::App app{"idctl: manage and query an idnode secondary node"};
  app.fallthrough();  // global flags such as --json may also follow the subcommand
  app.require_subcommand(1);
  Globals g;
  g.connect.server = EnvOr("IDNODE_SERVER", "127.0.0.1:2642");
  g.token = EnvOr("IDNODE_TOKEN", "");
  app.add_option("-s,--server", g.connect.server, "node address HOST:PORT (env IDNODE_SERVER)");
  app.add_option("-t,--token", g.token, "bearer token (env IDNODE_TOKEN)");
  app.add_option("--tls-ca", g.connect.tls_ca_file, "connect with TLS, trusting this CA file")
      ->check(CLI::ExistingFile);
  app.add_option("--timeout", g.timeout_seconds, "seconds to wait for a reply")
      ->check(CLI::PositiveNumber);
  app.add_flag("--json", g.json, "print machine-readable JSON");
  Cli cli(g);
  int rc = 0;

  AdminCommands admin(app, cli, rc);
  AddTemplateCommands(app, cli, rc);
  AddFederationCommands(app, cli, rc);
  AddSiteInfoCommand(app, cli, rc);
  AddReportCommand(app, cli, rc);
  IdentifierCommands identifiers(app, cli, rc);
  AddImportCommand(app, cli, rc);

  CLI11_PARSE(app, argc, argv);
  return rc;
}
