#include "registry/stats/metrics.h"

#include "registry/base/bytes.h"

namespace idnode::stats {

std::string CounterKey(Metric metric, uint32_t day, std::string_view scope) {
  std::string key;
  key.reserve(6 + scope.size());
  ByteWriter w(key);
  w.U16(static_cast<uint16_t>(metric));
  w.U32(day);
  w.Raw(scope);
  return key;
}

}  // namespace idnode::stats
