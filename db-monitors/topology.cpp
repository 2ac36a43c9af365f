#include "db-monitors/topology.hpp"

#include <stdexcept>

#include <boost/json.hpp>

namespace medgate::dbmon {

namespace json = boost::json;

const char* to_string(ReplicationMode m) {
  return m == ReplicationMode::sync ? "sync" : "async";
}

json::value to_json(const TopologyRecord& r) {
  json::object needs;
  for (const auto& [node, why] : r.needs_rejoin)
    needs[node] = why;
  json::array recent;
  for (const int64_t t : r.recent_failovers_ms)
    recent.push_back(t);
  return json::object{
      {"epoch", r.epoch},
      {"primary", r.primary},
      {"replication_mode", to_string(r.mode)},
      {"mode_reason", r.mode_reason},
      {"needs_rejoin", std::move(needs)},
      {"blocked", r.blocked},
      {"maintenance", r.maintenance},
      {"recent_failovers_ms", std::move(recent)},
      {"updated_at_ms", r.updated_at_ms},
  };
}

namespace {

const json::value& field(const json::object& o, const char* name) {
  const auto* v = o.if_contains(name);
  if (!v)
    throw std::runtime_error(std::string("topology record: missing field '") + name + "'");
  return *v;
}

template <typename T>
T as(const json::value& v, const char* name) {
  try {
    return json::value_to<T>(v);
  } catch (const std::exception&) {
    throw std::runtime_error(std::string("topology record: field '") + name +
                             "' has the wrong type");
  }
}

}  // namespace

TopologyRecord record_from_json(const json::value& v) {
  if (!v.is_object())
    throw std::runtime_error("topology record: not a JSON object");
  const auto& o = v.as_object();
  TopologyRecord r;
  r.epoch = as<uint64_t>(field(o, "epoch"), "epoch");
  r.primary = as<std::string>(field(o, "primary"), "primary");
  const auto mode = as<std::string>(field(o, "replication_mode"), "replication_mode");
  if (mode != "sync" && mode != "async")
    throw std::runtime_error("topology record: replication_mode must be sync or async");
  r.mode = mode == "sync" ? ReplicationMode::sync : ReplicationMode::async;
  r.mode_reason = as<std::string>(field(o, "mode_reason"), "mode_reason");
  const auto& needs = field(o, "needs_rejoin");
  if (!needs.is_object())
    throw std::runtime_error("topology record: needs_rejoin must be an object");
  for (const auto& kv : needs.as_object())
    r.needs_rejoin[std::string(kv.key())] = as<std::string>(kv.value(), "needs_rejoin");
  r.blocked = as<std::string>(field(o, "blocked"), "blocked");
  r.maintenance = as<bool>(field(o, "maintenance"), "maintenance");
  // Absent from records written before the flap guard (they had a cooldown instead).
  if (const auto* recent = o.if_contains("recent_failovers_ms"))
    r.recent_failovers_ms = as<std::vector<int64_t>>(*recent, "recent_failovers_ms");
  r.updated_at_ms = as<int64_t>(field(o, "updated_at_ms"), "updated_at_ms");
  return r;
}

}  // namespace medgate::dbmon
