#pragma once

// The front ends' worker threads: a name that `top -H` and `ps -T` show ("handle-udp-0"), and,
// when the operator asks for it (handle.realtime_priority), the SCHED_FIFO real-time policy, so
// that ordinary threads (the node's own, and kernel threads such as kcompactd or kdamond) cannot
// hold a worker off its core for milliseconds while requests wait. The kernel still keeps a share
// of each core for ordinary threads (RT throttling, or the fair server), so a saturated worker
// does not starve them outright.
//
// Thread-safe: call from the thread that created `thread`, before it is joined.

#include <string_view>
#include <thread>

#include "absl/status/status.h"

namespace idnode::net {

// Names `thread` (at most 15 bytes are kept) and, when realtime_priority is 1..99, sets
// SCHED_FIFO at that priority. PERMISSION_DENIED naming handle.realtime_priority when the process
// may not (it needs CAP_SYS_NICE or an RLIMIT_RTPRIO at least that high); INVALID_ARGUMENT for a
// priority outside 0..99.
absl::Status SetUpWorkerThread(std::thread& thread, std::string_view name, int realtime_priority);

}  // namespace idnode::net
