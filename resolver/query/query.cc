#include "resolver/query/query.h"

#include "registry/base/bytes.h"
#include "registry/base/strings.h"
#include "resolver/lookup/lookup.h"

namespace idnode::resolver {
namespace {

constexpr uint32_t kFlagsNotEchoed =
    wire::op_flag::kCertify | wire::op_flag::kEncrypt | wire::op_flag::kContinuous;

// Everything a reply needs from its request.
struct Exchange {
  wire::Envelope envelope;
  wire::Header header;
  std::string_view header_and_body;  // what a request digest covers
};

// Starts a reply to `exchange` with response code `code`, appending the digest when asked for.
wire::ReplyWriter StartReply(const Exchange& exchange, uint32_t code, uint16_t site_serial,
                             std::string& out) {
  wire::Envelope envelope;
  wire::NegotiateVersion(exchange.envelope, envelope.major, envelope.minor);
  envelope.session_id = exchange.envelope.session_id;
  envelope.request_id = exchange.envelope.request_id;
  wire::Header header;
  header.opcode = exchange.header.opcode;
  header.response_code = code;
  header.flags = (exchange.header.flags & ~kFlagsNotEchoed) | wire::op_flag::kAuthoritative;
  header.site_serial = site_serial;
  header.recursion_count = exchange.header.recursion_count;
  header.expiration = exchange.header.expiration;
  wire::ReplyWriter writer(out, envelope, header);
  if ((exchange.header.flags & wire::op_flag::kRequestDigest) != 0) {
    wire::AppendRequestDigest(envelope.major, envelope.minor, exchange.header_and_body,
                              writer.body());
  }
  return writer;
}

void ErrorReply(const Exchange& exchange, uint32_t code, std::string_view message,
                uint16_t site_serial, std::string& out) {
  wire::ReplyWriter writer = StartReply(exchange, code, site_serial, out);
  wire::AppendString(message, writer.body());
  writer.Finish();
}

// Replaces an answer above `max_reply_bytes` (when not 0) by an error naming the limit.
QueryOutcome CheckSize(const Exchange& exchange, size_t max_reply_bytes, uint16_t site_serial,
                       std::string& out, QueryOutcome outcome) {
  if (max_reply_bytes == 0 || out.size() <= max_reply_bytes) return outcome;
  std::string message =
      StrCat("the answer is ", out.size(), " bytes, above this transport's limit of ",
             max_reply_bytes, "; ask over TCP");
  ErrorReply(exchange, wire::rc::kError, message, site_serial, out);
  return QueryOutcome::kReplyTooLarge;
}

}  // namespace

void SharedCounters::Add(QueryOutcome outcome) {
  static std::atomic<size_t> next_shard{0};
  thread_local const size_t shard = next_shard.fetch_add(1, std::memory_order_relaxed) % kShards;
  shards_[shard].values[static_cast<size_t>(outcome)].fetch_add(1, std::memory_order_relaxed);
}

QueryCounters SharedCounters::Sum() const {
  QueryCounters sum;
  for (const Shard& shard : shards_) {
    for (size_t i = 0; i < sum.outcomes.size(); ++i) {
      sum.outcomes[i] += shard.values[i].load(std::memory_order_relaxed);
    }
  }
  return sum;
}

QueryOutcome QueryProcessor::Process(std::string_view request, const store::ReadTxn& txn,
                                     QueryScratch& scratch, size_t max_reply_bytes) const {
  scratch.counted_prefix = {};
  Exchange exchange;
  if (wire::DecodeEnvelope(request, exchange.envelope) != wire::WireError::kOk) {
    return QueryOutcome::kDropped;
  }
  std::string_view message = request.substr(wire::kEnvelopeBytes);
  if (exchange.envelope.message_length != message.size() ||
      message.size() > wire::kMaxMessageBytes ||
      (exchange.envelope.flags &
       (wire::envelope_flag::kCompressed | wire::envelope_flag::kEncrypted)) != 0) {
    return QueryOutcome::kDropped;
  }
  if (message.size() < wire::kHeaderBytes) return QueryOutcome::kDropped;
  std::string_view body;
  wire::WireError error = wire::DecodeHeader(message, exchange.header, body);
  exchange.header_and_body = message.substr(0, wire::kHeaderBytes + body.size());
  const uint16_t serial = config_.site_serial;
  std::string& out = scratch.reply;
  if (error != wire::WireError::kOk) {
    ErrorReply(exchange, wire::rc::kProtocolError, wire::WireErrorMessage(error), serial, out);
    return QueryOutcome::kProtocolError;
  }

  switch (exchange.header.opcode) {
    case wire::opcode::kResolution:
      break;
    case wire::opcode::kGetSiteInfo:
      if (!config_.site_info.empty()) {
        wire::ReplyWriter writer = StartReply(exchange, wire::rc::kSuccess, serial, out);
        writer.body().append(config_.site_info);
        writer.Finish();
        return CheckSize(exchange, max_reply_bytes, serial, out, QueryOutcome::kSiteInfo);
      }
      [[fallthrough]];
    default:
      ErrorReply(exchange, wire::rc::kOperationNotSupported,
                 "this node answers resolution and get-site-info requests only", serial, out);
      return QueryOutcome::kUnsupported;
  }

  wire::ResolutionRequest& query = scratch.request;
  error = wire::DecodeResolutionRequest(body, query);
  if (error != wire::WireError::kOk) {
    ErrorReply(exchange, wire::rc::kProtocolError, wire::WireErrorMessage(error), serial, out);
    return QueryOutcome::kProtocolError;
  }
  size_t slash = 0;
  absl::Status valid = NormalizeIdentifierInto(query.handle, config_.identifier_options, "handle",
                                               scratch.key, slash);
  if (!valid.ok()) {
    ErrorReply(exchange, wire::rc::kInvalidHandle, ToStd(valid.message()), serial, out);
    return QueryOutcome::kInvalidHandle;
  }
  std::string_view key = scratch.key;
  if (!IsSameOrUnderPrefix(key.substr(0, slash), config_.node_prefix)) {
    ErrorReply(exchange, wire::rc::kServerNotResponsible, "", serial, out);
    return QueryOutcome::kNotResponsible;
  }
  const std::string_view prefix = key.substr(0, slash);
  auto found = FindRecord(txn, key);
  if (!found.ok()) {
    scratch.counted_prefix = prefix;
    ErrorReply(exchange, wire::rc::kError, "stored record is malformed", serial, out);
    return QueryOutcome::kServerError;
  }
  if (!found->has_value()) {
    if (txn.Get(store::Db::kPrefixes, prefix).has_value()) scratch.counted_prefix = prefix;
    ErrorReply(exchange, wire::rc::kHandleNotFound, "", serial, out);
    return QueryOutcome::kHandleNotFound;
  }
  scratch.counted_prefix = prefix;  // a registered identifier's prefix is allocated
  const RecordView* record = &**found;

  // Only public values, with or without PO: this node does not authenticate resolvers, so it
  // never hands out values whose permissions keep them from the public.
  ResolveFilter filter{query.indexes, query.types, /*public_only=*/true};
  wire::ReplyWriter writer = StartReply(exchange, wire::rc::kSuccess, serial, out);
  wire::AppendString(query.handle, writer.body());
  const size_t count_at = out.size();
  ByteWriter(out).U32(0);
  auto matched = ForEachMatchingValue(record->values, filter,
                                      [&](const EncodedValue& value) { out.append(value.bytes); });
  if (!matched.ok()) {
    ErrorReply(exchange, wire::rc::kError, "stored value list is malformed", serial, out);
    return QueryOutcome::kServerError;
  }
  if (*matched == 0) {
    ErrorReply(exchange, wire::rc::kValuesNotFound, "", serial, out);
    return QueryOutcome::kValuesNotFound;
  }
  ByteWriter(out).PatchU32(count_at, *matched);
  writer.Finish();
  return CheckSize(exchange, max_reply_bytes, serial, out, QueryOutcome::kFound);
}

}  // namespace idnode::resolver
