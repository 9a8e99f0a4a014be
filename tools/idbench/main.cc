// idbench: a resolution load generator for idnode. It speaks the Handle protocol over UDP
// (batched with sendmmsg/recvmmsg, several sockets, closed loop or open loop at a fixed rate) and
// over TCP (keep-alive connections with a window of pipelined requests), and unary gRPC Resolve.
// Identifiers are NAME_BASE<n> for n uniform in [0, count) (registered beforehand, e.g. with
// `regbench stream --name-base`), or, for the miss share, names that do not exist. With
// --dns-zone it speaks DNS instead (A queries for NAME_BASE<n>.ZONE), so that a DNS server can be
// put under exactly the same load on the same machine (tools/bench/dns_compare.sh).
//
// Reports answered/s, latency percentiles from a 1 us-bucket histogram, and, given the server's
// pid, its CPU time (user + system, from /proc/<pid>/stat) per answered request, which is also
// its CPU-seconds per 1,000,000 answered. Closed loop: each socket or connection keeps `window`
// requests in flight. Open loop (--rate): requests leave at fixed times whatever the answers do,
// and latency counts from the time a request was due, so a slow server cannot hide its queue.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <array>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "registry/base/bytes.h"
#include "resolver/client/handle_client.h"
#include "resolver/net/endpoint.h"
#include "resolver/wire/wire.h"
#include "tools/idbench/dns.h"
#include "tools/idbench/measure.h"
#include "tools/idctl/client.h"

namespace {

using namespace idnode;
using idbench::Clock;
using idbench::CpuSeconds;
using idbench::Micros;
using idbench::Percentile;
using idbench::Result;

constexpr uint32_t kResolveFlags =
    wire::op_flag::kRecursive | wire::op_flag::kCacheCertify | wire::op_flag::kPublicOnly;

struct Options {
  std::string udp, tcp, grpc;
  std::string base = "88.123.45/B-";
  uint64_t count = 1'000'000;
  double miss_ratio = 0;
  double seconds = 10;
  int sockets = 4;
  int window = 64;
  double rate = 0;  // open loop, requests per second in all; 0: closed loop
  int server_pid = 0;
  bool spin = false;     // TCP: wait for replies by polling (yielding the core), never sleeping
  std::string dns_zone;  // speak DNS, names NAME_BASE<n>.ZONE; empty: the Handle protocol
  std::string sched = "batch";  // scheduling policy of idbench's threads: batch or other
  bool dns() const { return !dns_zone.empty(); }
  // The request ids the protocol carries: 32 bits in Handle's envelope, 16 in DNS's header.
  uint32_t id_mask() const { return dns() ? 0xffffu : 0xffffffffu; }
};

// Draws identifiers: NAME_BASE<n>, or NAME_BASE MISS-<n> for the miss share (then .ZONE for DNS).
class Names {
 public:
  Names(const Options& o, uint64_t seed)
      : base_(o.base),
        suffix_(o.dns() ? "." + o.dns_zone : ""),
        random_(seed),
        pick_(0, o.count - 1),
        miss_(o.miss_ratio) {}
  const std::string& Next() {
    name_.assign(base_);
    if (miss_(random_)) name_.append("MISS-");
    name_.append(std::to_string(pick_(random_)));
    name_.append(suffix_);
    return name_;
  }

 private:
  std::string base_, suffix_;
  std::mt19937_64 random_;
  std::uniform_int_distribution<uint64_t> pick_;
  std::bernoulli_distribution miss_;
  std::string name_;
};

// Sets `out` to a request for `name` (reusing its capacity): a Handle resolution request, or a
// DNS A query, which over TCP carries DNS's two-byte length prefix.
void BuildRequest(const Options& o, const std::string& name, uint32_t request_id, bool tcp,
                  std::string& out) {
  if (o.dns()) {
    out.assign(tcp ? 2 : 0, '\0');
    if (!idbench::AppendDnsQuery(name, static_cast<uint16_t>(request_id), out)) {
      std::fprintf(stderr, "idbench: %s is not a DNS name\n", name.c_str());
      std::exit(2);
    }
    if (tcp) {
      out[0] = static_cast<char>((out.size() - 2) >> 8);
      out[1] = static_cast<char>((out.size() - 2) & 0xff);
    }
    return;
  }
  thread_local client::HandleRequest request;
  request.handle.assign(name);
  request.flags = kResolveFlags | (tcp ? wire::op_flag::kKeepAlive : 0);
  client::EncodeRequest(request, request_id, out);
}

// The request id of a whole reply (a TCP one with its DNS length prefix) and whether it carries
// the name's values (Handle: success; DNS: NOERROR with answers); false when it is too short.
bool ReadReply(const Options& o, std::string_view reply, bool tcp, uint32_t& request_id,
               bool& hit) {
  if (o.dns()) {
    idbench::DnsReply header;
    if (!idbench::ParseDnsReply(reply.substr(tcp ? 2 : 0), header)) return false;
    request_id = header.id;
    hit = header.rcode == 0 && header.answers > 0;
    return true;
  }
  wire::Envelope envelope;
  uint32_t code = 0;
  if (wire::DecodeEnvelope(reply, envelope) != wire::WireError::kOk ||
      reply.size() < wire::kEnvelopeBytes + 8) {
    return false;
  }
  request_id = envelope.request_id;
  ByteReader(reply.substr(wire::kEnvelopeBytes + 4)).U32(code);
  hit = code == wire::rc::kSuccess;
  return true;
}

// TCP: the length of the first whole message at the start of `bytes`, or 0 until it has arrived.
size_t WholeMessage(const Options& o, std::string_view bytes) {
  size_t length = 0;
  if (o.dns()) {
    if (bytes.size() < 2) return 0;
    length = 2 + ((static_cast<size_t>(static_cast<uint8_t>(bytes[0])) << 8) |
                  static_cast<uint8_t>(bytes[1]));
  } else {
    wire::Envelope envelope;
    if (bytes.size() < wire::kEnvelopeBytes) return 0;
    wire::DecodeEnvelope(bytes, envelope);
    length = wire::kEnvelopeBytes + envelope.message_length;
  }
  return bytes.size() >= length ? length : 0;
}

int ConnectedSocket(int type, const net::Endpoint& server) {
  int fd = socket(server.family(), type | SOCK_CLOEXEC, 0);
  sockaddr_storage address;
  const socklen_t length = server.ToSockaddr(address);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), length) != 0) {
    std::perror("idbench: connect");
    std::exit(1);
  }
  return fd;
}

// Sends `messages` in one sendmmsg batch (or as many calls as it takes).
void SendBatch(int fd, std::vector<std::string>& messages, size_t n, std::vector<mmsghdr>& out,
               std::vector<iovec>& iov) {
  for (size_t k = 0; k < n; ++k) {
    iov[k] = {messages[k].data(), messages[k].size()};
    out[k] = {};
    out[k].msg_hdr.msg_iov = &iov[k];
    out[k].msg_hdr.msg_iovlen = 1;
  }
  for (size_t done = 0; done < n;) {
    int sent = sendmmsg(fd, out.data() + done, static_cast<unsigned>(n - done), 0);
    if (sent <= 0) break;
    done += static_cast<size_t>(sent);
  }
}

// Receives what is waiting (up to in.size() datagrams) without blocking; returns the count.
int ReceiveBatch(int fd, std::vector<std::array<char, 2048>>& buffers, std::vector<mmsghdr>& in,
                 std::vector<iovec>& iov) {
  for (size_t i = 0; i < in.size(); ++i) {
    iov[i] = {buffers[i].data(), buffers[i].size()};
    in[i] = {};
    in[i].msg_hdr.msg_iov = &iov[i];
    in[i].msg_hdr.msg_iovlen = 1;
  }
  return recvmmsg(fd, in.data(), static_cast<unsigned>(in.size()), MSG_DONTWAIT, nullptr);
}

// UDP closed loop: `window` requests in flight; every answer sends the next.
void RunUdpClosed(const Options& o, const net::Endpoint& server, uint64_t seed,
                  Clock::time_point end, Result& result) {
  int fd = ConnectedSocket(SOCK_DGRAM, server);
  Names names(o, seed);
  const size_t window = static_cast<size_t>(o.window);
  // A request id is its slot and, above that, the slot's generation, so that a late answer to an
  // earlier request in the same slot is not taken for the current one.
  const int slot_bits = std::max(1, static_cast<int>(std::bit_width(window - 1)));
  const uint32_t slot_mask = (uint32_t{1} << slot_bits) - 1;
  const uint32_t generation_mask = o.id_mask() >> slot_bits;
  std::vector<Clock::time_point> sent_at(window);
  std::vector<uint32_t> generation(window, 0);
  std::vector<std::string> batch(window);
  std::vector<mmsghdr> out(window), in(window);
  std::vector<iovec> out_iov(window), in_iov(window);
  std::vector<std::array<char, 2048>> buffers(window);
  std::vector<size_t> slots;
  auto send_slots = [&] {
    for (size_t k = 0; k < slots.size(); ++k) {
      size_t slot = slots[k];
      const uint32_t id = static_cast<uint32_t>(slot) | (++generation[slot] << slot_bits);
      BuildRequest(o, names.Next(), id & o.id_mask(), /*tcp=*/false, batch[k]);
      sent_at[slot] = Clock::now();
    }
    result.sent += slots.size();
    SendBatch(fd, batch, slots.size(), out, out_iov);
  };
  auto all_slots = [&] {
    slots.resize(window);
    for (size_t i = 0; i < window; ++i) slots[i] = i;
  };
  all_slots();
  send_slots();
  while (Clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) {
      ++result.stalls;  // lost datagrams: resend the whole window
      all_slots();
      send_slots();
      continue;
    }
    int n = ReceiveBatch(fd, buffers, in, in_iov);
    if (n <= 0) continue;
    auto now = Clock::now();
    slots.clear();
    for (int i = 0; i < n; ++i) {
      uint32_t id = 0;
      bool hit = false;
      if (!ReadReply(o, {buffers[size_t(i)].data(), in[size_t(i)].msg_len}, false, id, hit)) {
        continue;
      }
      size_t slot = id & slot_mask;
      if (slot >= window || (id >> slot_bits) != (generation[slot] & generation_mask)) continue;
      result.Record(sent_at[slot], now, hit);
      slots.push_back(slot);
    }
    send_slots();
  }
  close(fd);
}

// UDP open loop: `rate` requests a second leave on schedule; latency counts from the due time.
void RunUdpOpen(const Options& o, const net::Endpoint& server, uint64_t seed, double rate,
                Clock::time_point end, Result& result) {
  int fd = ConnectedSocket(SOCK_DGRAM, server);
  Names names(o, seed);
  // Requests still awaited, by id; the ring is as large as the id space allows (DNS: 16 bits).
  const size_t ring = std::min<size_t>(size_t{1} << 20, size_t{o.id_mask()} + 1);
  constexpr size_t kBatch = 64;
  std::vector<Clock::time_point> due(ring), left(ring);
  std::vector<uint32_t> awaited(ring, UINT32_MAX);  // the id awaited in each slot
  std::vector<std::string> batch(kBatch);
  std::vector<mmsghdr> out(kBatch), in(kBatch);
  std::vector<iovec> out_iov(kBatch), in_iov(kBatch);
  std::vector<std::array<char, 2048>> buffers(kBatch);
  const auto interval =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / rate));
  Clock::time_point next = Clock::now();
  uint32_t sequence = 0;
  auto receive = [&] {
    for (;;) {
      int n = ReceiveBatch(fd, buffers, in, in_iov);
      if (n <= 0) return;
      auto now = Clock::now();
      for (int i = 0; i < n; ++i) {
        uint32_t id = 0;
        bool hit = false;
        if (!ReadReply(o, {buffers[size_t(i)].data(), in[size_t(i)].msg_len}, false, id, hit)) {
          continue;
        }
        size_t slot = id & (ring - 1);
        if (awaited[slot] != id) continue;
        awaited[slot] = UINT32_MAX;
        result.Record(due[slot], now, hit);
        ++result.since_send[Micros(left[slot], now)];
      }
    }
  };
  while (Clock::now() < end) {
    auto now = Clock::now();
    size_t n = 0;
    while (next <= now && n < kBatch) {
      size_t slot = sequence & (ring - 1);
      due[slot] = next;
      awaited[slot] = sequence & o.id_mask();
      BuildRequest(o, names.Next(), awaited[slot], /*tcp=*/false, batch[n++]);
      ++sequence;
      next += interval;
    }
    result.sent += n;
    if (n > 0) {
      SendBatch(fd, batch, n, out, out_iov);
      auto sent_at = Clock::now();
      for (size_t k = 0; k < n; ++k) {
        size_t slot = (sequence - n + k) & (ring - 1);
        left[slot] = sent_at;
        ++result.send_lag[Micros(due[slot], sent_at)];
      }
    }
    receive();
    auto wait = next - Clock::now();
    if (wait > std::chrono::microseconds(20)) {
      auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
      timespec timeout{static_cast<time_t>(ns / 1'000'000'000),
                       static_cast<long>(ns % 1'000'000'000)};
      pollfd p{fd, POLLIN, 0};
      ppoll(&p, 1, &timeout, nullptr);
    }
  }
  auto drain_until = Clock::now() + std::chrono::milliseconds(200);
  while (Clock::now() < drain_until) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 20) > 0) receive();
  }
  close(fd);
}

// TCP: one keep-alive connection with `window` pipelined requests; each answer sends the next.
void RunTcp(const Options& o, const net::Endpoint& server, uint64_t seed, Clock::time_point end,
            Result& result) {
  int fd = ConnectedSocket(SOCK_STREAM, server);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  Names names(o, seed);
  const size_t window = static_cast<size_t>(o.window);
  std::vector<Clock::time_point> sent_at(window);
  std::string request, out, in;
  in.resize(1 << 20);
  size_t filled = 0;
  auto queue = [&](size_t slot) {
    BuildRequest(o, names.Next(), static_cast<uint32_t>(slot), /*tcp=*/true, request);
    out.append(request);
    sent_at[slot] = Clock::now();
    ++result.sent;
  };
  auto flush = [&] {
    for (size_t done = 0; done < out.size();) {
      ssize_t n = send(fd, out.data() + done, out.size() - done, MSG_NOSIGNAL);
      if (n <= 0) {
        std::perror("idbench: send");
        std::exit(1);
      }
      done += static_cast<size_t>(n);
    }
    out.clear();
  };
  for (size_t slot = 0; slot < window; ++slot) queue(slot);
  flush();
  while (Clock::now() < end) {
    ssize_t n = recv(fd, in.data() + filled, in.size() - filled, o.spin ? MSG_DONTWAIT : 0);
    if (n < 0 && o.spin && errno == EAGAIN) {
      sched_yield();
      continue;
    }
    if (n <= 0) {
      std::fprintf(stderr, "idbench: the server closed the connection\n");
      break;
    }
    filled += static_cast<size_t>(n);
    auto now = Clock::now();
    size_t pos = 0;
    for (;;) {
      const std::string_view rest = std::string_view(in).substr(pos, filled - pos);
      const size_t length = WholeMessage(o, rest);
      if (length == 0) break;
      uint32_t id = 0;
      bool hit = false;
      if (ReadReply(o, rest.substr(0, length), true, id, hit) && id < window) {
        result.Record(sent_at[id], now, hit);
        queue(id);
      }
      pos += length;
    }
    std::memmove(in.data(), in.data() + pos, filled - pos);
    filled -= pos;
    flush();
  }
  close(fd);
}

// gRPC: one blocking unary Resolve at a time per thread, each thread its own channel.
void RunGrpc(const Options& o, uint64_t seed, Clock::time_point end, Result& result) {
  auto stub = v1::Resolver::NewStub(idctl::Connect(idctl::ConnectOptions{o.grpc, ""}));
  Names names(o, seed);
  v1::ResolveRequest request;
  v1::ResolveResponse response;
  while (Clock::now() < end) {
    request.set_identifier(names.Next());
    grpc::ClientContext context;
    auto started = Clock::now();
    ++result.sent;
    grpc::Status status = stub->Resolve(&context, request, &response);
    if (status.ok() || status.error_code() == grpc::StatusCode::NOT_FOUND) {
      result.Record(started, Clock::now(), status.ok());
    } else {
      ++result.stalls;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"idbench: resolution load generator (Handle UDP/TCP, gRPC; DNS for comparison)"};
  Options o;
  auto* udp =
      app.add_option("--udp", o.udp, "server HOST:PORT over UDP (Handle; DNS with --dns-zone)");
  auto* tcp = app.add_option("--tcp", o.tcp,
                             "server HOST:PORT over TCP, keep-alive (Handle; DNS with --dns-zone)");
  auto* grpc_option = app.add_option("--grpc", o.grpc, "gRPC server HOST:PORT (unary Resolve)");
  udp->excludes(tcp)->excludes(grpc_option);
  tcp->excludes(grpc_option);
  app.add_option("--name-base", o.base, "identifiers are NAME_BASE<n>");
  app.add_option("--count", o.count, "n is drawn from [0, count)")->check(CLI::PositiveNumber);
  app.add_option("--miss-ratio", o.miss_ratio, "share of names that do not exist")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--seconds", o.seconds, "duration")->check(CLI::PositiveNumber);
  app.add_option("--sockets", o.sockets, "sockets / connections / gRPC threads, a thread each")
      ->check(CLI::Range(1, 256));
  app.add_option("--window", o.window, "requests in flight per socket or connection")
      ->check(CLI::Range(1, 4096));
  app.add_option("--rate", o.rate, "UDP open loop: requests per second in all (0: closed loop)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--server-pid", o.server_pid, "report this process's CPU per answer");
  app.add_option("--dns-zone", o.dns_zone,
                 "speak DNS instead of Handle: A queries for NAME_BASE<n>.DNS_ZONE (to compare "
                 "with a DNS server under the same load)");
  app.add_flag("--spin", o.spin,
               "TCP: wait for replies by polling and yielding, not sleeping, so the server's "
               "send does not pay for waking the client");
  app.add_option("--sched", o.sched,
                 "scheduling policy of idbench's threads: batch (the default: a client woken by "
                 "its reply does not preempt another client, so the server's core does not send "
                 "its core a rescheduling interrupt, a cost a client on another machine would "
                 "not cause) or other (the ordinary policy)")
      ->check(CLI::IsMember({"batch", "other"}));
  CLI11_PARSE(app, argc, argv);

  std::string mode = !o.udp.empty() ? "udp" : !o.tcp.empty() ? "tcp" : "grpc";
  if (o.udp.empty() && o.tcp.empty() && o.grpc.empty()) {
    std::fprintf(stderr, "idbench: give --udp, --tcp or --grpc HOST:PORT\n");
    return 2;
  }
  if (!o.dns_zone.empty() && o.dns_zone.back() == '.') o.dns_zone.pop_back();
  if (o.dns() && mode == "grpc") {
    std::fprintf(stderr, "idbench: --dns-zone is for --udp and --tcp\n");
    return 2;
  }
  if (o.spin && mode != "tcp") {
    std::fprintf(stderr, "idbench: --spin is for --tcp\n");
    return 2;
  }
  if (o.rate > 0 && mode != "udp") {
    std::fprintf(stderr, "idbench: --rate (open loop) is for --udp\n");
    return 2;
  }
  net::Endpoint server;
  if (mode != "grpc") {
    auto parsed = net::ParseEndpoint("--" + mode, mode == "udp" ? o.udp : o.tcp);
    if (!parsed.ok()) {
      std::fprintf(stderr, "idbench: %s\n", std::string(parsed.status().message()).c_str());
      return 2;
    }
    server = *parsed;
  }

  // Threads inherit the policy of the thread that creates them: set it before any exist.
  if (o.sched == "batch") {
    sched_param param{};
    if (sched_setscheduler(0, SCHED_BATCH, &param) != 0) {
      std::fprintf(stderr, "idbench: --sched batch: %s\n", std::strerror(errno));
      return 2;
    }
  }
  std::vector<Result> results(static_cast<size_t>(o.sockets));
  double cpu_before = o.server_pid ? CpuSeconds(o.server_pid) : 0;
  auto start = Clock::now();
  auto end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  std::vector<std::thread> threads;
  for (int i = 0; i < o.sockets; ++i) {
    Result& result = results[static_cast<size_t>(i)];
    uint64_t seed = 1000 + static_cast<uint64_t>(i);
    threads.emplace_back([&, seed] {
      if (mode == "udp" && o.rate > 0) {
        RunUdpOpen(o, server, seed, o.rate / o.sockets, end, result);
      } else if (mode == "udp") {
        RunUdpClosed(o, server, seed, end, result);
      } else if (mode == "tcp") {
        RunTcp(o, server, seed, end, result);
      } else {
        RunGrpc(o, seed, end, result);
      }
    });
  }
  for (auto& t : threads) t.join();
  // Open loop: requests leave during `seconds`, and the 200 ms after that only collect answers.
  double elapsed =
      o.rate > 0 ? o.seconds : std::chrono::duration<double>(Clock::now() - start).count();
  double cpu = o.server_pid ? CpuSeconds(o.server_pid) - cpu_before : 0;

  Result total;
  for (const Result& r : results) total.Add(r);
  const double answered = static_cast<double>(total.answered);
  std::printf(
      "%s%s %s: %llu answered in %.1f s = %.0f/s (found %.1f%%), p50 %.0f us, p99 %.0f us, "
      "p99.9 %.0f us",
      o.dns() ? "dns " : "", mode.c_str(), o.rate > 0 ? "open loop" : "closed loop",
      static_cast<unsigned long long>(total.answered), elapsed, answered / elapsed,
      total.answered ? 100.0 * static_cast<double>(total.found) / answered : 0.0,
      Percentile(total.latency, total.answered, 0.5),
      Percentile(total.latency, total.answered, 0.99),
      Percentile(total.latency, total.answered, 0.999));
  if (o.rate > 0) {
    std::printf(
        ", sent %llu (%.0f/s), unanswered %llu, own send lag p99 %.0f us p99.9 %.0f us, "
        "from send p99 %.0f us p99.9 %.0f us",
        static_cast<unsigned long long>(total.sent), static_cast<double>(total.sent) / o.seconds,
        static_cast<unsigned long long>(total.sent - total.answered),
        Percentile(total.send_lag, total.sent, 0.99), Percentile(total.send_lag, total.sent, 0.999),
        Percentile(total.since_send, total.answered, 0.99),
        Percentile(total.since_send, total.answered, 0.999));
  } else if (total.stalls > 0) {
    std::printf(", stalls %llu", static_cast<unsigned long long>(total.stalls));
  }
  if (o.server_pid && total.answered) {
    std::printf(", server CPU %.2f us per answer (%.2f CPU-s per 1M answered)",
                cpu * 1e6 / answered, cpu * 1e6 / answered);
  }
  std::printf("\n");
  return total.answered > 0 ? 0 : 1;
}
