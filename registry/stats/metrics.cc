#include "registry/stats/metrics.h"

#include "registry/base/bytes.h"
#include "registry/base/strings.h"

namespace idnode::stats {

std::string CounterKey(Metric metric, uint32_t day, std::string_view scope) {
  std::string key;
  key.reserve(6 + scope.size());
  ByteWriter w(key);
  w.U16(static_cast<uint16_t>(metric));
  w.U32(day);
  w.Raw(scope);
  return key;
}

std::optional<CounterKeyParts> ParseCounterKey(std::string_view key) {
  CounterKeyParts parts;
  ByteReader r(key);
  if (!r.U16(parts.metric) || !r.U32(parts.day)) return std::nullopt;
  parts.scope = key.substr(6);
  return parts;
}

absl::StatusOr<uint64_t> DecodeCounter(std::string_view bytes) {
  uint64_t value = 0;
  ByteReader r(bytes);
  if (!r.U64(value) || r.remaining() != 0) {
    return absl::DataLossError(StrCat("counter record is ", bytes.size(), " bytes, not 8"));
  }
  return value;
}

std::string EncodeCounter(const uint64_t& value) {
  std::string bytes;
  ByteWriter(bytes).U64(value);
  return bytes;
}

std::string_view TransportName(Transport transport) {
  switch (transport) {
    case Transport::kUdp:
      return "udp";
    case Transport::kTcp:
      return "tcp";
    case Transport::kGrpc:
      return "grpc";
    case Transport::kCount:
      break;
  }
  return "unknown";
}

std::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kFound:
      return "found";
    case Outcome::kHandleNotFound:
      return "handle_not_found";
    case Outcome::kValuesNotFound:
      return "values_not_found";
    case Outcome::kNotResponsible:
      return "not_responsible";
    case Outcome::kInvalidHandle:
      return "invalid_handle";
    case Outcome::kSiteInfo:
      return "site_info";
    case Outcome::kProtocolError:
      return "protocol_error";
    case Outcome::kUnsupported:
      return "unsupported";
    case Outcome::kServerError:
      return "server_error";
    case Outcome::kReplyTooLarge:
      return "reply_too_large";
    case Outcome::kDropped:
      return "dropped";
    case Outcome::kRateLimited:
      return "rate_limited";
    case Outcome::kReferral:
      return "referral";
    case Outcome::kRecursed:
      return "recursed";
    case Outcome::kRecursionLimit:
      return "recursion_limit";
    case Outcome::kServerBusy:
      return "server_busy";
    case Outcome::kCount:
      break;
  }
  return "unknown";
}

uint64_t OutcomeCounts::Resolutions() const {
  uint64_t sum = 0;
  for (size_t i = 0; i < kOutcomeCount; ++i) {
    if (CountsAsResolution(static_cast<Outcome>(i))) sum += outcomes[i];
  }
  return sum;
}

void DescribeRequests(MetricSink& sink, Transport transport, const OutcomeCounts& counts) {
  for (size_t i = 0; i < kOutcomeCount; ++i) {
    const auto outcome = static_cast<Outcome>(i);
    sink.Add(kRequests,
             {{"transport", TransportName(transport)}, {"outcome", OutcomeName(outcome)}},
             counts[outcome]);
  }
}

}  // namespace idnode::stats
