#include "tools/idbench/measure.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace idnode::idbench {

size_t Micros(Clock::time_point since, Clock::time_point now) {
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now - since).count();
  return std::min(static_cast<size_t>(std::max<int64_t>(micros, 0)), kMaxLatencyMicros);
}

void Result::Record(Clock::time_point since, Clock::time_point now, bool hit) {
  ++answered;
  if (hit) ++found;
  ++latency[Micros(since, now)];
}

void Result::Add(const Result& other) {
  sent += other.sent;
  answered += other.answered;
  found += other.found;
  stalls += other.stalls;
  for (size_t us = 0; us <= kMaxLatencyMicros; ++us) {
    latency[us] += other.latency[us];
    send_lag[us] += other.send_lag[us];
    since_send[us] += other.since_send[us];
  }
}

double Percentile(const std::vector<uint64_t>& histogram, uint64_t total, double q) {
  uint64_t want = static_cast<uint64_t>(q * static_cast<double>(total)), seen = 0;
  for (size_t us = 0; us < histogram.size(); ++us) {
    seen += histogram[us];
    if (seen > want) return static_cast<double>(us);
  }
  return static_cast<double>(kMaxLatencyMicros);
}

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

}  // namespace idnode::idbench
