#pragma once

// Client-side helpers shared by idctl, the benchmarks and the integration tests: connecting,
// attaching the bearer token, and streaming batches through Registry.BatchCreate.

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>

#include "idnode/v1/idnode.grpc.pb.h"

namespace idnode::idctl {

struct ConnectOptions {
  std::string server = "127.0.0.1:2642";
  std::string tls_ca_file;  // when set, connect with TLS verifying against this CA
};

std::shared_ptr<grpc::Channel> Connect(const ConnectOptions& options);

// Adds `authorization: Bearer <token>` when the token is not empty.
void Authorize(grpc::ClientContext& context, const std::string& token);

// Streams batches over one BatchCreate call. `next` fills the next request (set batch_id and
// items) and returns false when there are no more; it runs on a sending thread. `on_response`
// runs on the calling thread for every response. Returns the call's final status.
grpc::Status StreamBatches(v1::Registry::Stub& stub, const std::string& token,
                           const std::function<bool(v1::BatchCreateRequest&)>& next,
                           const std::function<void(const v1::BatchCreateResponse&)>& on_response);

// "OK", "INVALID_ARGUMENT", ... for a google.rpc code.
std::string CodeName(int code);

}  // namespace idnode::idctl
