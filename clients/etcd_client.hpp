// A small blocking client for etcd v3 through its JSON gateway (POST /v3/...), enough for
// leases, single-key reads and transactions. No gRPC stack: etcd 3.4 serves the same API as
// JSON over HTTP, with keys and values in base64 and 64-bit numbers as strings.
//
// Every call goes to the endpoint that answered last, then to the others in turn; a call
// that no endpoint answers within `timeout` each throws EtcdUnavailable naming every
// endpoint's failure. Calls are blocking: never make them on an io_context thread.
// Thread-safe (each call is its own libcurl transfer).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

namespace medgate::clients {

class EtcdUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct EtcdKv {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t lease = 0;  // 0: none
};

struct EtcdTxnResult {
  bool succeeded = false;
  int64_t revision = 0;  // the store's revision after the transaction
  // Keys read by request_range operations of the branch that ran, in order.
  std::vector<std::vector<EtcdKv>> ranges;
};

// Operations and comparisons for EtcdClient::txn (JSON as the gateway expects it).
namespace etcd {
[[nodiscard]] boost::json::object put(const std::string& key, const std::string& value,
                                      int64_t lease = 0);
[[nodiscard]] boost::json::object range(const std::string& key);
[[nodiscard]] boost::json::object remove(const std::string& key);
// The key's create revision equals `revision` (0: the key does not exist).
[[nodiscard]] boost::json::object created_at(const std::string& key, int64_t revision);
// The key was last written at `revision` (0: the key does not exist).
[[nodiscard]] boost::json::object modified_at(const std::string& key, int64_t revision);
[[nodiscard]] boost::json::object value_is(const std::string& key, const std::string& value);
// The key is attached to `lease` (0: to none, or absent).
[[nodiscard]] boost::json::object lease_is(const std::string& key, int64_t lease);
}  // namespace etcd

class EtcdClient {
 public:
  // `endpoints`: "http://host:port" of each member. Throws std::invalid_argument when empty.
  EtcdClient(std::vector<std::string> endpoints, std::chrono::milliseconds timeout);

  // A new lease of `ttl_s` seconds; its id.
  [[nodiscard]] int64_t grant(int64_t ttl_s);
  // Renews `lease`; the TTL it has from now on, 0 when the lease no longer exists.
  [[nodiscard]] int64_t keep_alive(int64_t lease);
  void revoke(int64_t lease);  // the lease's keys go with it; a missing lease is no error

  [[nodiscard]] std::optional<EtcdKv> get(const std::string& key);
  // Every key starting with `prefix`, in key order.
  [[nodiscard]] std::vector<EtcdKv> get_prefix(const std::string& prefix);
  [[nodiscard]] EtcdTxnResult txn(boost::json::array compare, boost::json::array success,
                                  boost::json::array failure = {});

  [[nodiscard]] const std::vector<std::string>& endpoints() const { return endpoints_; }

 private:
  boost::json::object call(const char* path, const boost::json::object& body);

  std::vector<std::string> endpoints_;
  std::chrono::milliseconds timeout_;
  std::atomic<size_t> preferred_{0};
};

[[nodiscard]] std::string base64_encode(const std::string& bytes);
// Throws std::runtime_error when `text` is not base64.
[[nodiscard]] std::string base64_decode(const std::string& text);

}  // namespace medgate::clients
