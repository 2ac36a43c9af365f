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

}  // namespace medgate::gateway
