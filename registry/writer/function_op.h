#pragma once

// The one generic write operation: a function applied in the writer's transaction, whose result
// reaches `done` once the transaction is durable (or the store failure that aborted it). Every
// operation that is one check-then-write step uses it (accounts, tokens, prefixes, templates,
// federation, uploads); operations with their own batching or bounds (CreateOp, the stats
// flusher's FlushOp) implement WriteOp themselves.
//
// Threads: constructed anywhere; Apply runs on the writer thread; `done` on the writer thread
// after the commit.

#include <functional>
#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "registry/store/store.h"
#include "registry/writer/writer.h"

namespace idnode::writer {

// Runs `apply` in the writer and hands its result to `done` once durable. `apply` must check
// before it writes; an error it returns that is not a store error is the caller's outcome (the
// transaction still commits the batch's other operations), a store error aborts the batch.
// `apply` may run more than once (after map growth); the last run's result counts.
template <typename T>
class FunctionOp final : public WriteOp {
 public:
  using ApplyFn = std::function<absl::StatusOr<T>(WriteContext&)>;
  using DoneFn = std::function<void(absl::StatusOr<T>)>;
  FunctionOp(ApplyFn apply, DoneFn done) : apply_(std::move(apply)), done_(std::move(done)) {}

  absl::Status Apply(WriteContext& context) override {
    result_ = apply_(context);
    if (!result_.ok() && store::IsStoreError(result_.status())) return result_.status();
    return absl::OkStatus();
  }
  void Done(const absl::Status& store_status) override {
    done_(store_status.ok() ? std::move(result_) : absl::StatusOr<T>(store_status));
  }

 private:
  ApplyFn apply_;
  DoneFn done_;
  absl::StatusOr<T> result_ = absl::UnknownError("not applied");
};

template <typename T>
std::unique_ptr<WriteOp> MakeFunctionOp(typename FunctionOp<T>::ApplyFn apply,
                                        typename FunctionOp<T>::DoneFn done) {
  return std::make_unique<FunctionOp<T>>(std::move(apply), std::move(done));
}

// For an operation whose caller wants only its status: `done` gets the outcome (OK, or the
// error `apply` returned) or the store failure.
inline FunctionOp<bool>::DoneFn StatusOnly(std::function<void(absl::Status)> done) {
  return [done = std::move(done)](absl::StatusOr<bool> result) { done(result.status()); };
}

}  // namespace idnode::writer
