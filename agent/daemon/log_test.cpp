#include "agent/daemon/log.h"

#include <stdlib.h>

#include <sstream>
#include <string>
#include <vector>

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

TEST(LogTest, JournalFieldsCarryPriorityMessageIdAndOneFieldPerKey) {
  const auto fields = journal_fields(config::LogLevel::Warning, "cache-moved-aside",
                                     {{"path", "/var/lib/ward/ward.db"}, {"moved_to", "a b\nc"}});
  const std::vector<std::string> expected{
      "MESSAGE=cache-moved-aside: path=/var/lib/ward/ward.db moved_to=\"a b c\"",
      "PRIORITY=4",
      "MESSAGE_ID=" + journal_message_id("cache-moved-aside"),
      "SYSLOG_IDENTIFIER=wardd",
      "WARD_EVENT=cache-moved-aside",
      "WARD_PATH=/var/lib/ward/ward.db",
      "WARD_MOVED_TO=a b\nc",  // the native protocol keeps the value as it is
  };
  EXPECT_EQ(fields, expected);
  EXPECT_EQ(journal_fields(config::LogLevel::Error, "x", {})[1], "PRIORITY=3");
  EXPECT_EQ(journal_fields(config::LogLevel::Info, "x", {})[1], "PRIORITY=6");
  EXPECT_EQ(journal_fields(config::LogLevel::Debug, "x", {})[1], "PRIORITY=7");
}

TEST(LogTest, MessageIdsAreFixedPerEventAnd128Bits) {
  const auto id = journal_message_id("policy-applied");
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  EXPECT_EQ(id, journal_message_id("policy-applied"));
  EXPECT_NE(id, journal_message_id("policy-rejected"));
  EXPECT_EQ(journal_field_name("moved-to.x"), "WARD_MOVED_TO_X");
}

TEST(LogTest, NoJournalWithoutJournalStream) {
  ::unsetenv("JOURNAL_STREAM");
  std::ostringstream out;
  Logger log(out);
  EXPECT_FALSE(log.use_journal_if_connected());
  ::setenv("JOURNAL_STREAM", "1:2", 1);  // not stderr's device and inode
  EXPECT_FALSE(log.use_journal_if_connected());
  ::unsetenv("JOURNAL_STREAM");
  log.info("still-on-stderr");
  EXPECT_EQ(out.str(), "level=info event=still-on-stderr\n");
}

}  // namespace
}  // namespace ward::agent::daemon
