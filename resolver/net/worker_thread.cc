#include "resolver/net/worker_thread.h"

#include <pthread.h>
#include <sched.h>

#include <cstring>
#include <string>

#include "registry/base/strings.h"
#include "registry/base/thread_name.h"

namespace idnode::net {

absl::Status SetUpWorkerThread(std::thread& thread, std::string_view name, int realtime_priority) {
  NameThread(thread, name);
  if (realtime_priority == 0) return absl::OkStatus();
  if (realtime_priority < 0 || realtime_priority > sched_get_priority_max(SCHED_FIFO)) {
    return absl::InvalidArgumentError(
        StrCat("handle.realtime_priority: ", realtime_priority, " is not 0 (off) .. 99"));
  }
  sched_param param{};
  param.sched_priority = realtime_priority;
  if (int error = pthread_setschedparam(thread.native_handle(), SCHED_FIFO, &param); error != 0) {
    return absl::PermissionDeniedError(
        StrCat("handle.realtime_priority: cannot run ", name, " under SCHED_FIFO priority ",
               realtime_priority, ": ", std::strerror(error),
               " (the node needs CAP_SYS_NICE, or an RLIMIT_RTPRIO of at least ", realtime_priority,
               ", e.g. LimitRTPRIO= in its systemd unit; or set 0 to turn it off)"));
  }
  return absl::OkStatus();
}

}  // namespace idnode::net
