#include "resolver/query/resolve.h"

#include "registry/accounts/accounts.h"
#include "registry/base/strings.h"
#include "registry/identifier/record.h"
#include "registry/identifier/value.h"
#include "resolver/lookup/lookup.h"
#include "resolver/wire/wire.h"

namespace idnode::query {
namespace {

using stats::Outcome;

Resolution Failed(Resolution r, Outcome outcome, uint32_t code, std::string message) {
  r.outcome = outcome;
  r.response_code = code;
  r.message = std::move(message);
  return r;
}

// A record that does not decode, or a store that cannot be read: RC 1, never "not found".
Resolution StoreFailed(Resolution r, const absl::Status& status) {
  return Failed(std::move(r), Outcome::kServerError, wire::rc::kError,
                !store::IsStoreError(status) && status.code() == absl::StatusCode::kDataLoss
                    ? "stored record is malformed"
                    : "the store could not be read");
}

Resolution Values(Resolution r, std::string_view handle, std::string_view values) {
  r.outcome = Outcome::kFound;
  r.response_code = wire::rc::kSuccess;
  r.handle = handle;
  r.values = values;
  return r;
}

// Why a secondary node does not answer for `prefix` (the reference server says the prefix does
// not live there). Without recursion the client must ask the top node, which refers it onward.
Resolution NotHosted(Resolution r, const ResolveRules& rules, std::string_view prefix) {
  r.recursable = true;
  return Failed(
      std::move(r), Outcome::kNotResponsible, wire::rc::kServerNotResponsible,
      StrCat("prefix ", prefix, " is not hosted here: this node serves ", rules.node_prefix,
             " and the prefixes allocated under it; ask the top node"));
}

// A top node's answer for `prefix`, which it does not serve itself: a service referral (302) to
// the site of 0.NA/<prefix> when `exact` and that record exists, else a prefix referral (303) to
// the site of the nearest parent whose record is derived (carries HS_SITE.PREFIX), else not
// found. With do-not-refer set, 301 instead of a referral.
Resolution Refer(Resolution r, const store::ReadTxn& txn, std::string_view prefix, bool exact,
                 bool do_not_refer, ResolveBuffers& buffers) {
  static constexpr std::string_view kPrefixSite[] = {identifier::kPrefixSiteType};
  const lookup::ResolveFilter derived_only{{}, kPrefixSite, /*public_only=*/true};
  for (std::string_view candidate = prefix; !candidate.empty();) {
    std::string& handle = buffers.referral_handle;
    handle.assign(identifier::kNaPrefix);
    handle.push_back('/');
    handle.append(candidate);
    auto found = identifier::IdentifierTable::Get(txn, handle);
    if (!found.ok()) return StoreFailed(std::move(r), found.status());
    const bool is_exact = candidate.size() == prefix.size();
    if (found->has_value() && (is_exact ? exact : true)) {
      const std::string_view values = (*found)->values;
      auto derived =
          ForEachMatchingValue(values, derived_only, [](const identifier::EncodedValue&) {});
      if (is_exact || (derived.ok() && *derived > 0)) {
        if (do_not_refer) {
          return Failed(std::move(r), Outcome::kNotResponsible, wire::rc::kServerNotResponsible,
                        "not served here; the client asked not to be referred");
        }
        r.outcome = Outcome::kReferral;
        r.response_code = is_exact ? wire::rc::kServiceReferral : wire::rc::kPrefixReferral;
        r.handle = handle;
        r.values = values;
        return r;
      }
    }
    const size_t dot = candidate.rfind('.');
    candidate = dot == std::string_view::npos ? std::string_view() : candidate.substr(0, dot);
  }
  return Failed(std::move(r), Outcome::kHandleNotFound, wire::rc::kHandleNotFound,
                "no prefix record at this top node");
}

// 0.NA/<prefix>: a top node answers its stored prefix records and refers (303) below a derived
// prefix; a secondary node answers for its own prefix and the enterprise prefixes it allocated,
// with its HS_SITE.
Resolution PrefixHandle(Resolution r, const ResolveRules& rules, const store::ReadTxn& txn,
                        size_t slash, bool do_not_refer, ResolveBuffers& buffers) {
  // Prefixes are case-insensitive whatever the suffix rule: 0.NA/88.abc is 0.NA/88.ABC.
  identifier::AsciiUpperInPlace(buffers.key);
  const std::string_view key = buffers.key;
  const std::string_view target = key.substr(slash + 1);
  if (rules.top) {
    auto found = identifier::IdentifierTable::Get(txn, key);
    if (!found.ok()) return StoreFailed(std::move(r), found.status());
    if (found->has_value()) return Values(std::move(r), (*found)->original, (*found)->values);
    return Refer(std::move(r), txn, target, /*exact=*/false, do_not_refer, buffers);
  }
  std::string_view values;
  if (target == rules.node_prefix) {
    values = rules.node_site_values;
  } else if (identifier::IsSameOrUnderPrefix(target, rules.node_prefix)) {
    auto allocated = accounts::PrefixTable::Contains(txn, target);
    if (!allocated.ok()) return StoreFailed(std::move(r), allocated.status());
    if (!*allocated) {
      return Failed(std::move(r), Outcome::kHandleNotFound, wire::rc::kHandleNotFound,
                    StrCat("prefix ", target, " is not allocated at this node"));
    }
    values = rules.prefix_site_values;
  }
  if (values.empty()) return NotHosted(std::move(r), rules, target);
  const std::string_view asked = r.asked;
  return Values(std::move(r), asked, values);
}

}  // namespace

Resolution Resolve(const ResolveRules& rules, const store::ReadTxn& txn, std::string_view handle,
                   bool do_not_refer, ResolveBuffers& buffers) {
  Resolution r;
  // A handle without a slash names a prefix: P is 0.NA/P, as the reference server reads it
  // (id-pointer-sdk looks enterprise prefixes up this way).
  r.asked = handle;
  if (handle.find('/') == std::string_view::npos) {
    buffers.prefix_handle.assign(identifier::kNaPrefix);
    buffers.prefix_handle.push_back('/');
    buffers.prefix_handle.append(handle);
    r.asked = buffers.prefix_handle;
  }
  size_t slash = 0;
  absl::Status valid = identifier::NormalizeIdentifierInto(r.asked, rules.identifier_options,
                                                           "handle", buffers.key, slash);
  if (!valid.ok()) {
    return Failed(std::move(r), Outcome::kInvalidHandle, wire::rc::kInvalidHandle,
                  std::string(ToStd(valid.message())));
  }
  const std::string_view key = buffers.key;
  const std::string_view prefix = key.substr(0, slash);
  if (prefix == identifier::kNaPrefix) {
    return PrefixHandle(std::move(r), rules, txn, slash, do_not_refer, buffers);
  }
  if (rules.top) {
    // Everything below a top node's prefix is a node's, except what it allocated itself.
    auto allocated = accounts::PrefixTable::Contains(txn, prefix);
    if (!allocated.ok()) return StoreFailed(std::move(r), allocated.status());
    if (!*allocated) {
      return Refer(std::move(r), txn, prefix, /*exact=*/true, do_not_refer, buffers);
    }
  } else if (!identifier::IsSameOrUnderPrefix(prefix, rules.node_prefix)) {
    return NotHosted(std::move(r), rules, prefix);
  }
  auto found = identifier::IdentifierTable::Get(txn, key);
  if (!found.ok()) {
    r.counted_prefix = prefix;
    return StoreFailed(std::move(r), found.status());
  }
  if (!found->has_value()) {
    std::string message;         // none where the prefix is allocated, as the reference server's
    bool allocated = rules.top;  // a top node's prefix was found allocated above
    if (!allocated) {
      auto contains = accounts::PrefixTable::Contains(txn, prefix);
      if (!contains.ok()) return StoreFailed(std::move(r), contains.status());
      allocated = *contains;
    }
    if (allocated) {
      r.counted_prefix = prefix;
    } else {
      // Under this node's prefix but not allocated: this node answers for that namespace, and
      // the handle does not exist (the prefix may be allocated later), so 100, not 301.
      message = StrCat("prefix ", prefix, " is not allocated at this node");
    }
    return Failed(std::move(r), Outcome::kHandleNotFound, wire::rc::kHandleNotFound,
                  std::move(message));
  }
  r.counted_prefix = prefix;  // a registered identifier's prefix is allocated
  return Values(std::move(r), (*found)->original, (*found)->values);
}

}  // namespace idnode::query
