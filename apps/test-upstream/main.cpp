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
#include <charconv>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "http/server.hpp"
#include "http/stop_signals.hpp"

namespace asio = boost::asio;
namespace http = boost::beast::http;
using medgate::clients::WireRequest;
using medgate::clients::WireResponse;

namespace {

struct Fault {
  std::string mode = "none";  // none, status, hang, reset, slow
  unsigned status = 0;
  int slow_ms = 0;
  int64_t remaining = -1;  // -1: until changed
};

// Served by one worker thread: no lock.
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

void make(WireResponse& res, unsigned status, std::string body) {
  res.clear();
  res.status = status;
  res.fields.add(http::field::content_type, "Content-Type", "application/json");
  res.body = std::move(body);
}

class FixtureResponder final : public medgate::httpd::Responder {
 public:
  explicit FixtureResponder(State& st) : st_(st) {}

  asio::awaitable<void> respond(const WireRequest& req, medgate::httpd::Answer& answer) override {
    answer.response = &res_;
    const std::string& target = req.target;
    const std::string path = target.substr(0, target.find('?'));
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
      st_.fault = f;
      make(res_, 200, "{\"fault\":\"" + f.mode + "\"}");
      co_return;
    }
    if (path == "/__stats") {
      make(res_, 200, "{\"requests\":" + std::to_string(st_.requests) + "}");
      co_return;
    }
    ++st_.requests;

    // The fault (if any) overrides the path's own behaviour.
    std::string mode = "none";
    unsigned fault_status = 0;
    int slow_ms = 0;
    if (st_.fault.mode != "none" && st_.fault.remaining != 0) {
      mode = st_.fault.mode;
      fault_status = st_.fault.status;
      slow_ms = st_.fault.slow_ms;
      if (st_.fault.remaining > 0 && --st_.fault.remaining == 0)
        st_.fault = Fault{};
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

    boost::system::error_code ec;
    if (mode == "hang") {
      asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::hours(1));
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      answer.then = medgate::httpd::Answer::Then::close;
      co_return;
    }
    if (mode == "reset") {
      // Half a response (it announces 1000 bytes), then a reset.
      res_.clear();
      res_.fields.add(http::field::content_length, "Content-Length", "1000");
      res_.sized_by_body = false;
      res_.body = "{\"partial\":";
      answer.then = medgate::httpd::Answer::Then::reset;
      co_return;
    }
    if (mode == "slow") {
      asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(slow_ms));
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (mode == "status") {
      make(res_, fault_status,
           "{\"upstream\":\"" + st_.name + "\",\"status\":" + std::to_string(fault_status) + "}");
    } else if (path == "/headers") {
      // What arrived (every field as received: the server keeps the whole header), and
      // fields a proxy must replace rather than repeat, or drop (the hop-by-hop ones of
      // this connection).
      auto seen = [&](std::string_view name) {
        return std::string(req.fields.find(name).value_or(std::string_view()));
      };
      make(res_, 200,
           "{\"host\":\"" + seen("Host") + "\",\"request_id\":\"" + seen("X-Request-Id") +
               "\",\"target\":\"" + target + "\",\"client_hop\":\"" + seen("X-Client-Hop") +
               "\",\"te\":\"" + seen("TE") + "\",\"expect\":\"" + seen("Expect") +
               "\",\"end_to_end\":\"" + seen("X-End-To-End") + "\",\"authorization\":\"" +
               seen("Authorization") + "\"}");
      res_.fields.add("X-Request-Id", "set-by-upstream");
      res_.fields.add("X-Medgate-Attempts", "99");
      res_.fields.add(http::field::keep_alive, "Keep-Alive", "timeout=5");
      res_.fields.add("X-Upstream-Hop", "1");
      // The server writes its own Connection field; this one names a hop-by-hop field too.
      res_.fields.add(http::field::connection, "Connection",
                      req.keep_alive ? "keep-alive, X-Upstream-Hop" : "close, X-Upstream-Hop");
    } else if (path == "/ok" || path == "/health") {
      make(res_, 200, "{\"upstream\":\"" + st_.name + "\",\"ok\":true}");
    } else if (auto it = st_.docs.find(target); it != st_.docs.end()) {
      make(res_, 200, it->second);
    } else if (auto it2 = st_.docs.find(path); it2 != st_.docs.end()) {
      make(res_, 200, it2->second);
    } else if (req.method == http::verb::get && path.rfind("/patients/", 0) == 0) {
      make(res_, 404, "{\"error\":\"not_found\"}");
    } else {
      make(res_, 200,
           "{\"upstream\":\"" + st_.name + "\",\"method\":\"" + req.method_text +
               "\",\"target\":\"" + target +
               "\",\"body_bytes\":" + std::to_string(req.body.size()) + "}");
    }
    res_.fields.add("X-Upstream-Name", st_.name);
  }

 private:
  State& st_;
  WireResponse res_;
};

class Fixture final : public medgate::httpd::Site {
 public:
  explicit Fixture(State& st) : st_(st) {}
  std::unique_ptr<medgate::httpd::Responder> open(const medgate::httpd::Connection&) override {
    return std::make_unique<FixtureResponder>(st_);
  }

 private:
  State& st_;
};

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
  const medgate::httpd::StopSignals stop;  // before the server's thread starts
  Fixture fixture(st);
  // One thread (State has no lock); a stop cuts hanging requests at once.
  medgate::httpd::Server server({.threads = 1,
                                 .limits = {.header_timeout = std::chrono::minutes(10),
                                            .body_timeout = std::chrono::minutes(10),
                                            .write_timeout = std::chrono::minutes(10),
                                            .drain_timeout = std::chrono::milliseconds(0)},
                                 .listeners = {{.address = address, .port = port}},
                                 .whole_header = true},
                                fixture);
  try {
    server.start();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "test-upstream: %s\n", e.what());
    return 1;
  }
  std::printf("test-upstream %s listening on %s:%u\n", st.name.c_str(), address.c_str(),
              server.port());
  std::fflush(stdout);
  (void)stop.wait();
  server.drain();
  server.wait();
  return 0;
}
