#include "gateway/dashboard.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>

#include "clients/curl_client.hpp"
#include "clients/url_query.hpp"

namespace medgate::gateway {
namespace json = boost::json;
namespace fs = std::filesystem;
namespace {

constexpr std::chrono::milliseconds kTimeout{1000};
constexpr size_t kEventsKept = 8;
constexpr size_t kDrillsListed = 10;

std::optional<json::value> get_json(const std::string& url) {
  const auto r = clients::curl_perform({.url = url, .timeout = kTimeout, .max_body = 1 << 20});
  if (r.status != 200)
    return std::nullopt;
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  if (ec || !v.is_object())
    return std::nullopt;
  return v;
}

json::value number_or_null(std::optional<double> v) {
  return v && std::isfinite(*v) ? json::value(*v) : json::value(nullptr);
}

// One instant query; nullopt when Prometheus does not answer, NaN when the answer is empty
// (no traffic in the window).
std::optional<double> prom_query(const std::string& base, const std::string& promql) {
  const auto v = get_json(base + "/api/v1/query?query=" + clients::percent_encode(promql));
  if (!v)
    return std::nullopt;
  // Not the shape Prometheus answers with: as good as no answer.
  try {
    const auto& o = v->as_object();
    if (!o.contains("status") || o.at("status").as_string() != "success")
      return std::nullopt;
    const auto& result = o.at("data").at("result").as_array();
    if (result.empty())
      return std::nan("");
    return std::stod(std::string(result.at(0).at("value").as_array().at(1).as_string()));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<double> finite(std::optional<double> v) {
  return v && std::isfinite(*v) ? v : std::nullopt;
}

json::object window_json(const char* name, const std::optional<WindowLevels>& w) {
  json::object o{{"window", name}};
  if (!w) {
    o["covered_seconds"] = 0;
    o["requests"] = 0;
    o["availability"] = nullptr;
    o["under_3s"] = nullptr;
    o["p50_ms"] = nullptr;
    o["p99_ms"] = nullptr;
    return o;
  }
  o["covered_seconds"] = w->seconds;
  o["requests"] = w->requests;
  o["availability"] = number_or_null(w->availability);
  o["under_3s"] = number_or_null(w->under_3s);
  o["p50_ms"] =
      number_or_null(w->p50_seconds ? std::optional(*w->p50_seconds * 1000) : std::nullopt);
  o["p99_ms"] =
      number_or_null(w->p99_seconds ? std::optional(*w->p99_seconds * 1000) : std::nullopt);
  return o;
}

std::optional<double> ratio_of(const json::object& o, std::string_view key) {
  if (const auto* v = o.if_contains(key); v && v->is_number())
    return v->to_number<double>();
  return std::nullopt;
}

// Budget and burn rates from the windows (each an availability) and the objective.
void add_budget(json::object& out, const json::array& windows, double objective) {
  const double allowed = 1.0 - objective;
  auto unavailability = [&](std::string_view name) -> std::optional<double> {
    for (const auto& w : windows)
      if (w.as_object().at("window").as_string() == name)
        if (auto a = ratio_of(w.as_object(), "availability"))
          return 1.0 - *a;
    return std::nullopt;
  };
  if (auto u = unavailability("30d"); u && allowed > 0)
    out["error_budget_left"] = 1.0 - *u / allowed;
  else
    out["error_budget_left"] = nullptr;
  json::object burn;
  for (const char* w : {"1h", "5m"}) {
    auto u = unavailability(w);
    burn[w] = u && allowed > 0 ? json::value(*u / allowed) : json::value(nullptr);
  }
  out["burn_rate"] = std::move(burn);
}

}  // namespace

DashboardCollector::DashboardCollector(DashboardConfig cfg, std::function<ApiTotals()> totals)
    : cfg_(std::move(cfg)),
      totals_(std::move(totals)),
      // An hour and a little of snapshots at the refresh pace.
      history_(static_cast<size_t>(3700'000 / std::max<int64_t>(cfg_.refresh.count(), 100))),
      snapshot_(std::make_shared<const std::string>("{}")) {
  thread_ = std::thread([this] { loop(); });
}

DashboardCollector::~DashboardCollector() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

std::shared_ptr<const std::string> DashboardCollector::snapshot() const {
  std::lock_guard lock(mu_);
  last_read_ = std::chrono::steady_clock::now();
  if (idle_) {
    idle_ = false;  // someone looks again: gather now, not at the next tick
    wake_ = true;
    cv_.notify_one();
  }
  return snapshot_;
}

void DashboardCollector::loop() {
  // Nobody has looked for a minute: only medgate's own counters are sampled (the windows
  // need their history); Prometheus, the monitors and the drill reports wait for a reader.
  constexpr auto kWatchedFor = std::chrono::minutes(1);
  bool first = true;
  for (;;) {
    bool watched = false;
    {
      std::lock_guard lock(mu_);
      watched = std::chrono::steady_clock::now() - last_read_ < kWatchedFor;
      idle_ = !watched && !first;
    }
    if (watched || first) {
      if (!first && last_prometheus_stale_)
        last_prometheus_.clear();  // back from idle: ask Prometheus now
      last_prometheus_stale_ = false;
      json::object collected;
      try {
        collected = collect();
      } catch (const std::exception& e) {
        // A bug or a source's nonsense must not stop the collector (nor medgate).
        collected = json::object{{"error", std::string("collecting failed: ") + e.what()}};
      }
      auto text = std::make_shared<const std::string>(json::serialize(collected));
      std::lock_guard lock(mu_);
      snapshot_ = std::move(text);
    } else {
      history_.add(totals_());
      last_prometheus_stale_ = true;
    }
    first = false;
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, cfg_.refresh, [this] { return stopping_ || wake_; });
    if (stopping_)
      return;
    wake_ = false;
  }
}

json::object DashboardCollector::collect() {
  ++round_;
  history_.add(totals_());
  return json::object{{"collected_at_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count()},
                      {"service_levels", service_levels()},
                      {"databases", databases()},
                      {"drills", drills()}};
}

json::object DashboardCollector::service_levels() {
  // Prometheus every fifth round (its rules evaluate every 30 s anyway); its last answer
  // stands in between.
  if (!cfg_.prometheus_url.empty() && (round_ % 5 == 1 || last_prometheus_.empty())) {
    const std::string& p = cfg_.prometheus_url;
    const std::string api = "route=~\"/api.*\"";
    json::array windows;
    bool answered = true;
    for (const char* w : {"5m", "1h", "30d"}) {
      const std::string range = std::string("[") + w + "]";
      const auto errors =
          prom_query(p, "sum(rate(medgate_requests_total{code=\"5xx\"," + api + "}" + range +
                            ")) / sum(rate(medgate_requests_total{" + api + "}" + range + "))");
      if (!errors) {
        answered = false;
        break;
      }
      const auto requests =
          prom_query(p, "sum(increase(medgate_requests_total{" + api + "}" + range + "))");
      const auto under =
          prom_query(p, "sum(rate(medgate_request_duration_seconds_bucket{le=\"3\"," + api + "}" +
                            range + ")) / sum(rate(medgate_request_duration_seconds_count{" + api +
                            "}" + range + "))");
      auto quantile = [&](const char* q) {
        const auto v = prom_query(p, std::string("histogram_quantile(") + q +
                                         ", sum by (le) (rate(medgate_request_duration_seconds_"
                                         "bucket{" +
                                         api + "}" + range + ")))");
        return finite(v) ? std::optional(*v * 1000) : std::nullopt;
      };
      const auto e = finite(errors);
      windows.push_back(
          json::object{{"window", w},
                       {"requests", number_or_null(finite(requests))},
                       {"availability", number_or_null(e ? std::optional(1.0 - *e) : std::nullopt)},
                       {"under_3s", number_or_null(finite(under))},
                       {"p50_ms", number_or_null(quantile("0.5"))},
                       {"p99_ms", number_or_null(quantile("0.99"))}});
    }
    if (answered) {
      const double availability = finite(prom_query(p, "medgate:objective:availability"))
                                      .value_or(cfg_.availability_objective);
      const double latency = finite(prom_query(p, "medgate:objective:latency_under_3s"))
                                 .value_or(cfg_.latency_objective);
      json::object out{{"source", "prometheus"},
                       {"note", "Prometheus at " + p + "; 30 d covers what its retention keeps"},
                       {"objectives", json::object{{"availability", availability},
                                                   {"latency_under_3s", latency}}},
                       {"windows", windows}};
      add_budget(out, windows, availability);
      last_prometheus_ = out;
      return out;
    }
    last_prometheus_.clear();
  } else if (!last_prometheus_.empty()) {
    return last_prometheus_;
  }
  // medgate's own counters: this instance only, since it started.
  json::array windows{window_json("5m", history_.over(std::chrono::minutes(5))),
                      window_json("1h", history_.over(std::chrono::hours(1))),
                      window_json("30d", history_.since_start())};
  json::object out{
      {"source", "medgate"},
      {"note", cfg_.prometheus_url.empty()
                   ? "medgate's own counters (no Prometheus configured): this instance, since "
                     "it started; 30 d means since start"
                   : "Prometheus at " + cfg_.prometheus_url +
                         " does not answer: medgate's own counters, this instance since it "
                         "started; 30 d means since start"},
      {"objectives", json::object{{"availability", cfg_.availability_objective},
                                  {"latency_under_3s", cfg_.latency_objective}}},
      {"windows", windows}};
  add_budget(out, windows, cfg_.availability_objective);
  return out;
}

json::array DashboardCollector::databases() {
  json::array out;
  for (const auto& m : cfg_.monitors) {
    json::object db{{"name", m.name}, {"url", m.url}};
    // A monitor that answers something else than its API is shown as such, never trusted
    // (and never allowed to stop the collector).
    try {
      db["reachable"] = false;
      // Of a cluster's monitors, the one that acts; else the first that answers.
      std::optional<json::value> status;
      std::string from;
      for (const auto& url : m.urls.empty() ? std::vector<std::string>{m.url} : m.urls) {
        auto s = get_json(url + "/status");
        if (!s)
          continue;
        const auto* acting = s->as_object().if_contains("acting");
        const bool acts = !acting || (acting->is_bool() && acting->as_bool());
        if (!status || acts) {
          status = std::move(s);
          from = url;
        }
        if (acts)
          break;
      }
      if (status) {
        const auto& s = status->as_object();
        db["url"] = from;
        json::object view;
        for (const char* k :
             {"cluster", "engine", "state", "reason", "epoch", "primary", "serving_primary",
              "replication_mode", "mode_reason", "failovers", "acting_member"})
          if (const auto* v = s.if_contains(k))
            view[k] = *v;
        json::array nodes;
        if (const auto* ns = s.if_contains("nodes"); ns && ns->is_array())
          for (const auto& n : ns->as_array()) {
            json::object node;
            for (const char* k : {"name", "role", "health", "check", "writable", "streaming", "lag",
                                  "error", "consecutive_failures"})
              if (const auto* v = n.as_object().if_contains(k))
                node[k] = *v;
            nodes.push_back(std::move(node));
          }
        view["nodes"] = std::move(nodes);
        db["status"] = std::move(view);
        db["reachable"] = true;
        db["events"] = monitor_events(from);
      } else {
        db["events"] = monitor_events(m.url);
      }
    } catch (const std::exception& e) {
      db["reachable"] = false;
      db["error"] = std::string("not a monitor's answer: ") + e.what();
      db.erase("status");
    }
    out.push_back(std::move(db));
  }
  return out;
}

json::array DashboardCollector::monitor_events(const std::string& url) {
  // Page to the end once, then only the new ones; the last few kept (per monitor: each has
  // its own sequence).
  auto& seq = monitor_seq_[url];
  auto& kept = monitor_events_[url];
  for (int page = 0; page < 50; ++page) {
    const auto ev = get_json(url + "/events?limit=500&after=" + std::to_string(seq));
    if (!ev)
      break;
    const auto& list = ev->as_object().at("events").as_array();
    for (const auto& e : list) {
      const auto& o = e.as_object();
      seq = std::max<uint64_t>(seq, static_cast<uint64_t>(o.at("seq").to_number<int64_t>()));
      json::object brief;
      for (const char* k : {"ts", "event", "node", "epoch", "reason", "seq"})
        if (const auto* v = o.if_contains(k))
          brief[k] = *v;
      kept.push_back(std::move(brief));
      if (kept.size() > kEventsKept)
        kept.erase(kept.begin());
    }
    if (list.size() < 500)
      break;
  }
  json::array events;
  for (auto it = kept.rbegin(); it != kept.rend(); ++it)
    events.push_back(*it);
  return events;
}

json::array DashboardCollector::drills() {
  json::array out;
  if (cfg_.drills_dir.empty())
    return out;
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(cfg_.drills_dir, ec))
    if (e.is_regular_file() && e.path().extension() == ".json" && e.file_size() < (8 << 20))
      names.push_back(e.path().filename().string());
  // Names start with a UTC timestamp: the newest sort last.
  std::sort(names.rbegin(), names.rend());
  if (names.size() > kDrillsListed)
    names.resize(kDrillsListed);
  std::map<std::string, json::object> still;
  for (const auto& name : names) {
    auto it = drill_cache_.find(name);
    if (it == drill_cache_.end()) {
      std::ifstream in(fs::path(cfg_.drills_dir) / name);
      std::stringstream text;
      text << in.rdbuf();
      boost::system::error_code pec;
      const auto v = json::parse(text.str(), pec);
      if (pec || !v.is_object())
        continue;
      const auto& r = v.as_object();
      json::object brief{{"file", name}};
      for (const char* k : {"scenario", "variant", "started", "passed", "target"})
        if (const auto* f = r.if_contains(k))
          brief[k] = *f;
      if (const auto* vs = r.if_contains("verdicts"); vs && vs->is_array())
        brief["verdicts"] = *vs;
      it = drill_cache_.emplace(name, std::move(brief)).first;
    }
    still.emplace(name, it->second);
    out.push_back(it->second);
  }
  drill_cache_ = std::move(still);
  return out;
}

}  // namespace medgate::gateway
