#include "tools/idctl/wire_commands.h"

#include <nlohmann/json.hpp>

#include "registry/base/strings.h"
#include "resolver/client/handle_client.h"
#include "resolver/client/walk.h"

namespace idnode::idctl {
namespace {

using client::Transport;

struct Resolved {
  Transport transport;
  net::Endpoint server;
};

// Parses the --udp/--tcp address; prints the error naming the flag and returns nullopt.
std::optional<Resolved> ParseTarget(const WireTarget& target) {
  const bool udp = !target.udp.empty();
  auto server = net::ParseEndpoint(udp ? "--udp" : "--tcp", udp ? target.udp : target.tcp);
  if (!server.ok()) {
    std::cerr << "idctl: " << server.status().message() << "\n";
    return std::nullopt;
  }
  return Resolved{udp ? Transport::kUdp : Transport::kTcp, *server};
}

std::chrono::milliseconds Timeout(const Cli& cli) {
  return std::chrono::milliseconds(static_cast<int64_t>(cli.globals().timeout_seconds * 1000));
}

// Prints the reply's error ("idctl: HANDLE_NOT_FOUND (100): ...") and returns 1.
int ReportReply(const client::HandleReply& reply) {
  std::cerr << "idctl: " << client::ResponseCodeName(reply.header.response_code) << " ("
            << reply.header.response_code << ")";
  if (!reply.message.empty()) std::cerr << ": " << reply.message;
  std::cerr << "\n";
  return 1;
}

int ReportStatus(const absl::Status& status) {
  std::cerr << "idctl: " << status.message() << "\n";
  return 1;
}

}  // namespace

void AddWireTargetOptions(CLI::App& command, WireTarget& target) {
  auto* udp =
      command.add_option("--udp", target.udp, "ask over the Handle protocol on UDP HOST:PORT");
  auto* tcp =
      command.add_option("--tcp", target.tcp, "ask over the Handle protocol on TCP HOST:PORT");
  udp->excludes(tcp);
}

void AddWalkOptions(CLI::App& command, WireTarget& target) {
  auto* via = command.add_option(
      "--via", target.via,
      "walk like a Handle client from the top node at HOST:PORT: resolve 0.NA/<prefix>, then ask "
      "the server its HS_SITE names, following referrals");
  command.add_option("--over", target.over, "the walk's transport: udp or tcp")
      ->check(CLI::IsMember({"udp", "tcp"}))
      ->needs(via);
  command.add_flag("--trace", target.trace, "print each query of the walk (stderr)")->needs(via);
  for (const char* other : {"--udp", "--tcp"}) {
    if (CLI::Option* option = command.get_option_no_throw(other)) via->excludes(option);
  }
}

namespace {

// Prints a successful resolution reply as text or JSON; `how` says how it came ("Handle udp
// 127.0.0.1:2641, 1 datagram").
int PrintResolution(const client::HandleReply& reply, Transport transport, const std::string& how,
                    const Cli& cli, const std::vector<client::WalkStep>* trace) {
  if (cli.globals().json) {
    nlohmann::json out;
    out["identifier"] = reply.handle;
    out["transport"] = client::TransportName(transport);
    out["pieces"] = reply.pieces;
    if (trace != nullptr) {
      out["path"] = nlohmann::json::array();
      for (const client::WalkStep& step : *trace) {
        out["path"].push_back({{"server", step.server.ToString()},
                               {"handle", step.handle},
                               {"response_code", step.response_code},
                               {"detail", step.detail}});
      }
    }
    out["values"] = nlohmann::json::array();
    for (const identifier::HandleValue& v : reply.values) {
      out["values"].push_back({{"index", v.index},
                               {"type", v.type},
                               {"data", v.data},
                               {"ttl", v.ttl},
                               {"permissions", v.permissions},
                               {"timestamp", v.timestamp}});
    }
    std::cout << out.dump() << "\n";
    return 0;
  }
  std::cout << reply.handle << "  (" << how << ")\n";
  for (const identifier::HandleValue& v : reply.values) {
    std::cout << "  " << v.index << "  " << v.type << "  " << v.data << "  (ttl " << v.ttl
              << ", permissions 0x" << std::hex << int{v.permissions} << std::dec << ")\n";
  }
  return 0;
}

void PrintTrace(const std::vector<client::WalkStep>& trace) {
  for (size_t i = 0; i < trace.size(); ++i) {
    const client::WalkStep& step = trace[i];
    std::cerr << "  " << i + 1 << ". " << step.server.ToString() << "  " << step.handle << "  -> "
              << (step.response_code == 0 ? std::string("no answer")
                                          : StrCat(client::ResponseCodeName(step.response_code),
                                                   " (", step.response_code, ")"))
              << (step.detail.empty() ? "" : "; " + step.detail) << "\n";
  }
}

int Walk(const WireTarget& target, client::HandleRequest request, const Cli& cli) {
  auto top = net::ParseEndpoint("--via", target.via);
  if (!top.ok()) return ReportStatus(top.status());
  client::WalkOptions options;
  options.transport = target.over == "tcp" ? Transport::kTcp : Transport::kUdp;
  options.timeout = Timeout(cli);
  std::vector<client::WalkStep> trace;
  auto walked = client::Walk(*top, request, options, &trace);
  if (target.trace) {
    std::cerr << "walk from " << top->ToString() << " over "
              << client::TransportName(options.transport) << ":\n";
    PrintTrace(trace);
  }
  if (!walked.ok()) return ReportStatus(walked.status());
  if (walked->reply.header.response_code != wire::rc::kSuccess) return ReportReply(walked->reply);
  return PrintResolution(walked->reply, options.transport,
                         StrCat("walked from ", top->ToString(), " in ", trace.size(),
                                trace.size() == 1 ? " query" : " queries", " over ",
                                client::TransportName(options.transport)),
                         cli, &trace);
}

}  // namespace

int ResolveOverWire(const WireTarget& target, const std::string& identifier,
                    const std::vector<uint32_t>& indexes, const std::vector<std::string>& types,
                    const Cli& cli) {
  client::HandleRequest request;
  request.handle = identifier;
  request.indexes = indexes;
  request.types = types;
  if (!target.via.empty()) return Walk(target, std::move(request), cli);
  auto resolved = ParseTarget(target);
  if (!resolved) return 2;
  auto reply = client::Query(resolved->transport, resolved->server, request, Timeout(cli));
  if (!reply.ok()) return ReportStatus(reply.status());
  if (reply->header.response_code != wire::rc::kSuccess) return ReportReply(*reply);
  return PrintResolution(*reply, resolved->transport,
                         StrCat("Handle ", client::TransportName(resolved->transport), " ",
                                resolved->server.ToString(), ", ", reply->pieces,
                                reply->pieces == 1 ? " datagram" : " datagrams"),
                         cli, nullptr);
}

void AddSiteInfoCommand(CLI::App& app, Cli& cli, int& rc) {
  auto target = std::make_shared<WireTarget>();
  auto* command =
      app.add_subcommand("site-info", "ask a Handle server for its HS_SITE (get-site-info)");
  AddWireTargetOptions(*command, *target);
  command->callback([&cli, &rc, target] {
    if (!target->given()) {
      std::cerr << "idctl: site-info needs --udp HOST:PORT or --tcp HOST:PORT\n";
      rc = 2;
      return;
    }
    auto resolved = ParseTarget(*target);
    if (!resolved) {
      rc = 2;
      return;
    }
    client::HandleRequest request;
    request.opcode = wire::opcode::kGetSiteInfo;
    request.flags = 0;
    auto reply = client::Query(resolved->transport, resolved->server, request, Timeout(cli));
    if (!reply.ok()) {
      rc = ReportStatus(reply.status());
      return;
    }
    if (reply->header.response_code != wire::rc::kSuccess) {
      rc = ReportReply(*reply);
      return;
    }
    const wire::SiteInfo& site = reply->site;
    nlohmann::json out;
    out["version"] = StrCat(int{site.major}, ".", int{site.minor});
    out["serial"] = site.serial;
    out["primary"] = (site.flags & wire::site::kPrimary) != 0;
    out["multi_primary"] = (site.flags & wire::site::kMultiPrimary) != 0;
    out["attributes"] = nlohmann::json::object();
    for (const auto& [name, value] : site.attributes) out["attributes"][name] = value;
    out["servers"] = nlohmann::json::array();
    for (const wire::SiteServer& server : site.servers) {
      nlohmann::json interfaces = nlohmann::json::array();
      for (const wire::SiteInterface& i : server.interfaces) {
        static constexpr const char* kProtocols[] = {"udp", "tcp", "http", "https"};
        interfaces.push_back({{"protocol", i.protocol < 4 ? kProtocols[i.protocol] : "unknown"},
                              {"port", i.port},
                              {"query", (i.type & wire::site::kQuery) != 0},
                              {"admin", (i.type & wire::site::kAdmin) != 0}});
      }
      out["servers"].push_back({{"id", server.id},
                                {"address", wire::AddressText(server.address)},
                                {"interfaces", interfaces}});
    }
    std::cout << out.dump(cli.globals().json ? -1 : 2) << "\n";
    rc = 0;
  });
}

}  // namespace idnode::idctl
