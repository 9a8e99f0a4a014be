// idbench: a Handle protocol load generator (UDP, closed loop). Each socket keeps a window of
// requests in flight and sends a new one for every answer, in batches (recvmmsg/sendmmsg).
// Identifiers are NAME_BASE<n> for n uniform in [0, count) (registered beforehand, e.g. with
// `regbench stream --name-base`), or, for the miss share, names that do not exist.
// Reports answered/s, latency percentiles from a 1 µs-bucket histogram, and, given the server's
// pid, its CPU time per answered request from /proc/<pid>/stat.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <thread>
#include <vector>

#include "registry/base/bytes.h"
#include "resolver/wire/wire.h"

namespace {

using namespace idnode;
using Clock = std::chrono::steady_clock;

constexpr size_t kMaxLatencyMicros = 1'000'000;

struct Options {
  std::string server = "127.0.0.1:2641";
  std::string base = "88.123.45/B-";
  uint64_t count = 1'000'000;
  double miss_ratio = 0;
  double seconds = 10;
  int sockets = 4;
  int window = 64;
  int server_pid = 0;
};

struct Result {
  uint64_t answered = 0, found = 0, timeouts = 0;
  std::vector<uint64_t> latency = std::vector<uint64_t>(kMaxLatencyMicros + 1);
};

// CPU seconds (user + system) of `pid`, from /proc/<pid>/stat.
double CpuSeconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  size_t close_paren = text.rfind(')');
  if (close_paren == std::string::npos) return 0;
  std::istringstream fields(text.substr(close_paren + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

void RunSocket(const Options& o, const sockaddr_in& server, int seed, Clock::time_point end,
               Result& result) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  connect(fd, reinterpret_cast<const sockaddr*>(&server), sizeof server);
  std::mt19937_64 random(static_cast<uint64_t>(seed));
  std::uniform_int_distribution<uint64_t> pick(0, o.count - 1);
  std::bernoulli_distribution miss(o.miss_ratio);
  const size_t window = static_cast<size_t>(o.window);
  std::vector<Clock::time_point> sent_at(window);
  std::vector<uint32_t> generation(window, 0);
  std::vector<std::string> requests(window);
  auto build = [&](size_t slot) {
    std::string handle = o.base + (miss(random) ? "MISS-" : "") + std::to_string(pick(random));
    wire::Envelope envelope;
    envelope.request_id = static_cast<uint32_t>(slot) | (++generation[slot] << 16);
    wire::Header header;
    header.opcode = wire::opcode::kResolution;
    header.flags = 0x19000000;
    wire::ReplyWriter writer(requests[slot], envelope, header);
    wire::EncodeResolutionRequest(handle, {}, {}, writer.body());
    writer.Finish();
  };
  std::vector<mmsghdr> out(window), in(window);
  std::vector<iovec> out_iov(window), in_iov(window);
  std::vector<std::array<char, 2048>> buffers(window);
  auto send_slots = [&](const std::vector<size_t>& slots) {
    for (size_t k = 0; k < slots.size(); ++k) {
      size_t slot = slots[k];
      build(slot);
      out_iov[k] = {requests[slot].data(), requests[slot].size()};
      out[k] = {};
      out[k].msg_hdr.msg_iov = &out_iov[k];
      out[k].msg_hdr.msg_iovlen = 1;
      sent_at[slot] = Clock::now();
    }
    for (size_t done = 0; done < slots.size();) {
      int n = sendmmsg(fd, out.data() + done, static_cast<unsigned>(slots.size() - done), 0);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
  };
  std::vector<size_t> slots(window);
  for (size_t i = 0; i < window; ++i) slots[i] = i;
  send_slots(slots);
  while (Clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) {
      ++result.timeouts;  // lost datagrams: resend the whole window
      for (size_t i = 0; i < window; ++i) slots[i] = i;
      slots.resize(window);
      send_slots(slots);
      continue;
    }
    for (size_t i = 0; i < window; ++i) {
      in_iov[i] = {buffers[i].data(), buffers[i].size()};
      in[i] = {};
      in[i].msg_hdr.msg_iov = &in_iov[i];
      in[i].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(fd, in.data(), static_cast<unsigned>(window), MSG_DONTWAIT, nullptr);
    if (n <= 0) continue;
    auto now = Clock::now();
    slots.clear();
    for (int i = 0; i < n; ++i) {
      std::string_view reply(buffers[static_cast<size_t>(i)].data(),
                             in[static_cast<size_t>(i)].msg_len);
      wire::Envelope envelope;
      if (wire::DecodeEnvelope(reply, envelope) != wire::WireError::kOk ||
          reply.size() < wire::kEnvelopeBytes + 8) {
        continue;
      }
      size_t slot = envelope.request_id & 0xffff;
      if (slot >= window || (envelope.request_id >> 16) != (generation[slot] & 0xffff)) continue;
      uint32_t code = 0;
      ByteReader(reply.substr(wire::kEnvelopeBytes + 4)).U32(code);
      ++result.answered;
      if (code == wire::rc::kSuccess) ++result.found;
      auto micros = static_cast<size_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(now - sent_at[slot]).count());
      ++result.latency[std::min(micros, kMaxLatencyMicros)];
      slots.push_back(slot);
    }
    send_slots(slots);
  }
  close(fd);
}

double Percentile(const std::vector<uint64_t>& histogram, uint64_t total, double q) {
  uint64_t want = static_cast<uint64_t>(q * static_cast<double>(total)), seen = 0;
  for (size_t us = 0; us < histogram.size(); ++us) {
    seen += histogram[us];
    if (seen > want) return static_cast<double>(us);
  }
  return static_cast<double>(kMaxLatencyMicros);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"idbench: Handle protocol load generator (UDP, closed loop)"};
  Options o;
  app.add_option("--udp", o.server, "server HOST:PORT (IPv4)");
  app.add_option("--name-base", o.base, "identifiers are NAME_BASE<n>");
  app.add_option("--count", o.count, "n is drawn from [0, count)")->check(CLI::PositiveNumber);
  app.add_option("--miss-ratio", o.miss_ratio, "share of names that do not exist")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--seconds", o.seconds, "duration")->check(CLI::PositiveNumber);
  app.add_option("--sockets", o.sockets, "sockets, one thread each")->check(CLI::Range(1, 64));
  app.add_option("--window", o.window, "requests in flight per socket")->check(CLI::Range(1, 4096));
  app.add_option("--server-pid", o.server_pid, "report this process's CPU per answer");
  CLI11_PARSE(app, argc, argv);

  sockaddr_in server{};
  server.sin_family = AF_INET;
  size_t colon = o.server.rfind(':');
  if (colon == std::string::npos ||
      inet_pton(AF_INET, o.server.substr(0, colon).c_str(), &server.sin_addr) != 1) {
    std::fprintf(stderr, "idbench: --udp: \"%s\" is not an IPv4 HOST:PORT\n", o.server.c_str());
    return 2;
  }
  server.sin_port = htons(static_cast<uint16_t>(std::stoi(o.server.substr(colon + 1))));

  std::vector<Result> results(static_cast<size_t>(o.sockets));
  double cpu_before = o.server_pid ? CpuSeconds(o.server_pid) : 0;
  auto start = Clock::now();
  auto end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  std::vector<std::thread> threads;
  for (int i = 0; i < o.sockets; ++i) {
    threads.emplace_back(
        [&, i] { RunSocket(o, server, 1000 + i, end, results[static_cast<size_t>(i)]); });
  }
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  double cpu = o.server_pid ? CpuSeconds(o.server_pid) - cpu_before : 0;

  Result total;
  for (const Result& r : results) {
    total.answered += r.answered;
    total.found += r.found;
    total.timeouts += r.timeouts;
    for (size_t us = 0; us <= kMaxLatencyMicros; ++us) total.latency[us] += r.latency[us];
  }
  std::printf(
      "udp: %llu answered in %.1f s = %.0f/s (found %.1f%%), p50 %.0f us, p99 %.0f us, "
      "p99.9 %.0f us, window stalls %llu",
      static_cast<unsigned long long>(total.answered), elapsed,
      static_cast<double>(total.answered) / elapsed,
      total.answered
          ? 100.0 * static_cast<double>(total.found) / static_cast<double>(total.answered)
          : 0.0,
      Percentile(total.latency, total.answered, 0.5),
      Percentile(total.latency, total.answered, 0.99),
      Percentile(total.latency, total.answered, 0.999),
      static_cast<unsigned long long>(total.timeouts));
  if (o.server_pid && total.answered) {
    std::printf(", server CPU %.2f us per answer (%.2f s)",
                cpu * 1e6 / static_cast<double>(total.answered), cpu);
  }
  std::printf("\n");
  return total.answered > 0 ? 0 : 1;
}
