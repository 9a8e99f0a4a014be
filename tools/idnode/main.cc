// idnode: the secondary node server. Reads a TOML config (--config), applies flags on top,
// starts the node and runs until SIGTERM or SIGINT, then drains in-flight writes and exits.
// `idnode admin-token --reset` is the offline recovery of a lost admin token.

#include <absl/synchronization/mutex.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <thread>

#include "api/node/node.h"
#include "registry/accounts/accounts.h"
#include "registry/base/strings.h"
#include "resolver/net/endpoint.h"
#include "tools/idnode/files.h"

namespace {

// Where a client on this machine reaches the listener configured as `listen`, now on `port`:
// "127.0.0.1:P", "[::1]:P" or the configured address.
std::string Reach(const std::string& listen, int port) {
  auto endpoint = idnode::net::ParseEndpoint("listen", listen);
  if (!endpoint.ok()) return idnode::StrCat("127.0.0.1:", port);
  if (endpoint->wildcard()) {
    std::array<uint8_t, 16> one{};
    one[15] = 1;
    *endpoint = endpoint->is_v4() ? idnode::net::Endpoint(0x7f000001, 0)
                                  : idnode::net::Endpoint::Ipv6(one, 0);
  }
  endpoint->port = static_cast<uint16_t>(port);
  return endpoint->ToString();
}

void PrintWelcome(const idnode::node::Node& node, const idnode::node::NodeConfig& config) {
  std::string server = Reach(config.grpc.listen, node.grpc_port());
  const std::string handle = Reach(config.handle.listen, node.handle_port());
  std::cout << "\nidnode is serving node prefix " << config.node.prefix << " on " << server
            << " (data in " << config.storage.data_dir << "), Handle protocol on UDP and TCP "
            << handle << ". In another terminal, try:\n\n"
            << "  export IDNODE_SERVER=" << server << "\n"
            << "  export IDNODE_TOKEN=...   # the admin token printed on first start\n"
            << "  build/release/tools/idctl account create acme --role registrant\n"
            << "  build/release/tools/idctl prefix allocate " << config.node.prefix
            << ".45 --owner acme\n"
            << "  build/release/tools/idctl token issue acme      # then export its token\n"
            << "  build/release/tools/idctl register " << config.node.prefix
            << ".45/PUMP-2026-000001 --value 1:URL:https://example.com/pump/1\n"
            << "  build/release/tools/idctl resolve " << config.node.prefix
            << ".45/PUMP-2026-000001\n"
            << "  build/release/tools/idctl resolve " << config.node.prefix
            << ".45/PUMP-2026-000001 --udp " << handle << "   # as Handle clients do\n"
            << "  build/release/tools/idctl delete " << config.node.prefix
            << ".45/PUMP-2026-000001\n\n";
  if (node.http_port() != 0) {
    std::cout << "Statistics against the policy thresholds: http://"
              << Reach(config.http.listen, node.http_port())
              << "/dashboard (also /api/stats, /metrics, /healthz).\n";
  }
  std::cout << "\n"
            << "Stop with Ctrl-C (in-flight writes are committed first).\n"
            << std::flush;
}

// Every Handle TCP connection is a descriptor, and the soft limit is often 1024: raise it to the
// hard limit, and warn when even that leaves too few for handle.tcp_max_connections (beyond the
// limit, accepting fails and the connections wait in the kernel's backlog).
void RaiseDescriptorLimit(const idnode::node::NodeConfig& config) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
  }
  constexpr rlim_t kOtherDescriptors = 256;  // LMDB, gRPC, HTTP, UDP sockets, logs
  if (limit.rlim_cur != RLIM_INFINITY &&
      limit.rlim_cur < config.handle.tcp_max_connections + kOtherDescriptors) {
    spdlog::warn(
        "idnode: the open-file limit is {}, too low for handle.tcp_max_connections = {} plus {} "
        "other descriptors; raise it (LimitNOFILE= in a systemd unit, ulimit -n) or lower the key",
        limit.rlim_cur, config.handle.tcp_max_connections, kOtherDescriptors);
  }
}

// Where the token of a new store's admin account goes, before the account is committed: the
// --admin-token-file, else the terminal. Nowhere else: with --quiet, or output that is not a
// terminal, and no file, a token would be created that nobody ever sees.
idnode::node::AdminTokenSink DeliverAdminToken(const std::string& token_file, bool quiet) {
  return [token_file, quiet](const std::string& token) -> absl::Status {
    if (!token_file.empty()) {
      return idnode::WritePrivateFile("--admin-token-file", token_file, token + "\n", 0600);
    }
    if (quiet || isatty(STDOUT_FILENO) != 1) {
      return absl::FailedPreconditionError(
          "this store has no admin account yet, and its token would be shown to nobody (--quiet, "
          "or standard output is not a terminal): pass --admin-token-file PATH to have it written "
          "there (mode 0600), or start once on a terminal without --quiet");
    }
    std::cout << "\nidnode is creating the admin account of this new store. Its token is shown "
                 "once,\nkeep it (the node stores only a hash):\n\n"
              << "  export IDNODE_TOKEN=" << token << "\n"
              << std::flush;
    return absl::OkStatus();
  };
}

// `idnode admin-token --reset`: a new token for account "admin", the old ones revoked, on a
// stopped node. The token goes to --admin-token-file when given, else to standard output.
int RunAdminTokenReset(const idnode::node::NodeConfig& config, const std::string& token_file) {
  auto token = idnode::accounts::GenerateToken();
  if (!token.ok()) {
    std::cerr << "idnode: " << token.status().message() << "\n";
    return 1;
  }
  auto revoked = idnode::node::ResetAdminToken(config, *token);
  if (!revoked.ok()) {
    std::cerr << "idnode: admin-token --reset: " << revoked.status().message() << "\n";
    return 1;
  }
  if (!token_file.empty()) {
    absl::Status written =
        idnode::WritePrivateFile("--admin-token-file", token_file, *token + "\n", 0600);
    if (!written.ok()) {
      // The old tokens are revoked and the new one reached nobody: another reset recovers.
      std::cerr << "idnode: " << written.message()
                << "\nidnode: the new token could not be saved; run admin-token --reset again\n";
      return 1;
    }
  }
  std::cerr << "idnode: account admin of " << config.storage.data_dir << " has a new token; "
            << *revoked << " earlier token(s) revoked\n";
  if (token_file.empty()) {
    std::cout << "export IDNODE_TOKEN=" << *token << "\n";
  } else {
    std::cerr << "idnode: the token is in " << token_file << "\n";
  }
  return 0;
}

// Receives SIGTERM, SIGINT and SIGHUP (blocked in every thread) from the start of the start-up:
// SIGHUP is logged; a stop signal before the node serves ends the process at once (nothing has
// been acknowledged that is not already durable), and once it serves is handed to main(), which
// drains.
class SignalWatcher {
 public:
  SignalWatcher() {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGTERM);
    sigaddset(&signals_, SIGINT);
    sigaddset(&signals_, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
    thread_ = std::thread([this] { Run(); });
  }
  // Ends the thread (a signal wakes it from sigwait if it still waits) and joins it, so that it
  // never outlives this object.
  ~SignalWatcher() {
    {
      std::lock_guard lock(mutex_);
      exiting_ = true;
      if (!returned_) pthread_kill(thread_.native_handle(), SIGTERM);
    }
    thread_.join();
  }

  void Serving() {
    std::lock_guard lock(mutex_);
    serving_ = true;
  }
  // Blocks until a stop signal arrives once serving; its number.
  int WaitForStop() {
    std::unique_lock lock(mutex_);
    stopped_.wait(lock, [this] { return stop_signal_ != 0; });
    return stop_signal_;
  }

 private:
  void Run() {
    int number = 0;
    while (sigwait(&signals_, &number) == 0) {
      {
        std::lock_guard lock(mutex_);
        if (exiting_) break;
      }
      if (number == SIGHUP) {
        // Nothing is reloaded yet: logs go to standard output and error (nothing to reopen), and
        // a changed configuration takes effect at the next start.
        spdlog::warn(
            "idnode: SIGHUP received: nothing is reloaded (logs go to standard output and error; "
            "restart to apply configuration changes); still serving");
        continue;
      }
      std::lock_guard lock(mutex_);
      if (!serving_) {
        spdlog::warn("idnode: signal {} received during start-up; stopping before serving", number);
        std::fflush(nullptr);
        std::_Exit(1);
      }
      stop_signal_ = number;
      stopped_.notify_all();
      returned_ = true;
      return;
    }
    std::lock_guard lock(mutex_);
    returned_ = true;
  }

  sigset_t signals_;
  std::mutex mutex_;
  std::condition_variable stopped_;
  bool serving_ = false;
  bool exiting_ = false;   // the object is going: the thread returns
  bool returned_ = false;  // the thread has returned (no signal must be sent to it then)
  int stop_signal_ = 0;
  std::thread thread_;
};

}  // namespace

int main(int argc, char** argv) {
  // Debian builds Abseil without NDEBUG, which leaves absl::Mutex's lock-order (deadlock) checking
  // on: every lock and unlock, in gRPC's threads as well as ours, updates a global graph of held
  // locks. That is a debugging aid; the tests keep it, the server turns it off.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  CLI::App app{"idnode: industrial internet identifier resolution secondary node"};
  std::string config_file, data_dir, listen, handle_listen, http_listen, prefix, log_level,
      admin_token_file, ready_file;
  bool quiet = false;
  app.add_option("-c,--config", config_file, "TOML configuration file")->check(CLI::ExistingFile);
  app.add_option("--data-dir", data_dir, "data directory (storage.data_dir)");
  app.add_option("--listen", listen,
                 "gRPC listen address HOST:PORT (grpc.listen); port 0 picks one");
  app.add_option("--handle-listen", handle_listen,
                 "Handle protocol UDP address HOST:PORT (handle.listen); port 0 picks one");
  app.add_option("--http-listen", http_listen,
                 "HTTP address HOST:PORT for /metrics, /api/stats, /healthz and /dashboard "
                 "(http.listen); port 0 picks one");
  app.add_option("--prefix", prefix, "this node's prefix, e.g. 88.123 (node.prefix)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error (log.level)");
  app.add_option("--admin-token-file", admin_token_file,
                 "on first start, also write the admin token to this file (mode 0600)");
  app.add_option("--ready-file", ready_file,
                 "write {\"grpc_port\":N,\"handle_port\":M,\"http_port\":H} here once serving "
                 "(for scripts and tests)");
  app.add_flag("-q,--quiet", quiet, "do not print the welcome text");
  bool reset = false;
  CLI::App* admin_token =
      app.add_subcommand("admin-token",
                         "offline, on a stopped node: --reset gives account admin a new token "
                         "(to --admin-token-file, else printed) and revokes its old ones");
  admin_token->add_flag("--reset", reset, "issue the new token and revoke the old")->required();
  admin_token->fallthrough();  // --data-dir, --config and --admin-token-file after it as well
  CLI11_PARSE(app, argc, argv);

  idnode::node::NodeConfig config;
  if (!config_file.empty()) {
    auto loaded = idnode::node::LoadConfigFile(config_file);
    if (!loaded.ok()) {
      std::cerr << "idnode: " << loaded.status().message() << "\n";
      return 2;
    }
    config = *std::move(loaded);
  }
  if (!data_dir.empty()) config.storage.data_dir = data_dir;
  if (!listen.empty()) config.grpc.listen = listen;
  if (!handle_listen.empty()) config.handle.listen = handle_listen;
  if (!http_listen.empty()) config.http.listen = http_listen;
  if (!prefix.empty()) config.node.prefix = prefix;
  if (!log_level.empty()) config.log.level = log_level;
  if (absl::Status valid = idnode::node::ValidateConfig(config); !valid.ok()) {
    std::cerr << "idnode: " << valid.message() << "\n";
    return 2;
  }
  spdlog::set_level(spdlog::level::from_str(config.log.level));
  if (admin_token->parsed()) return RunAdminTokenReset(config, admin_token_file);

  RaiseDescriptorLimit(config);

  // Before any other thread starts, so that the signals reach only the watcher (SIGHUP's default
  // action would end the node without draining its writes), during start-up as well.
  SignalWatcher signals;

  auto node = idnode::node::Node::Start(config, DeliverAdminToken(admin_token_file, quiet));
  if (!node.ok()) {
    std::cerr << "idnode: " << node.status().message() << "\n";
    return 1;
  }
  signals.Serving();
  if (!ready_file.empty()) {
    absl::Status written =
        idnode::WritePrivateFile("--ready-file", ready_file,
                                 idnode::StrCat("{\"grpc_port\":", (*node)->grpc_port(),
                                                ",\"handle_port\":", (*node)->handle_port(),
                                                ",\"http_port\":", (*node)->http_port(), "}\n"),
                                 0644);
    if (!written.ok()) {
      std::cerr << "idnode: " << written.message() << "\n";
      return 1;
    }
  }
  if (!quiet) PrintWelcome(**node, config);

  const int signal_number = signals.WaitForStop();
  spdlog::info("idnode: signal {} received, draining in-flight writes", signal_number);
  (*node)->Shutdown();
  node->reset();
  spdlog::info("idnode: stopped cleanly");
  return 0;
}
