// The portal's only way to medical and administrative data: GET requests to medgate, on
// the signed-in patient's behalf.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include "clients/http_url.hpp"

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

class GatewayClient {
 public:
  GatewayClient(clients::HttpEndpoint gateway, std::chrono::milliseconds timeout)
      : gateway_(std::move(gateway)), timeout_(timeout) {}
  // GET `target` from medgate as the holder of `bearer` (a patient token).
  [[nodiscard]] boost::asio::awaitable<GatewayAnswer> get(std::string target,
                                                          std::string request_id,
                                                          std::string bearer) const;

 private:
  clients::HttpEndpoint gateway_;
  std::chrono::milliseconds timeout_;
};

}  // namespace medgate::service
