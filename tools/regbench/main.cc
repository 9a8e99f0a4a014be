// regbench: registration benchmarks against a running node.
//   regbench stream  --count N --batch B      durable registrations/s through BatchCreate
//   regbench latency --count N [--with-stream] single-create latency, optionally while another
//                                              client streams batches
//   regbench jsonl   --count N --out FILE     writes an import file for `idctl import`
// Every identifier carries 3 values (URL, EMAIL, an industry attribute).

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>

#include "tools/idctl/client.h"

namespace {

using namespace idnode;
using Clock = std::chrono::steady_clock;

void Fill(v1::CreateRequest& item, const std::string& identifier) {
  item.set_identifier(identifier);
  v1::Value* v = item.add_values();
  v->set_index(1);
  v->set_type("URL");
  v->set_data("https://example.com/p/" + identifier);
  v = item.add_values();
  v->set_index(2);
  v->set_type("EMAIL");
  v->set_data("ops@example.com");
  v = item.add_values();
  v->set_index(2001);
  v->set_type("MODEL");
  v->set_data("PUMP-X200");
}

struct StreamResult {
  uint64_t ok = 0;
  uint64_t failed = 0;
  double seconds = 0;
  std::string error;
};

StreamResult Stream(const idctl::ConnectOptions& connect, const std::string& token,
                    const std::string& base, uint64_t count, int batch,
                    const std::atomic<bool>* stop = nullptr) {
  auto stub = v1::Registry::NewStub(idctl::Connect(connect));
  StreamResult result;
  uint64_t next = 0, batch_id = 0;
  auto start = Clock::now();
  grpc::Status status = idctl::StreamBatches(
      *stub, token,
      [&](v1::BatchCreateRequest& request) {
        if (next >= count || (stop && stop->load())) return false;
        request.set_batch_id(++batch_id);
        for (int i = 0; i < batch && next < count; ++i, ++next) {
          Fill(*request.add_items(), base + std::to_string(next));
        }
        return true;
      },
      [&](const v1::BatchCreateResponse& response) {
        for (const auto& r : response.results()) (r.code() == 0 ? result.ok : result.failed)++;
      });
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (!status.ok()) result.error = status.error_message();
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"regbench: idnode registration benchmarks"};
  app.require_subcommand(1);
  idctl::ConnectOptions connect;
  std::string token, prefix = "88.123.45", out;
  uint64_t count = 1'000'000;
  int batch = 1000;
  bool with_stream = false;
  app.add_option("-s,--server", connect.server);
  app.add_option("-t,--token", token, "registrant token");
  app.add_option("--prefix", prefix, "enterprise prefix owned by the token's account");
  app.add_option("--count", count);
  std::string run_tag =
      std::to_string(std::chrono::system_clock::now().time_since_epoch().count() % 1'000'000'000);

  auto* stream = app.add_subcommand("stream", "durable registrations per second");
  stream->add_option("--batch", batch);
  std::string name_base;
  stream->add_option("--name-base", name_base,
                     "register NAME_BASE0, NAME_BASE1, ... (default PREFIX/S<run>-)");
  stream->callback([&] {
    std::string base = name_base.empty() ? prefix + "/S" + run_tag + "-" : name_base;
    StreamResult r = Stream(connect, token, base, count, batch);
    std::printf("stream: %llu registered, %llu failed in %.2f s = %.0f registrations/s%s%s\n",
                static_cast<unsigned long long>(r.ok), static_cast<unsigned long long>(r.failed),
                r.seconds, r.ok / r.seconds, r.error.empty() ? "" : "; error: ", r.error.c_str());
  });

  auto* latency = app.add_subcommand("latency", "single-create latency");
  latency->add_flag("--with-stream", with_stream, "while another client streams batches");
  latency->callback([&] {
    std::atomic<bool> stop{false};
    std::thread background;
    StreamResult background_result;
    if (with_stream) {
      background = std::thread([&] {
        background_result =
            Stream(connect, token, prefix + "/BG" + run_tag + "-", UINT64_MAX, 1000, &stop);
      });
      std::this_thread::sleep_for(std::chrono::seconds(1));  // let the stream reach steady state
    }
    auto stub = v1::Registry::NewStub(idctl::Connect(connect));
    std::vector<double> ms;
    for (uint64_t i = 0; i < count; ++i) {
      v1::CreateRequest request;
      Fill(request, prefix + "/L" + run_tag + "-" + std::to_string(i));
      grpc::ClientContext context;
      idctl::Authorize(context, token);
      v1::CreateResponse response;
      auto start = Clock::now();
      grpc::Status status = stub->Create(&context, request, &response);
      ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
      if (!status.ok()) {
        std::fprintf(stderr, "create failed: %s\n", status.error_message().c_str());
        break;
      }
    }
    stop = true;
    if (background.joinable()) background.join();
    std::sort(ms.begin(), ms.end());
    auto pct = [&](double p) {
      return ms.empty() ? 0 : ms[static_cast<size_t>(p * (ms.size() - 1))];
    };
    std::printf("latency%s: %zu creates, p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n",
                with_stream ? " (while streaming)" : "", ms.size(), pct(0.5), pct(0.9), pct(0.99),
                ms.empty() ? 0 : ms.back());
    if (with_stream) {
      std::printf("  background stream: %.0f registrations/s\n",
                  background_result.ok / background_result.seconds);
    }
  });

  auto* jsonl = app.add_subcommand("jsonl", "write a JSON Lines import file");
  jsonl->add_option("--out", out)->required();
  jsonl->callback([&] {
    std::ofstream file(out);
    for (uint64_t i = 0; i < count; ++i) {
      std::string id = prefix + "/J" + run_tag + "-" + std::to_string(i);
      file << R"({"identifier":")" << id
           << R"(","values":[{"index":1,"type":"URL","data":"https://example.com/p/)" << id
           << R"("},{"index":2,"type":"EMAIL","data":"ops@example.com"},)"
           << R"({"index":2001,"type":"MODEL","data":"PUMP-X200"}]})" << '\n';
    }
  });

  CLI11_PARSE(app, argc, argv);
  return 0;
}
