#include "clients/name_resolver.hpp"

#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

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
  // Asio's resolver, synchronously: getaddrinfo on the calling thread (the resolver's own, or
  // main before anything serves), its addresses in the order the system prefers.
  boost::asio::io_context io;
  ip::tcp::resolver resolver(io);
  boost::system::error_code ec;
  const auto results = resolver.resolve(host, "", ec);
  std::vector<ip::address> out;
  if (ec) {
    error = ec.message();
    return out;
  }
  for (const auto& r : results)
    out.push_back(r.endpoint().address());
  if (out.empty())
    error = "no address";
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
