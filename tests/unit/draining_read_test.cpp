// DeadlineStream's reads skip the speculative recv() after a read that drained the socket
// (clients/draining_read.hpp), and still never miss data that arrives afterwards.
//
// recv() is interposed for this binary to count the calls made on one watched descriptor:
// the effect is a system call that does not happen, so counting them is the only way to see
// it. Every other descriptor passes straight through.
#include <dlfcn.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <string>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "clients/deadline_stream.hpp"
#include "clients/http_read.hpp"
#include "tests/support/stream_pair.hpp"

namespace {

std::atomic<int> watched_fd{-1};
std::atomic<int> recv_calls{0};
std::atomic<int> recv_would_block{0};

}  // namespace

extern "C" ssize_t recv(int fd, void* buf, size_t len, int flags) {
  using RecvFn = ssize_t (*)(int, void*, size_t, int);
  static const auto next = reinterpret_cast<RecvFn>(dlsym(RTLD_NEXT, "recv"));
  const ssize_t n = next(fd, buf, len, flags);
  if (fd == watched_fd.load()) {
    const int saved = errno;
    ++recv_calls;
    if (n < 0 && (saved == EAGAIN || saved == EWOULDBLOCK))
      ++recv_would_block;
    errno = saved;
  }
  return n;
}

namespace medgate::clients {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// Counts recv() on the stream's descriptor while it lives.
struct WatchedPair : testing::StreamPair {
  WatchedPair() {
    watched_fd = stream->socket().native_handle();
    recv_calls = 0;
    recv_would_block = 0;
  }
  ~WatchedPair() { watched_fd = -1; }
};

TEST(DrainingRead, AReadAfterAShortReadWaitsForReadinessWithoutTryingFirst) {
#if !MEDGATE_DRAINING_READ
  GTEST_SKIP() << "built without MEDGATE_DRAINING_READ: plain reads try recv() first";
#endif
  WatchedPair p;
  std::string got;
  asio::steady_timer later(p.io);
  asio::co_spawn(
      p.io,
      [&]() -> asio::awaitable<void> {
        char buf[512];
        asio::write(p.peer, asio::buffer("hello", 5));
        std::size_t n = co_await p.stream->async_read_some(asio::buffer(buf), asio::use_awaitable);
        got.append(buf, n);  // 5 < 512: a short read, the socket is drained
        later.expires_after(20ms);
        later.async_wait(
            [&](boost::system::error_code) { asio::write(p.peer, asio::buffer("world", 5)); });
        n = co_await p.stream->async_read_some(asio::buffer(buf), asio::use_awaitable);
        got.append(buf, n);
      },
      asio::detached);
  p.io.run_for(3s);
  EXPECT_EQ(got, "helloworld");
  EXPECT_EQ(recv_calls.load(), 2);
  EXPECT_EQ(recv_would_block.load(), 0) << "the second read tried recv() before waiting";
}

TEST(DrainingRead, FullReadsKeepReadingSpeculatively) {
  WatchedPair p;
  const std::string sent(2000, 'x');
  asio::write(p.peer, asio::buffer(sent));
  std::string got;
  asio::co_spawn(
      p.io,
      [&]() -> asio::awaitable<void> {
        char buf[512];
        while (got.size() < sent.size()) {
          const std::size_t n =
              co_await p.stream->async_read_some(asio::buffer(buf), asio::use_awaitable);
          got.append(buf, n);
        }
      },
      asio::detached);
  p.io.run_for(3s);
  EXPECT_EQ(got, sent);
  EXPECT_EQ(recv_calls.load(), 4);  // 512 + 512 + 512 + 464, no wait in between
  EXPECT_EQ(recv_would_block.load(), 0);
}

TEST(DrainingRead, EndOfFileStillEndsTheRead) {
  WatchedPair p;
  boost::system::error_code ec;
  asio::co_spawn(
      p.io,
      [&]() -> asio::awaitable<void> {
        char buf[64];
        asio::write(p.peer, asio::buffer("ab", 2));
        co_await p.stream->async_read_some(asio::buffer(buf), asio::use_awaitable);
        p.peer.shutdown(tcp::socket::shutdown_send);
        co_await p.stream->async_read_some(asio::buffer(buf),
                                           asio::redirect_error(asio::use_awaitable, ec));
      },
      asio::detached);
  p.io.run_for(3s);
  EXPECT_EQ(ec, asio::error::eof);
}

// Both ends short-read every message: a lost wake-up would stall the exchange.
TEST(DrainingRead, PingPongNeverStalls) {
  WatchedPair p;
  DeadlineStream other(std::move(p.peer));
  constexpr int kRounds = 2000;
  int pongs = 0;
  auto echo = [](DeadlineStream& s, int rounds, bool starts, int* count) -> asio::awaitable<void> {
    char buf[256];
    for (int i = 0; i < rounds; ++i) {
      if (starts)
        co_await asio::async_write(s, asio::buffer("ping", 4), asio::use_awaitable);
      std::size_t have = 0;
      while (have < 4)
        have += co_await s.async_read_some(asio::buffer(buf + have, sizeof buf - have),
                                           asio::use_awaitable);
      if (!starts)
        co_await asio::async_write(s, asio::buffer("pong", 4), asio::use_awaitable);
      ++*count;
    }
  };
  int pings = 0;
  asio::co_spawn(p.io, echo(*p.stream, kRounds, true, &pongs), asio::detached);
  asio::co_spawn(p.io, echo(other, kRounds, false, &pings), asio::detached);
  p.io.run_for(10s);
  EXPECT_EQ(pongs, kRounds);
  EXPECT_EQ(pings, kRounds);
#if MEDGATE_DRAINING_READ
  // Stock Asio tries recv() before each wait: about one EAGAIN per round here. An edge can
  // still come late for data an earlier read already took, hence a margin, not zero.
  EXPECT_LT(recv_would_block.load(), kRounds / 100);
#endif
}

// The peer's last bytes and its FIN or RST arrive together, while a read is already
// waiting: one epoll edge carries both. The short read marks the socket drained, so a
// plain second read would wait for an edge that never comes; read_http must not.
struct EdgeCase {
  WatchedPair p;
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  beast::error_code ec;
  bool done = false;
  std::chrono::steady_clock::duration took{};

  void run(const std::string& bytes, bool reset) {
    const auto start = std::chrono::steady_clock::now();
    asio::co_spawn(
        p.io,
        [&]() -> asio::awaitable<void> {
          ec = co_await read_http(*p.stream, buffer, parser, ReadUntil::message);
          took = std::chrono::steady_clock::now() - start;
          done = true;
        },
        asio::detached);
    asio::steady_timer later(p.io, 20ms);  // the read is waiting by then
    later.async_wait([&](boost::system::error_code) {
      asio::write(p.peer, asio::buffer(bytes));
      boost::system::error_code ignored;
      if (reset)
        p.peer.set_option(asio::socket_base::linger(true, 0), ignored);
      else
        p.peer.shutdown(tcp::socket::shutdown_send, ignored);
      p.peer.close(ignored);
    });
    p.io.run_for(3s);
  }
};

TEST(ReadHttp, ABodyEndedByTheConnectionClosingCompletesAtOnce) {
  EdgeCase c;
  c.run("HTTP/1.1 200 OK\r\n\r\nuntil-close", false);
  ASSERT_TRUE(c.done);
  EXPECT_FALSE(c.ec) << c.ec.message();
  EXPECT_EQ(c.parser.get().body(), "until-close");
  EXPECT_LT(c.took, 1s);
}

TEST(ReadHttp, AResetMidMessageIsReportedAtOnce) {
  EdgeCase c;
  c.run("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial", true);
  ASSERT_TRUE(c.done);
  EXPECT_TRUE(c.ec);
  EXPECT_LT(c.took, 1s);
}

TEST(ReadHttp, APipelinedMessageBegunInTheBufferStillSeesTheClose) {
  EdgeCase c;
  c.run("HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\n\r\ntail", false);
  ASSERT_TRUE(c.done);
  ASSERT_FALSE(c.ec) << c.ec.message();
  EXPECT_EQ(c.parser.get().result_int(), 204u);
  http::response_parser<http::string_body> next;
  beast::error_code ec;
  bool done = false;
  asio::co_spawn(
      c.p.io,
      [&]() -> asio::awaitable<void> {
        ec = co_await read_http(*c.p.stream, c.buffer, next, ReadUntil::message);
        done = true;
      },
      asio::detached);
  c.p.io.restart();
  c.p.io.run_for(3s);
  ASSERT_TRUE(done) << "the FIN came with the first message's edge and was never seen";
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(next.get().body(), "tail");
}

TEST(ReadHttp, ReadsPipelinedMessagesFromTheBufferAndTheHeaderLimitHolds) {
  WatchedPair p;
  asio::write(p.peer, asio::buffer(std::string("HTTP/1.1 204 No Content\r\n\r\n"
                                               "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")));
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> first, second, third;
  third.header_limit(16);
  beast::error_code e1, e2, e3;
  asio::co_spawn(
      p.io,
      [&]() -> asio::awaitable<void> {
        e1 = co_await read_http(*p.stream, buffer, first, ReadUntil::message);
        e2 = co_await read_http(*p.stream, buffer, second, ReadUntil::message);
        asio::write(p.peer, asio::buffer(std::string("HTTP/1.1 200 OK\r\nX-Long: 0123456789\r\n")));
        e3 = co_await read_http(*p.stream, buffer, third, ReadUntil::message);
      },
      asio::detached);
  p.io.run_for(3s);
  EXPECT_FALSE(e1) << e1.message();
  EXPECT_EQ(first.get().result_int(), 204u);
  EXPECT_FALSE(e2) << e2.message();
  EXPECT_EQ(second.get().body(), "ok");
  EXPECT_EQ(e3, http::error::header_limit);
}

}  // namespace
}  // namespace medgate::clients
