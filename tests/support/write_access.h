#pragma once

// Write transactions for tests that build a store's contents by hand, outside the writer (the
// store's own tests, fixtures of the query processor and the fuzzers). Nothing but tests
// includes this.

#include "registry/store/store.h"

namespace idnode::store {

struct WriteAccessForTests {
  static WriteAccess Get() { return WriteAccess(); }
};

}  // namespace idnode::store
