#pragma once

// Blocking submission, for background threads (the uploader, the federation client) that have
// nothing else to do until their small write is durable. Never call it from the writer thread or a
// gRPC callback.

#include <future>
#include <memory>

#include "absl/status/status.h"
#include "registry/writer/writer.h"

namespace idnode {

// `make(done)` builds an op that calls `done(status)` from its completion; this submits it and
// waits for the commit. The submission error when the writer refuses it.
template <typename MakeOp>
absl::Status SubmitAndWait(Writer& writer, MakeOp make) {
  auto done = std::make_shared<std::promise<absl::Status>>();
  std::future<absl::Status> result = done->get_future();
  absl::Status submitted =
      writer.Submit(make([done](absl::Status status) { done->set_value(std::move(status)); }));
  if (!submitted.ok()) return submitted;
  return result.get();
}

}  // namespace idnode
