#include "tools/idctl/federation_commands.h"

#include <iostream>

namespace idnode::idctl {

void AddFederationCommands(CLI::App& app, Cli& cli, int& rc) {
  auto* federation =
      app.add_subcommand("federation", "registration with the top node")->require_subcommand(1);
  federation->add_subcommand("status", "role, pending upward registrations, errors (operator)")
      ->callback([&cli, &rc] {
        rc = cli.Call([&](auto channel, grpc::ClientContext& context) {
          v1::FederationStatusResponse response;
          auto status = v1::Federation::NewStub(channel)->Status(&context, {}, &response);
          if (!status.ok()) return Report(status);
          return cli.Print(response, [&] {
            std::cout << "role: " << response.role() << "\n";
            if (response.role() == "top") {
              std::cout << "registrations from nodes below, since start: accepted "
                        << response.accepted() << ", refused: credential "
                        << response.rejected_credential() << ", grant " << response.rejected_grant()
                        << ", site " << response.rejected_site() << "\n";
            }
            if (response.top().empty()) {
              if (response.role() != "top") std::cout << "top node: none configured\n";
              return;
            }
            std::cout << "top node: " << response.top() << "\n"
                      << "acknowledged since start: " << response.delivered()
                      << ", failed attempts: " << response.failures() << "\n";
            if (response.last_success_ms() != 0) {
              std::cout << "last acknowledged: " << FormatTime(response.last_success_ms()) << "\n";
            }
            if (!response.last_error().empty()) {
              std::cout << "last error: " << response.last_error() << "\n";
            }
            std::cout << "pending: " << response.pending_size() << "\n";
            for (const auto& p : response.pending()) {
              std::cout << "  " << p.operation() << "  " << p.prefix() << "  since "
                        << FormatTime(p.queued_ms()) << "\n";
            }
          });
        });
      });
}

}  // namespace idnode::idctl
