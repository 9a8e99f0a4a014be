#include "api/http/prometheus.h"

#include <fmt/format.h>

#include <cmath>

namespace idnode::http {
namespace {

// Label values escape backslash, double quote and line feed; help text backslash and line feed.
void AppendEscaped(std::string& out, std::string_view text, bool quotes) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quotes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

}  // namespace

std::string& Exposition::Samples(const MetricFamily& family) {
  for (auto& [info, samples] : families_) {
    if (info == &family) return samples;
  }
  return families_.emplace_back(&family, std::string()).second;
}

void Exposition::Add(const MetricFamily& family, std::span<const Label> labels, MetricValue value) {
  std::string& out = Samples(family);
  out += family.name;
  if (!labels.empty()) {
    out += '{';
    bool first = true;
    for (const Label& label : labels) {
      if (!first) out += ',';
      first = false;
      out += label.name;
      out += "=\"";
      AppendEscaped(out, label.value, true);
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  if (const uint64_t* count = std::get_if<uint64_t>(&value)) {
    out += fmt::format("{}", *count);
  } else if (const double real = std::get<double>(value); std::isnan(real)) {
    out += "NaN";
  } else if (std::isinf(real)) {
    out += real > 0 ? "+Inf" : "-Inf";
  } else {
    out += fmt::format("{}", real);
  }
  out += '\n';
}

std::string Exposition::Render() const {
  std::string out;
  for (const auto& [info, samples] : families_) {
    out += "# HELP ";
    out += info->name;
    out += ' ';
    AppendEscaped(out, info->help, false);
    out += "\n# TYPE ";
    out += info->name;
    out += info->type == MetricType::kCounter ? " counter\n" : " gauge\n";
    out += samples;
  }
  return out;
}

}  // namespace idnode::http
