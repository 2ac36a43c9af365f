// Wire-form messages: what the parser keeps and drops, how the writer frames them, and how
// the connection pool reads interim and bodiless responses on a real loopback socket.
#include <chrono>
#include <string>
#include <string_view>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>

#include "clients/connection_pool.hpp"
#include "clients/http_wire.hpp"
#include "clients/wire_parser.hpp"

namespace medgate::clients {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using namespace std::chrono_literals;

// Parses `text` whole; returns Beast's error (none when the message is complete).
template <bool IsRequest, typename Message>
boost::beast::error_code parse(std::string_view text, Message& m, bool head_response = false,
                               bool eof = false) {
  WireParser<IsRequest> parser(m);
  parser.eager(true);
  if constexpr (!IsRequest)
    parser.skip(head_response);
  boost::beast::error_code ec;
  size_t used = 0;
  while (used < text.size() && !parser.is_done()) {
    const size_t n = parser.put(asio::buffer(text.data() + used, text.size() - used), ec);
    if (ec)
      return ec;
    used += n;
    if (n == 0)
      break;
  }
  if (eof && !parser.is_done())
    parser.put_eof(ec);
  if (!ec && !parser.is_done())
    ec = http::error::need_more;
  return ec;
}

std::string request_header(const WireRequest& r, const WireEdits& edits = {}) {
  std::string out;
  append_header(out, r, edits);
  return out;
}

std::string response_header(const WireResponse& r, ResponseHop hop, const WireEdits& edits = {}) {
  std::string out;
  append_header(out, r, hop, edits);
  return out;
}

TEST(WireFields, FindsByIdOrNameWhateverTheCaseAndSetReplacesEveryCopy) {
  WireFields f;
  f.add("Content-Type", "text/plain");
  f.add("x-request-id", "a");
  f.add("X-Request-Id", "b");
  EXPECT_EQ(f.find(http::field::content_type), "text/plain");
  EXPECT_EQ(f.find("CONTENT-TYPE"), "text/plain");
  EXPECT_EQ(f.find("X-REQUEST-ID"), "a");
  EXPECT_FALSE(f.find("Age"));
  f.set("X-Request-Id", "c");
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[1].line, "X-Request-Id: c\r\n");
  EXPECT_EQ(f.line_bytes(), f[0].line.size() + f[1].line.size());
  f.erase(http::field::content_type);
  EXPECT_EQ(f.size(), 1u);
  EXPECT_EQ(f.line_bytes(), f[0].line.size());
}

TEST(WireParser, RequestKeepsEndToEndFieldsInOrderAndDropsEveryHopByHopOne) {
  WireRequest r;
  const auto ec = parse<true>(
      "POST /p?q=1 HTTP/1.1\r\nHost: gw\r\nX-Secret-Hop: 1\r\nKeep-Alive: timeout=5\r\n"
      "Connection: keep-alive, X-Secret-Hop, x-later-hop\r\nAccept: */*\r\nTE: trailers\r\n"
      "Expect: 100-continue\r\nContent-Length: 5\r\nX-Later-Hop: 2\r\nUpgrade: h2c\r\n"
      "Proxy-Authorization: Basic eA==\r\n\r\nhello",
      r);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(r.method, http::verb::post);
  EXPECT_EQ(r.method_text, "POST");
  EXPECT_EQ(r.target, "/p?q=1");
  EXPECT_EQ(r.version, 11u);
  EXPECT_TRUE(r.keep_alive);
  EXPECT_TRUE(r.expect_continue);
  EXPECT_EQ(r.body, "hello");
  ASSERT_EQ(r.fields.size(), 2u);
  EXPECT_EQ(r.fields[0].line, "Host: gw\r\n");
  EXPECT_EQ(r.fields[1].line, "Accept: */*\r\n");
  // Framing is the writer's: the body goes out with its own length.
  EXPECT_EQ(request_header(r),
            "POST /p?q=1 HTTP/1.1\r\nHost: gw\r\nAccept: */*\r\n"
            "Content-Length: 5\r\n\r\n");
}

TEST(WireParser, RequestKeepAliveFollowsVersionAndConnection) {
  WireRequest r;
  ASSERT_FALSE(parse<true>("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", r));
  EXPECT_FALSE(r.keep_alive);
  ASSERT_FALSE(parse<true>("GET / HTTP/1.0\r\n\r\n", r));
  EXPECT_FALSE(r.keep_alive);
  EXPECT_FALSE(r.expect_continue);
  EXPECT_EQ(r.version, 10u);
  ASSERT_FALSE(parse<true>("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", r));
  EXPECT_TRUE(r.keep_alive);
  EXPECT_EQ(r.fields.size(), 0u);
}

TEST(WireParser, ChunkedRequestBodyIsJoinedAndSentWithALength) {
  WireRequest r;
  ASSERT_FALSE(
      parse<true>("PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n",
                  r));
  EXPECT_EQ(r.body, "abcde");
  EXPECT_EQ(r.fields.size(), 0u);
  EXPECT_EQ(request_header(r), "PUT /x HTTP/1.1\r\nContent-Length: 5\r\n\r\n");
}

TEST(WireParser, ParsingAgainClearsTheMessage) {
  WireRequest r;
  ASSERT_FALSE(parse<true>("POST /a HTTP/1.1\r\nA: 1\r\nContent-Length: 2\r\n\r\nxy", r));
  ASSERT_FALSE(parse<true>("GET /b HTTP/1.1\r\nB: 2\r\n\r\n", r));
  EXPECT_EQ(r.method, http::verb::get);
  EXPECT_EQ(r.target, "/b");
  EXPECT_EQ(r.body, "");
  ASSERT_EQ(r.fields.size(), 1u);
  EXPECT_EQ(r.fields[0].name, "B");
}

TEST(WireParser, ResponseWithABodyIsSizedByItAndLosesItsOwnFraming) {
  WireResponse r;
  ASSERT_FALSE(parse<false>(
      "HTTP/1.1 201 Made\r\nContent-Length: 2\r\nConnection: close\r\nETag: \"1\"\r\n\r\nok", r));
  EXPECT_EQ(r.status, 201u);
  EXPECT_EQ(r.reason, "Made");
  EXPECT_TRUE(r.sized_by_body);
  EXPECT_EQ(r.body, "ok");
  ASSERT_EQ(r.fields.size(), 1u);
  EXPECT_EQ(r.fields[0].line, "ETag: \"1\"\r\n");

  ASSERT_FALSE(
      parse<false>("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "2\r\nab\r\n0\r\n\r\n",
                   r));
  EXPECT_EQ(r.body, "ab");
  EXPECT_EQ(r.fields.size(), 0u);

  // Delimited by the end of the connection.
  ASSERT_FALSE(parse<false>("HTTP/1.0 200 OK\r\n\r\nto the end", r, false, true));
  EXPECT_EQ(r.body, "to the end");
  EXPECT_TRUE(r.sized_by_body);
}

TEST(WireParser, BodilessResponsesKeepTheirContentLengthAsItIs) {
  WireResponse r;
  ASSERT_FALSE(parse<false>("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", r));
  EXPECT_FALSE(r.sized_by_body);
  EXPECT_EQ(r.fields.find(http::field::content_length), "10");
  EXPECT_EQ(response_header(r, {11, true}),
            "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n");

  ASSERT_FALSE(parse<false>("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n", r, true));
  EXPECT_FALSE(r.sized_by_body);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(response_header(r, {11, true}), "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n");

  ASSERT_FALSE(parse<false>("HTTP/1.1 204 No Content\r\n\r\n", r));
  EXPECT_FALSE(r.sized_by_body);
  EXPECT_EQ(response_header(r, {11, true}), "HTTP/1.1 204 No Content\r\n\r\n");
}

TEST(WireParser, LimitsAreBeasts) {
  WireRequest r;
  WireParser<true> parser(r);
  parser.body_limit(4);
  boost::beast::error_code ec;
  const std::string_view text = "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
  parser.put(asio::buffer(text.data(), text.size()), ec);
  EXPECT_EQ(ec, http::error::body_limit);
}

TEST(WireWriter, ResponseConnectionHeaderFollowsTheClientsVersionAndWish) {
  WireResponse r;
  r.body = "hi";
  EXPECT_EQ(response_header(r, {11, true}), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n");
  EXPECT_EQ(response_header(r, {11, false}),
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(response_header(r, {10, true}),
            "HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_EQ(response_header(r, {10, false}), "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n");
  r.status = 299;
  EXPECT_EQ(response_header(r, {11, true}), "HTTP/1.1 299 Unknown\r\nContent-Length: 2\r\n\r\n");
}

TEST(WireWriter, EditsReplaceSameNamedFieldsWhateverTheirCase) {
  WireResponse r;
  ASSERT_FALSE(
      parse<false>("HTTP/1.1 200 OK\r\nx-request-id: theirs\r\nVary: Accept\r\n"
                   "Content-Length: 0\r\n\r\n",
                   r));
  const std::array<FieldOverride, 2> fields{
      {{"X-Request-Id", "ours"}, {"X-Medgate-Upstream", "u"}}};
  EXPECT_EQ(response_header(r, {11, true}, WireEdits{{}, fields}),
            "HTTP/1.1 200 OK\r\nVary: Accept\r\nContent-Length: 0\r\nX-Request-Id: ours\r\n"
            "X-Medgate-Upstream: u\r\n\r\n");
  WireRequest q;
  ASSERT_FALSE(parse<true>("GET /orig HTTP/1.1\r\nhost: client\r\nAccept: */*\r\n\r\n", q));
  const std::array<FieldOverride, 1> host{{{"Host", "10.0.0.1:80"}}};
  EXPECT_EQ(request_header(q, WireEdits{"/base/orig", host}),
            "GET /base/orig HTTP/1.1\r\nAccept: */*\r\nHost: 10.0.0.1:80\r\n\r\n");
}

TEST(WireWriter, APostWithoutABodyStillSaysItsLength) {
  WireRequest q;
  q.set_method(http::verb::post);
  q.target = "/x";
  EXPECT_EQ(request_header(q), "POST /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  q.set_method(http::verb::delete_);
  EXPECT_EQ(request_header(q), "DELETE /x HTTP/1.1\r\n\r\n");
}

// A one-connection upstream on loopback that answers each request (read up to the blank
// line) with the next canned bytes, and counts the connections it accepted.
struct CannedUpstream {
  asio::io_context& io;
  asio::ip::tcp::acceptor acceptor{io, {asio::ip::make_address("127.0.0.1"), 0}};
  std::vector<std::string> answers;
  std::vector<std::string> late;  // sent 50 ms after answers[i], when not empty
  std::vector<std::string> requests;
  int connections = 0;

  void start() {
    asio::co_spawn(
        io,
        [this]() -> asio::awaitable<void> {
          for (;;) {
            auto sock = co_await acceptor.async_accept(asio::use_awaitable);
            ++connections;
            asio::streambuf in;
            for (size_t i = 0; i < answers.size(); ++i) {
              boost::system::error_code ec;
              const size_t n = co_await asio::async_read_until(
                  sock, in, "\r\n\r\n", asio::redirect_error(asio::use_awaitable, ec));
              if (ec)
                break;
              requests.emplace_back(static_cast<const char*>(in.data().data()), n);
              in.consume(n);
              co_await asio::async_write(sock, asio::buffer(answers[i]), asio::use_awaitable);
              if (i < late.size() && !late[i].empty()) {
                asio::steady_timer pause(io, std::chrono::milliseconds(50));
                co_await pause.async_wait(asio::use_awaitable);
                co_await asio::async_write(sock, asio::buffer(late[i]), asio::use_awaitable);
              }
            }
          }
        },
        asio::detached);
  }
  HttpEndpoint endpoint() const {
    std::string error;
    return *parse_http_url("http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()),
                           error);
  }
};

struct Exchange {
  SendResult result;
  WireResponse response;
};

TEST(ConnectionPool, SkipsInterimResponsesAndReadsBodilessOnesWithoutWaiting) {
  asio::io_context io;
  CannedUpstream up{io};
  up.answers = {
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
      "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nETag: \"e\"\r\n\r\n",
      "HTTP/1.1 204 No Content\r\n\r\n"};
  up.start();
  ConnectionPool pool(io.get_executor(), up.endpoint(), PoolOptions{});
  std::vector<Exchange> got(3);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        WireRequest req;
        req.target = "/a";
        got[0].result = co_await pool.send(req, got[0].response, 2s, true);
        req.set_method(http::verb::head);
        got[1].result = co_await pool.send(req, got[1].response, 2s, true);
        req.set_method(http::verb::get);
        got[2].result = co_await pool.send(req, got[2].response, 2s, true);
        io.stop();
      },
      asio::detached);
  io.run_for(5s);
  for (const auto& g : got)
    ASSERT_EQ(g.result.error, SendError::none);
  EXPECT_EQ(got[0].response.status, 200u);
  EXPECT_EQ(got[0].response.body, "ok");
  EXPECT_EQ(got[1].response.status, 200u);
  EXPECT_FALSE(got[1].response.sized_by_body);
  EXPECT_EQ(got[1].response.fields.find(http::field::content_length), "1234");
  EXPECT_EQ(got[2].response.status, 204u);
  // One connection served all three: nothing was left unread on it.
  EXPECT_EQ(up.connections, 1);
  EXPECT_TRUE(got[2].result.reused_connection);
  ASSERT_EQ(up.requests.size(), 3u);
  EXPECT_EQ(up.requests[1], "HEAD /a HTTP/1.1\r\n\r\n");
}

// HEAD then GET through one pool, with `pause` between them; the GET must get a proper answer
// on a connection of its own when the HEAD's left the connection out of step.
void expect_get_after_head_on_a_fresh_connection(CannedUpstream& up,
                                                 std::chrono::milliseconds pause) {
  up.start();
  ConnectionPool pool(up.io.get_executor(), up.endpoint(), PoolOptions{});
  std::vector<Exchange> got(2);
  asio::co_spawn(
      up.io,
      [&]() -> asio::awaitable<void> {
        WireRequest req;
        req.target = "/a";
        req.set_method(http::verb::head);
        got[0].result = co_await pool.send(req, got[0].response, 2s, true);
        asio::steady_timer wait(up.io, pause);
        co_await wait.async_wait(asio::use_awaitable);
        req.set_method(http::verb::get);
        got[1].result = co_await pool.send(req, got[1].response, 2s, true);
        up.io.stop();
      },
      asio::detached);
  up.io.run_for(5s);
  ASSERT_EQ(got[0].result.error, SendError::none);
  ASSERT_EQ(got[1].result.error, SendError::none) << "the GET read the HEAD's body";
  EXPECT_EQ(got[1].response.status, 200u);
  EXPECT_FALSE(got[1].result.reused_connection);
  EXPECT_EQ(up.connections, 2);
}

TEST(ConnectionPool, AConnectionLeftOutOfStepIsNeverReused) {
  asio::io_context io;
  CannedUpstream up{io};
  // A HEAD answered with a body: the five bytes would be read as the start of the next
  // answer if the connection went back to the pool.
  up.answers = {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"};
  expect_get_after_head_on_a_fresh_connection(up, 0ms);
}

TEST(ConnectionPool, ABodySentLateAfterAHeadAnswerIsNotReadAsTheNextAnswer) {
  asio::io_context io;
  CannedUpstream up{io};
  up.answers = {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"};
  up.late = {"hello"};                                     // the HEAD's body, in a later segment
  expect_get_after_head_on_a_fresh_connection(up, 200ms);  // it arrives meanwhile
}

TEST(ConnectionPool, AResponseThatClosesItsConnectionIsNotPooled) {
  asio::io_context io;
  CannedUpstream up{io};
  up.answers = {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx"};
  up.start();
  ConnectionPool pool(io.get_executor(), up.endpoint(), PoolOptions{});
  Exchange got;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        WireRequest req;
        got.result = co_await pool.send(req, got.response, 2s, true);
        io.stop();
      },
      asio::detached);
  io.run_for(5s);
  ASSERT_EQ(got.result.error, SendError::none);
  EXPECT_EQ(got.response.body, "x");
  EXPECT_EQ(pool.idle_connections(), 0u);
}

}  // namespace
}  // namespace medgate::clients
