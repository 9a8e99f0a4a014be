#pragma once

// Shared by idctl's subcommands: global flags, calling the node with a deadline and the token,
// printing results as text or JSON, and reporting errors (code and message, non-zero exit).

#include <google/protobuf/message.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include "api/grpc/json.h"
#include "idnode/v1/idnode.grpc.pb.h"
#include "tools/idctl/client.h"

namespace idnode::idctl {

struct Globals {
  ConnectOptions connect;
  std::string token;
  bool json = false;
  double timeout_seconds = 30;
};

// The value of environment variable `name`, or `fallback` when unset or empty.
std::string EnvOr(const char* name, std::string fallback);
using rpc::ToJson;
// Prints "idctl: CODE: message" to stderr and returns the exit code 1.
int Report(const grpc::Status& status);
// Parses INDEX:TYPE:DATA (DATA may contain ':'); on failure sets `error`.
bool ParseValueSpec(const std::string& spec, v1::Value& out, std::string& error);
// Appends the parsed specs to `out` (with `ttl` when >= 0); prints the first error and returns
// false.
bool AddValues(const std::vector<std::string>& specs,
               google::protobuf::RepeatedPtrField<v1::Value>* out, int ttl);
void PrintValues(const google::protobuf::RepeatedPtrField<v1::Value>& values);
// UTC, ISO 8601.
std::string FormatTime(int64_t ms);

// Runs calls and prints their results according to the global flags.
class Cli {
 public:
  explicit Cli(Globals& globals) : g_(globals) {}

  template <typename Fn>
  int Call(Fn fn) {
    auto channel = Connect(g_.connect);
    grpc::ClientContext context;
    Authorize(context, g_.token);
    context.set_deadline(
        std::chrono::system_clock::now() +
        std::chrono::milliseconds(static_cast<int64_t>(g_.timeout_seconds * 1000)));
    return fn(channel, context);
  }

  // Prints `message` as JSON with --json, else runs `human`.
  template <typename Human>
  int Print(const google::protobuf::Message& message, Human human) {
    if (g_.json) {
      std::cout << ToJson(message) << "\n";
    } else {
      human();
    }
    return 0;
  }

  const Globals& globals() const { return g_; }

 private:
  Globals& g_;
};

}  // namespace idnode::idctl
