#include "tools/idctl/client.h"

#include <fstream>
#include <sstream>
#include <thread>

namespace idnode::idctl {

std::shared_ptr<grpc::Channel> Connect(const ConnectOptions& options) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options.tls_ca_file.empty()) {
    credentials = grpc::InsecureChannelCredentials();
  } else {
    std::ifstream in(options.tls_ca_file);
    std::stringstream pem;
    pem << in.rdbuf();
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = pem.str();
    credentials = grpc::SslCredentials(ssl);
  }
  return grpc::CreateCustomChannel(options.server, credentials, args);
}

void Authorize(grpc::ClientContext& context, const std::string& token) {
  if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
}

grpc::Status StreamBatches(v1::Registry::Stub& stub, const std::string& token,
                           const std::function<bool(v1::BatchCreateRequest&)>& next,
                           const std::function<void(const v1::BatchCreateResponse&)>& on_response) {
  grpc::ClientContext context;
  Authorize(context, token);
  auto stream = stub.BatchCreate(&context);
  std::thread sender([&] {
    v1::BatchCreateRequest request;
    while (true) {
      request.Clear();
      if (!next(request)) break;
      if (!stream->Write(request)) break;  // the server ended the call; Finish() says why
    }
    stream->WritesDone();
  });
  v1::BatchCreateResponse response;
  while (stream->Read(&response)) on_response(response);
  grpc::Status status = stream->Finish();
  sender.join();
  return status;
}

std::string CodeName(int code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  if (code >= 0 && code < static_cast<int>(std::size(kNames))) return kNames[code];
  return "CODE_" + std::to_string(code);
}

}  // namespace idnode::idctl
