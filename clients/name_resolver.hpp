// Resolves the endpoints configured by host name, on a thread of its own (getaddrinfo blocks;
// an io_context thread never does), once before the program serves and again every
// `interval`, so a container that comes back at another address is followed (like Envoy's
// strict DNS clusters, one address per configured endpoint). An answer that fails keeps the
// last good address. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "clients/live_address.hpp"

namespace medgate::clients {

class NameResolver {
 public:
  // Looks a name up: its IPv4 and IPv6 addresses, in the order the system prefers. The
  // default asks the system (Asio's resolver); tests give their own.
  using Lookup = std::function<std::vector<boost::asio::ip::address>(const std::string& host,
                                                                     std::string& error)>;
  // What changed, for the program's log: "app1:5001 now 172.18.0.5 (was 172.18.0.4)", or
  // "app1:5001 did not resolve (...)" once when a name stops resolving.
  using Report = std::function<void(const std::string& line)>;

  NameResolver(std::chrono::milliseconds interval, Report report, Lookup lookup = system_lookup);
  ~NameResolver();  // stops the thread
  NameResolver(const NameResolver&) = delete;
  NameResolver& operator=(const NameResolver&) = delete;

  // Before start(): an address to keep current.
  void add(std::shared_ptr<LiveAddress> address);
  // Resolves every name now, on the caller's thread; returns how many did not resolve.
  size_t resolve_all();
  // From now on, every `interval` on the resolver's own thread.
  void start();

  [[nodiscard]] static std::vector<boost::asio::ip::address> system_lookup(const std::string& host,
                                                                           std::string& error);

 private:
  void run();

  const std::chrono::milliseconds interval_;
  const Report report_;
  const Lookup lookup_;
  struct Entry {
    std::shared_ptr<LiveAddress> address;
    bool failing = false;  // its last lookup failed (reported once)
  };
  bool resolve_one(Entry& entry);
  std::vector<Entry> entries_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace medgate::clients
