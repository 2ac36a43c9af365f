// What a medgate hands to its successor when medgate-launcher restarts it (SIGHUP): each
// upstream's breaker and each endpoint's breaker, outlier state and health verdict. The
// successor takes over the state of every upstream whose settings are unchanged (the same
// canonical text, UpstreamConfig::fingerprint); the others start afresh. An upstream that
// was failing therefore stays open across a configuration reload instead of being hammered
// again by a process that forgot.
#pragma once

#include <string>
#include <vector>

#include "gateway/upstream.hpp"

namespace medgate::gateway {

// The state of every upstream, as JSON (times as durations: the processes' clocks differ).
[[nodiscard]] std::string export_upstream_state(UpstreamSet& upstreams);

// Takes over what `json` says of upstreams with unchanged settings. Returns one line per
// upstream of either side, saying what happened, for the log. Input is bounded (1 MiB) and
// checked; a document it cannot read changes nothing and says why.
[[nodiscard]] std::vector<std::string> import_upstream_state(UpstreamSet& upstreams,
                                                             const std::string& json);

// The same through a file (medgate-launcher names it: MEDGATE_STATE_FILE). Saving writes a
// temporary file and renames it, so a reader sees a whole document or none; it returns an
// empty string on success, otherwise what failed. Loading reads at most 1 MiB and reports as
// import_upstream_state does.
[[nodiscard]] std::string save_upstream_state(UpstreamSet& upstreams, const std::string& path);
[[nodiscard]] std::vector<std::string> load_upstream_state(UpstreamSet& upstreams,
                                                           const std::string& path);

}  // namespace medgate::gateway
