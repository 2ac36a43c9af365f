// Starts two real test upstreams ("primary", "replica") and a real medgate in front of them
// on free loopback ports, with a config the test can adjust.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "clients/curl_client.hpp"
#include "tests/support/process.hpp"

namespace medgate::testing {

// A raw HTTP answer split at its first blank line: the header (its last line's CRLF
// included) and what follows. Both empty when there is no blank line.
struct RawAnswer {
  std::string head;
  std::string rest;
};
inline RawAnswer split_answer(const std::string& raw) {
  const size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos)
    return {};
  return {raw.substr(0, end + 2), raw.substr(end + 4)};
}

inline std::string json_get_raw(const std::string& body, const std::string& key) {
  // Minimal lookup for flat test assertions: "key":value
  const std::string needle = "\"" + key + "\":";
  const size_t at = body.find(needle);
  if (at == std::string::npos)
    return {};
  size_t start = at + needle.size();
  size_t end = start;
  if (body[start] == '"') {
    end = body.find('"', start + 1);
    return body.substr(start + 1, end - start - 1);
  }
  while (end < body.size() && body[end] != ',' && body[end] != '}')
    ++end;
  return body.substr(start, end - start);
}

class GatewayFixture : public ::testing::Test {
 protected:
  static constexpr const char* kToken = "test-admin-token-0123456789";

  void SetUp() override {
    dir_ = make_temp_dir("medgate-it-");
    primary_port_ = free_port();
    replica_port_ = free_port();
    primary_ = start_upstream("primary", primary_port_);
    replica_ = start_upstream("replica", replica_port_);
  }

  void TearDown() override {
    gateway_.reset();
    primary_.reset();
    replica_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<ChildProcess> start_upstream(const std::string& name, uint16_t port,
                                               const std::string& docs = "") {
    std::vector<std::string> argv = {binary_dir() + "/apps/test-upstream", "--port",
                                     std::to_string(port), "--name", name};
    if (!docs.empty()) {
      argv.push_back("--docs");
      argv.push_back(docs);
    }
    auto p = std::make_unique<ChildProcess>(argv, dir_ + "/" + name + ".log");
    EXPECT_TRUE(wait_for_http(upstream_url(port) + "/__stats", std::chrono::seconds(5)))
        << p->log();
    return p;
  }

  static std::string upstream_url(uint16_t port) {
    return "http://127.0.0.1:" + std::to_string(port);
  }

  // `medical` is the YAML body of the medical upstream after its endpoints line.
  void start_gateway(const std::string& medical = "", const std::string& extra = "") {
    gateway_port_ = free_port();
    std::ofstream cfg(dir_ + "/medgate.yaml");
    cfg << "listen: { address: 127.0.0.1, port: " << gateway_port_
        << (tls_.empty() ? "" : ", tls: " + tls_) << listen_extra_ << " }\n"
        << auth_ << "threads: 2\n"
        << "admin: { token: " << kToken << " }\n"
        << "access_log: { path: " << dir_ << "/access.log }\n"
        << "limits: " << limits_ << "\n"
        << extra << "upstreams:\n"
        << "  medical:\n"
        << "    endpoints: [ \"" << upstream_url(primary_port_) << "\""
        << (single_endpoint_ ? "" : ", \"" + upstream_url(replica_port_) + "\"") << " ]\n"
        << (medical.empty()
                ? "    selection: ordered\n"
                  "    timeout: 2s\n"
                  "    per_try_timeout: 300ms\n"
                  "    retry: { attempts: 3, backoff: 10ms, max_backoff: 50ms, budget: 1.0, "
                  "budget_min: 100 }\n"
                  "    breaker: { consecutive_failures: 5, failure_rate: 0, open_for: 500ms, "
                  "half_open_calls: 2 }\n"
                  "    endpoint_breaker: { consecutive_failures: 50, failure_rate: 0 }\n"
                  "    outlier: { consecutive_failures: 0 }\n"
                : medical)
        << "routes:\n"
        << "  - { prefix: /api/medical/, upstream: medical, strip_prefix: /api/medical }\n";
    cfg.close();
    gateway_ =
        std::make_unique<ChildProcess>(std::vector<std::string>{binary_dir() + "/apps/medgate",
                                                                "--config", dir_ + "/medgate.yaml"},
                                       dir_ + "/medgate.log");
    if (tls_.empty()) {
      ASSERT_TRUE(wait_for_http(gw("/health/liveness"), std::chrono::seconds(5)))
          << gateway_->log();
    } else {  // no plain HTTP there: wait for the port
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (raw_exchange(gateway_port_, "", 50) == "connect failed" &&
             std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  // The listener's `tls:` map (empty: plain HTTP); set before start_gateway.
  std::string tls_;
  // More keys of the `listen:` map (", allowed_hosts: [...]"); set before start_gateway.
  std::string listen_extra_;
  // The gateway's `auth:` section (and what goes with it); set before start_gateway.
  std::string auth_ = "auth: { enabled: false }\n";
  // Set before start_gateway: the medical upstream gets the primary only.
  bool single_endpoint_ = false;
  // The gateway's `limits:` map; set before start_gateway.
  std::string limits_ = "{ max_header_bytes: 4096, max_body_bytes: 65536, header_timeout: 1s }";

  [[nodiscard]] std::string gw(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(gateway_port_) + path;
  }

  clients::CurlResponse get(const std::string& path,
                            std::vector<std::pair<std::string, std::string>> headers = {}) {
    return clients::curl_perform({.url = gw(path), .headers = std::move(headers)});
  }

  clients::CurlResponse post(const std::string& path, const std::string& body,
                             std::vector<std::pair<std::string, std::string>> headers = {}) {
    return clients::curl_perform(
        {.method = "POST", .url = gw(path), .body = body, .headers = std::move(headers)});
  }

  // Replaces the two test upstreams with ones answering as the medical service (primary)
  // and the administrative service (replica) document their APIs, for patient 11111111-1.
  void serve_service_docs() {
    const std::string medical_docs = dir_ + "/medical.tsv";
    std::ofstream(medical_docs)
        << "/patients/11111111-1/consultations\t"
           R"({"consultations":[{"id":7,"date":"2026-10-01","doctor":"Dra. Soto",)"
           R"("specialty":"cardiology","diagnosis":"hypertension","treatment":"losartan"}]})"
           "\n"
        << "/doctors?specialty=cardiology\t"
           R"({"doctors":[{"id":3,"name":"Dra. Soto","specialty":"cardiology","available":true}]})"
           "\n"
        << "/doctors\t"
           R"({"doctors":[{"id":3,"name":"Dra. Soto","specialty":"cardiology","available":true},)"
           R"({"id":4,"name":"Dr. Rojas","specialty":"general","available":false}]})"
           "\n";
    const std::string admin_docs = dir_ + "/admin.tsv";
    std::ofstream(admin_docs)
        << "/patients/11111111-1\t"
           R"({"rut":"11111111-1","name":"Ana Pérez","birth_date":"1980-02-03",)"
           R"("email":"ana@example.org","phone":"+56 9 1234 5678","insurance":"FONASA"})"
           "\n"
        << "/patients/11111111-1/payments\t"
           R"({"payments":[{"id":1,"date":"2026-09-01","amount":15000,"concept":"consulta",)"
           R"("status":"paid"}]})"
           "\n"
        << "/patients/11111111-1/invoices\t"
           R"({"invoices":[{"id":10,"issued":"2026-10-01","due":"2026-11-01","amount":20000,)"
           R"("status":"pending"},{"id":11,"issued":"2026-08-01","due":"2026-09-01",)"
           R"("amount":5000,"status":"paid"}]})"
           "\n";
    primary_.reset();
    replica_.reset();
    primary_ = start_upstream("medical", primary_port_, medical_docs);
    replica_ = start_upstream("administrative", replica_port_, admin_docs);
  }

  // Sets a fault on an upstream (see apps/test-upstream).
  void fault(uint16_t port, const std::string& mode, int count = -1) {
    std::string url = upstream_url(port) + "/__fault?mode=" + mode;
    if (count >= 0)
      url += "&count=" + std::to_string(count);
    ASSERT_EQ(clients::curl_perform({.method = "POST", .url = url}).status, 200);
  }

  long upstream_requests(uint16_t port) {
    auto r = clients::curl_perform({.url = upstream_url(port) + "/__stats"});
    return std::stol(json_get_raw(r.body, "requests"));
  }

  std::string dir_;
  uint16_t primary_port_ = 0;
  uint16_t replica_port_ = 0;
  uint16_t gateway_port_ = 0;
  std::unique_ptr<ChildProcess> primary_;
  std::unique_ptr<ChildProcess> replica_;
  std::unique_ptr<ChildProcess> gateway_;
};

}  // namespace medgate::testing
