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

std::string& Exposition::Samples(const FamilyInfo& family) {
  for (auto& [info, samples] : families_) {
    if (info == &family) return samples;
  }
  return families_.emplace_back(&family, std::string()).second;
}

void Exposition::Line(const FamilyInfo& family, Labels labels, std::string_view value) {
  std::string& out = Samples(family);
  out += family.name;
  if (labels.size() > 0) {
    out += '{';
    bool first = true;
    for (const auto& [name, label_value] : labels) {
      if (!first) out += ',';
      first = false;
      out += name;
      out += "=\"";
      AppendEscaped(out, label_value, true);
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  out += value;
  out += '\n';
}

void Exposition::Add(const FamilyInfo& family, Labels labels, uint64_t value) {
  Line(family, labels, fmt::format("{}", value));
}

void Exposition::Add(const FamilyInfo& family, Labels labels, double value) {
  if (std::isnan(value)) return Line(family, labels, "NaN");
  if (std::isinf(value)) return Line(family, labels, value > 0 ? "+Inf" : "-Inf");
  Line(family, labels, fmt::format("{}", value));
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
