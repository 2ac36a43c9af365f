// How a node may start, from the topology record: what `db-monitor role` prints and
// `GET /role/{node}` answers. A node's start wrapper asks it before the server starts, so a
// node that is not the elected primary never starts as one (scripts/lib/pg-node-start, the
// containers' wrappers in deploy/compose/).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "db-monitors/monitor_core.hpp"
#include "db-monitors/topology.hpp"

namespace medgate::dbmon {

struct NodeRole {
  std::string node;
  // "primary": the elected primary; "standby": another node while a primary is elected;
  // "unknown": no record, or no primary elected yet (a first start).
  std::string role = "unknown";
  uint64_t epoch = 0;
  // The elected primary as a replica reaches it (its replication address); set with "standby"
  // and "primary".
  std::optional<NodeSpec> primary;
  std::string needs_rejoin;  // why, when the record says the node must rejoin
};

// `node` must be one of `nodes` (std::invalid_argument otherwise).
[[nodiscard]] NodeRole node_role(const std::optional<TopologyRecord>& record,
                                 const std::vector<NodeSpec>& nodes, const std::string& node);
// {"node", "role", "epoch", "primary": {"name", "host", "port"}?, "needs_rejoin"?}
[[nodiscard]] boost::json::object to_json(const NodeRole& r);
// key=value lines for shell scripts (no jq in a database image): role, epoch, and with a
// primary primary_name, primary_host, primary_port. Names and hosts are checked at load to
// hold no newline or '='.
[[nodiscard]] std::string to_shell(const NodeRole& r);

}  // namespace medgate::dbmon
