// TopologyStore in etcd, for two or more monitors per cluster (Debian etcd-server 3.4, its v3
// JSON gateway). Keys, under PREFIX/CLUSTER/:
//   leader        the acting monitor's name, attached to its lease (gone when the lease is)
//   record        the topology record (JSON), written only by transactions that compare
//                 its mod revision with the one last read AND the leader key's value and
//                 lease with ours: a monitor that lost its lease, or was paused while
//                 another took over, has every write refused
//   views/MEMBER  each monitor's view of the primary, attached to its lease
//
// A keeper thread grants the lease, renews it every `renew_every` and campaigns for the
// leader key (create-if-absent). may_act() is true only while this monitor holds the key and
// its own estimate of the lease's life (db-monitors/leadership.hpp) has not run out, so a
// monitor that cannot renew stops acting `margin` before etcd can give the key to another.
// Calls are blocking: the monitor's loop thread and the keeper make them, never an io thread.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "clients/etcd_client.hpp"
#include "db-monitors/events.hpp"
#include "db-monitors/leadership.hpp"
#include "db-monitors/topology.hpp"

namespace medgate::dbmon {

struct EtcdStoreOptions {
  std::vector<std::string> endpoints;  // http://host:port of each member
  std::string prefix = "/medgate";
  std::string cluster;
  std::string member;  // this monitor's name, unique among the cluster's monitors
  Duration ttl = std::chrono::seconds(3);
  Duration renew_every = std::chrono::seconds(1);
  Duration margin = std::chrono::milliseconds(1000);
  Duration request_timeout = std::chrono::milliseconds(500);
  // Views older than this are left out of the vote (a monitor that stopped checking).
  Duration view_max_age = std::chrono::seconds(5);
};

class EtcdTopologyStore final : public TopologyStore {
 public:
  // `events` receives leadership changes. Starts the keeper when `act`; a store opened only
  // to read (db-monitor role) never campaigns.
  EtcdTopologyStore(EtcdStoreOptions options, EventSink& events, const resilience::Clock& clock,
                    bool act = true);
  ~EtcdTopologyStore() override;  // stops the keeper and gives the lease back
  EtcdTopologyStore(const EtcdTopologyStore&) = delete;
  EtcdTopologyStore& operator=(const EtcdTopologyStore&) = delete;

  [[nodiscard]] std::optional<TopologyRecord> load() override;
  [[nodiscard]] bool compare_and_set(uint64_t expected_epoch, const TopologyRecord& next) override;
  [[nodiscard]] bool may_act() override;
  [[nodiscard]] std::string why_not_acting() override;
  [[nodiscard]] std::string acting_member() override;
  void share_view(const PeerView& mine) override;
  [[nodiscard]] std::vector<PeerView> peer_views() override;

  [[nodiscard]] std::string key(const std::string& leaf) const;

 private:
  void keep();
  void renew_and_campaign();

  EtcdStoreOptions options_;
  EventSink& events_;
  const resilience::Clock& clock_;
  clients::EtcdClient etcd_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  int64_t lease_ = 0;
  Leadership leadership_;
  bool announced_acting_ = false;
  // The record as last read or written by this monitor: its epoch and mod revision.
  uint64_t known_epoch_ = 0;
  int64_t known_revision_ = 0;
  std::thread keeper_;
};

}  // namespace medgate::dbmon
