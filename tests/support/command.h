#pragma once

// Runs a shell command for the process tests: its exit status and everything it printed.

#include <sys/wait.h>

#include <cstdio>
#include <string>
#include <utility>

namespace idnode::testing {

// Runs `command` through the shell; returns its exit status (-1 when it did not exit normally)
// and what it printed (stdout and stderr).
inline std::pair<int, std::string> RunCommand(const std::string& command) {
  std::string output;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {-1, output};
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

}  // namespace idnode::testing
