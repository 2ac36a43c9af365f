#include "gateway/state_handover.hpp"

#include <boost/json.hpp>

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include <map>
#include <optional>
#include <stdexcept>

namespace medgate::gateway {
namespace {

namespace json = boost::json;
using resilience::BreakerCarryOver;
using resilience::BreakerState;
using resilience::Duration;
using resilience::OutlierCarryOver;

constexpr size_t kMaxBytes = 1 << 20;
constexpr int kVersion = 1;

int64_t ms(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

json::object breaker_json(const BreakerCarryOver& c) {
  json::array recent;
  for (const auto& t : c.recent)
    recent.push_back(json::object{{"age_ms", ms(t.age)},
                                  {"from", resilience::to_string(t.from)},
                                  {"to", resilience::to_string(t.to)},
                                  {"reason", t.reason}});
  return {{"state", resilience::to_string(c.state)},        {"trips", c.trips},
          {"consecutive_failures", c.consecutive_failures}, {"open_elapsed_ms", ms(c.open_elapsed)},
          {"open_remaining_ms", ms(c.open_remaining)},      {"recent", std::move(recent)}};
}

// Bounded reads: a malformed or hostile document throws std::runtime_error.
const json::value& at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (!v)
    throw std::runtime_error("missing '" + std::string(key) + "'");
  return *v;
}
int64_t count(const json::object& o, std::string_view key, int64_t max) {
  const auto& v = at(o, key);
  if (!v.is_int64() && !v.is_uint64())
    throw std::runtime_error("'" + std::string(key) + "' is not a whole number");
  const int64_t n = v.to_number<int64_t>();
  if (n < 0 || n > max)
    throw std::runtime_error("'" + std::string(key) + "' is out of range");
  return n;
}
// Ten years: a transition's age and a forced-open breaker's time open grow with the process's
// uptime, so a tight bound would refuse a long-running medgate's state; this one keeps every
// value far inside the clocks' nanosecond range.
Duration millis(const json::object& o, std::string_view key) {
  return std::chrono::milliseconds(count(o, key, int64_t{10} * 366 * 24 * 3600 * 1000));
}
std::string text(const json::object& o, std::string_view key, size_t max) {
  const auto& v = at(o, key);
  if (!v.is_string() || v.as_string().size() > max)
    throw std::runtime_error("'" + std::string(key) + "' is not a string of at most " +
                             std::to_string(max));
  return std::string(v.as_string());
}
BreakerState state_of(const std::string& s) {
  for (auto st : {BreakerState::closed, BreakerState::open, BreakerState::half_open,
                  BreakerState::forced_open, BreakerState::disabled})
    if (resilience::to_string(st) == s)
      return st;
  throw std::runtime_error("unknown breaker state '" + s + "'");
}
const json::object& object(const json::value& v) {
  if (!v.is_object())
    throw std::runtime_error("expected an object");
  return v.as_object();
}
const json::array& array(const json::value& v, size_t max) {
  if (!v.is_array() || v.as_array().size() > max)
    throw std::runtime_error("expected a list of at most " + std::to_string(max));
  return v.as_array();
}

BreakerCarryOver breaker_from(const json::object& o) {
  BreakerCarryOver c;
  c.state = state_of(text(o, "state", 16));
  c.trips = static_cast<uint32_t>(count(o, "trips", 1'000'000));
  c.consecutive_failures = static_cast<uint32_t>(count(o, "consecutive_failures", 1'000'000));
  c.open_elapsed = millis(o, "open_elapsed_ms");
  c.open_remaining = millis(o, "open_remaining_ms");
  for (const auto& item : array(at(o, "recent"), 64)) {
    const auto& t = object(item);
    c.recent.push_back({millis(t, "age_ms"), state_of(text(t, "from", 16)),
                        state_of(text(t, "to", 16)), text(t, "reason", 1024)});
  }
  return c;
}

struct EndpointCarry {
  BreakerCarryOver breaker;
  OutlierCarryOver outlier;
  bool health_ok = true;
};
struct UpstreamCarry {
  std::string fingerprint;
  BreakerCarryOver breaker;
  std::map<std::string, EndpointCarry> endpoints;  // by URL
};

std::map<std::string, UpstreamCarry> parse(const std::string& text_in) {
  if (text_in.size() > kMaxBytes)
    throw std::runtime_error("larger than 1 MiB");
  boost::system::error_code ec;
  const json::value doc = json::parse(text_in, ec);
  if (ec)
    throw std::runtime_error("not JSON: " + ec.message());
  const auto& root = object(doc);
  if (count(root, "version", 1000) != kVersion)
    throw std::runtime_error("version is not " + std::to_string(kVersion));
  std::map<std::string, UpstreamCarry> out;
  for (const auto& item : array(at(root, "upstreams"), 256)) {
    const auto& u = object(item);
    UpstreamCarry c;
    c.fingerprint = text(u, "fingerprint", 64 * 1024);
    c.breaker = breaker_from(object(at(u, "breaker")));
    for (const auto& e_item : array(at(u, "endpoints"), 256)) {
      const auto& e = object(e_item);
      EndpointCarry ec_;
      ec_.breaker = breaker_from(object(at(e, "breaker")));
      const auto& o = object(at(e, "outlier"));
      ec_.outlier = {millis(o, "ejected_remaining_ms"),
                     static_cast<uint32_t>(count(o, "ejections", 1'000'000)),
                     static_cast<uint64_t>(count(o, "total_ejections", int64_t{1} << 50)),
                     static_cast<uint32_t>(count(o, "consecutive_failures", 1'000'000))};
      const auto& h = at(e, "health_ok");
      if (!h.is_bool())
        throw std::runtime_error("'health_ok' is not true or false");
      ec_.health_ok = h.as_bool();
      c.endpoints.emplace(text(e, "url", 2048), std::move(ec_));
    }
    out.emplace(text(u, "name", 256), std::move(c));
  }
  return out;
}

}  // namespace

std::string export_upstream_state(UpstreamSet& upstreams) {
  json::array ups;
  for (const auto& up : upstreams.all()) {
    json::array endpoints;
    for (size_t i = 0; i < up->size(); ++i) {
      EndpointState& ep = up->endpoint(i);
      const OutlierCarryOver o = ep.outlier.carry_over();
      endpoints.push_back(
          json::object{{"url", ep.endpoint.url},
                       {"breaker", breaker_json(ep.breaker.carry_over())},
                       {"outlier", json::object{{"ejected_remaining_ms", ms(o.ejected_remaining)},
                                                {"ejections", o.ejections},
                                                {"total_ejections", o.total_ejections},
                                                {"consecutive_failures", o.consecutive_failures}}},
                       {"health_ok", ep.health_ok.load()}});
    }
    ups.push_back(json::object{{"name", up->name()},
                               {"fingerprint", up->config().fingerprint},
                               {"breaker", breaker_json(up->breaker.carry_over())},
                               {"endpoints", std::move(endpoints)}});
  }
  return json::serialize(json::object{{"version", kVersion}, {"upstreams", std::move(ups)}});
}

std::vector<std::string> import_upstream_state(UpstreamSet& upstreams,
                                               const std::string& json_text) {
  std::map<std::string, UpstreamCarry> carried;
  try {
    carried = parse(json_text);
  } catch (const std::exception& e) {
    return {std::string("the predecessor's state was not taken over: ") + e.what()};
  }
  std::vector<std::string> lines;
  constexpr std::string_view kReason = "carried over from the previous medgate";
  for (const auto& up : upstreams.all()) {
    const auto it = carried.find(up->name());
    if (it == carried.end()) {
      lines.push_back("upstream " + up->name() + ": new, starts afresh");
      continue;
    }
    const UpstreamCarry& c = it->second;
    if (c.fingerprint != up->config().fingerprint) {
      lines.push_back("upstream " + up->name() + ": settings changed, starts afresh");
      carried.erase(it);
      continue;
    }
    up->breaker.adopt(c.breaker, kReason);
    for (size_t i = 0; i < up->size(); ++i) {
      EndpointState& ep = up->endpoint(i);
      const auto e = c.endpoints.find(ep.endpoint.url);
      if (e == c.endpoints.end())
        continue;          // unchanged settings list the same endpoints; kept defensive
      if (up->size() > 1)  // the only endpoint's breaker stays disabled
        ep.breaker.adopt(e->second.breaker, kReason);
      ep.outlier.adopt(e->second.outlier);
      ep.health_ok.store(e->second.health_ok);
    }
    lines.push_back("upstream " + up->name() + ": state taken over (breaker " +
                    std::string(resilience::to_string(up->breaker.state())) + ")");
    carried.erase(it);
  }
  for (const auto& [name, c] : carried)
    lines.push_back("upstream " + name + ": no longer configured, its state dropped");
  return lines;
}

std::string save_upstream_state(UpstreamSet& upstreams, const std::string& path) {
  const std::string text_out = export_upstream_state(upstreams);
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text_out;
    out.flush();
    if (!out)
      return "cannot write " + tmp;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    return "cannot rename " + tmp + " to " + path + ": " + why;
  }
  return {};
}

std::vector<std::string> load_upstream_state(UpstreamSet& upstreams, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return {"the predecessor's state was not taken over: cannot read " + path};
  std::string text_in(kMaxBytes + 1, '\0');
  in.read(text_in.data(), static_cast<std::streamsize>(text_in.size()));
  text_in.resize(static_cast<size_t>(in.gcount()));
  return import_upstream_state(upstreams, text_in);
}

}  // namespace medgate::gateway
