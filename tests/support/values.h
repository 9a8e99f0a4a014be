#pragma once

// Building Handle values in tests.

#include <cstdint>
#include <string>
#include <vector>

#include "registry/identifier/value.h"

namespace idnode::testing {

// A value with the given index, type and data and default ttl and permissions.
inline identifier::HandleValue MakeValue(uint32_t index, std::string type, std::string data) {
  identifier::HandleValue v;
  v.index = index;
  v.type = std::move(type);
  v.data = std::move(data);
  return v;
}

// The three values of `88.123.45/ABC-0001` in the reference server's reply of
// tests/support/handle_vectors.h: URL, EMAIL and HS_ADMIN, timestamps 0x65920080.
inline std::vector<identifier::HandleValue> ReferenceValues() {
  std::vector<identifier::HandleValue> values = {MakeValue(100, "HS_ADMIN", ""),
                                                 MakeValue(1, "URL", "http://example.com/abc-0001"),
                                                 MakeValue(2, "EMAIL", "ops@example.com")};
  std::string admin;
  admin += std::string("\x0f\xff", 2);          // admin permissions 0x0fff
  admin += std::string("\x00\x00\x00\x0f", 4);  // handle length 15
  admin += "88.123.45/ADMIN";
  admin += std::string("\x00\x00\x01\x2c", 4);  // index 300
  values[0].data = admin;
  for (identifier::HandleValue& v : values) v.timestamp = 0x65920080;
  return values;
}

}  // namespace idnode::testing
