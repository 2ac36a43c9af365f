// test-upstream: a small real HTTP server whose behaviour tests and benchmarks control.
// It is a test fixture, never part of the medical system.
//
//   test-upstream --port P [--name NAME] [--docs FILE]
//
// Requests:
//   GET /ok                      200 {"upstream": NAME, "ok": true}
//   GET /status/{code}           that status
//   GET /slow/{ms}               200 after ms milliseconds
//   GET /hang                    reads the request, never answers
//   GET /reset                   sends half a response, then resets the connection
//   GET /health                  200 (or the fault, when one is set)
//   GET /headers                 200 {"host", "request_id", "target", "client_hop", "te",
//                                "expect", "end_to_end"} as received; the response also
//                                carries X-Request-Id and X-Medgate-Attempts of its own, and
//                                hop-by-hop Keep-Alive and X-Upstream-Hop (named in Connection)
//   HEAD (any path)              the GET answer's header, without the body
//   any other path               looked up in the --docs file (YAML-free: "PATH<TAB>JSON" lines),
//                                else 200 echo of method and path
// Control (never affected by faults):
//   POST /__fault?mode=M[&count=N]   M: none | status:CODE | hang | reset | slow:MS;
//                                    applies to the next N requests (default: until changed)
//   GET  /__stats                    {"requests": N} (control requests not counted)
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <charconv>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

struct Fault {
  std::string mode = "none";  // none, status, hang, reset, slow
  unsigned status = 0;
  int slow_ms = 0;
  int64_t remaining = -1;  // -1: until changed
};

struct State {
  std::string name;
  std::map<std::string, std::string> docs;
  Fault fault;
  uint64_t requests = 0;
};

std::string query_value(std::string_view target, std::string_view key) {
  const size_t q = target.find('?');
  if (q == std::string_view::npos)
    return {};
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    std::string_view kv = rest.substr(0, amp);
    const size_t eq = kv.find('=');
    if (kv.substr(0, eq) == key && eq != std::string_view::npos)
      return std::string(kv.substr(eq + 1));
    if (amp == std::string_view::npos)
      break;
    rest.remove_prefix(amp + 1);
  }
  return {};
}

int to_int(std::string_view s, int def) {
  int v = def;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

http::response<http::string_body> make(unsigned status, std::string body, unsigned version,
                                       bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(status), version};
  res.set(http::field::content_type, "application/json");
  res.body() = std::move(body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

asio::awaitable<void> session(tcp::socket socket, State& st) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    beast::error_code ec;
    http::request<http::string_body> req;
    co_await http::async_read(stream, buffer, req, asio::redirect_error(asio::use_awaitable, ec));
    if (ec)
      co_return;
    const std::string target(req.target());
    const std::string path = target.substr(0, target.find('?'));
    const bool ka = req.keep_alive();

    if (path == "/__fault") {
      Fault f;
      const std::string mode = query_value(target, "mode");
      const std::string count = query_value(target, "count");
      f.remaining = count.empty() ? -1 : to_int(count, -1);
      if (mode.rfind("status:", 0) == 0) {
        f.mode = "status";
        f.status = static_cast<unsigned>(to_int(mode.substr(7), 500));
      } else if (mode.rfind("slow:", 0) == 0) {
        f.mode = "slow";
        f.slow_ms = to_int(mode.substr(5), 1000);
      } else {
        f.mode = mode.empty() ? "none" : mode;
      }
      st.fault = f;
      auto res = make(200, "{\"fault\":\"" + f.mode + "\"}", req.version(), ka);
      co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
      if (ec || !ka)
        co_return;
      continue;
    }
    if (path == "/__stats") {
      auto res = make(200, "{\"requests\":" + std::to_string(st.requests) + "}", req.version(), ka);
      co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
      if (ec || !ka)
        co_return;
      continue;
    }
    ++st.requests;

    // The fault (if any) overrides the path's own behaviour.
    std::string mode = "none";
    unsigned fault_status = 0;
    int slow_ms = 0;
    if (st.fault.mode != "none" && st.fault.remaining != 0) {
      mode = st.fault.mode;
      fault_status = st.fault.status;
      slow_ms = st.fault.slow_ms;
      if (st.fault.remaining > 0 && --st.fault.remaining == 0)
        st.fault = Fault{};
    } else if (path == "/hang") {
      mode = "hang";
    } else if (path == "/reset") {
      mode = "reset";
    } else if (path.rfind("/slow/", 0) == 0) {
      mode = "slow";
      slow_ms = to_int(path.substr(6), 1000);
    } else if (path.rfind("/status/", 0) == 0) {
      mode = "status";
      fault_status = static_cast<unsigned>(to_int(path.substr(8), 500));
    }

    if (mode == "hang") {
      asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::hours(1));
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      co_return;
    }
    if (mode == "reset") {
      const std::string partial = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"partial\":";
      co_await asio::async_write(stream.socket(), asio::buffer(partial),
                                 asio::redirect_error(asio::use_awaitable, ec));
      stream.socket().set_option(asio::socket_base::linger(true, 0), ec);  // RST on close
      stream.socket().close(ec);
      co_return;
    }
    if (mode == "slow") {
      asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(slow_ms));
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    http::response<http::string_body> res;
    if (mode == "status") {
      res =
          make(fault_status,
               "{\"upstream\":\"" + st.name + "\",\"status\":" + std::to_string(fault_status) + "}",
               req.version(), ka);
    } else if (path == "/headers") {
      // What arrived, and fields a proxy must replace rather than repeat, or drop (the
      // hop-by-hop ones of this connection).
      auto seen = [&](std::string_view name) {
        auto it = req.find(name);
        return it == req.end() ? std::string() : std::string(it->value());
      };
      res = make(200,
                 "{\"host\":\"" + seen("Host") + "\",\"request_id\":\"" + seen("X-Request-Id") +
                     "\",\"target\":\"" + target + "\",\"client_hop\":\"" + seen("X-Client-Hop") +
                     "\",\"te\":\"" + seen("TE") + "\",\"expect\":\"" + seen("Expect") +
                     "\",\"end_to_end\":\"" + seen("X-End-To-End") + "\",\"authorization\":\"" +
                     seen("Authorization") + "\"}",
                 req.version(), ka);
      res.set("X-Request-Id", "set-by-upstream");
      res.set("X-Medgate-Attempts", "99");
      res.set(http::field::keep_alive, "timeout=5");
      res.set("X-Upstream-Hop", "1");
      res.set(http::field::connection, ka ? "keep-alive, X-Upstream-Hop" : "close, X-Upstream-Hop");
    } else if (path == "/ok" || path == "/health") {
      res = make(200, "{\"upstream\":\"" + st.name + "\",\"ok\":true}", req.version(), ka);
    } else if (auto it = st.docs.find(target); it != st.docs.end()) {
      res = make(200, it->second, req.version(), ka);
    } else if (auto it2 = st.docs.find(path); it2 != st.docs.end()) {
      res = make(200, it2->second, req.version(), ka);
    } else if (req.method() == http::verb::get && path.rfind("/patients/", 0) == 0) {
      res = make(404, "{\"error\":\"not_found\"}", req.version(), ka);
    } else {
      res = make(200,
                 "{\"upstream\":\"" + st.name + "\",\"method\":\"" +
                     std::string(req.method_string()) + "\",\"target\":\"" + target +
                     "\",\"body_bytes\":" + std::to_string(req.body().size()) + "}",
                 req.version(), ka);
    }
    res.set("X-Upstream-Name", st.name);
    if (req.method() == http::verb::head) {
      // The GET answer's header, its Content-Length included, and no body.
      http::response_serializer<http::string_body> sr(res);
      co_await http::async_write_header(stream, sr, asio::redirect_error(asio::use_awaitable, ec));
    } else {
      co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec || !ka)
      co_return;
  }
}

}  // namespace

int main(int argc, char** argv) {
  State st;
  st.name = "upstream";
  uint16_t port = 0;
  std::string address = "127.0.0.1";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--port")
      port = static_cast<uint16_t>(std::stoi(v));
    else if (k == "--name")
      st.name = v;
    else if (k == "--address")
      address = v;
    else if (k == "--docs") {
      std::ifstream in(v);
      std::string line;
      while (std::getline(in, line)) {
        const size_t tab = line.find('\t');
        if (tab != std::string::npos)
          st.docs[line.substr(0, tab)] = line.substr(tab + 1);
      }
    } else {
      std::fprintf(stderr, "usage: test-upstream --port P [--name N] [--docs FILE]\n");
      return 2;
    }
  }
  asio::io_context io(1);
  tcp::acceptor acceptor(io, {asio::ip::make_address(address), port});
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](auto, auto) { io.stop(); });
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        for (;;) {
          beast::error_code ec;
          tcp::socket s =
              co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
          if (ec)
            continue;
          s.set_option(tcp::no_delay(true), ec);
          asio::co_spawn(io, session(std::move(s), st), asio::detached);
        }
      },
      asio::detached);
  std::printf("test-upstream %s listening on %s:%u\n", st.name.c_str(), address.c_str(),
              acceptor.local_endpoint().port());
  std::fflush(stdout);
  io.run();
  return 0;
}
