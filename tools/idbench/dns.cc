#include "tools/idbench/dns.h"

namespace idnode::idbench {
namespace {

constexpr size_t kHeaderBytes = 12;
constexpr size_t kMaxLabel = 63;
constexpr size_t kMaxName = 255;

void AppendU16(uint16_t v, std::string& out) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}

uint16_t U16At(std::string_view bytes, size_t at) {
  return static_cast<uint16_t>((static_cast<uint8_t>(bytes[at]) << 8) |
                               static_cast<uint8_t>(bytes[at + 1]));
}

}  // namespace

bool AppendDnsQuery(std::string_view name, uint16_t id, std::string& out) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  const size_t start = out.size();
  AppendU16(id, out);
  AppendU16(0, out);  // QR 0, opcode QUERY, RD 0
  AppendU16(1, out);  // QDCOUNT
  AppendU16(0, out);  // ANCOUNT
  AppendU16(0, out);  // NSCOUNT
  AppendU16(0, out);  // ARCOUNT
  const size_t name_start = out.size();
  while (!name.empty()) {
    const size_t dot = name.find('.');
    const std::string_view label = name.substr(0, dot);
    if (label.empty() || label.size() > kMaxLabel) {
      out.resize(start);
      return false;
    }
    out.push_back(static_cast<char>(label.size()));
    out.append(label);
    name = dot == std::string_view::npos ? std::string_view() : name.substr(dot + 1);
  }
  out.push_back('\0');
  if (out.size() - name_start > kMaxName) {
    out.resize(start);
    return false;
  }
  AppendU16(1, out);  // QTYPE A
  AppendU16(1, out);  // QCLASS IN
  return true;
}

bool ParseDnsReply(std::string_view message, DnsReply& reply) {
  if (message.size() < kHeaderBytes) return false;
  const uint16_t flags = U16At(message, 2);
  if ((flags & 0x8000) == 0) return false;  // QR: a query, not a response
  reply.id = U16At(message, 0);
  reply.rcode = static_cast<uint8_t>(flags & 0x000f);
  reply.answers = U16At(message, 6);
  return true;
}

}  // namespace idnode::idbench
