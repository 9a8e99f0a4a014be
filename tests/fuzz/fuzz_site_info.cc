// Fuzz target: the HS_SITE decoder. What decodes must encode back to the same bytes.

#include <string>

#include "resolver/wire/wire.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  idnode::wire::SiteInfo site;
  if (idnode::wire::DecodeSiteInfo(bytes, site) != idnode::wire::WireError::kOk) return 0;
  FUZZ_CHECK(site.servers.size() <= idnode::wire::kMaxListItems);
  for (const auto& server : site.servers) FUZZ_CHECK(server.address.size() == 16);
  std::string encoded;
  idnode::wire::EncodeSiteInfo(site, encoded);
  FUZZ_CHECK(encoded == bytes);
  return 0;
}
