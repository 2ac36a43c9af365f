// A drill's report in three forms: JSON (machines; what the dashboard lists), Markdown
// (people, terminals) and one self-contained HTML page with the latency and error-rate
// timeline (uPlot compiled in), the fault window and every event marked.
#pragma once

#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "apps/medgate-drill/judge.hpp"

namespace medgate::drill {

struct Report {
  DrillRecord record;
  Measurements measurements;
  std::vector<Verdict> verdicts;
  Targets targets;
};

// One second of the timeline: requests sent in it, how many failed, their latency.
struct TimelinePoint {
  Ms second = 0;  // seconds since the drill started
  size_t requests = 0;
  size_t failed = 0;
  double p50_ms = 0;
  double p99_ms = 0;
};
[[nodiscard]] std::vector<TimelinePoint> timeline(const DrillRecord& record);

[[nodiscard]] boost::json::value to_json(const Report& report);
[[nodiscard]] std::string to_markdown(const Report& report);
[[nodiscard]] std::string to_html(const Report& report);

// Reports of a sequence (`all`): one summary table, then each drill.
[[nodiscard]] std::string summary_markdown(const std::vector<Report>& reports);

}  // namespace medgate::drill
