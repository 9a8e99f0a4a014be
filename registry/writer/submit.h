#pragma once

// Blocking submission, for background threads (the uploader, the federation client) that have
// nothing else to do until their small write is durable. Never call it from the writer thread or a
// gRPC callback.

#include <future>
#include <memory>

#include "absl/status/status.h"
#include "registry/writer/writer.h"

namespace idnode::writer {

// `make(done)` builds an op that calls `done(result)` from its completion (`Result`: a Status or
// a StatusOr); this submits it and waits for the commit. The submission error when the writer
// refuses it.
template <typename Result = absl::Status, typename MakeOp>
Result SubmitAndWait(Writer& writer, MakeOp make) {
  auto done = std::make_shared<std::promise<Result>>();
  std::future<Result> result = done->get_future();
  absl::Status submitted =
      writer.Submit(make([done](Result outcome) { done->set_value(std::move(outcome)); }));
  if (!submitted.ok()) return submitted;
  return result.get();
}

}  // namespace idnode::writer
