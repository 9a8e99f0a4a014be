#pragma once

// A mutex with a condition built in, annotated for clang's -Wthread-safety (the absl
// ABSL_GUARDED_BY / ABSL_EXCLUSIVE_LOCKS_REQUIRED attributes). It wraps std::mutex and
// std::condition_variable rather than using absl::Mutex because Debian's Abseil is built without
// ThreadSanitizer, which would then not see absl::Mutex's synchronisation and report every
// guarded access as a race; pthread mutexes it understands.
//
// The shape follows absl::Mutex: Await(object, &Class::Ready) waits until a const member
// predicate (which runs with the lock held) holds; every Unlock wakes the waiters to check
// again, so no separate notify is needed.

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "absl/base/thread_annotations.h"

namespace idnode {

class ABSL_LOCKABLE Mutex {
 public:
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mutex_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() {
    mutex_.unlock();
    changed_.notify_all();
  }

  // Waits, with the lock held (released while waiting), until `(object->*ready)()`.
  template <typename T>
  void Await(const T* object, bool (T::*ready)() const) ABSL_EXCLUSIVE_LOCKS_REQUIRED(this) {
    std::unique_lock<std::mutex> lock(mutex_, std::adopt_lock);
    changed_.wait(lock, [&] { return (object->*ready)(); });
    lock.release();
  }
  // The same for at most `timeout`; whether `ready` holds.
  template <typename T, typename Rep, typename Period>
  bool AwaitWithTimeout(const T* object, bool (T::*ready)() const,
                        std::chrono::duration<Rep, Period> timeout)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(this) {
    std::unique_lock<std::mutex> lock(mutex_, std::adopt_lock);
    const bool held = changed_.wait_for(lock, timeout, [&] { return (object->*ready)(); });
    lock.release();
    return held;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
};

// Holds `mutex` for its scope.
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mutex) ABSL_EXCLUSIVE_LOCK_FUNCTION(mutex) : mutex_(mutex) {
    mutex_->Lock();
  }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mutex_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mutex_;
};

}  // namespace idnode
