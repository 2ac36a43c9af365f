#include "gateway/upstream.hpp"

#include <algorithm>

#include "gateway/metrics.hpp"

namespace medgate::gateway {

std::string_view to_string(Routability r) {
  switch (r) {
    case Routability::routable:
      return "routable";
    case Routability::breaker_open:
      return "breaker_open";
    case Routability::ejected:
      return "ejected";
    case Routability::health_check_failed:
      return "health_check_failed";
  }
  return "unknown";
}

EndpointState::EndpointState(const clients::HttpEndpoint& ep, const UpstreamConfig& cfg,
                             const resilience::Clock& clock)
    : endpoint(ep), breaker(cfg.endpoint_breaker, clock), outlier(cfg.outlier, clock) {}

void StaleStore::put(const std::string& key, const clients::WireResponse& res,
                     resilience::TimePoint now) {
  if (!enabled())
    return;
  std::lock_guard lock(mu_);
  if (entries_.size() >= cfg_.max_entries && !entries_.contains(key)) {
    // Make room: drop the oldest copy (a linear scan, bounded by max_entries).
    auto oldest = std::min_element(entries_.begin(), entries_.end(), [](auto& a, auto& b) {
      return a.second.stored < b.second.stored;
    });
    entries_.erase(oldest);
  }
  entries_.insert_or_assign(key, Entry{res, now});
}

std::optional<std::pair<clients::WireResponse, resilience::Duration>> StaleStore::get(
    const std::string& key, resilience::TimePoint now) {
  if (!enabled())
    return std::nullopt;
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end())
    return std::nullopt;
  const auto age = now - it->second.stored;
  if (age > cfg_.max_age)
    return std::nullopt;
  return std::make_pair(it->second.response, age);
}

Upstream::Upstream(const UpstreamConfig& cfg, const resilience::Clock& clock, Metrics* metrics)
    : breaker(cfg.breaker, clock),
      budget(cfg.budget, clock),
      bulkhead(cfg.max_concurrent),
      selector(cfg.selection, cfg.panic),
      stale(cfg.stale),
      cfg_(cfg),
      clock_(clock) {
  if (cfg.rate_limit > 0)
    limiter.emplace(cfg.rate_limit, cfg.rate_burst, clock);
  for (const auto& ep : cfg.endpoints)
    endpoints_.push_back(std::make_unique<EndpointState>(ep, cfg, clock));
  if (metrics) {
    breaker.add_listener([metrics, name = cfg.name](const resilience::BreakerTransition& t) {
      metrics->on_transition(name, "", t);
    });
    for (auto& e : endpoints_) {
      e->breaker.add_listener([metrics, name = cfg.name,
                               url = e->endpoint.url](const resilience::BreakerTransition& t) {
        metrics->on_transition(name, url, t);
      });
    }
  }
}

Routability Upstream::routability(size_t i) {
  EndpointState& e = *endpoints_[i];
  if (!e.health_ok.load(std::memory_order_relaxed))
    return Routability::health_check_failed;
  if (e.outlier.ejected())
    return Routability::ejected;
  const auto s = e.breaker.state();
  if (s == resilience::BreakerState::open || s == resilience::BreakerState::forced_open)
    return Routability::breaker_open;
  return Routability::routable;
}

uint32_t Upstream::weight(size_t i) {
  const auto last = endpoints_[i]->last_unroutable_ns.load(std::memory_order_relaxed);
  if (last == 0 || cfg_.slow_start.count() == 0)
    return 100;
  const auto since = clock_.now().time_since_epoch().count() - last;
  const auto window = std::chrono::nanoseconds(cfg_.slow_start).count();
  if (since >= window)
    return 100;
  // Linear ramp from 10 % to 100 % over the slow-start window.
  return static_cast<uint32_t>(10 + (90 * since) / window);
}

void Upstream::views(std::vector<resilience::EndpointView>& out) {
  out.resize(endpoints_.size());
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    out[i].routable = routability(i) == Routability::routable;
    if (!out[i].routable) {
      // Remembered for the ramp-in once it is back (see weight()).
      endpoints_[i]->last_unroutable_ns.store(clock_.now().time_since_epoch().count(),
                                              std::memory_order_relaxed);
    }
    out[i].in_flight = endpoints_[i]->in_flight.load(std::memory_order_relaxed);
    out[i].weight = weight(i);
  }
}

UpstreamSet::UpstreamSet(const GatewayConfig& cfg, const resilience::Clock& clock,
                         Metrics* metrics) {
  for (const auto& u : cfg.upstreams)
    upstreams_.push_back(std::make_unique<Upstream>(u, clock, metrics));
}

Upstream* UpstreamSet::find(std::string_view name) {
  for (auto& u : upstreams_)
    if (u->name() == name)
      return u.get();
  return nullptr;
}

size_t UpstreamSet::index_of(const Upstream* u) const {
  for (size_t i = 0; i < upstreams_.size(); ++i)
    if (upstreams_[i].get() == u)
      return i;
  return upstreams_.size();
}

bool Upstream::may_eject() const {
  size_t ejected = 0;
  for (const auto& e : endpoints_)
    ejected += e->outlier.ejected() ? 1 : 0;
  return ejected < resilience::max_ejected(endpoints_.size(), cfg_.outlier.max_ejection_percent);
}

}  // namespace medgate::gateway
