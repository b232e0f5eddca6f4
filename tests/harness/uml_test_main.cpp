// main() of the test binaries registered with ward_uml_test (cmake/WardTargets.cmake). Run on the
// host (by ctest), the binary boots a User-mode Linux kernel once (uml_kernel.h) and runs itself
// inside it with the same arguments, printing the inner run's output as it comes; inside, it runs
// its tests. The exit status is the inner run's; 77 (ctest: skipped) where UML cannot run, with the
// reason. WARD_UML_LIMIT_SECONDS overrides how long the kernel may run (default 540 s).
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <thread>

#include <gtest/gtest.h>

#include "tests/harness/uml_kernel.h"

namespace {

constexpr int kSkipped = 77;

// Copies what the inner run writes to `file` to stdout until `done`.
void follow(const std::filesystem::path& file, const std::atomic<bool>& done) {
  std::streamoff printed = 0;
  for (;;) {
    const bool last = done.load();
    std::ifstream in(file, std::ios::binary);
    if (in) {
      in.seekg(printed);
      std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      printed += static_cast<std::streamoff>(chunk.size());
      std::cout << chunk << std::flush;
    }
    if (last) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

std::string shell_quoted(const std::string& text) {
  std::string out = "'";
  for (const char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

int main(int argc, char** argv) {
  if (ward::test::inside_uml()) {
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
  }
  if (auto why = ward::test::uml_unavailable()) {
    std::cout << "SKIPPED: these tests run inside User-mode Linux, which cannot run here: " << *why << "\n";
    return kSkipped;
  }
  auto dir = ward::test::TempDir::create("uml-tests");
  if (!dir) {
    std::cerr << dir.error().to_string() << "\n";
    return 1;
  }
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const auto here = std::filesystem::current_path(ec);
  std::string command = "cd " + shell_quoted(here.string()) + " && exec " + shell_quoted(self.string());
  for (int i = 1; i < argc; ++i) command += " " + shell_quoted(argv[i]);
  ward::test::UmlOptions options;
  options.script = command + "\n";
  for (const char* name : {"WARD_SOURCE_DIR", "TMPDIR", "GTEST_FILTER", "GTEST_COLOR"}) {
    if (const char* value = std::getenv(name)) options.environment[name] = value;
  }
  if (const char* limit = std::getenv("WARD_UML_LIMIT_SECONDS")) options.limit = std::chrono::seconds(std::atoi(limit));
  std::cout << "Running inside User-mode Linux (" << ward::test::kUmlKernel << "), run directory " << dir->path() << "\n"
            << std::flush;
  std::atomic<bool> done{false};
  std::thread printer(follow, dir->path() / "script.out", std::cref(done));
  auto run = ward::test::run_in_uml(options, dir->path());
  done = true;
  printer.join();
  if (!run) {
    std::cerr << run.error().to_string() << "\n";
    return 1;
  }
  std::cout << "User-mode Linux: boot and modules " << run->boot.count() << " ms, whole run " << run->total.count() << " ms\n";
  if (run->exit_status != 0) {
    std::cout << (run->timed_out ? "the kernel was killed after the time limit\n" : "") << "UML console (tail):\n"
              << ward::test::file_tail(run->console, 3000) << "\n";
  }
  return run->exit_status == 0 ? 0 : (run->exit_status > 0 ? run->exit_status : 1);
}
