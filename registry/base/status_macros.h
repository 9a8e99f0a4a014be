#pragma once

// RETURN_IF_ERROR / ASSIGN_OR_RETURN for absl::Status and absl::StatusOr. Debian 12's Abseil
// (20220623) does not ship them.

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define IDNODE_CONCAT_INNER(a, b) a##b
#define IDNODE_CONCAT(a, b) IDNODE_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                     \
  do {                                            \
    if (::absl::Status _st = (expr); !_st.ok()) { \
      return _st;                                 \
    }                                             \
  } while (false)

#define ASSIGN_OR_RETURN(lhs, expr) \
  IDNODE_ASSIGN_OR_RETURN_IMPL(IDNODE_CONCAT(_status_or_, __LINE__), lhs, expr)

#define IDNODE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) {                                   \
    return std::move(tmp).status();                  \
  }                                                  \
  lhs = std::move(tmp).value()
