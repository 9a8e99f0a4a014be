// Fuzz target: the whole query processor (envelope, header, resolution and site-info requests,
// digests, replies) over a real LMDB store holding a few records. Whatever the input, the node
// either drops it or answers with a well-formed reply to the same request id.

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "registry/identifier/record.h"
#include "registry/identifier/value.h"
#include "resolver/query/query.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/support/write_access.h"

namespace {

using namespace idnode;

struct World {
  std::unique_ptr<store::Store> store;
  std::optional<store::ReadTxn> txn;
  std::unique_ptr<query::QueryProcessor> processor;
  query::QueryScratch scratch;
};

identifier::HandleValue Value(uint32_t index, std::string type, std::string data,
                              uint8_t permissions) {
  identifier::HandleValue value;
  value.index = index;
  value.type = std::move(type);
  value.data = std::move(data);
  value.permissions = permissions;
  value.timestamp = 1700000000;
  return value;
}

World& TheWorld() {
  static World* world = [] {
    auto* w = new World();
    std::string dir = std::filesystem::temp_directory_path() /
                      ("idnode-fuzz-query-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto store = store::Store::Open({dir, size_t{16} << 20});
    FUZZ_CHECK(store.ok());
    w->store = std::move(*store);
    auto txn = w->store->BeginWrite(store::WriteAccessForTests::Get());
    FUZZ_CHECK(txn.ok());
    auto put = [&](const std::string& id, std::vector<identifier::HandleValue> values) {
      auto encoded = identifier::EncodeValueList(std::move(values));
      FUZZ_CHECK(encoded.ok());
      FUZZ_CHECK(
          txn->Put(store::Db::kIds, id, identifier::EncodeRecord({1, 1, 1, id, "acme", *encoded}))
              .ok());
    };
    put("88.123.45/abc-0001", {Value(1, "URL", "http://example.com/abc-0001", 0x0e),
                               Value(2, "EMAIL", "ops@example.com", 0x0e),
                               Value(3, "URL.MIRROR", "http://mirror.example.com", 0x0e)});
    put("88.123.45/hidden", {Value(1, "URL", "https://internal", 0x0c)});
    put("88.123.45/big", {Value(1, "DATA", std::string(3000, 'x'), 0x0e)});
    FUZZ_CHECK(txn->Commit().ok());
    auto read = w->store->BeginRead();
    FUZZ_CHECK(read.ok());
    w->txn.emplace(std::move(*read));
    wire::SiteInfo site;
    site.servers.push_back({1, wire::SiteAddress(0x7f000001), "", {{2, 0, 2641}, {2, 1, 2641}}});
    std::string site_bytes;
    wire::EncodeSiteInfo(site, site_bytes);
    w->processor = std::make_unique<query::QueryProcessor>(query::QueryConfig{
        "88.123", identifier::IdentifierOptions{}, 1, site_bytes, false, "", "", {}});
    std::atexit([] {
      std::filesystem::remove_all(std::filesystem::temp_directory_path() /
                                  ("idnode-fuzz-query-" + std::to_string(::getpid())));
    });
    return w;
  }();
  return *world;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  World& world = TheWorld();
  std::string_view request(reinterpret_cast<const char*>(data), size);
  // Every other input also gets the datagram transport's bound on the reply size.
  const size_t max_reply = (size % 2 == 0) ? 1024 : 0;
  query::QueryOutcome outcome =
      world.processor->Process(request, *world.txn, world.scratch, max_reply);
  if (outcome == query::QueryOutcome::kDropped) return 0;
  wire::Envelope in, out;
  FUZZ_CHECK(wire::DecodeEnvelope(request, in) == wire::WireError::kOk);
  wire::Header header;
  std::string_view body;
  FUZZ_CHECK(wire::DecodeMessage(world.scratch.reply, out, header, body) == wire::WireError::kOk);
  FUZZ_CHECK(out.request_id == in.request_id);
  FUZZ_CHECK(header.response_code != 0);
  if (max_reply != 0 && outcome != query::QueryOutcome::kReplyTooLarge) {
    FUZZ_CHECK(world.scratch.reply.size() <= max_reply);
  }
  return 0;
}
