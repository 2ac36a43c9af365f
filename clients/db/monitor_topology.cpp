#include "clients/db/monitor_topology.hpp"

#include <boost/json.hpp>

#include "clients/curl_client.hpp"

namespace medgate::db {

MonitorTopology::MonitorTopology(std::vector<std::string> urls, std::chrono::milliseconds timeout,
                                 std::chrono::milliseconds ttl, std::chrono::milliseconds watch)
    : urls_(std::move(urls)), timeout_(timeout), ttl_(ttl), watch_(watch) {
  if (urls_.empty())
    throw std::invalid_argument("MonitorTopology: no monitor URL");
  if (watch_.count() > 0)
    for (const auto& url : urls_)
      watchers_.emplace_back([this, url] { watch_one(url); });
}

MonitorTopology::~MonitorTopology() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cancel_ = true;
  stop_cv_.notify_all();
  // A watcher in a long poll returns within about a second (libcurl's progress check).
  for (auto& t : watchers_)
    t.join();
}

void MonitorTopology::learn(const Answer& a, bool from_acting) {
  // Under mu_. Two monitors answer about the same record; the acting one's view of it
  // (which node serves) is the one to keep, a standby's only until the acting one speaks.
  if (a.epoch < newest_epoch_)
    return;
  if (a.epoch == newest_epoch_ && cached_from_acting_ && !from_acting &&
      std::chrono::steady_clock::now() - fetched_ < watch_ + timeout_)
    return;
  newest_epoch_ = a.epoch;
  cached_ = a;
  cached_from_acting_ = from_acting;
  fetched_ = watched_ = std::chrono::steady_clock::now();
}

void MonitorTopology::watch_one(const std::string& url) {
  std::string known;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_)
        return;
    }
    const std::string sep = url.find('?') == std::string::npos ? "?" : "&";
    const auto started = std::chrono::steady_clock::now();
    const auto r = clients::curl_perform(
        {.url = url + sep + "wait_ms=" + std::to_string(watch_.count()) + "&known=" + known,
         .timeout = watch_ + timeout_,
         .max_body = 64 * 1024,
         .cancel = &cancel_});
    const Reply reply = read_reply(r.ok() ? r.status : 0, r.body);
    std::unique_lock lock(mu_);
    if (stopping_)
      return;
    const std::string sent = known;
    if (reply.answer.reachable) {
      known = reply.version;
      learn(reply.answer, reply.acting);
    }
    // A monitor that does not hold the request (down, without long polls, or answering
    // at once with what was already known) is asked again after a pause, not in a loop. A
    // new version answered at once is a change: asked again at once.
    const bool unchanged_at_once =
        known == sent && std::chrono::steady_clock::now() - started < watch_ / 2;
    if (!reply.answer.reachable || known.empty() || unchanged_at_once)
      stop_cv_.wait_for(lock, reply.answer.reachable ? ttl_ : std::chrono::milliseconds(250),
                        [this] { return stopping_; });
  }
}

TopologySource::Answer MonitorTopology::parse(long status, const std::string& body) {
  return read_reply(status, body).answer;
}

MonitorTopology::Reply MonitorTopology::read_reply(long status, const std::string& body) {
  Reply out;
  Answer& a = out.answer;
  if (status != 200 && status != 503)
    return out;
  boost::system::error_code ec;
  const auto v = boost::json::parse(body, ec);
  if (ec || !v.is_object())
    return out;
  try {
    const auto& o = v.as_object();
    a.reachable = true;
    if (const auto* e = o.if_contains("epoch"); e && e->is_number())
      a.epoch = e->to_number<uint64_t>();
    if (const auto* ver = o.if_contains("version"); ver && ver->is_string())
      out.version = std::string(ver->as_string());
    if (const auto* acting = o.if_contains("acting"); acting && acting->is_bool())
      out.acting = acting->as_bool();
    if (const auto* rs = o.if_contains("replicas"); rs && rs->is_array()) {
      a.replicas.emplace();
      for (const auto& r : rs->as_array()) {
        const auto* ro = r.if_object();
        const auto* host = ro ? ro->if_contains("host") : nullptr;
        const auto* port = ro ? ro->if_contains("port") : nullptr;
        if (host && host->is_string() && port && port->is_number())
          a.replicas->push_back(std::string(host->as_string()) + ":" +
                                std::to_string(port->to_number<uint16_t>()));
      }
    }
    if (status == 200) {
      const auto* p = o.if_contains("primary");
      if (p && p->is_object()) {
        const auto* host = p->as_object().if_contains("host");
        const auto* port = p->as_object().if_contains("port");
        if (host && host->is_string() && port && port->is_number()) {
          a.primary =
              std::string(host->as_string()) + ":" + std::to_string(port->to_number<uint16_t>());
          return out;
        }
      }
      a.reachable = false;  // a 200 without a primary is not an answer we understand
      return out;
    }
    if (const auto* e = o.if_contains("error"); e && e->is_string())
      a.why = std::string(e->as_string());
  } catch (const std::exception&) {
    // A number out of range (a negative epoch, a port above 65535): not an answer either.
    out = Reply{};
  }
  return out;
}

TopologySource::Answer MonitorTopology::fetch(uint64_t newest_seen) const {
  Answer out;
  std::string failures;
  for (const auto& url : urls_) {
    const auto r = clients::curl_perform({.url = url, .timeout = timeout_, .max_body = 64 * 1024});
    Answer a = parse(r.ok() ? r.status : 0, r.body);
    if (a.reachable && a.epoch >= newest_seen)
      return a;
    const std::string why =
        a.reachable ? "answered about epoch " + std::to_string(a.epoch) + ", older than " +
                          std::to_string(newest_seen)
                    : (r.ok() ? "unexpected answer " + std::to_string(r.status) : r.error);
    failures += (failures.empty() ? "" : "; ") + url + ": " + why;
  }
  out.why = failures;
  return out;
}

TopologySource::Answer MonitorTopology::primary() {
  std::unique_lock lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (!watchers_.empty() && watched_ != std::chrono::steady_clock::time_point{} &&
      now - watched_ < watch_ + timeout_)
    return cached_;  // the watchers keep it current
  const auto keep = cached_.reachable && !cached_.primary ? ttl_ / 5 : ttl_;
  const bool have = fetched_ != std::chrono::steady_clock::time_point{};
  if (have && now - fetched_ < keep)
    return cached_;
  if (fetching_) {
    // Another caller asks the monitors: take what is known, or wait for the first answer.
    if (have)
      return cached_;
    fetched_cv_.wait(lock, [this] { return !fetching_; });
    return cached_;
  }
  fetching_ = true;
  const uint64_t newest = newest_epoch_;
  lock.unlock();
  Answer a = fetch(newest);
  lock.lock();
  fetching_ = false;
  newest_epoch_ = std::max(newest_epoch_, a.epoch);
  cached_ = a;
  cached_from_acting_ = false;
  fetched_ = std::chrono::steady_clock::now();
  lock.unlock();
  fetched_cv_.notify_all();
  return a;
}

}  // namespace medgate::db
