// Starts a hospital service binary against real database servers, with a config the test
// writes, and talks to it over HTTP.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <latch>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "clients/curl_client.hpp"
#include "tests/support/db_servers.hpp"
#include "tests/support/process.hpp"
#include "tests/support/token_kit.hpp"

namespace medgate::testing {

// TLS on a service's listener: a self-signed certificate for 127.0.0.1 (its own CA).
struct ServiceTls {
  std::string cert_file;
  std::string key_file;
};

class ServiceProcess {
 public:
  // `yaml` is the whole configuration except `listen`, which is added, and (for the services
  // that take bearer tokens, unless `yaml` has them) an `auth` section trusting this
  // process's own test keys and an `audit_log` in its directory (audit_path()). With `tls`
  // the service listens with it, and this class speaks HTTPS to it.
  ServiceProcess(const std::string& binary, const std::string& yaml,
                 std::optional<ServiceTls> tls = std::nullopt)
      : dir_(make_temp_dir("svc-")), kit_(dir_), tls_(std::move(tls)) {
    port_ = free_port();
    std::ofstream out(dir_ + "/service.yaml");
    out << "listen: { address: 127.0.0.1, port: " << port_;
    if (tls_)
      out << ", tls: { cert_file: " << tls_->cert_file << ", key_file: " << tls_->key_file << " }";
    out << " }\n" << yaml;
    if (binary != "patient-portal" && yaml.find("auth:") == std::string::npos)
      out << "auth:\n" << kit_.verifier_yaml();
    if (binary != "patient-portal" && yaml.find("audit_log:") == std::string::npos)
      out << "audit_log: { path: " << audit_path() << " }\n";
    out.close();
    start(binary);
  }
  ~ServiceProcess() {
    process_.reset();
    std::filesystem::remove_all(dir_);
  }

  void start(const std::string& binary) {
    binary_ = binary;
    process_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{binary_dir() + "/apps/" + binary + "/" + binary, "--config",
                                 dir_ + "/service.yaml"},
        dir_ + "/service.log");
    bool up = false;
    if (!tls_) {
      up = wait_for_http(url("/health"), std::chrono::seconds(30));
    } else {
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (!up && std::chrono::steady_clock::now() < until) {
        up = clients::curl_perform({.url = url("/health"),
                                    .timeout = std::chrono::milliseconds(500),
                                    .ca_file = tls_->cert_file})
                 .status > 0;
        if (!up)
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    if (!up)
      ADD_FAILURE() << binary << " did not come up:\n" << process_->log();
  }
  void restart() {
    process_->stop(SIGTERM, std::chrono::seconds(10));
    start(binary_);
  }

  [[nodiscard]] uint16_t port() const { return port_; }
  [[nodiscard]] std::string audit_path() const { return dir_ + "/audit.jsonl"; }
  [[nodiscard]] std::string url(const std::string& path) const {
    return (tls_ ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port_) + path;
  }
  // The tests' caller: Dr. Rojas (doctor 2 in the medical seed's staff), with every staff role.
  [[nodiscard]] std::string staff_bearer() const {
    using auth::Role;
    return kit_.bearer("dr-rojas",
                       {Role::doctor, Role::nurse, Role::administrative, Role::accountant});
  }
  [[nodiscard]] const TokenKit& tokens() const { return kit_; }
  clients::CurlResponse get(const std::string& path) {
    return clients::curl_perform(
        {.url = url(path), .headers = {{"Authorization", staff_bearer()}}, .ca_file = ca_file()});
  }
  clients::CurlResponse post(const std::string& path, const std::string& body,
                             const std::string& idempotency_key = "") {
    return post_as(staff_bearer(), path, body, idempotency_key);
  }
  // As `post`, with another caller's `Authorization`.
  clients::CurlResponse post_as(const std::string& authorization, const std::string& path,
                                const std::string& body, const std::string& idempotency_key = "") {
    std::vector<std::pair<std::string, std::string>> headers = {
        {"Content-Type", "application/json"}, {"Authorization", authorization}};
    if (!idempotency_key.empty())
      headers.emplace_back("Idempotency-Key", idempotency_key);
    return clients::curl_perform({.method = "POST",
                                  .url = url(path),
                                  .body = body,
                                  .headers = headers,
                                  .timeout = std::chrono::seconds(20),
                                  .ca_file = ca_file()});
  }
  // The certificate that signs the service's own (TLS only; empty otherwise).
  [[nodiscard]] std::string ca_file() const { return tls_ ? tls_->cert_file : std::string(); }
  [[nodiscard]] std::string log() const { return process_->log(); }
  // SIGTERM and wait: the exit status, or -1 if it did not exit within `timeout`.
  int stop(std::chrono::milliseconds timeout) { return process_->stop(SIGTERM, timeout); }

 private:
  std::string dir_;
  TokenKit kit_;
  std::optional<ServiceTls> tls_;
  std::string binary_;
  uint16_t port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

// `n` identical POSTs with the same Idempotency-Key, released together (a double click, a
// client and its own retry racing): the answers in no particular order.
inline std::vector<clients::CurlResponse> concurrent_posts(ServiceProcess& svc,
                                                           const std::string& path,
                                                           const std::string& body,
                                                           const std::string& key, size_t n) {
  std::vector<clients::CurlResponse> out(n);
  std::latch go(static_cast<std::ptrdiff_t>(n));
  std::vector<std::thread> threads;
  for (size_t i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      go.arrive_and_wait();
      out[i] = svc.post(path, body, key);
    });
  }
  for (auto& t : threads)
    t.join();
  return out;
}

// Exactly one of `answers` wrote (201, not replayed); every other one replayed it.
inline void expect_one_write_rest_replayed(const std::vector<clients::CurlResponse>& answers) {
  size_t written = 0;
  for (const auto& a : answers) {
    ASSERT_EQ(a.status, 201) << a.body;
    if (a.header("idempotent-replayed") != "true")
      ++written;
    EXPECT_EQ(a.body, answers.front().body) << "a replay answers what the write answered";
  }
  EXPECT_EQ(written, 1u);
}

// A MariaDB database and an application user with only what the service needs on it: no
// global privileges, so no READ ONLY ADMIN (which would bypass read_only fencing).
inline void create_app_database(const MariadbServer& m, const std::string& db,
                                const std::string& user) {
  m.sql("CREATE DATABASE IF NOT EXISTS " + db + " CHARACTER SET utf8mb4;" +
        "CREATE USER IF NOT EXISTS '" + user + "'@'127.0.0.1' IDENTIFIED BY 'secret';" +
        "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, REFERENCES ON " + db +
        ".* TO '" + user + "'@'127.0.0.1';");
}

inline std::string mariadb_service_yaml(const std::vector<uint16_t>& ports, const std::string& db,
                                        const std::string& user,
                                        const std::string& failover_wait = "10s") {
  std::string nodes;
  for (uint16_t p : ports)
    nodes += std::string(nodes.empty() ? "" : ", ") + "\"127.0.0.1:" + std::to_string(p) + "\"";
  return "database:\n"
         "  driver: mariadb\n"
         "  nodes: [ " +
         nodes +
         " ]\n"
         "  user: " +
         user +
         "\n"
         "  password: secret\n"
         "  name: " +
         db +
         "\n"
         "  failover_wait: " +
         failover_wait + "\n";
}

}  // namespace medgate::testing
