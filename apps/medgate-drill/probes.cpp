#include "apps/medgate-drill/probes.hpp"

#include <boost/json.hpp>

#include "clients/curl_client.hpp"
#include "clients/db/mariadb_driver.hpp"
#include "clients/db/postgres_driver.hpp"

namespace medgate::drill {
namespace json = boost::json;

namespace {

clients::CurlResponse get(const std::string& url, std::chrono::milliseconds timeout) {
  return clients::curl_perform(clients::CurlRequest{.url = url, .timeout = timeout});
}

std::optional<json::value> get_json(const std::string& url) {
  const auto r = get(url, std::chrono::milliseconds(1000));
  if (r.status == 0)
    return std::nullopt;
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  if (ec)
    return std::nullopt;
  return v;
}

std::string str(const json::value& v, std::string_view key) {
  if (const auto* o = v.if_object())
    if (const auto* f = o->if_contains(key); f && f->is_string())
      return std::string(f->as_string());
  return {};
}

std::string last_reason(const json::object& breaker) {
  if (const auto* t = breaker.if_contains("transitions");
      t && t->is_array() && !t->as_array().empty())
    return str(t->as_array().back(), "reason");
  return {};
}

bool is_open(const std::string& state) {
  return state == "open" || state == "forced_open";
}

// Which monitor events mean what to the drill.
const char* kind_of_monitor_event(std::string_view type) {
  if (type == "confirmed_down")
    return kind::detected;
  if (type == "promote_done")
    return kind::promoted;
  if (type == "old_primary_rejoined")
    return kind::rejoined;
  return kind::monitor;
}

}  // namespace

Probes::Probes(StackLayout layout, Clock::time_point origin, std::string watch_writable,
               std::chrono::milliseconds period)
    : layout_(std::move(layout)),
      origin_(origin),
      watch_(std::move(watch_writable)),
      period_(period) {
  // The monitors stamp events with the same monotonic clock (one machine, one kernel).
  origin_mono_ms_ =
      std::chrono::duration_cast<std::chrono::milliseconds>(origin_.time_since_epoch()).count();
}

Probes::~Probes() {
  stop();
}

Ms Probes::now() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - origin_).count();
}

void Probes::start() {
  // Skip the monitors' past: only what happens from now on counts.
  for (const auto& c : layout_.clusters) {
    uint64_t after = 0;
    for (int page = 0; page < 100; ++page) {
      const auto v = get_json(c.monitor_url + "/events?limit=1000&after=" + std::to_string(after));
      if (!v || !v->is_object())
        break;
      const auto& list = v->as_object().at("events").as_array();
      for (const auto& e : list)
        if (const auto* s = e.as_object().if_contains("seq"))
          after = std::max<uint64_t>(after, static_cast<uint64_t>(s->to_number<int64_t>()));
      if (list.size() < 1000)
        break;
    }
    monitor_seq_[c.name] = after;
  }
  poll_medgate();  // the starting states, without events
  medgate_seen_ = true;
  poller_ = std::thread([this] { poll_loop(); });
  if (!watch_.empty())
    writable_ = std::thread([this] { writable_loop(); });
}

void Probes::stop() {
  stopping_ = true;
  if (poller_.joinable())
    poller_.join();
  if (writable_.joinable())
    writable_.join();
}

void Probes::add(Event e) {
  std::lock_guard lock(mu_);
  events_.push_back(std::move(e));
}

void Probes::mark(const std::string& k, const std::string& detail) {
  add({.at = now(), .source = "drill", .kind = k, .detail = detail});
}

std::vector<Event> Probes::events() const {
  std::lock_guard lock(mu_);
  auto out = events_;
  std::stable_sort(out.begin(), out.end(),
                   [](const Event& a, const Event& b) { return a.at < b.at; });
  return out;
}

std::vector<ClockReading> Probes::clocks() const {
  std::lock_guard lock(mu_);
  return clocks_;
}

std::string Probes::why_unsteady() const {
  std::lock_guard lock(mu_);
  return unsteady_reason_;
}

bool Probes::wait_steady(std::chrono::milliseconds timeout) const {
  const auto until = Clock::now() + timeout;
  while (Clock::now() < until) {
    if (steady_)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return steady_;
}

bool Probes::wait_event(const std::string& k, Ms from, std::chrono::milliseconds timeout) const {
  const auto until = Clock::now() + timeout;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      for (const auto& e : events_)
        if (e.kind == k && e.at >= from)
          return true;
    }
    if (Clock::now() >= until)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void Probes::poll_loop() {
  int tick = 0;
  while (!stopping_) {
    const auto next = Clock::now() + period_;
    {
      const auto wall = std::chrono::system_clock::now();
      std::lock_guard lock(mu_);
      clocks_.push_back(
          {.steady = now(),
           .wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(wall.time_since_epoch())
                          .count()});
    }
    // An answer of another shape than medgate's or a monitor's API is skipped, never fatal:
    // the probes must outlive whatever the drill breaks.
    try {
      poll_medgate();
      poll_monitors();
      if (tick++ % 2 == 0)
        check_steady();
    } catch (const std::exception& e) {
      add({.at = now(),
           .source = "probe",
           .kind = kind::monitor,
           .detail = std::string("unreadable answer: ") + e.what()});
    }
    std::this_thread::sleep_until(next);
  }
}

void Probes::poll_medgate() {
  const Ms at = now();
  const auto v = get_json(layout_.medgate_url + "/health");
  if (!v || !v->is_object() || !v->as_object().contains("upstreams"))
    return;  // medgate down: check_steady says so
  for (const auto& [name, up] : v->as_object().at("upstreams").as_object()) {
    const auto& u = up.as_object();
    auto note = [&](const std::string& who, const json::object& breaker) {
      const std::string state = str(breaker, "state");
      std::string& before = breaker_state_[who];
      if (medgate_seen_ && state != before) {
        if (is_open(state) && !is_open(before))
          add({.at = at,
               .source = "medgate",
               .kind = kind::breaker_open,
               .detail = who + ": " + before + " -> " + state + " (" + last_reason(breaker) + ")"});
        else if (state == "closed" && !before.empty())
          add({.at = at,
               .source = "medgate",
               .kind = kind::breaker_closed,
               .detail = who + ": " + before + " -> closed (" + last_reason(breaker) + ")"});
      }
      before = state;
    };
    note(std::string(name), u);
    if (const auto* eps = u.if_contains("endpoints"); eps && eps->is_array()) {
      for (const auto& ep : eps->as_array()) {
        const auto& e = ep.as_object();
        const std::string who = std::string(name) + " " + str(e, "url");
        if (const auto* b = e.if_contains("breaker"); b && b->is_object())
          note(who, b->as_object());
        const bool routable = e.contains("routable") && e.at("routable").as_bool();
        auto [it, fresh] = routable_.try_emplace(who, routable);
        if (!fresh && it->second != routable && medgate_seen_)
          add({.at = at,
               .source = "medgate",
               .kind = routable ? kind::endpoint_in : kind::endpoint_out,
               .detail = who + (routable ? "" : " (" + str(e, "reason") + ")")});
        it->second = routable;
      }
    }
  }
}

void Probes::poll_monitors() {
  for (const auto& c : layout_.clusters) {
    uint64_t& after = monitor_seq_[c.name];
    const auto v = get_json(c.monitor_url + "/events?limit=200&after=" + std::to_string(after));
    if (!v || !v->is_object())
      continue;
    for (const auto& item : v->as_object().at("events").as_array()) {
      const auto& e = item.as_object();
      after = std::max<uint64_t>(after, static_cast<uint64_t>(e.at("seq").to_number<int64_t>()));
      const std::string type = str(e, "event");
      // Appended, not `" " + node`: GCC 12 at -O3 reads that operator+ as an overlapping
      // memcpy (a false -Wrestrict, GCC bug 105329) and the release build stops.
      std::string detail = type;
      if (const std::string node = str(e, "node"); !node.empty())
        detail.append(" ").append(node);
      Event out{.source = c.monitor, .kind = kind_of_monitor_event(type), .detail = detail};
      if (const auto* mono = e.if_contains("mono_ms")) {
        out.at = mono->to_number<int64_t>() - origin_mono_ms_;
      } else {
        out.at = now();
      }
      add(std::move(out));
    }
  }
}

void Probes::check_steady() {
  std::string reason;
  const auto health = get_json(layout_.medgate_url + "/health");
  if (!health)
    reason = "medgate does not answer /health";
  else if (str(*health, "status") != "ok")
    reason = "medgate /health is " + str(*health, "status");
  for (const auto& c : layout_.clusters) {
    if (!reason.empty())
      break;
    if (get(c.monitor_url + "/primary", std::chrono::milliseconds(1000)).status != 200)
      reason = c.monitor + ": no primary takes writes";
    else if (get(c.monitor_url + "/replica", std::chrono::milliseconds(1000)).status != 200)
      reason = c.monitor + ": no replica streams";
  }
  const bool now_steady = reason.empty();
  std::lock_guard lock(mu_);
  unsteady_reason_ = reason;
  if (!steady_known_ || now_steady != steady_) {
    events_.push_back({.at = now(),
                       .source = "probe",
                       .kind = now_steady ? kind::steady : kind::unsteady,
                       .detail = reason});
    steady_known_ = true;
  }
  steady_ = now_steady;
}

// Two writable primaries: node A writable, then B, then A again, all within one sweep. The
// second look at A closes the gap a legitimate switch (A demoted, then B promoted) would
// slip through.
void Probes::writable_loop() {
  const ClusterLayout& c = layout_.cluster(watch_);
  std::unique_ptr<db::DbDriver> driver;
  if (c.driver == "postgres")
    driver = std::make_unique<db::PostgresDriver>();
  else
    driver =
        std::make_unique<db::MariadbDriver>(db::MysqlDialect::mariadb, std::chrono::seconds(1));
  std::vector<std::unique_ptr<db::DbConnection>> conns(c.nodes.size());
  auto writable = [&](size_t i) -> bool {
    try {
      if (!conns[i])
        conns[i] = driver->connect({.port = c.nodes[i].second,
                                    .user = c.user,
                                    .password = c.password,
                                    .database = c.database},
                                   std::chrono::milliseconds(500));
      conns[i]->set_deadline(Clock::now() + std::chrono::milliseconds(800));
      return conns[i]->writable();
    } catch (const std::exception&) {
      conns[i].reset();
      return false;
    }
  };
  while (!stopping_) {
    const auto next = Clock::now() + std::chrono::milliseconds(200);
    if (c.nodes.size() == 2) {
      const Ms at = now();
      if (writable(0) && writable(1) && writable(0))
        add({.at = at,
             .source = "probe",
             .kind = kind::two_writable,
             .detail = c.nodes[0].first + " and " + c.nodes[1].first + " both take writes"});
    }
    std::this_thread::sleep_until(next);
  }
}

}  // namespace medgate::drill
