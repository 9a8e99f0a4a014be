#pragma once

// The little of DNS (RFC 1035 §4.1) that idbench needs to put a DNS server under the same load as
// idnode, with the same client, so that the two can be compared on one machine: an A query, and
// the id, response code and answer count of a reply.

#include <cstdint>
#include <string>
#include <string_view>

namespace idnode::idbench {

// Appends a standard query (RD clear) for `name`, QTYPE A, QCLASS IN. `name` is dot-separated
// labels, with or without the root's trailing dot. False, appending nothing, when a label is empty
// or longer than 63 bytes or the encoded name longer than 255 bytes.
bool AppendDnsQuery(std::string_view name, uint16_t id, std::string& out);

struct DnsReply {
  uint16_t id = 0;
  uint8_t rcode = 0;     // 0 NOERROR, 3 NXDOMAIN, ...
  uint16_t answers = 0;  // ANCOUNT
};

// Reads the header of `message`; false when it is shorter than a header or is not a response.
bool ParseDnsReply(std::string_view message, DnsReply& reply);

}  // namespace idnode::idbench
