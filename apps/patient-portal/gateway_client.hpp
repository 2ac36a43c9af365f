// The portal's only way to medical and administrative data: GET requests to medgate, on
// the signed-in patient's behalf. medgate runs as several instances: the client keeps
// keep-alive connections to each (one pool per instance, shared by the portal's threads),
// spreads calls over them, and fails over to the next when one does not answer. Each
// instance has a circuit breaker (the resilience library medgate uses), so a stopped
// instance costs one failed connection attempt, not one per call. Only transport failures
// move a call to another instance (every call is a GET: safe to send again); an answer,
// even a 503, is medgate's word and is passed on.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include "clients/connection_pool.hpp"
#include "clients/http_url.hpp"
#include "clients/name_resolver.hpp"
#include "resilience/circuit_breaker.hpp"
#include "resilience/clock.hpp"

namespace medgate::service {

// What one medgate call gave: data, data marked stale, or why there is none.
struct GatewayAnswer {
  enum class Kind : uint8_t { ok, stale, not_found, unavailable };
  Kind kind = Kind::unavailable;
  boost::json::value body;     // the JSON body when ok/stale
  std::string reason;          // for unavailable: medgate's words, or the transport error
  std::string upstream;        // which service medgate said was unavailable
  long stale_age_seconds = 0;  // for stale
  long retry_after_seconds = 0;
};

struct GatewayClientOptions {
  std::chrono::milliseconds timeout{3000};  // the whole call, failovers included
  std::chrono::milliseconds connect_timeout{300};
  uint32_t max_idle = 64;  // keep-alive connections kept per instance; 0: one per call
  // Per instance: open after this many transport failures in a row, probe again after
  // open_for.
  uint32_t consecutive_failures = 3;
  std::chrono::milliseconds open_for{2000};
};

// What a medgate answer means for one section of a page: data (stale when `stale`), not
// found, or unavailable with medgate's reason (its JSON error body).
[[nodiscard]] GatewayAnswer answer_from(unsigned status, boost::json::value body, bool stale,
                                        long age_seconds);

// The four sections of GET /api/patient-overview/{rut} (docs/portal-api.md), each as if its
// own route had answered; when the call itself failed, each carries that failure.
struct OverviewAnswers {
  GatewayAnswer patient;
  GatewayAnswer history;
  GatewayAnswer payments;
  GatewayAnswer doctors;
};
[[nodiscard]] OverviewAnswers split_overview(GatewayAnswer whole);

class GatewayClient {
 public:
  GatewayClient(std::vector<clients::HttpEndpoint> instances, GatewayClientOptions options);
  ~GatewayClient();

  // Instances named by host name: looks them up now (on the caller's thread, before the
  // portal serves) and every `interval` after on a thread of its own. `report` gets each
  // change of address. Not called by --check-config, which resolves nothing.
  void resolve_names(std::chrono::milliseconds interval, clients::NameResolver::Report report);

  // GET `target` from medgate as the holder of `bearer` (a patient token).
  [[nodiscard]] boost::asio::awaitable<GatewayAnswer> get(std::string target,
                                                          std::string request_id,
                                                          std::string bearer) const;

 private:
  struct Instance;
  void ensure_pools(boost::asio::any_io_executor ex) const;

  resilience::SteadyClock clock_;
  GatewayClientOptions options_;
  std::vector<std::unique_ptr<Instance>> instances_;
  mutable std::once_flag pools_made_;
  mutable std::atomic<uint64_t> next_{0};
  std::unique_ptr<clients::NameResolver> resolver_;
};

}  // namespace medgate::service
