#pragma once

// Shapes shared by the unary handlers: authenticate, check the role, then either hand an op to
// the writer (which finishes the call once the change is durable) or answer from one read
// transaction. Private to api/grpc.

#include <grpcpp/grpcpp.h>

#include <memory>

#include "absl/status/statusor.h"
#include "api/grpc/auth.h"
#include "api/grpc/convert.h"
#include "api/grpc/services.h"

namespace idnode::rpc::internal {

using OpOrError = absl::StatusOr<std::unique_ptr<writer::WriteOp>>;

// Finishes the call with an error, or submits `make_op(principal, reactor)`, whose completion
// must finish `reactor`.
template <typename MakeOp>
grpc::ServerUnaryReactor* RunWrite(const ServiceEnv& env, grpc::CallbackServerContext* context,
                                   accounts::Role role, MakeOp make_op,
                                   const char* method = __builtin_FUNCTION()) {
  auto* reactor = context->DefaultReactor();
  auto principal = AuthenticateCall(env, *context, method);
  absl::Status status = principal.ok() ? RequireRole(*principal, role) : principal.status();
  if (status.ok()) {
    OpOrError op = make_op(*principal, reactor);
    status = op.ok() ? env.writer.Submit(*std::move(op)) : op.status();
  }
  if (!status.ok()) reactor->Finish(ToGrpc(status));
  return reactor;
}

// Runs `fn(txn) -> Status` in one read transaction and finishes the call with its status.
template <typename Fn>
grpc::ServerUnaryReactor* RunPublicRead(const ServiceEnv& env, grpc::CallbackServerContext* context,
                                        Fn fn) {
  auto* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpc([&]() -> absl::Status {
    auto txn = env.store.BeginRead();
    if (!txn.ok()) return txn.status();
    return fn(*txn);
  }()));
  return reactor;
}

// As RunPublicRead, after authenticating the caller and checking `role`:
// `fn(principal, txn) -> Status`.
template <typename Fn>
grpc::ServerUnaryReactor* RunRead(const ServiceEnv& env, grpc::CallbackServerContext* context,
                                  accounts::Role role, Fn fn,
                                  const char* method = __builtin_FUNCTION()) {
  auto principal = AuthenticateCall(env, *context, method);
  absl::Status status = principal.ok() ? RequireRole(*principal, role) : principal.status();
  if (!status.ok()) {
    auto* reactor = context->DefaultReactor();
    reactor->Finish(ToGrpc(status));
    return reactor;
  }
  return RunPublicRead(env, context,
                       [&](const store::ReadTxn& txn) { return fn(*principal, txn); });
}

}  // namespace idnode::rpc::internal
