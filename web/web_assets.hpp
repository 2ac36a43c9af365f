// Static front-end files compiled in (web/CMakeLists.txt): uPlot (pinned, from npm) and the
// dashboard's own page, script and styles.
#pragma once

#include <string_view>

namespace medgate::web {

// The file called `name` (e.g. "uPlot.iife.min.js", "dashboard.js"); empty when unknown.
[[nodiscard]] std::string_view asset(std::string_view name);

}  // namespace medgate::web
