// The monitor's events as an operator reads them (docker logs, supervisord's log): one line
// each, the decision first, nothing that could split or fake a line.
#include <cstdio>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "db-monitors/event_log.hpp"

namespace medgate::dbmon {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

TEST(ReadableEventLine, NamesTimeClusterEventNodeAndFieldsWithoutClocks) {
  const auto event =
      boost::json::parse(
          R"({"ts":"2026-12-04T19:00:00.123Z","wall_ms":1,"mono_ms":2,)"
          R"("cluster":"medical","event":"promote_done","node":"medical-db-replica",)"
          R"("epoch":4,"reason":"primary silent for 1.5 s","seq":9})")
          .as_object();
  EXPECT_EQ(readable_event_line(event),
            "2026-12-04T19:00:00.123Z medical promote_done node=medical-db-replica epoch=4 "
            "reason=\"primary silent for 1.5 s\"");
}

TEST(ReadableEventLine, AValueCannotBreakTheLine) {
  const auto event = boost::json::parse(R"({"ts":"t","cluster":"c","event":"action_failed",)"
                                        R"("error":"line one\nFAKE promote_done","quote":"a\"b"})")
                         .as_object();
  const std::string line = readable_event_line(event);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_THAT(line, HasSubstr(R"(error="line one\nFAKE promote_done")"));
  EXPECT_THAT(line, HasSubstr(R"(quote="a\"b")"));
}

TEST(EventLogEcho, EachEventIsOneReadableLineOnTheEchoStream) {
  std::FILE* echo = std::tmpfile();
  ASSERT_NE(echo, nullptr);
  {
    EventLog log("portal", "", 10, echo);
    log.emit(Event{.type = "suspect", .node = "portal-db-primary", .fields = {{"failures", 2}}});
    log.emit(Event{.type = "confirmed_down", .node = "portal-db-primary", .fields = {}});
  }
  std::rewind(echo);
  char buf[512] = {};
  const size_t n = std::fread(buf, 1, sizeof buf - 1, echo);
  std::fclose(echo);
  const std::string text(buf, n);
  EXPECT_THAT(text, HasSubstr(" portal suspect node=portal-db-primary failures=2\n"));
  EXPECT_THAT(text, HasSubstr(" portal confirmed_down node=portal-db-primary\n"));
  EXPECT_THAT(text, Not(StartsWith("{")));
}

}  // namespace
}  // namespace medgate::dbmon
