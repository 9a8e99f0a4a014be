#pragma once

// Building Handle values in tests.

#include <cstdint>
#include <string>

#include "registry/identifier/value.h"

namespace idnode::testing {

// A value with the given index, type and data and default ttl and permissions.
inline HandleValue MakeValue(uint32_t index, std::string type, std::string data) {
  HandleValue v;
  v.index = index;
  v.type = std::move(type);
  v.data = std::move(data);
  return v;
}

}  // namespace idnode::testing
