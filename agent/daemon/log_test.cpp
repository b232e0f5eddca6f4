#include "agent/daemon/log.h"

#include <sstream>

#include <gtest/gtest.h>

namespace ward::agent::daemon {
namespace {

TEST(LogTest, KeyValueLinesQuotedWhenNeeded) {
  EXPECT_EQ(format_log_line(config::LogLevel::Info, "policy-applied", {{"policy", "Legal \"A\""}, {"filters", "4"}}),
            "level=info event=policy-applied policy=\"Legal \\\"A\\\"\" filters=4\n");
  EXPECT_EQ(format_log_line(config::LogLevel::Error, "x", {{"why", "two\nlines"}, {"empty", ""}}),
            "level=error event=x why=\"two lines\" empty=\"\"\n");
}

TEST(LogTest, ThresholdFilters) {
  std::ostringstream out;
  Logger log(out, config::LogLevel::Warning);
  log.info("hidden");
  log.warning("shown");
  EXPECT_EQ(out.str(), "level=warning event=shown\n");
}

}  // namespace
}  // namespace ward::agent::daemon
