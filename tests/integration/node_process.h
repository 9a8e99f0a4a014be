#pragma once

// Runs a real idnode process on 127.0.0.1 (port 0) over a data directory, for integration tests.
// The process is killed (SIGKILL) if still running when the object goes.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/http_client.h"
#include "tests/support/provision.h"
#include "tools/idctl/client.h"

namespace idnode::testing {

struct NodeOptions {
  std::vector<std::string> extra_args;  // e.g. {"--config", path}
  std::string tls_ca_file;              // clients connect with TLS trusting this CA
  int grpc_port = 0;                    // 0: the kernel picks; else FreePort() to restart on it
  int handle_port = 0;                  // likewise for the Handle port (UDP and TCP)
  std::string host = "127.0.0.1";       // where gRPC, Handle and HTTP listen: or "::1"
  // > 0: the data directory is a tmpfs of this many bytes, mounted in the node's own mount
  // namespace (a small disk that fills; it goes with the process). See MountPrivateTmpfs.
  uint64_t tmpfs_bytes = 0;
};

// In a new mount namespace for this process (and a user namespace first, for a user without
// CAP_SYS_ADMIN), mounts a tmpfs of `bytes` at `dir`. Call in a single-threaded process (a
// forked child). False, with why in `error`, when the system does not allow it.
inline bool MountPrivateTmpfs(const std::string& dir, uint64_t bytes, std::string& error) {
  const auto fail = [&error](const char* what) {
    error = std::string(what) + ": " + std::strerror(errno);
    return false;
  };
  if (geteuid() != 0) {
    const uid_t uid = getuid();
    const gid_t gid = getgid();
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return fail("unshare(CLONE_NEWUSER)");
    std::ofstream("/proc/self/setgroups") << "deny";
    std::ofstream("/proc/self/uid_map") << "0 " << uid << " 1";
    std::ofstream("/proc/self/gid_map") << "0 " << gid << " 1";
  } else if (unshare(CLONE_NEWNS) != 0) {
    return fail("unshare(CLONE_NEWNS)");
  }
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return fail("making mounts private");
  }
  std::filesystem::create_directories(dir);
  const std::string options = "size=" + std::to_string(bytes) + ",mode=0700";
  if (mount("tmpfs", dir.c_str(), "tmpfs", 0, options.c_str()) != 0) return fail("mount tmpfs");
  return true;
}

// Whether MountPrivateTmpfs works here (tried in a child); why not in `error`.
inline bool CanMountPrivateTmpfs(const std::string& dir, std::string& error) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return false;
  const pid_t pid = fork();
  if (pid == 0) {
    close(pipe_fds[0]);
    std::string why;
    const bool ok = MountPrivateTmpfs(dir, 1 << 20, why);
    (void)!write(pipe_fds[1], why.data(), why.size());
    _exit(ok ? 0 : 1);
  }
  close(pipe_fds[1]);
  char buffer[256];
  const ssize_t n = read(pipe_fds[0], buffer, sizeof buffer);
  close(pipe_fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  error = n > 0 ? std::string(buffer, static_cast<size_t>(n)) : "";
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// True in the AddressSanitizer build (make test-asan): its allocator keeps freed memory in
// quarantine and never hands it back, so tests that bound a node's memory skip there.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif
#else
inline constexpr bool kAddressSanitizer = false;
#endif

// A UDP socket bound to 127.0.0.1 on a port the kernel picks, that nobody reads (a silent server,
// or a port kept busy); closed when the object goes.
class BoundUdpSocket {
 public:
  BoundUdpSocket() : fd_(socket(AF_INET, SOCK_DGRAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
        getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      port_ = ntohs(address.sin_port);
    }
  }
  ~BoundUdpSocket() { close(fd_); }
  BoundUdpSocket(const BoundUdpSocket&) = delete;
  BoundUdpSocket& operator=(const BoundUdpSocket&) = delete;
  int port() const { return port_; }  // 0 when binding failed

 private:
  int fd_;
  int port_ = 0;
};

// A TCP port on 127.0.0.1 that was free a moment ago (for a node that must restart on the same
// address). The kernel hands out ephemeral ports round-robin, so it is not reused at once.
inline int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  close(fd);
  return port;
}

class NodeProcess {
 public:
  explicit NodeProcess(std::string data_dir, NodeOptions options = {})
      : data_dir_(std::move(data_dir)), options_(std::move(options)) {}
  ~NodeProcess() {
    if (pid_ > 0) Kill(SIGKILL);
  }

  // Starts idnode and waits (up to 30 s) until it reports its port. False on failure.
  bool Start() {
    std::string ready = data_dir_ + ".ready";
    std::string token_file = data_dir_ + ".admin-token";
    std::filesystem::remove(ready);
    pid_ = fork();
    if (pid_ == 0) {
      // The node goes with the test, even one that ends without running its destructors.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      std::string log = data_dir_ + ".log";
      FILE* out = freopen(log.c_str(), "a", stdout);
      FILE* err = freopen(log.c_str(), "a", stderr);
      (void)out;
      (void)err;
      if (std::string why;
          options_.tmpfs_bytes > 0 && !MountPrivateTmpfs(data_dir_, options_.tmpfs_bytes, why)) {
        std::fprintf(stderr, "node_process: %s\n", why.c_str());
        _exit(126);
      }
      std::vector<std::string> args = {IDNODE_BINARY,
                                       "--data-dir",
                                       data_dir_,
                                       "--listen",
                                       HostPort(options_.grpc_port),
                                       "--handle-listen",
                                       HostPort(options_.handle_port),
                                       "--http-listen",
                                       HostPort(0),
                                       "--ready-file",
                                       ready,
                                       "--admin-token-file",
                                       token_file,
                                       "--quiet",
                                       "--log-level",
                                       "warn"};
      args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
      std::vector<char*> argv;
      for (std::string& arg : args) argv.push_back(arg.data());
      argv.push_back(nullptr);
      execv(IDNODE_BINARY, argv.data());
      _exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      if (std::filesystem::exists(ready)) {
        std::ifstream in(ready);
        std::string text((std::istreambuf_iterator<char>(in)), {});
        port_ = NumberAfter(text, "\"grpc_port\":");
        handle_port_ = NumberAfter(text, "\"handle_port\":");
        http_port_ = NumberAfter(text, "\"http_port\":");
        if (admin_token_.empty()) {
          std::ifstream token(token_file);
          std::getline(token, admin_token_);
        }
        return port_ > 0;
      }
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling for the file
    }
    return false;
  }

  // Sends `signal` and reaps the process; returns its wait status.
  int Kill(int signal) {
    int status = 0;
    if (pid_ <= 0) return -1;
    ::kill(pid_, signal);
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

  // As the admin: creates registrant `account`, allocates it `prefix` and issues it a token.
  // Returns the token, or an empty string when a step failed.
  std::string ProvisionRegistrant(const std::string& account, const std::string& prefix) const {
    return testing::ProvisionRegistrant(Channel(), admin_token_, account, prefix);
  }

  // Registers `create` with `token` over gRPC.
  grpc::Status Create(const std::string& token, const v1::CreateRequest& create) const {
    return testing::Create(Channel(), token, create);
  }

  int handle_port() const { return handle_port_; }
  int pid() const { return pid_; }
  // What the process wrote to stdout and stderr (both go to one file).
  std::string Log() const {
    std::ifstream in(data_dir_ + ".log");
    return std::string((std::istreambuf_iterator<char>(in)), {});
  }
  int http_port() const { return http_port_; }
  // The value of the /metrics sample `sample` (name and labels), or -1 when it is absent.
  int64_t Metric(const std::string& sample) const {
    const std::string body = HttpRequest(http_port_, "/metrics", "GET", "", options_.host).body;
    const size_t at = body.find("\n" + sample + " ");
    if (at == std::string::npos) return -1;
    return std::stoll(body.substr(at + sample.size() + 2));
  }
  // The process's resident set size in KiB (VmRSS), or -1 when it cannot be read.
  int64_t RssKib() const { return StatusKib("VmRSS:"); }
  // Its resident anonymous memory (the heap, stacks; not the store's mapped file pages).
  int64_t RssAnonKib() const { return StatusKib("RssAnon:"); }
  std::string address() const { return HostPort(port_); }
  // `host:port`, with brackets for IPv6.
  std::string HostPort(int port) const {
    const std::string& host = options_.host;
    return (host.find(':') == std::string::npos ? host : "[" + host + "]") + ":" +
           std::to_string(port);
  }
  std::shared_ptr<grpc::Channel> Channel() const {
    return idctl::Connect(idctl::ConnectOptions{address(), options_.tls_ca_file});
  }
  const std::string& admin_token() const { return admin_token_; }

 private:
  int64_t StatusKib(const std::string& field) const {
    std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind(field, 0) == 0) return std::stoll(line.substr(field.size()));
    }
    return -1;
  }

  std::string data_dir_;
  NodeOptions options_;
  pid_t pid_ = -1;
  static int NumberAfter(const std::string& text, const std::string& key) {
    size_t at = text.find(key);
    return at == std::string::npos ? 0 : std::atoi(text.c_str() + at + key.size());
  }

  int port_ = 0;
  int handle_port_ = 0;
  int http_port_ = 0;
  std::string admin_token_;  // from the first start
};

}  // namespace idnode::testing
