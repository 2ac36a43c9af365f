#include "tests/support/etcd_cluster.hpp"

#include <csignal>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "clients/curl_client.hpp"

namespace medgate::testing {

namespace {

// Appended piece by piece: GCC 12 at -O3 warns falsely (-Wrestrict) on "literal" + string.
std::string loopback_url(uint16_t port) {
  std::string url = "http://127.0.0.1:";
  url += std::to_string(port);
  return url;
}

std::string member_name(size_t i) {
  std::string name = "e";
  name += std::to_string(i + 1);
  return name;
}

}  // namespace

EtcdCluster::EtcdCluster(size_t members) : dir_(make_temp_dir("etcd-")) {
  if (!std::filesystem::exists("/usr/bin/etcd"))
    throw std::runtime_error(
        "etcd is not installed (Debian etcd-server; scripts/test installs it)");
  for (size_t i = 0; i < members; ++i)
    members_.push_back(
        {.name = member_name(i), .client_port = free_port(), .peer_port = free_port()});
  for (size_t i = 0; i < members; ++i)
    launch(i, true);
  for (size_t i = 0; i < members; ++i) {
    // /health is "true" only once the member sees a leader: the cluster has quorum.
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
      const auto r = clients::curl_perform(
          {.url = client_url(i) + "/health", .timeout = std::chrono::milliseconds(500)});
      if (r.status == 200 && r.body.find("true") != std::string::npos)
        break;
      if (std::chrono::steady_clock::now() > until)
        throw std::runtime_error("etcd member " + members_[i].name +
                                 " not healthy: " + members_[i].process->log());
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
}

EtcdCluster::~EtcdCluster() {
  for (auto& m : members_)
    if (m.process)
      m.process->stop(SIGTERM, std::chrono::seconds(10));
  members_.clear();
  std::filesystem::remove_all(dir_);
}

std::string EtcdCluster::client_url(size_t member) const {
  return loopback_url(members_.at(member).client_port);
}

std::string EtcdCluster::endpoints() const {
  std::string out;
  for (size_t i = 0; i < members_.size(); ++i) {
    if (i)
      out += ',';
    out += client_url(i);
  }
  return out;
}

void EtcdCluster::launch(size_t member, bool first) {
  std::string initial;
  for (const auto& m : members_) {
    if (!initial.empty())
      initial += ',';
    initial += m.name;
    initial += '=';
    initial += loopback_url(m.peer_port);
  }
  Member& m = members_.at(member);
  const std::string peer = loopback_url(m.peer_port);
  const std::string client = client_url(member);
  m.process = std::make_unique<ChildProcess>(
      std::vector<std::string>{"/usr/bin/etcd", "--name", m.name, "--data-dir", dir_ + "/" + m.name,
                               "--listen-client-urls", client, "--advertise-client-urls", client,
                               "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                               "--initial-cluster", initial, "--initial-cluster-state",
                               first ? "new" : "existing", "--initial-cluster-token",
                               "medgate-test"},
      dir_ + "/" + m.name + ".log");
}

void EtcdCluster::stop(size_t member) {
  auto& p = members_.at(member).process;
  if (p)
    p->stop(SIGTERM, std::chrono::seconds(10));
  p.reset();
}

void EtcdCluster::start(size_t member) {
  launch(member, false);
  if (!wait_for_http(client_url(member) + "/health", std::chrono::seconds(20)))
    throw std::runtime_error("etcd member did not come back: " +
                             members_.at(member).process->log());
}

}  // namespace medgate::testing
