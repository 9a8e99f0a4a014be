// A stand-in for libFuzzer's driver, for builds without clang: it runs every file of the corpus
// directories given on the command line through LLVMFuzzerTestOneInput, then mutates them
// (bit flips, byte changes, insertions, deletions, truncations, splices, "interesting" 32-bit
// values at random offsets) for -runs=N inputs or -max_total_time=S seconds, whichever comes
// first, with a fixed -seed, so a failure can be replayed. It accepts libFuzzer's flag syntax so
// CTest passes the same arguments to both builds. A crash fails the test; the input that caused
// it is written to crash-input in the working directory first.

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

// The input being run, for the crash handler.
const char* current_data = nullptr;
size_t current_size = 0;

void OnCrash(int signal_number) {
  int fd = open("crash-input", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    ssize_t ignored = write(fd, current_data, current_size);
    (void)ignored;
    close(fd);
  }
  static const char kMessage[] = "standalone fuzz driver: crashed; input saved to crash-input\n";
  ssize_t ignored = write(2, kMessage, sizeof kMessage - 1);
  (void)ignored;
  signal(signal_number, SIG_DFL);
  raise(signal_number);
}

std::vector<std::string> ReadCorpus(const std::vector<std::string>& dirs) {
  std::vector<std::string> corpus;
  for (const std::string& dir : dirs) {
    if (!std::filesystem::is_directory(dir)) continue;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      corpus.emplace_back((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    }
  }
  return corpus;
}

void Mutate(std::string& input, const std::vector<std::string>& corpus, std::mt19937_64& random) {
  auto below = [&](size_t n) { return n == 0 ? 0 : static_cast<size_t>(random() % n); };
  static constexpr uint32_t kInteresting[] = {
      0,       1,          0x7f,       0x80,       0xff, 0x100, 0x7fff, 0xffff,
      0x10000, 0x7fffffff, 0x80000000, 0xffffffff, 492,  512,   2048,   262144};
  int steps = 1 + static_cast<int>(below(4));
  for (int step = 0; step < steps; ++step) {
    switch (below(7)) {
      case 0:
        if (!input.empty()) input[below(input.size())] ^= static_cast<char>(1 << below(8));
        break;
      case 1:
        if (!input.empty()) input[below(input.size())] = static_cast<char>(random());
        break;
      case 2:
        input.insert(below(input.size() + 1), 1 + below(8), static_cast<char>(random()));
        break;
      case 3:
        if (!input.empty()) input.erase(below(input.size()), 1 + below(8));
        break;
      case 4:
        input.resize(below(input.size() + 1));
        break;
      case 5: {
        const std::string& other = corpus[below(corpus.size())];
        size_t at = below(input.size() + 1);
        size_t from = below(other.size() + 1);
        input = input.substr(0, at) + other.substr(from);
        break;
      }
      default: {
        if (input.size() < 4) break;
        uint32_t value = kInteresting[below(std::size(kInteresting))];
        size_t at = below(input.size() - 3);
        for (int i = 0; i < 4; ++i) input[at + i] = static_cast<char>(value >> (24 - 8 * i));
        break;
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t runs = 100000, seed = 1;
  double seconds = 10;
  std::vector<std::string> dirs;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("-runs=", 0) == 0) {
      runs = std::stoull(arg.substr(6));
    } else if (arg.rfind("-max_total_time=", 0) == 0) {
      seconds = std::stod(arg.substr(16));
    } else if (arg.rfind("-seed=", 0) == 0) {
      seed = std::stoull(arg.substr(6));
    } else if (arg.rfind("-", 0) == 0) {
      continue;  // other libFuzzer flags do not apply here
    } else {
      dirs.push_back(arg);
    }
  }
  std::vector<std::string> corpus = ReadCorpus(dirs);
  if (corpus.empty()) corpus.emplace_back();
  for (int signal_number : {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL}) {
    signal(signal_number, OnCrash);
  }
  auto run = [](const std::string& input) {
    current_data = input.data();
    current_size = input.size();
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  };
  for (const std::string& input : corpus) run(input);
  std::mt19937_64 random(seed);
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  uint64_t done = 0;
  std::string input;
  for (; done < runs && std::chrono::steady_clock::now() < end; ++done) {
    input = corpus[static_cast<size_t>(random() % corpus.size())];
    Mutate(input, corpus, random);
    run(input);
  }
  std::printf("standalone fuzz driver: %zu corpus inputs, %llu mutated inputs, seed %llu\n",
              corpus.size(), static_cast<unsigned long long>(done),
              static_cast<unsigned long long>(seed));
  return 0;
}
