// What one check of one node found. Drivers fill it; the decision core reads it.
#pragma once

#include <cstdint>
#include <string>

#include "db-monitors/position.hpp"
#include "resilience/clock.hpp"

namespace medgate::dbmon {

enum class Reach : uint8_t {
  ok,        // answered the status queries
  refusing,  // alive but refused us (authentication, TLS, too many connections): never "down"
  failed,    // no answer in time, connection refused or broken
};

struct NodeObservation {
  Reach reach = Reach::failed;
  std::string error;  // why failed or refusing
  // When the node answered (time_point{}: the round's time). Silence on a replica's stream
  // is measured from here, not from when the round ended.
  resilience::TimePoint at{};

  bool writable = false;          // takes writes from application users
  bool replicating = false;       // configured as a replica (MariaDB/MySQL: has a source;
                                  // PostgreSQL: in recovery)
  std::string source;             // "host:port" it replicates from, when known
  bool receiver_running = false;  // IO thread / WAL receiver connected to its source
  // Grows with every message from the source, heartbeats included (MariaDB: heartbeats
  // received + events; PostgreSQL: last_msg_receipt_time in microseconds). Unchanged for a
  // while means the source has gone quiet even if the connection still looks up.
  int64_t receiver_progress = 0;

  Position received;  // replica: what it has received from its source
  Position applied;   // replica: what it has applied; primary: what it has written
  // Transactions of its own that no source sent it (MariaDB/MySQL errant GTIDs), rendered;
  // empty when none. A node with errant transactions is never promoted automatically.
  std::string errant;

  // Primary side of synchronous replication (semi-sync / synchronous_standby_names).
  bool sync_enabled = false;
  int sync_replicas = 0;  // replicas currently able to acknowledge
};

[[nodiscard]] inline const char* to_string(Reach r) {
  switch (r) {
    case Reach::ok:
      return "ok";
    case Reach::refusing:
      return "refusing";
    case Reach::failed:
      return "failed";
  }
  return "?";
}

}  // namespace medgate::dbmon
