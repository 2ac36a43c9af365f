// db-monitor as a real process for integration tests, and concurrent writers that record
// which writes were acknowledged, so a test can prove none of them was lost.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "clients/curl_client.hpp"
#include "clients/db/db.hpp"
#include "tests/support/process.hpp"

namespace medgate::testing {

class MonitorProcess {
 public:
  // `yaml` is the configuration without listen/state_file/event_log/api, which are added.
  explicit MonitorProcess(const std::string& yaml) : dir_(make_temp_dir("dbmon-")) {
    // Readable by the database users: a node's start wrapper reads the configuration and
    // the record (db-monitor role).
    std::filesystem::permissions(
        dir_, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                  std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                  std::filesystem::perms::others_exec);
    port_ = free_port();
    std::ofstream(dir_ + "/monitor.yaml")
        << "listen: { address: 127.0.0.1, port: " << port_ << " }\n"
        << "state_file: " << dir_ << "/topology.json\n"
        << "event_log: " << dir_ << "/events.jsonl\n"
        << "api: { token: test-token-0123456789 }\n"
        << yaml;
    start();
  }
  ~MonitorProcess() {
    if (process_)
      process_->stop(SIGTERM, std::chrono::seconds(20));
    process_.reset();
    std::filesystem::remove_all(dir_);
  }
  void start() {
    process_ =
        std::make_unique<ChildProcess>(std::vector<std::string>{binary_dir() + "/apps/db-monitor",
                                                                "--config", dir_ + "/monitor.yaml"},
                                       dir_ + "/monitor.log");
    if (!wait_for_http(url("/health"), std::chrono::seconds(20)))
      ADD_FAILURE() << "db-monitor did not come up:\n" << process_->log();
  }

  [[nodiscard]] std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  [[nodiscard]] boost::json::object status() const {
    const auto r =
        clients::curl_perform({.url = url("/status"), .timeout = std::chrono::seconds(3)});
    boost::system::error_code ec;
    auto v = boost::json::parse(r.body, ec);
    return !ec && v.is_object() ? v.as_object() : boost::json::object{};
  }
  // The serving primary's name, or "" (503 or no answer).
  [[nodiscard]] std::string serving_primary() const {
    const auto r =
        clients::curl_perform({.url = url("/primary"), .timeout = std::chrono::seconds(2)});
    if (r.status != 200)
      return "";
    boost::system::error_code ec;
    auto v = boost::json::parse(r.body, ec);
    if (ec)
      return "";
    return std::string(v.at("primary").at("name").as_string());
  }
  // Polls `pred(status)` every 50 ms until true or `timeout`.
  bool wait_until(const std::function<bool(const boost::json::object&)>& pred,
                  std::chrono::milliseconds timeout) const {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      if (pred(status()))
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  [[nodiscard]] std::string events() const {
    std::ifstream in(dir_ + "/events.jsonl");
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  [[nodiscard]] std::string log() const { return process_ ? process_->log() : ""; }
  // A fault of the monitor itself (SIGSTOP/SIGCONT, SIGKILL).
  void signal(int sig) const {
    if (process_)
      process_->signal(sig);
  }
  [[nodiscard]] bool running() { return process_ && process_->running(); }
  [[nodiscard]] int exit_status() const { return process_ ? process_->exit_status() : -1; }
  void kill() {
    if (process_)
      process_->kill();
    process_.reset();
  }
  [[nodiscard]] const std::string& dir() const { return dir_; }
  [[nodiscard]] std::string config_path() const { return dir_ + "/monitor.yaml"; }

 private:
  std::string dir_;
  uint16_t port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

inline std::string field(const boost::json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : "";
}

inline const boost::json::object* node_of(const boost::json::object& status,
                                          const std::string& name) {
  const auto* nodes = status.if_contains("nodes");
  if (!nodes || !nodes->is_array())
    return nullptr;
  for (const auto& n : nodes->as_array())
    if (n.is_object() && field(n.as_object(), "name") == name)
      return &n.as_object();
  return nullptr;
}

// Writers inserting unique ids into whichever node `target()` names, each on its own
// connection; every insert is either acknowledged (COMMIT answered) or unknown.
class Writers {
 public:
  using Target = std::function<std::optional<db::DbNode>()>;
  Writers(std::shared_ptr<db::DbDriver> driver, Target target, std::string insert_sql, int threads)
      : driver_(std::move(driver)), target_(std::move(target)), sql_(std::move(insert_sql)) {
    for (int w = 0; w < threads; ++w)
      threads_.emplace_back([this, w] { run(w); });
  }
  ~Writers() { stop(); }
  void stop() {
    stop_.store(true);
    for (auto& t : threads_)
      if (t.joinable())
        t.join();
  }
  [[nodiscard]] std::set<int64_t> acknowledged() const {
    std::lock_guard lock(mu_);
    return acked_;
  }
  [[nodiscard]] size_t unknown() const {
    std::lock_guard lock(mu_);
    return unknown_;
  }
  [[nodiscard]] size_t acknowledged_count() const {
    std::lock_guard lock(mu_);
    return acked_.size();
  }

 private:
  void run(int writer) {
    std::unique_ptr<db::DbConnection> conn;
    std::string conn_label;
    for (int64_t i = 0; !stop_.load() && i < 100000; ++i) {
      const int64_t id = static_cast<int64_t>(writer) * 1'000'000 + i;
      const auto node = target_();
      if (!node) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      try {
        if (!conn || conn_label != node->label()) {
          conn = driver_->connect(*node, std::chrono::seconds(1));
          conn_label = node->label();
        }
        (void)conn->execute(sql_, {std::to_string(id), std::to_string(writer)});
        std::lock_guard lock(mu_);
        acked_.insert(id);
      } catch (const db::DbError&) {
        conn.reset();
        std::lock_guard lock(mu_);
        ++unknown_;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  }

  std::shared_ptr<db::DbDriver> driver_;
  Target target_;
  std::string sql_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::set<int64_t> acked_;
  size_t unknown_ = 0;
  std::vector<std::thread> threads_;
};

// Writers running, a fault of the primary: waits until node `to` serves writes and the
// writers got 50 more writes acknowledged there, runs `after_promotion`, stops the writers.
// Returns the time from the fault to the monitor's /primary naming `to`.
inline std::chrono::milliseconds run_through_failover(
    const MonitorProcess& monitor, Writers& writers, const std::string& to,
    const std::function<void()>& fault, const std::function<void()>& after_promotion) {
  using namespace std::chrono_literals;
  while (writers.acknowledged_count() < 50)
    std::this_thread::sleep_for(10ms);
  const auto t0 = std::chrono::steady_clock::now();
  fault();
  const bool promoted =
      monitor.wait_until([&](const auto& s) { return field(s, "serving_primary") == to; }, 20s);
  const auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  EXPECT_TRUE(promoted) << monitor.events();
  const size_t before = writers.acknowledged_count();
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (writers.acknowledged_count() < before + 50 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(10ms);
  EXPECT_GE(writers.acknowledged_count(), before + 50) << "writes did not resume on " << to;
  if (after_promotion)
    after_promotion();
  writers.stop();
  return took;
}

// Waits until `node` answers the monitor again and is read-only (fenced).
inline void expect_fenced(const MonitorProcess& monitor, const std::string& node) {
  EXPECT_TRUE(monitor.wait_until(
      [&](const auto& s) {
        const auto* n = node_of(s, node);
        return n && field(*n, "check") == "ok" && !n->at("writable").as_bool();
      },
      std::chrono::seconds(15)))
      << monitor.events();
}

}  // namespace medgate::testing
