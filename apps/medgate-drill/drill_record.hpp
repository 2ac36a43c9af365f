// What a drill recorded: every request the load generator made, every write it was told
// about, every event the probes saw, and the clocks. Plain values: the measuring and judging
// (measure.hpp, judge.hpp) are pure functions of a DrillRecord, so they are unit-tested on
// recorded or made-up streams.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace medgate::drill {

// Milliseconds on the drill's own timeline: the steady (monotonic) clock, 0 when the drill
// started. Wall-clock readings are converted with the offset measured at the start.
using Ms = int64_t;

struct Sample {           // one HTTP exchange of the load generator
  Ms at = 0;              // when it was sent
  double latency_ms = 0;  // until the whole answer arrived (or the attempt gave up)
  std::string op;         // page, history, payments, book, pay, consult
  std::string upstream;   // the cluster it depends on: medical, administrative, portal
  int status = 0;         // HTTP status; 0 = no answer
  bool ok = false;        // what a user wanted: a 2xx (a marked stale copy counts, see stale)
  bool stale = false;     // a marked stale copy (X-Medgate-Stale)
  bool degraded = false;  // a page that said some of its data is missing
  bool unknown = false;   // a write whose outcome the answer left unknown (504, none)
};

struct WriteRecord {     // one keyed write, through all its tries
  std::string key;       // its Idempotency-Key, also stored in the row (read back by it)
  std::string op;        // book, pay, consult
  std::string upstream;  // portal, administrative, medical
  Ms first_sent = 0;
  std::optional<Ms> acked_at;  // when a 2xx came back
  int tries = 0;
  bool unknown_seen = false;  // some answer left the outcome unknown
  int final_status = 0;
};

// What the read-back found for one acknowledged write on the current primary.
struct ReadBack {
  std::string key;
  int copies = 0;  // rows carrying the key: 0 = lost, 2+ = applied twice
};

struct Event {
  Ms at = 0;
  std::string source;       // medgate, mariadb-monitor, probe, drill, log:<file>, ...
  std::string kind;         // see the constants below
  std::string detail;       // the reason, node, upstream, line...
  bool wall_clock = false;  // `at` was converted from a wall-clock reading
};

namespace kind {
inline constexpr const char* fault = "fault_injected";
inline constexpr const char* fault_cleared = "fault_cleared";
inline constexpr const char* detected = "detected";          // a monitor confirmed the primary down
inline constexpr const char* breaker_open = "breaker_open";  // an upstream or endpoint breaker
inline constexpr const char* breaker_closed = "breaker_closed";
inline constexpr const char* endpoint_out = "endpoint_unroutable";  // medgate stopped routing
inline constexpr const char* endpoint_in = "endpoint_routable";
inline constexpr const char* promoted = "promoted";  // a monitor finished promoting a replica
inline constexpr const char* rejoined = "rejoined";  // the old primary is a replica again
inline constexpr const char* steady = "steady";      // every probe healthy
inline constexpr const char* unsteady = "unsteady";
inline constexpr const char* logged = "failure_logged";  // first warning/error line in a log
inline constexpr const char* two_writable = "two_writable_primaries";
inline constexpr const char* monitor = "monitor_event";  // any other monitor event (context)
}  // namespace kind

// A reading of both clocks at once: a wall clock that steps (NTP, an operator) makes every
// wall-clock-only timestamp unreliable, and the measuring says so instead of guessing.
struct ClockReading {
  Ms steady = 0;
  int64_t wall_ms = 0;  // Unix epoch milliseconds
};

struct DrillRecord {
  std::string scenario;
  std::string variant;  // stop, kill, hang, ...
  std::string target;   // what was faulted (program or container names)
  std::string cluster;  // the affected upstream or database cluster
  int64_t started_wall_ms = 0;
  Ms end = 0;  // when recording stopped
  std::vector<Sample> samples;
  std::vector<WriteRecord> writes;
  std::vector<ReadBack> read_back;  // empty when it could not run (then read_back_error)
  std::string read_back_error;
  std::vector<Event> events;
  std::vector<ClockReading> clocks;
  std::vector<std::string> notes;  // things the runner wants the reader to know
};

}  // namespace medgate::drill
