#include "registry/base/component.h"

#include "registry/base/strings.h"

namespace idnode {

void HealthReport::Fail(std::string_view check, std::string problem) {
  if (problem.empty()) problem = "failing";
  checks_.push_back({std::string(check), std::move(problem)});
}

bool HealthReport::healthy() const {
  for (const Check& check : checks_) {
    if (!check.problem.empty()) return false;
  }
  return true;
}

ComponentList::~ComponentList() {
  Stop(std::chrono::steady_clock::now() + std::chrono::seconds(1));
  while (!parts_.empty()) parts_.pop_back();
}

absl::Status ComponentList::Start() {
  for (const auto& part : parts_) {
    absl::Status started = part->Start();
    if (!started.ok()) {
      Stop(std::chrono::steady_clock::now() + std::chrono::seconds(1));
      return absl::Status(started.code(), StrCat(part->name(), ": ", ToStd(started.message())));
    }
  }
  return absl::OkStatus();
}

void ComponentList::Stop(std::chrono::steady_clock::time_point deadline) {
  if (stopped_) return;
  stopped_ = true;
  for (auto part = parts_.rbegin(); part != parts_.rend(); ++part) (*part)->StopAccepting();
  for (auto part = parts_.rbegin(); part != parts_.rend(); ++part) (*part)->Drain(deadline);
  for (auto part = parts_.rbegin(); part != parts_.rend(); ++part) (*part)->Close();
}

void ComponentList::DescribeStats(MetricSink& sink) const {
  std::vector<const ExceptionGuard*> guards;
  for (const auto& part : parts_) {
    part->DescribeStats(sink);
    part->ListGuards(guards);
  }
  for (const ExceptionGuard* guard : guards) {
    sink.Add(kThreadExceptions, {{"thread", guard->thread()}}, guard->stats().exceptions);
  }
}

void ComponentList::CheckHealth(HealthReport& report,
                                std::chrono::steady_clock::time_point now) const {
  std::vector<const ExceptionGuard*> guards;
  for (const auto& part : parts_) {
    part->CheckHealth(report);
    part->ListGuards(guards);
  }
  // A thread's catch-all that caught an exception lately: the thread went on, but something is
  // wrong that an operator should look at.
  std::string threads;
  for (const ExceptionGuard* guard : guards) {
    const CaughtStats caught = guard->stats();
    if (caught.exceptions == 0 || now - caught.last > kRecentException) continue;
    const auto ago = std::chrono::duration_cast<std::chrono::seconds>(now - caught.last);
    if (!threads.empty()) threads += "; ";
    threads += StrCat(guard->thread(), ": ", caught.exceptions, " exception(s), the last ",
                      ago.count(), " s ago: ", caught.last_error);
  }
  if (threads.empty()) {
    report.Ok("threads");
  } else {
    report.Fail("threads", std::move(threads));
  }
}

}  // namespace idnode
