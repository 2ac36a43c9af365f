// The cluster's topology record: who the elected primary is, in which replication mode, and
// which nodes must not take writes until they rejoin. It is the one thing monitors and the
// services agree on; every change is published with a higher epoch.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

namespace medgate::dbmon {

enum class ReplicationMode : uint8_t {
  sync,   // the primary acknowledges a commit only once a replica has it
  async,  // acknowledged commits may exist only on the primary
};

struct TopologyRecord {
  uint64_t epoch = 0;   // 0: never published
  std::string primary;  // elected primary's node name; empty before bootstrap
  ReplicationMode mode = ReplicationMode::async;
  std::string mode_reason;
  // Nodes that must not take writes (fenced) until they replicate from the primary again.
  std::map<std::string, std::string> needs_rejoin;  // node -> why
  // Non-empty: no automatic failover until an operator acknowledges (why).
  std::string blocked;
  bool maintenance = false;  // every automatic action paused
  // Wall clock (ms since the Unix epoch) of the recent failovers, oldest first: the flap
  // guard holds the cluster for an operator when too many fall within its window.
  std::vector<int64_t> recent_failovers_ms;
  int64_t updated_at_ms = 0;

  friend bool operator==(const TopologyRecord&, const TopologyRecord&) = default;
};

[[nodiscard]] const char* to_string(ReplicationMode m);
[[nodiscard]] boost::json::value to_json(const TopologyRecord& r);
// Throws std::runtime_error naming the field on a malformed record.
[[nodiscard]] TopologyRecord record_from_json(const boost::json::value& v);

// One monitor's view of the elected primary, shared with the other monitors of the cluster
// (a monitor that stops sharing, or stops reaching the store, drops out of the vote).
struct PeerView {
  std::string member;
  uint64_t epoch = 0;            // of the record the view is about
  std::string primary;           // the record's primary
  bool primary_failing = false;  // its last check of the primary failed
  int64_t at_ms = 0;             // wall clock of that check
};

// Where the record lives and who may act on the cluster: a local file (one monitor per
// cluster, db-monitors/file_store.hpp) or etcd (several monitors, one acting under a leader
// lease, db-monitors/etcd_store.hpp).
class TopologyStore {
 public:
  virtual ~TopologyStore() = default;
  // The stored record; nullopt when none was ever written. Throws when it cannot be read.
  [[nodiscard]] virtual std::optional<TopologyRecord> load() = 0;
  // Writes `next` only if the stored epoch is still `expected_epoch` (0: nothing stored) and
  // next.epoch is greater, and only while this monitor may act. False when another writer got
  // there first or this monitor may not act: reload and rethink.
  [[nodiscard]] virtual bool compare_and_set(uint64_t expected_epoch,
                                             const TopologyRecord& next) = 0;
  // Whether this monitor may act on the cluster now (file: it holds the file's lock; etcd: it
  // holds the leader key under a lease it knows to be alive). Asked before every action.
  [[nodiscard]] virtual bool may_act() = 0;
  // Why not, for /status and the logs (empty when it may).
  [[nodiscard]] virtual std::string why_not_acting() {
    return may_act() ? "" : "another monitor holds the state file's lock";
  }
  // The monitor that acts, when the store knows (empty: unknown or none).
  [[nodiscard]] virtual std::string acting_member() { return ""; }
  // Shares this monitor's view of the primary; the others' views (fresh ones only). A store
  // for one monitor shares nothing.
  virtual void share_view(const PeerView& /*mine*/) {}
  [[nodiscard]] virtual std::vector<PeerView> peer_views() { return {}; }
};

}  // namespace medgate::dbmon
