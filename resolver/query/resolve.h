#pragma once

// One resolution, whatever the transport (docs/architecture.md §6.4): a handle and a read
// transaction in, what this node's data says about the handle out. The Handle query processor
// (resolver/query/query.h) encodes it as a reply message, gRPC Resolve (api/grpc) as a response
// or a status, so every front end answers and counts a handle the same way:
//   - a handle without a slash names a prefix: P is 0.NA/P;
//   - 0.NA/<prefix>: a secondary answers for its own prefix and its allocated enterprise
//     prefixes with its site values, "not found" for other prefixes under its own, and "not
//     responsible" otherwise; a top node answers its stored prefix records, else refers;
//   - any other handle: a secondary answers under its own prefix (found, or not found naming an
//     unallocated prefix) and is "not responsible" elsewhere (which recursion may resolve); a top
//     node answers under the prefixes it allocated itself and refers for every other one: to
//     0.NA/<prefix> (service referral) or to the nearest parent record carrying HS_SITE.PREFIX
//     (prefix referral), "not responsible" instead when the client asked not to be referred,
//     else not found.
// The values are not filtered here: the caller applies its index and type filters (public values
// only) as it encodes them, and a record with no value passing them is "values not found".
//
// Thread-safe: Resolve is a pure function of its arguments; each thread passes its own buffers.

#include <cstdint>
#include <string>
#include <string_view>

#include "registry/identifier/identifier.h"
#include "registry/stats/metrics.h"
#include "registry/store/store.h"

namespace idnode::query {

// What the rules above depend on: this node's settings.
struct ResolveRules {
  std::string_view node_prefix;  // normalised, e.g. 88.123
  identifier::IdentifierOptions identifier_options;
  bool top = false;
  // A secondary's answers for 0.NA/<its prefix> and 0.NA/<an allocated enterprise prefix>.
  std::string_view node_site_values;
  std::string_view prefix_site_values;
};

// Reused between resolutions by one thread, so the hot path does not allocate once warm.
struct ResolveBuffers {
  std::string key;              // the normalised handle
  std::string prefix_handle;    // 0.NA/<P> for a slash-less handle P
  std::string referral_handle;  // 0.NA/<prefix> while a top node looks for a referral
};

struct Resolution {
  // kFound (values to filter), kHandleNotFound, kInvalidHandle, kNotResponsible, kReferral or
  // kServerError.
  stats::Outcome outcome = stats::Outcome::kServerError;
  uint32_t response_code = 0;  // the Handle protocol's for it (1, 100, 102, 301, 302, 303, 2)
  // What was resolved: the handle as asked, or 0.NA/<P> for a slash-less P (what recursion
  // resolves). Views into the handle or the buffers.
  std::string_view asked;
  // kFound: the record's stored spelling (the handle as asked for a prefix answer made here);
  // kReferral: 0.NA/<prefix> of the record referred to.
  std::string_view handle;
  std::string_view values;  // kFound, kReferral: the encoded value list
  // The enterprise prefix the request is counted under, or empty: set for identifiers whose
  // prefix is allocated on this node, found or not, so per-prefix counts stay bounded by the
  // prefixes the node hosts. A view into the buffers.
  std::string_view counted_prefix;
  // kNotResponsible: the handle is outside what this node hosts, and recursion may resolve it.
  bool recursable = false;
  std::string message;  // for the outcomes other than kFound and kReferral: why, or ""
};

// `do_not_refer`: the client asked for "not responsible" rather than a referral (DNRF).
// The views of the result stay valid while `txn`, `rules`, `handle` and `buffers` do.
Resolution Resolve(const ResolveRules& rules, const store::ReadTxn& txn, std::string_view handle,
                   bool do_not_refer, ResolveBuffers& buffers);

}  // namespace idnode::query
