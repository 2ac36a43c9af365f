#include <gtest/gtest.h>

#include "text/hex.hpp"
#include "text/html.hpp"
#include "text/iso_time.hpp"

namespace medgate::text {
namespace {

TEST(Text, HtmlEscapeLeavesNoMarkupAndNoQuoteToCloseAnAttribute) {
  EXPECT_EQ(html_escape(R"(<a href="x" title='y'>&</a>)"),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
  EXPECT_EQ(html_escape("Consulta cardiología"), "Consulta cardiología");
  EXPECT_EQ(html_escape(""), "");
}

TEST(Text, Iso8601IsUtcToTheMillisecond) {
  EXPECT_EQ(iso8601_utc(int64_t{0}), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(iso8601_utc(int64_t{1'796'472'930'123}), "2026-12-05T12:15:30.123Z");
  EXPECT_EQ(iso8601_utc(int64_t{-1}), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(iso8601_utc(std::chrono::system_clock::time_point(std::chrono::milliseconds(1500))),
            "1970-01-01T00:00:01.500Z");
}

TEST(Text, HexDigits) {
  EXPECT_EQ(hex_digit('0'), 0);
  EXPECT_EQ(hex_digit('9'), 9);
  EXPECT_EQ(hex_digit('a'), 10);
  EXPECT_EQ(hex_digit('F'), 15);
  EXPECT_EQ(hex_digit('g'), -1);
  EXPECT_EQ(hex_digit('%'), -1);
}

}  // namespace
}  // namespace medgate::text
