#include "db-monitors/etcd_store.hpp"

#include <boost/json.hpp>

namespace medgate::dbmon {

namespace json = boost::json;
using clients::EtcdClient;
namespace etcd = clients::etcd;

namespace {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

EtcdTopologyStore::EtcdTopologyStore(EtcdStoreOptions options, EventSink& events,
                                     const resilience::Clock& clock, bool act)
    : options_(std::move(options)),
      events_(events),
      clock_(clock),
      etcd_(options_.endpoints,
            std::chrono::duration_cast<std::chrono::milliseconds>(options_.request_timeout)),
      leadership_(options_.margin) {
  if (options_.margin >= options_.ttl || options_.renew_every >= options_.ttl - options_.margin)
    throw std::invalid_argument(
        "etcd: the lease must outlive a renewal interval plus the safety margin");
  if (act)
    keeper_ = std::thread([this] { keep(); });
}

EtcdTopologyStore::~EtcdTopologyStore() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (!keeper_.joinable())
    return;
  keeper_.join();
  int64_t lease = 0;
  {
    std::lock_guard lock(mu_);
    lease = lease_;
  }
  // Hand the key over at once instead of after the TTL (a stop, not a crash).
  if (lease != 0) {
    try {
      etcd_.revoke(lease);
    } catch (const std::exception&) {
    }
  }
}

std::string EtcdTopologyStore::key(const std::string& leaf) const {
  return options_.prefix + "/" + options_.cluster + "/" + leaf;
}

void EtcdTopologyStore::keep() {
  for (;;) {
    renew_and_campaign();
    std::unique_lock lock(mu_);
    if (wake_.wait_for(lock, options_.renew_every, [this] { return stopping_; }))
      return;
  }
}

void EtcdTopologyStore::renew_and_campaign() {
  int64_t lease = 0;
  {
    std::lock_guard lock(mu_);
    lease = lease_;
  }
  const TimePoint sent = clock_.now();
  try {
    if (lease == 0) {
      const auto ttl_s = std::chrono::duration_cast<std::chrono::seconds>(options_.ttl).count();
      lease = etcd_.grant(ttl_s);
      std::lock_guard lock(mu_);
      lease_ = lease;
      leadership_.holds_key(false, leadership_.holder());
      leadership_.renewed(sent, options_.ttl);
    } else {
      const int64_t left = etcd_.keep_alive(lease);
      std::lock_guard lock(mu_);
      leadership_.renewed(sent, std::chrono::seconds(left));
      if (left == 0)
        lease = lease_ = 0;  // granted anew next time
    }
    if (lease != 0) {
      const std::string leader = key("leader");
      const auto r = etcd_.txn({etcd::created_at(leader, 0)},
                               {etcd::put(leader, options_.member, lease)}, {etcd::range(leader)});
      bool held = r.succeeded;
      std::string holder = r.succeeded ? options_.member : "";
      if (!r.succeeded && !r.ranges.empty() && !r.ranges.front().empty()) {
        const auto& kv = r.ranges.front().front();
        holder = kv.value;
        held = kv.value == options_.member && kv.lease == lease;
      }
      std::lock_guard lock(mu_);
      leadership_.holds_key(held, holder);
    }
  } catch (const std::exception& e) {
    std::lock_guard lock(mu_);
    leadership_.unreachable(e.what());
  }
  bool acting = false;
  std::string why;
  {
    std::lock_guard lock(mu_);
    const TimePoint now = clock_.now();
    acting = leadership_.may_act(now);
    why = leadership_.why_not(now);
    if (acting == announced_acting_)
      return;
    announced_acting_ = acting;
  }
  if (acting)
    events_.emit({"acting", options_.member, {{"lease", std::to_string(lease)}}});
  else
    events_.emit({"stopped_acting", options_.member, {{"reason", why}}});
}

bool EtcdTopologyStore::may_act() {
  std::lock_guard lock(mu_);
  return leadership_.may_act(clock_.now());
}

std::string EtcdTopologyStore::why_not_acting() {
  std::lock_guard lock(mu_);
  return leadership_.why_not(clock_.now());
}

std::string EtcdTopologyStore::acting_member() {
  std::lock_guard lock(mu_);
  return leadership_.holder();
}

std::optional<TopologyRecord> EtcdTopologyStore::load() {
  const auto kv = etcd_.get(key("record"));
  std::optional<TopologyRecord> out;
  if (kv)
    out = record_from_json(json::parse(kv->value));
  std::lock_guard lock(mu_);
  known_epoch_ = out ? out->epoch : 0;
  known_revision_ = kv ? kv->mod_revision : 0;
  return out;
}

bool EtcdTopologyStore::compare_and_set(uint64_t expected_epoch, const TopologyRecord& next) {
  if (next.epoch <= expected_epoch)
    return false;
  bool stale = false;
  {
    std::lock_guard lock(mu_);
    if (!leadership_.may_act(clock_.now()))
      return false;
    stale = known_epoch_ != expected_epoch;
  }
  if (stale)
    (void)load();
  int64_t lease = 0, revision = 0;
  {
    std::lock_guard lock(mu_);
    if (known_epoch_ != expected_epoch || !leadership_.may_act(clock_.now()))
      return false;
    lease = lease_;
    revision = known_revision_;
  }
  const std::string record = key("record"), leader = key("leader");
  // The leader key's value and lease as well as the record's revision: a monitor whose lease
  // expired while it was paused is refused here even if its own estimate were wrong.
  const auto r = etcd_.txn({etcd::modified_at(record, revision),
                            etcd::value_is(leader, options_.member), etcd::lease_is(leader, lease)},
                           {etcd::put(record, json::serialize(to_json(next)))});
  if (!r.succeeded)
    return false;
  std::lock_guard lock(mu_);
  known_epoch_ = next.epoch;
  known_revision_ = r.revision;
  return true;
}

void EtcdTopologyStore::share_view(const PeerView& mine) {
  int64_t lease = 0;
  {
    std::lock_guard lock(mu_);
    lease = lease_;
  }
  if (lease == 0)
    return;  // a view outliving its monitor would vote for it
  const json::object v{{"epoch", mine.epoch},
                       {"primary", mine.primary},
                       {"primary_failing", mine.primary_failing},
                       {"at_ms", mine.at_ms}};
  try {
    (void)etcd_.txn({}, {etcd::put(key("views/" + options_.member), json::serialize(v), lease)});
  } catch (const std::exception&) {
    // The lease's own renewal reports etcd trouble; a view not shared just does not vote.
  }
}

std::vector<PeerView> EtcdTopologyStore::peer_views() {
  std::vector<PeerView> out;
  const std::string prefix = key("views/");
  const int64_t now = wall_ms();
  const int64_t max_age =
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.view_max_age).count();
  for (const auto& kv : etcd_.get_prefix(prefix)) {
    PeerView p;
    p.member = kv.key.substr(prefix.size());
    if (p.member == options_.member)
      continue;
    try {
      const auto o = json::parse(kv.value).as_object();
      p.epoch = json::value_to<uint64_t>(o.at("epoch"));
      p.primary = json::value_to<std::string>(o.at("primary"));
      p.primary_failing = o.at("primary_failing").as_bool();
      p.at_ms = json::value_to<int64_t>(o.at("at_ms"));
    } catch (const std::exception&) {
      continue;  // not a view this version writes
    }
    if (now - p.at_ms <= max_age)
      out.push_back(std::move(p));
  }
  return out;
}

}  // namespace medgate::dbmon
