// Fuzz target: what a client decodes from a server (envelope, header, request digest, error
// message, resolution values, HS_SITE), as client::DecodeReply does for idctl and the walk.
// The first byte picks the opcode the reply is read as.

#include <string>

#include "resolver/client/handle_client.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint32_t opcode =
      (data[0] & 1) != 0 ? idnode::wire::opcode::kGetSiteInfo : idnode::wire::opcode::kResolution;
  std::string_view whole(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto reply = idnode::client::DecodeReply(whole, opcode);
  if (!reply.ok()) {
    FUZZ_CHECK(!reply.status().message().empty());
    return 0;
  }
  FUZZ_CHECK(reply->envelope.message_length + idnode::wire::kEnvelopeBytes == whole.size());
  FUZZ_CHECK(reply->values.size() <= idnode::wire::kMaxListItems);
  return 0;
}
