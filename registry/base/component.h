#pragma once

// The long-lived parts of a node (docs/architecture.md §4, docs/contributing.md "Adding a
// component"). Each part (the store, the writer, the Handle front ends, the recursor, the gRPC
// server, the statistics flusher, the uploader, the federation client, the HTTP server) is a
// Component: it has a name, starts, stops in three phases, describes its own statistics and
// reports its own health. The node builds them in dependency order into a ComponentList, starts
// them in that order, and stops them phase by phase in the reverse order:
//
//   1. StopAccepting: take no new work (close listeners, stop reading requests);
//   2. Drain:         finish what is in flight, by the deadline (gRPC calls, recursive walks);
//   3. Close:         end the threads and release what the others no longer need (sockets,
//                     the last statistics flush, the writer's queue).
//
// Because every part has stopped accepting before any drains, and every part has drained before
// any closes, a part may use what a part built before it offers until its own Close: the
// recursor's replies go out over the front ends' sockets while it drains, and the last flush of
// resolution counts runs after every front end has answered its last request.
//
// Threads: Add, Start and Stop from one controlling thread; DescribeStats, CheckHealth and Find
// from any thread while the list is running (the list does not change once started).

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "registry/base/exception_guard.h"
#include "registry/base/stats_table.h"

namespace idnode {

// What /healthz shows: one named check each, "ok" or what is wrong.
class HealthReport {
 public:
  struct Check {
    std::string name;
    std::string problem;  // empty: ok
  };

  void Ok(std::string_view check) { checks_.push_back({std::string(check), {}}); }
  void Fail(std::string_view check, std::string problem);
  bool healthy() const;
  const std::vector<Check>& checks() const { return checks_; }

 private:
  std::vector<Check> checks_;
};

class Component {
 public:
  virtual ~Component() = default;

  // Names the part in logs and in /healthz ("writer", "handle").
  virtual std::string_view name() const = 0;
  // Begins serving or working. A failure stops the node's start; the list then stops every
  // part, started or not, so each phase must be safe on a part that never started.
  virtual absl::Status Start() { return absl::OkStatus(); }
  virtual void StopAccepting() {}
  virtual void Drain(std::chrono::steady_clock::time_point deadline) { (void)deadline; }
  virtual void Close() {}

  // Adds this part's samples (registry/base/stats_table.h).
  virtual void DescribeStats(MetricSink& sink) const { (void)sink; }
  // Adds this part's checks.
  virtual void CheckHealth(HealthReport& report) const { (void)report; }
  // The catch-alls of this part's threads, for the thread checks the list adds.
  virtual void ListGuards(std::vector<const ExceptionGuard*>& guards) const { (void)guards; }
};

// How long /healthz fails after a thread's catch-all caught an exception.
inline constexpr std::chrono::seconds kRecentException{60};

inline constexpr MetricFamily kThreadExceptions{
    "idnode_thread_exceptions_total", MetricType::kCounter,
    "Exceptions a long-lived thread caught and survived, by thread (each is logged)."};

class ComponentList {
 public:
  ComponentList() = default;
  ComponentList(const ComponentList&) = delete;
  ComponentList& operator=(const ComponentList&) = delete;
  // Stops what is still running and destroys the parts in the reverse order of their adding.
  ~ComponentList();

  // Appends a built part; it starts with the others in Start().
  template <typename Part>
  Part& Add(std::unique_ptr<Part> part) {
    Part& added = *part;
    parts_.push_back(std::move(part));
    return added;
  }

  // Starts every part in order; at the first failure, stops them all (in phases) and returns it,
  // prefixed with the part's name.
  absl::Status Start();
  // The three phases, each over every part in reverse order. Idempotent.
  void Stop(std::chrono::steady_clock::time_point deadline);

  // Every part's samples, then each thread's caught exceptions.
  void DescribeStats(MetricSink& sink) const;
  // Every part's checks, then "threads": failing while any thread caught an exception in the
  // last kRecentException.
  void CheckHealth(HealthReport& report, std::chrono::steady_clock::time_point now) const;

  // The first part of type Part, or nullptr (a part that is not configured is not built).
  template <typename Part>
  Part* Find() const {
    for (const auto& part : parts_) {
      if (auto* found = dynamic_cast<Part*>(part.get())) return found;
    }
    return nullptr;
  }
  // Every part that is (also) a Role, in the order of adding: the resolution counters of every
  // front end, whichever are configured.
  template <typename Role>
  std::vector<const Role*> All() const {
    std::vector<const Role*> out;
    for (const auto& part : parts_) {
      if (const auto* found = dynamic_cast<const Role*>(part.get())) out.push_back(found);
    }
    return out;
  }
  size_t size() const { return parts_.size(); }

 private:
  std::vector<std::unique_ptr<Component>> parts_;
  bool stopped_ = false;
};

}  // namespace idnode
