// Test support: a sanitizer report written by a child process fails the test that started
// it (the sanitizer presets rely on this for medgate and the services under test).
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "tests/support/process.hpp"

namespace medgate::testing {
namespace {

// Writes a report where the sanitizer runtime would (log_path=P gives P.<pid>), then exits.
void run_child_that_reports() {
  ChildProcess child({"/bin/sh", "-c",
                      "p=${ASAN_OPTIONS##*log_path=}; "
                      "echo 'ERROR: AddressSanitizer: heap-use-after-free (fake)' > \"$p.$$\""},
                     "/tmp/medgate-child-process-test.log");
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (child.running() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

TEST(ChildProcess, ASanitizerReportOfTheChildFailsTheTest) {
  EXPECT_NONFATAL_FAILURE(run_child_that_reports(), "AddressSanitizer: heap-use-after-free");
  for (const auto& f : std::filesystem::directory_iterator("/tmp"))
    if (f.path().filename().string().starts_with("medgate-child-process-test"))
      std::filesystem::remove(f.path());
}

TEST(ChildProcess, AChildWithoutReportsFailsNothing) {
  ChildProcess child({"/bin/true"}, "/tmp/medgate-child-process-test-quiet.log");
  while (child.running())
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(child.exit_status(), 0);
}

}  // namespace
}  // namespace medgate::testing
