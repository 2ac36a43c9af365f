#include "gateway/upstream.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <boost/beast/http/field.hpp>

namespace medgate::gateway {

namespace http = boost::beast::http;

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

namespace {

// An upstream of one endpoint has one breaker, the upstream's: ejecting its only endpoint
// would only stand in the way of the upstream's probes.
resilience::OutlierConfig outlier_config(const UpstreamConfig& cfg) {
  resilience::OutlierConfig c = cfg.outlier;
  if (cfg.endpoints.size() == 1)
    c.consecutive_failures = 0;
  return c;
}

}  // namespace

EndpointState::EndpointState(const clients::HttpEndpoint& ep, const UpstreamConfig& cfg,
                             const resilience::Clock& clock)
    : endpoint(ep), breaker(cfg.endpoint_breaker, clock), outlier(outlier_config(cfg), clock) {
  if (cfg.endpoints.size() == 1)
    breaker.disable("the upstream's only endpoint: the upstream's breaker decides");
}

namespace {

// The directives medgate follows: the targeted field when present, else Cache-Control.
std::string_view cache_directives(const clients::WireResponse& res) {
  if (auto v = res.fields.find("Medgate-Cache-Control"))
    return *v;
  return res.fields.find(http::field::cache_control).value_or(std::string_view());
}

bool has_directive(std::string_view list, std::string_view name) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
      item.remove_prefix(1);
    const std::string_view token = item.substr(0, item.find_first_of("= \t"));
    if (token.size() == name.size() &&
        std::equal(token.begin(), token.end(), name.begin(),
                   [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
      return true;
    if (comma == std::string_view::npos)
      break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

// stale-if-error=N (seconds), when the directives carry it.
std::optional<resilience::Duration> stale_if_error(std::string_view list) {
  const size_t at = list.find("stale-if-error=");
  if (at == std::string_view::npos)
    return std::nullopt;
  const std::string_view rest = list.substr(at + 15);
  uint32_t secs = 0;
  const auto r = std::from_chars(rest.data(), rest.data() + rest.size(), secs);
  if (r.ec != std::errc{})
    return std::nullopt;
  return std::chrono::seconds(secs);
}

size_t size_of(const clients::WireResponse& res) {
  return res.body.size() + res.fields.line_bytes() + res.reason.size() + 64;
}

}  // namespace

bool StaleStore::put(const std::string& key, const clients::WireResponse& res,
                     resilience::TimePoint now) {
  if (!enabled())
    return false;
  const std::string_view cc = cache_directives(res);
  if (has_directive(cc, "no-store") || has_directive(cc, "private"))
    return false;
  const size_t bytes = size_of(res) + key.size();
  if (bytes > cfg_.max_bytes)
    return false;
  resilience::Duration max_age = cfg_.max_age;
  if (auto sie = stale_if_error(cc))
    max_age = std::min(max_age, *sie);
  std::lock_guard lock(mu_);
  if (auto it = entries_.find(key); it != entries_.end()) {
    bytes_ -= it->second.bytes;
    entries_.erase(it);
  }
  while (!entries_.empty() &&
         (entries_.size() >= cfg_.max_entries || bytes_ + bytes > cfg_.max_bytes))
    evict_oldest();
  entries_.emplace(key, Entry{res, now, max_age, bytes});
  bytes_ += bytes;
  return true;
}

void StaleStore::evict_oldest() {
  // A linear scan, bounded by max_entries; only when the store is full.
  auto oldest = std::min_element(entries_.begin(), entries_.end(), [](auto& a, auto& b) {
    return a.second.stored < b.second.stored;
  });
  bytes_ -= oldest->second.bytes;
  entries_.erase(oldest);
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
  if (age > it->second.max_age)
    return std::nullopt;
  return std::make_pair(it->second.response, age);
}

size_t StaleStore::bytes() {
  std::lock_guard lock(mu_);
  return bytes_;
}

size_t StaleStore::entries() {
  std::lock_guard lock(mu_);
  return entries_.size();
}

Upstream::Upstream(const UpstreamConfig& cfg, size_t index, const resilience::Clock& clock,
                   UpstreamStats& stats)
    : breaker(cfg.breaker, clock),
      budget(cfg.budget, clock),
      bulkhead(cfg.max_concurrent),
      selector(cfg.selection, cfg.panic),
      stale(cfg.stale),
      cfg_(cfg),
      index_(index),
      clock_(clock),
      stats_(stats) {
  if (cfg.rate_limit > 0)
    limiter.emplace(cfg.rate_limit, cfg.rate_burst, clock);
  for (const auto& ep : cfg.endpoints)
    endpoints_.push_back(std::make_unique<EndpointState>(ep, cfg, clock));
}

bool Upstream::last_routable(size_t i) {
  for (size_t j = 0; j < endpoints_.size(); ++j)
    if (j != i && routability(j) == Routability::routable)
      return false;
  return true;
}

resilience::Duration Upstream::time_until_available() {
  const auto now = clock_.now();
  auto until_probe = [now](resilience::CircuitBreaker& b) -> resilience::Duration {
    const auto s = b.state();
    if (s == resilience::BreakerState::forced_open)
      return resilience::Duration::max();
    if (s != resilience::BreakerState::open)
      return resilience::Duration::zero();
    const auto next = b.next_probe_at();
    return next && *next > now ? *next - now : resilience::Duration::zero();
  };
  const resilience::Duration upstream_wait = until_probe(breaker);
  // The soonest an endpoint may take traffic again.
  resilience::Duration endpoint_wait = resilience::Duration::max();
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    EndpointState& e = *endpoints_[i];
    resilience::Duration wait = until_probe(e.breaker);
    const auto o = e.outlier.snapshot();
    if (o.ejected)
      wait = std::max(wait, o.ejected_until - now);
    if (!e.health_ok.load(std::memory_order_relaxed))
      wait = std::max<resilience::Duration>(
          wait, cfg_.health_check.interval * cfg_.health_check.healthy_threshold);
    endpoint_wait = std::min(endpoint_wait, wait);
  }
  return std::max(upstream_wait, endpoint_wait);
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
                         Metrics& metrics) {
  for (size_t i = 0; i < cfg.upstreams.size(); ++i) {
    const UpstreamConfig& u = cfg.upstreams[i];
    auto up = std::make_unique<Upstream>(u, i, clock, metrics.upstream(i));
    up->breaker.add_listener([&metrics, name = u.name](const resilience::BreakerTransition& t) {
      metrics.on_transition(name, "", t);
    });
    for (size_t e = 0; e < up->size(); ++e) {
      up->endpoint(e).breaker.add_listener(
          [&metrics, name = u.name, url = u.endpoints[e].url](
              const resilience::BreakerTransition& t) { metrics.on_transition(name, url, t); });
    }
    upstreams_.push_back(std::move(up));
  }
}

Upstream* UpstreamSet::find(std::string_view name) {
  for (auto& u : upstreams_)
    if (u->name() == name)
      return u.get();
  return nullptr;
}

void Upstream::probe_open_endpoints(std::string_view reason) {
  for (auto& e : endpoints_)
    if (e->breaker.state() == resilience::BreakerState::open)
      e->breaker.probe_now(reason);
}

void Upstream::clear_endpoint_layers(std::string_view reason) {
  for (auto& e : endpoints_) {
    // A disabled breaker refuses nothing (and the only endpoint's stays so by design).
    if (e->breaker.state() != resilience::BreakerState::disabled)
      e->breaker.reset(reason);
    e->outlier.reinstate();
  }
}

bool Upstream::may_eject() const {
  size_t ejected = 0;
  for (const auto& e : endpoints_)
    ejected += e->outlier.ejected() ? 1 : 0;
  return ejected < resilience::max_ejected(endpoints_.size(), cfg_.outlier.max_ejection_percent);
}

}  // namespace medgate::gateway
