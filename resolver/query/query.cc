#include "resolver/query/query.h"

#include "registry/base/bytes.h"
#include "registry/base/strings.h"
#include "resolver/lookup/lookup.h"

namespace idnode::query {
namespace {

// The op flags of a reply. A client reads every bit of a reply as something the server did, so
// only bits this node honours come back:
//
//   bit         name   in the reply
//   0x80000000  AT     set when answered from this node's own data, clear otherwise
//   0x40000000  CT     cleared: this node does not sign replies yet
//   0x20000000  ENC    cleared: no encrypted sessions
//   0x10000000  REC    echoed (the reference server's replies carry it)
//   0x08000000  CA     echoed
//   0x04000000  CN     cleared: no continuous (streamed) replies
//   0x02000000  KC     cleared: connections stay open whatever it says
//   0x01000000  PO     echoed: replies only ever carry public values
//   0x00800000  RD     echoed: the reply carries the request digest
//   0x00400000  OVRW   cleared: an administration flag
//   0x00200000  MINT   cleared: an administration flag
//   0x00100000  DNRF   echoed: honoured by a top node's referrals
//   0x00000004  (id-pointer-sdk: pass the user's identity through recursion) cleared
//   0x00000002  (ID-SDK: trusted query) cleared, so the client reports "unknown", not "untrusted"
//   0x00000001  (ID-SDK: the answer verified as trusted) cleared: never claimed
//   all other bits: cleared
constexpr uint32_t kEchoedFlags = wire::op_flag::kRecursive | wire::op_flag::kCacheCertify |
                                  wire::op_flag::kPublicOnly | wire::op_flag::kRequestDigest |
                                  wire::op_flag::kDoNotRefer;

// How long a reply is valid, from the server's clock, as the reference server writes it.
constexpr uint32_t kReplyLifetimeSeconds = 12 * 3600;

// Starts a reply to `exchange` with response code `code`, appending the digest when asked for.
wire::ReplyWriter StartReply(const Exchange& exchange, uint32_t code, uint16_t site_serial,
                             std::string& out) {
  static_assert((kEchoedFlags & wire::op_flag::kAuthoritative) == 0);
  wire::Envelope envelope;
  wire::NegotiateVersion(exchange.envelope, envelope.major, envelope.minor);
  envelope.session_id = exchange.envelope.session_id;
  envelope.request_id = exchange.envelope.request_id;
  wire::Header header;
  header.opcode = exchange.header.opcode;
  header.response_code = code;
  header.flags = (exchange.header.flags & kEchoedFlags) |
                 (exchange.authoritative ? wire::op_flag::kAuthoritative : 0);
  header.site_serial = site_serial;
  header.recursion_count = exchange.header.recursion_count;
  header.expiration = exchange.expiration;
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

// Writes a reply with `code` whose body is `handle` and the values of `values` that pass
// `filter`. The number of values written, or DATA_LOSS for a malformed list.
absl::StatusOr<uint32_t> ValuesReply(const Exchange& exchange, uint32_t code,
                                     std::string_view handle, std::string_view values,
                                     const lookup::ResolveFilter& filter, uint16_t site_serial,
                                     std::string& out) {
  wire::ReplyWriter writer = StartReply(exchange, code, site_serial, out);
  wire::AppendString(handle, writer.body());
  const size_t count_at = out.size();
  ByteWriter(out).U32(0);
  auto matched = ForEachMatchingValue(
      values, filter, [&](const identifier::EncodedValue& value) { out.append(value.bytes); });
  if (!matched.ok()) return matched.status();
  ByteWriter(out).PatchU32(count_at, *matched);
  writer.Finish();
  return *matched;
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

QueryOutcome QueryProcessor::Decode(std::string_view request, Exchange& exchange,
                                    QueryScratch& scratch, size_t max_reply_bytes) const {
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
  std::string_view credential;
  wire::WireError error = wire::DecodeHeader(message, exchange.header, body, &credential);
  exchange.header_and_body = message.substr(0, wire::kHeaderBytes + body.size());
  exchange.expiration =
      static_cast<uint32_t>(config_.clock->NowMillis() / 1000) + kReplyLifetimeSeconds;
  const uint16_t serial = config_.site_serial;
  std::string& out = scratch.reply;
  if (error == wire::WireError::kOk && !credential.empty()) {
    // Decoded so that a malformed one is refused; its signature is not verified, and does not
    // matter, for a public resolution.
    wire::Credential decoded;
    error = wire::DecodeCredential(credential, decoded);
  }
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

  error = wire::DecodeResolutionRequest(body, scratch.request);
  if (error != wire::WireError::kOk) {
    ErrorReply(exchange, wire::rc::kProtocolError, wire::WireErrorMessage(error), serial, out);
    return QueryOutcome::kProtocolError;
  }
  return QueryOutcome::kFound;
}

QueryOutcome QueryProcessor::Process(std::string_view request, const store::ReadTxn& txn,
                                     QueryScratch& scratch, size_t max_reply_bytes) const {
  scratch.counted_prefix = {};
  scratch.deferred = false;
  Exchange exchange;
  const QueryOutcome decoded = Decode(request, exchange, scratch, max_reply_bytes);
  if (decoded != QueryOutcome::kFound) return decoded;
  const uint16_t serial = config_.site_serial;
  std::string& out = scratch.reply;
  const wire::ResolutionRequest& query = scratch.request;
  const bool do_not_refer = (exchange.header.flags & wire::op_flag::kDoNotRefer) != 0;
  const Resolution resolved = Resolve(rules_, txn, query.handle, do_not_refer, scratch.resolve);
  scratch.counted_prefix = resolved.counted_prefix;
  switch (resolved.outcome) {
    case QueryOutcome::kFound:
      // The reply echoes the handle as asked.
      return AnswerValues(exchange, query, resolved.values, serial, out, max_reply_bytes);
    case QueryOutcome::kReferral:
      return AnswerReferral(exchange, resolved, out, max_reply_bytes);
    case QueryOutcome::kNotResponsible:
      if (resolved.recursable && ShouldRecurse(exchange)) {
        return Recurse(exchange, resolved.asked, scratch, max_reply_bytes);
      }
      break;
    default:
      break;
  }
  ErrorReply(exchange, resolved.response_code, resolved.message, serial, out);
  return resolved.outcome;
}

QueryOutcome QueryProcessor::AnswerValues(const Exchange& exchange,
                                          const wire::ResolutionRequest& query,
                                          std::string_view values, uint16_t serial,
                                          std::string& out, size_t max_reply_bytes) const {
  // Only public values, with or without PO: this node does not authenticate resolvers, so it
  // never hands out values whose permissions keep them from the public.
  lookup::ResolveFilter filter{query.indexes, query.types, /*public_only=*/true};
  auto matched =
      ValuesReply(exchange, wire::rc::kSuccess, query.handle, values, filter, serial, out);
  if (!matched.ok()) {
    ErrorReply(exchange, wire::rc::kError, "stored value list is malformed", serial, out);
    return QueryOutcome::kServerError;
  }
  if (*matched == 0) {
    ErrorReply(exchange, wire::rc::kValuesNotFound, "", serial, out);
    return QueryOutcome::kValuesNotFound;
  }
  return CheckSize(exchange, max_reply_bytes, serial, out, QueryOutcome::kFound);
}

// A top node's referral: the values of the record referred to, with its handle.
QueryOutcome QueryProcessor::AnswerReferral(const Exchange& exchange, const Resolution& referral,
                                            std::string& out, size_t max_reply_bytes) const {
  const uint16_t serial = config_.site_serial;
  auto written = ValuesReply(exchange, referral.response_code, referral.handle, referral.values,
                             lookup::ResolveFilter{{}, {}, /*public_only=*/true}, serial, out);
  if (!written.ok() || *written == 0) {
    ErrorReply(exchange, wire::rc::kError, "stored prefix record is malformed", serial, out);
    return QueryOutcome::kServerError;
  }
  return CheckSize(exchange, max_reply_bytes, serial, out, QueryOutcome::kReferral);
}

bool QueryProcessor::Defer(DeferredRequest request) const {
  return config_.recursion.deferrer != nullptr &&
         config_.recursion.deferrer->Submit(std::move(request));
}

QueryOutcome QueryProcessor::Recurse(const Exchange& exchange, std::string_view handle,
                                     QueryScratch& scratch, size_t max_reply_bytes) const {
  const uint16_t serial = config_.site_serial;
  std::string& out = scratch.reply;
  const RecursionConfig& recursion = config_.recursion;
  if (exchange.header.recursion_count >= recursion.limit) {
    ErrorReply(exchange, wire::rc::kRecursionCountTooHigh,
               StrCat("recursion count ", exchange.header.recursion_count,
                      " has reached this node's limit of ", recursion.limit,
                      " (a referral loop between nodes?)"),
               serial, out);
    return QueryOutcome::kRecursionLimit;
  }
  RecursionQuestion& question = scratch.question;
  const std::string_view prefix = handle.substr(0, handle.find('/'));
  question.handle.assign(handle);
  question.cache_key.assign(prefix);
  identifier::AsciiUpperInPlace(
      question.cache_key);  // prefixes are case-insensitive; suffixes may not be
  question.cache_key.append(handle.substr(prefix.size()));
  question.recursion_count = exchange.header.recursion_count;
  const bool authoritative = (exchange.header.flags & wire::op_flag::kAuthoritative) != 0;
  if (recursion.cache != nullptr && !authoritative &&
      recursion.cache->Get(question.cache_key, SteadyMillis(), scratch.cached)) {
    return AnswerFromRecursion(exchange, scratch.request, scratch.cached, out, max_reply_bytes);
  }
  scratch.deferred = true;
  ErrorReply(exchange, wire::rc::kServerTooBusy,
             "too many recursive requests in progress; try again shortly", serial, out);
  return QueryOutcome::kRecursed;
}

QueryOutcome QueryProcessor::AnswerRecursion(std::string_view request,
                                             const RecursionAnswer& answer, QueryScratch& scratch,
                                             size_t max_reply_bytes) const {
  Exchange exchange;
  const QueryOutcome decoded = Decode(request, exchange, scratch, max_reply_bytes);
  if (decoded != QueryOutcome::kFound) return decoded;
  return AnswerFromRecursion(exchange, scratch.request, answer, scratch.reply, max_reply_bytes);
}

QueryOutcome QueryProcessor::AnswerFromRecursion(const Exchange& request_exchange,
                                                 const wire::ResolutionRequest& query,
                                                 const RecursionAnswer& answer, std::string& out,
                                                 size_t max_reply_bytes) const {
  const uint16_t serial = config_.site_serial;
  Exchange exchange = request_exchange;
  exchange.authoritative = false;  // this node did not answer from its own data
  QueryOutcome outcome = QueryOutcome::kRecursed;
  if (answer.response_code == wire::rc::kSuccess) {
    const QueryOutcome answered =
        AnswerValues(exchange, query, answer.values, serial, out, max_reply_bytes);
    if (answered == QueryOutcome::kReplyTooLarge || answered == QueryOutcome::kServerError) {
      outcome = answered;
    }
  } else {
    ErrorReply(exchange, answer.response_code, answer.message, serial, out);
    if (answer.response_code == wire::rc::kRecursionCountTooHigh) {
      outcome = QueryOutcome::kRecursionLimit;
    }
  }
  return outcome;
}

}  // namespace idnode::query
