// The wire writer's output and DeadlineStream's lazy deadline, on real loopback sockets.
#include <chrono>
#include <string>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "clients/deadline_stream.hpp"
#include "clients/http_wire.hpp"
#include "clients/url_query.hpp"
#include "http/secure_equals.hpp"
#include "tests/support/stream_pair.hpp"

namespace medgate::clients {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

TEST(UrlQuery, FindsAndDecodesParameters) {
  EXPECT_EQ(find_query_param("a=1&specialty=medicina+general&b", "specialty"), "medicina+general");
  EXPECT_EQ(find_query_param("a=1&b", "b"), "");
  EXPECT_FALSE(find_query_param("a=1", "specialty"));
  EXPECT_FALSE(find_query_param("", "a"));
  EXPECT_EQ(percent_decode("medicina+general%C3%A9"), "medicina general\xC3\xA9");
  EXPECT_EQ(percent_decode("a+b", false), "a+b");
  EXPECT_FALSE(percent_decode("%4"));
  EXPECT_FALSE(percent_decode("%zz"));
}

TEST(UrlQuery, PercentEncodingRoundTrips) {
  EXPECT_EQ(percent_encode("a-Z_0.9~"), "a-Z_0.9~");
  EXPECT_EQ(percent_encode("sum(rate(x{le=\"3\"}[5m]))"),
            "sum%28rate%28x%7Ble%3D%223%22%7D%5B5m%5D%29%29");
  EXPECT_EQ(percent_encode("p&s w+\xC3\xA9"), "p%26s%20w%2B%C3%A9");
  const std::string any = "a b&c=d/%\x01\xFF";
  EXPECT_EQ(percent_decode(percent_encode(any)), any);
}

TEST(HttpWire, RequestHeaderIsWrittenInOrder) {
  http::request<http::string_body> req{http::verb::post, "/a?b=1", 11};
  req.set(http::field::host, "x");
  req.set("X-Custom", "v");
  std::string out;
  append_header(out, req.base());
  EXPECT_EQ(out, "POST /a?b=1 HTTP/1.1\r\nHost: x\r\nX-Custom: v\r\n\r\n");
}

TEST(HttpWire, ResponseHeaderHasStatusReasonAndVersion) {
  http::response<http::string_body> res{http::status::service_unavailable, 10};
  res.set(http::field::retry_after, "3");
  std::string out;
  append_header(out, res.base());
  EXPECT_EQ(out, "HTTP/1.0 503 Service Unavailable\r\nRetry-After: 3\r\n\r\n");
}

TEST(HttpWire, EditsReplaceTargetAndSameNamedFieldsWhateverTheirCase) {
  http::request<http::string_body> req{http::verb::get, "/orig", 11};
  req.set(http::field::host, "client.example");
  req.set("x-request-id", "old");
  req.set("Accept", "*/*");
  const std::array<FieldOverride, 2> fields{{{"Host", "10.0.0.1:80"}, {"X-Request-Id", "new"}}};
  std::string out;
  append_header(out, req.base(), WireEdits{"/base/orig", fields});
  EXPECT_EQ(out,
            "GET /base/orig HTTP/1.1\r\nAccept: */*\r\nHost: 10.0.0.1:80\r\n"
            "X-Request-Id: new\r\n\r\n");
  // The message itself is unchanged.
  EXPECT_EQ(req.target(), "/orig");
  EXPECT_EQ(req[http::field::host], "client.example");
}

using Pair = testing::StreamPair;

struct ReadResult {
  boost::system::error_code ec;
  std::chrono::steady_clock::duration took{};
  bool done = false;
};

// Reads one byte on the stream; the peer writes one after `peer_delay` (never if zero).
ReadResult read_one(Pair& p, std::chrono::milliseconds peer_delay) {
  ReadResult r;
  const auto start = std::chrono::steady_clock::now();
  asio::co_spawn(
      p.io,
      [&]() -> asio::awaitable<void> {
        char c;
        co_await asio::async_read(*p.stream, asio::buffer(&c, 1),
                                  asio::redirect_error(asio::use_awaitable, r.ec));
        r.took = std::chrono::steady_clock::now() - start;
        r.done = true;
        p.io.stop();  // the deadline keeps running on an idle stream: look no further
      },
      asio::detached);
  asio::steady_timer peer_timer(p.io);
  if (peer_delay.count() > 0) {
    peer_timer.expires_after(peer_delay);
    peer_timer.async_wait([&](boost::system::error_code ec) {
      if (!ec)
        asio::write(p.peer, asio::buffer("x", 1));
    });
  }
  p.io.run_for(3s);
  return r;
}

TEST(DeadlineStream, ClosesTheSocketAtTheDeadline) {
  Pair p;
  p.stream->expires_after(50ms);
  const ReadResult r = read_one(p, 0ms);
  ASSERT_TRUE(r.done);
  EXPECT_TRUE(r.ec);
  EXPECT_TRUE(p.stream->timed_out());
  EXPECT_GE(r.took, 45ms);
  EXPECT_LT(r.took, 1s);
}

TEST(DeadlineStream, MovingTheDeadlineLaterIsHonouredWhenTheEarlierWaitFires) {
  Pair p;
  p.stream->expires_after(30ms);   // arms the timer
  p.stream->expires_after(500ms);  // only a store: the 30 ms wait re-arms itself
  const ReadResult r = read_one(p, 150ms);
  ASSERT_TRUE(r.done);
  EXPECT_FALSE(r.ec) << r.ec.message();
  EXPECT_FALSE(p.stream->timed_out());
}

TEST(DeadlineStream, MovingTheDeadlineEarlierReArmsAtOnce) {
  Pair p;
  p.stream->expires_after(10s);
  p.stream->expires_after(40ms);
  const ReadResult r = read_one(p, 0ms);
  ASSERT_TRUE(r.done);
  EXPECT_TRUE(p.stream->timed_out());
  EXPECT_LT(r.took, 1s);
}

TEST(DeadlineStream, NeverDisarmsAPendingDeadline) {
  Pair p;
  p.stream->expires_after(30ms);
  p.stream->expires_never();
  const ReadResult r = read_one(p, 150ms);
  ASSERT_TRUE(r.done);
  EXPECT_FALSE(r.ec) << r.ec.message();
  EXPECT_FALSE(p.stream->timed_out());
}

TEST(DeadlineStream, WriteMessageSendsHeaderAndBody) {
  Pair p;
  http::response<http::string_body> res{http::status::ok, 11};
  res.body() = "hello";
  res.prepare_payload();
  std::string scratch;
  boost::system::error_code ec;
  asio::co_spawn(
      p.io,
      [&]() -> asio::awaitable<void> { ec = co_await write_message(*p.stream, res, scratch); },
      asio::detached);
  p.io.run_for(1s);
  ASSERT_FALSE(ec) << ec.message();
  const std::string expected = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
  std::string got(expected.size(), '\0');
  asio::read(p.peer, asio::buffer(got));
  EXPECT_EQ(got, expected);
}

TEST(DeadlineStream, AChunkedMessageIsSentWithAContentLengthAndTheEdits) {
  Pair p;
  http::response<http::string_body> res{http::status::ok, 11};
  res.body() = "hello";
  res.chunked(true);
  const std::array<FieldOverride, 1> fields{{{"X-Extra", "1"}}};
  std::string scratch;
  boost::system::error_code ec;
  asio::co_spawn(
      p.io,
      [&]() -> asio::awaitable<void> {
        ec = co_await write_message(*p.stream, res, scratch, WireEdits{{}, fields});
      },
      asio::detached);
  p.io.run_for(1s);
  ASSERT_FALSE(ec) << ec.message();
  const std::string expected = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Extra: 1\r\n\r\nhello";
  std::string got(expected.size(), '\0');
  asio::read(p.peer, asio::buffer(got));
  EXPECT_EQ(got, expected);
}

TEST(SecureEquals, EqualOnlyForTheSameBytes) {
  EXPECT_TRUE(medgate::httpd::secure_equals("token-0123456789", "token-0123456789"));
  EXPECT_FALSE(medgate::httpd::secure_equals("token-0123456789", "token-0123456788"));
  EXPECT_FALSE(medgate::httpd::secure_equals("token-0123456789", "token-012345678"));  // a prefix
  EXPECT_FALSE(medgate::httpd::secure_equals("", "x"));
  EXPECT_TRUE(medgate::httpd::secure_equals("", ""));
}

}  // namespace
}  // namespace medgate::clients
