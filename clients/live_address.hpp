// The current address of an endpoint configured by host name ("http://app1:5001"). A
// NameResolver writes it off the event loop; connection pools read it when they open a
// connection, and drop idle connections made to an address that has since changed. An
// endpoint given as an IP literal has none (its address never changes). Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include <boost/asio/ip/tcp.hpp>

namespace medgate::clients {

class LiveAddress {
 public:
  // `host` and `port` as configured: what the resolver looks up.
  LiveAddress(std::string host, uint16_t port) : host_(std::move(host)), port_(port) {}

  [[nodiscard]] const std::string& host() const { return host_; }
  [[nodiscard]] uint16_t port() const { return port_; }
  // nullopt until the name has resolved once.
  [[nodiscard]] std::optional<boost::asio::ip::tcp::endpoint> get() const {
    const std::lock_guard lock(mu_);
    return address_;
  }
  // Bumped on every change of address: a pool compares it with the one its idle
  // connections were made under.
  [[nodiscard]] uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  // Returns whether the address changed.
  bool set(const boost::asio::ip::tcp::endpoint& address) {
    const std::lock_guard lock(mu_);
    if (address_ == address)
      return false;
    address_ = address;
    generation_.fetch_add(1, std::memory_order_acq_rel);
    return true;
  }

 private:
  const std::string host_;
  const uint16_t port_;
  mutable std::mutex mu_;
  std::optional<boost::asio::ip::tcp::endpoint> address_;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace medgate::clients
