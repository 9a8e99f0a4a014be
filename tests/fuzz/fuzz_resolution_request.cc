// Fuzz target: the resolution request body decoder. What decodes must encode back to the bytes
// it was decoded from, up to the end of the type list (the format has one encoding; what follows
// the type list is ignored, as the reference decoder ignores it).

#include <string>

#include "resolver/wire/wire.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  idnode::wire::ResolutionRequest request;
  if (idnode::wire::DecodeResolutionRequest(body, request) != idnode::wire::WireError::kOk) {
    return 0;
  }
  FUZZ_CHECK(request.handle.size() <= idnode::wire::kMaxHandleBytes);
  FUZZ_CHECK(request.indexes.size() <= idnode::wire::kMaxListItems);
  FUZZ_CHECK(request.types.size() <= idnode::wire::kMaxListItems);
  std::string encoded;
  idnode::wire::EncodeResolutionRequest(request.handle, request.indexes, request.types, encoded);
  FUZZ_CHECK(encoded.size() <= body.size());
  FUZZ_CHECK(body.substr(0, encoded.size()) == encoded);
  return 0;
}
