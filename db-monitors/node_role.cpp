#include "db-monitors/node_role.hpp"

#include <stdexcept>

namespace medgate::dbmon {

NodeRole node_role(const std::optional<TopologyRecord>& record, const std::vector<NodeSpec>& nodes,
                   const std::string& node) {
  bool known = false;
  for (const auto& n : nodes)
    known = known || n.name == node;
  if (!known)
    throw std::invalid_argument("no node named '" + node + "' in the configuration");
  NodeRole r;
  r.node = node;
  if (!record)
    return r;
  r.epoch = record->epoch;
  if (record->primary.empty())
    return r;
  r.role = record->primary == node ? "primary" : "standby";
  for (const auto& n : nodes)
    if (n.name == record->primary)
      r.primary = n;
  if (auto it = record->needs_rejoin.find(node); it != record->needs_rejoin.end())
    r.needs_rejoin = it->second;
  return r;
}

boost::json::object to_json(const NodeRole& r) {
  boost::json::object out{{"node", r.node}, {"role", r.role}, {"epoch", r.epoch}};
  if (r.primary)
    out["primary"] = boost::json::object{{"name", r.primary->name},
                                         {"host", r.primary->source_host()},
                                         {"port", r.primary->source_port()}};
  if (!r.needs_rejoin.empty())
    out["needs_rejoin"] = r.needs_rejoin;
  return out;
}

std::string to_shell(const NodeRole& r) {
  std::string out = "role=" + r.role + "\nepoch=" + std::to_string(r.epoch) + "\n";
  if (r.primary)
    out += "primary_name=" + r.primary->name + "\nprimary_host=" + r.primary->source_host() +
           "\nprimary_port=" + std::to_string(r.primary->source_port()) + "\n";
  return out;
}

}  // namespace medgate::dbmon
