#pragma once

// Names a thread as `top -H`, `ps -T` and /proc/<pid>/task/<tid>/comm show it, so an operator can
// tell the node's writer, flusher, uploader and front-end workers apart. Linux keeps 15 bytes.
//
// Thread-safe: call from the thread that created `thread`, before it is joined.

#include <pthread.h>

#include <string>
#include <string_view>
#include <thread>

namespace idnode {

inline void NameThread(std::thread& thread, std::string_view name) {
  const std::string kept(name.substr(0, 15));
  // A name is a convenience: a failure (never expected on Linux) changes nothing else.
  (void)pthread_setname_np(thread.native_handle(), kept.c_str());
}

}  // namespace idnode
