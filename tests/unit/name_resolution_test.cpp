// Endpoints named by host name: parsed without a lookup, resolved off the event loop, and
// followed by the connection pools when the name moves to another address.
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "clients/connection_pool.hpp"
#include "clients/http_url.hpp"
#include "clients/name_resolver.hpp"

namespace medgate::clients {
namespace {

namespace asio = boost::asio;
namespace ip = asio::ip;
using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(HttpUrl, AHostNameGetsALiveAddressAndNoLookup) {
  std::string error;
  const auto ep = parse_http_url("http://app1:5001/base", error);
  ASSERT_TRUE(ep) << error;
  ASSERT_TRUE(ep->live);
  EXPECT_EQ(ep->live->host(), "app1");
  EXPECT_EQ(ep->live->port(), 5001);
  EXPECT_FALSE(ep->live->get());  // nothing looked up yet
  EXPECT_EQ(ep->host_header, "app1:5001");
  EXPECT_EQ(ep->base_path, "/base");
}

TEST(HttpUrl, AnIpLiteralHasNoLiveAddress) {
  std::string error;
  const auto ep = parse_http_url("http://10.0.0.7:80", error);
  ASSERT_TRUE(ep) << error;
  EXPECT_FALSE(ep->live);
  EXPECT_EQ(ep->address, ip::tcp::endpoint(ip::make_address("10.0.0.7"), 80));
}

TEST(HttpUrl, WhatIsNeitherAnAddressNorAHostNameIsRefused) {
  for (const std::string& bad : std::vector<std::string>{
           "http://app_1:5001", "http://-app:1", "http://app-:1", "http://a..b:1", "http://:1",
           "http://a b:1", "http://" + std::string(64, 'a') + ":1"}) {
    std::string error;
    EXPECT_FALSE(parse_http_url(bad, error)) << bad;
    EXPECT_THAT(error, HasSubstr("host name")) << bad;
  }
  std::string error;
  EXPECT_TRUE(parse_http_url("http://mariadb-monitor.default.svc.cluster.local:8011", error));
}

// A lookup the test controls: name → addresses, or an error.
struct FakeDns {
  std::mutex mu;
  std::map<std::string, std::vector<ip::address>> names;
  int lookups = 0;
  NameResolver::Lookup lookup() {
    return [this](const std::string& host, std::string& error) {
      const std::lock_guard lock(mu);
      ++lookups;
      const auto it = names.find(host);
      if (it == names.end()) {
        error = "Name or service not known";
        return std::vector<ip::address>{};
      }
      return it->second;
    };
  }
  void set(const std::string& host, std::vector<ip::address> addresses) {
    const std::lock_guard lock(mu);
    names[host] = std::move(addresses);
  }
  void forget(const std::string& host) {
    const std::lock_guard lock(mu);
    names.erase(host);
  }
};

TEST(NameResolver, FollowsANameAndReportsEachChangeOnce) {
  FakeDns dns;
  std::vector<std::string> report;
  NameResolver resolver(
      1h, [&](const std::string& line) { report.push_back(line); }, dns.lookup());
  auto app1 = std::make_shared<LiveAddress>("app1", 5001);
  resolver.add(app1);
  EXPECT_EQ(resolver.resolve_all(), 1u);  // not in DNS yet
  EXPECT_FALSE(app1->get());
  dns.set("app1", {ip::make_address("10.77.0.4"), ip::make_address("10.77.0.9")});
  EXPECT_EQ(resolver.resolve_all(), 0u);
  EXPECT_EQ(app1->get(), ip::tcp::endpoint(ip::make_address("10.77.0.4"), 5001));
  const uint64_t first = app1->generation();
  EXPECT_EQ(resolver.resolve_all(), 0u);  // the same answer: no change
  EXPECT_EQ(app1->generation(), first);
  dns.forget("app1");  // a failing lookup keeps the last good address
  EXPECT_EQ(resolver.resolve_all(), 1u);
  EXPECT_EQ(resolver.resolve_all(), 1u);
  EXPECT_EQ(app1->get(), ip::tcp::endpoint(ip::make_address("10.77.0.4"), 5001));
  dns.set("app1", {ip::make_address("10.77.0.5")});
  EXPECT_EQ(resolver.resolve_all(), 0u);
  EXPECT_GT(app1->generation(), first);
  EXPECT_THAT(
      report,
      ElementsAre("app1:5001 did not resolve (Name or service not known); no address yet",
                  "app1:5001 now 10.77.0.4",
                  "app1:5001 did not resolve (Name or service not known); keeping 10.77.0.4",
                  "app1:5001 now 10.77.0.5 (was 10.77.0.4)"));
}

TEST(NameResolver, LooksAgainEveryIntervalOnItsOwnThread) {
  FakeDns dns;
  dns.set("app1", {ip::make_address("10.77.0.4")});
  NameResolver resolver(
      10ms, [](const std::string&) {}, dns.lookup());
  auto app1 = std::make_shared<LiveAddress>("app1", 5001);
  resolver.add(app1);
  resolver.start();
  dns.set("app1", {ip::make_address("10.77.0.6")});
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (app1->get() != ip::tcp::endpoint(ip::make_address("10.77.0.6"), 5001) &&
         std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(5ms);
  EXPECT_EQ(app1->get(), ip::tcp::endpoint(ip::make_address("10.77.0.6"), 5001));
}

TEST(NameResolver, TheSystemLookupFindsLocalhost) {
  std::string error;
  const auto found = NameResolver::system_lookup("localhost", error);
  ASSERT_FALSE(found.empty()) << error;
  for (const auto& a : found)
    EXPECT_TRUE(a.is_loopback()) << a.to_string();
}

// Answers every request on every connection with its own name as the body.
struct NamedUpstream {
  NamedUpstream(asio::io_context& io, const ip::tcp::endpoint& at, std::string name)
      : acceptor(io, at), name(std::move(name)) {
    asio::co_spawn(
        io,
        [this]() -> asio::awaitable<void> {
          for (;;) {
            boost::system::error_code ec;
            auto sock =
                co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
            if (ec)
              co_return;
            ++connections;
            asio::co_spawn(acceptor.get_executor(), serve(std::move(sock)), asio::detached);
          }
        },
        asio::detached);
  }
  asio::awaitable<void> serve(ip::tcp::socket sock) {
    asio::streambuf in;
    for (;;) {
      boost::system::error_code ec;
      const size_t n = co_await asio::async_read_until(
          sock, in, "\r\n\r\n", asio::redirect_error(asio::use_awaitable, ec));
      if (ec)
        co_return;
      in.consume(n);
      const std::string answer =
          "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(name.size()) + "\r\n\r\n" + name;
      co_await asio::async_write(sock, asio::buffer(answer),
                                 asio::redirect_error(asio::use_awaitable, ec));
    }
  }
  ip::tcp::acceptor acceptor;
  std::string name;
  int connections = 0;
};

TEST(ConnectionPool, FollowsItsEndpointsNameToANewAddress) {
  asio::io_context io;
  // Two hosts on one port: Linux answers all of 127.0.0.0/8 on loopback.
  NamedUpstream old_host(io, {ip::make_address("127.0.0.2"), 0}, "old");
  const uint16_t port = old_host.acceptor.local_endpoint().port();
  NamedUpstream new_host(io, {ip::make_address("127.0.0.3"), port}, "new");
  std::string error;
  const auto ep = parse_http_url("http://app1:" + std::to_string(port), error);
  ASSERT_TRUE(ep) << error;
  ConnectionPool pool(io.get_executor(), *ep, PoolOptions{});
  std::vector<std::string> bodies;
  std::vector<SendError> errors;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        WireRequest req;
        req.target = "/";
        auto send = [&]() -> asio::awaitable<void> {
          WireResponse res;
          const auto r = co_await pool.send(req, res, 2s, true);
          errors.push_back(r.error);
          bodies.push_back(r.error == SendError::none ? res.body : "");
        };
        co_await send();  // not resolved yet: nowhere to connect
        ep->live->set({ip::make_address("127.0.0.2"), port});
        co_await send();
        co_await send();  // kept alive: the same connection
        ep->live->set({ip::make_address("127.0.0.3"), port});
        co_await send();  // the idle connection to the old address is not reused
        io.stop();
      },
      asio::detached);
  io.run_for(10s);
  EXPECT_THAT(errors, ElementsAre(SendError::connect_failed, SendError::none, SendError::none,
                                  SendError::none));
  EXPECT_THAT(bodies, ElementsAre("", "old", "old", "new"));
  EXPECT_EQ(old_host.connections, 1);
  EXPECT_EQ(new_host.connections, 1);
}

}  // namespace
}  // namespace medgate::clients
