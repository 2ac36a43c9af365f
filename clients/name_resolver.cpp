#include "clients/name_resolver.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <utility>

namespace medgate::clients {

namespace ip = boost::asio::ip;

NameResolver::NameResolver(std::chrono::milliseconds interval, Report report, Lookup lookup)
    : interval_(interval), report_(std::move(report)), lookup_(std::move(lookup)) {}

NameResolver::~NameResolver() {
  {
    const std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

void NameResolver::add(std::shared_ptr<LiveAddress> address) {
  if (address)
    entries_.push_back(Entry{std::move(address)});
}

std::vector<ip::address> NameResolver::system_lookup(const std::string& host, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found);
  std::vector<ip::address> out;
  if (rc != 0) {
    error = ::gai_strerror(rc);
    return out;
  }
  for (const addrinfo* a = found; a; a = a->ai_next) {
    if (a->ai_family == AF_INET) {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(a->ai_addr);
      out.emplace_back(ip::address_v4(ntohl(sin->sin_addr.s_addr)));
    } else if (a->ai_family == AF_INET6) {
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(a->ai_addr);
      ip::address_v6::bytes_type bytes;
      std::copy_n(sin6->sin6_addr.s6_addr, bytes.size(), bytes.begin());
      out.emplace_back(ip::address_v6(bytes, sin6->sin6_scope_id));
    }
  }
  ::freeaddrinfo(found);
  if (out.empty())
    error = "no IPv4 or IPv6 address";
  return out;
}

bool NameResolver::resolve_one(Entry& entry) {
  LiveAddress& address = *entry.address;
  std::string error;
  const auto found = lookup_(address.host(), error);
  const std::string name = address.host() + ":" + std::to_string(address.port());
  if (found.empty()) {
    const auto last = address.get();
    if (std::exchange(entry.failing, true))
      return false;
    report_(name + " did not resolve (" + error + ")" +
            (last ? "; keeping " + last->address().to_string() : "; no address yet"));
    return false;
  }
  entry.failing = false;
  const auto before = address.get();
  const ip::tcp::endpoint now(found.front(), address.port());
  if (address.set(now))
    report_(name + " now " + now.address().to_string() +
            (before ? " (was " + before->address().to_string() + ")" : ""));
  return true;
}

size_t NameResolver::resolve_all() {
  size_t failed = 0;
  for (auto& e : entries_)
    failed += resolve_one(e) ? 0 : 1;
  return failed;
}

void NameResolver::start() {
  if (entries_.empty() || thread_.joinable())
    return;
  thread_ = std::thread([this] { run(); });
}

void NameResolver::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (wake_.wait_for(lock, interval_, [this] { return stopping_; }))
      break;
    lock.unlock();
    resolve_all();
    lock.lock();
  }
}

}  // namespace medgate::clients
