#include "db-monitors/http_api.hpp"

#include <algorithm>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include "db-monitors/node_role.hpp"
#include "db-monitors/record_reader.hpp"
#include "http/secure_equals.hpp"

namespace medgate::dbmon {

namespace json = boost::json;
namespace http = boost::beast::http;
using httpd::error_reply;
using httpd::json_reply;
using httpd::RequestContext;
using httpd::Response;

namespace {

// Prometheus view of the snapshot, refreshed at each scrape.
class Exporter {
 public:
  explicit Exporter(std::string cluster) : cluster_(std::move(cluster)) {}

  std::string scrape(const MonitorSnapshot& s, const EventLog& events) {
    std::lock_guard lock(mu_);
    const prometheus::Labels c{{"cluster", cluster_}};
    epoch_.Add(c).Set(static_cast<double>(s.record.epoch));
    sync_.Add(c).Set(s.record.mode == ReplicationMode::sync ? 1 : 0);
    serving_.Add(c).Set(s.serving_primary.empty() ? 0 : 1);
    blocked_.Add(c).Set(s.record.blocked.empty() ? 0 : 1);
    maintenance_.Add(c).Set(s.record.maintenance ? 1 : 0);
    bump(rounds_.Add(c), rounds_seen_, s.rounds);
    bump(failovers_.Add(c), failovers_seen_, s.failovers);
    for (const auto& [node, up] : s.up) {
      const prometheus::Labels l{{"cluster", cluster_}, {"node", node}};
      up_.Add(l).Set(up ? 1 : 0);
      writable_.Add(l).Set(s.writable.at(node) ? 1 : 0);
      primary_.Add(l).Set(node == s.record.primary ? 1 : 0);
      needs_rejoin_.Add(l).Set(s.record.needs_rejoin.contains(node) ? 1 : 0);
    }
    for (const auto& [node, lag] : s.lag)
      behind_.Add({{"cluster", cluster_}, {"node", node}}).Set(static_cast<double>(lag));
    for (const auto& [type, n] : events.counts()) {
      auto& seen = events_seen_[type];
      bump(events_.Add({{"cluster", cluster_}, {"event", type}}), seen, n);
    }
    return prometheus::TextSerializer().Serialize(registry_->Collect());
  }

 private:
  static void bump(prometheus::Counter& counter, uint64_t& seen, uint64_t now) {
    if (now > seen)
      counter.Increment(static_cast<double>(now - seen));
    seen = now;
  }

  std::string cluster_;
  std::mutex mu_;
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Gauge>& epoch_ = prometheus::BuildGauge()
                                                      .Name("medgate_dbmon_epoch")
                                                      .Help("Topology record epoch")
                                                      .Register(*registry_);
  prometheus::Family<prometheus::Gauge>& sync_ =
      prometheus::BuildGauge()
          .Name("medgate_dbmon_synchronous")
          .Help(
              "1 while the record says replication is synchronous (no acknowledged write can be "
              "lost by a failover)")
          .Register(*registry_);
  prometheus::Family<prometheus::Gauge>& serving_ =
      prometheus::BuildGauge()
          .Name("medgate_dbmon_primary_serving")
          .Help("1 while the elected primary takes writes")
          .Register(*registry_);
  prometheus::Family<prometheus::Gauge>& blocked_ =
      prometheus::BuildGauge()
          .Name("medgate_dbmon_failover_blocked")
          .Help("1 while automatic failover waits for an operator's acknowledgement")
          .Register(*registry_);
  prometheus::Family<prometheus::Gauge>& maintenance_ = prometheus::BuildGauge()
                                                            .Name("medgate_dbmon_maintenance")
                                                            .Help("1 in maintenance mode")
                                                            .Register(*registry_);
  prometheus::Family<prometheus::Gauge>& up_ = prometheus::BuildGauge()
                                                   .Name("medgate_dbmon_node_up")
                                                   .Help("1 when the node's last check answered")
                                                   .Register(*registry_);
  prometheus::Family<prometheus::Gauge>& writable_ = prometheus::BuildGauge()
                                                         .Name("medgate_dbmon_node_writable")
                                                         .Help("1 when the node takes writes")
                                                         .Register(*registry_);
  prometheus::Family<prometheus::Gauge>& primary_ = prometheus::BuildGauge()
                                                        .Name("medgate_dbmon_node_elected_primary")
                                                        .Help("1 for the elected primary")
                                                        .Register(*registry_);
  prometheus::Family<prometheus::Gauge>& needs_rejoin_ =
      prometheus::BuildGauge()
          .Name("medgate_dbmon_node_needs_rejoin")
          .Help("1 for a fenced node waiting to rejoin")
          .Register(*registry_);
  prometheus::Family<prometheus::Gauge>& behind_ =
      prometheus::BuildGauge()
          .Name("medgate_dbmon_replica_behind")
          .Help(
              "What a replica lacks of the primary's last seen position: transactions (MariaDB, "
              "MySQL) or bytes of WAL (PostgreSQL)")
          .Register(*registry_);
  prometheus::Family<prometheus::Counter>& rounds_ = prometheus::BuildCounter()
                                                         .Name("medgate_dbmon_rounds_total")
                                                         .Help("Check rounds run")
                                                         .Register(*registry_);
  prometheus::Family<prometheus::Counter>& failovers_ =
      prometheus::BuildCounter()
          .Name("medgate_dbmon_promotions_total")
          .Help("Promotions carried out by this monitor")
          .Register(*registry_);
  prometheus::Family<prometheus::Counter>& events_ = prometheus::BuildCounter()
                                                         .Name("medgate_dbmon_events_total")
                                                         .Help("Events emitted, by type")
                                                         .Register(*registry_);
  uint64_t rounds_seen_ = 0;
  uint64_t failovers_seen_ = 0;
  std::map<std::string, uint64_t> events_seen_;
};

Response text_reply(const httpd::Request& req, unsigned status, std::string body,
                    const char* type) {
  Response res{static_cast<http::status>(status), req.version()};
  res.set(http::field::content_type, type);
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

bool authorized(const RequestContext& ctx, const std::string& token) {
  const std::string_view auth = ctx.header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  return !token.empty() && auth.starts_with(kBearer) &&
         httpd::secure_equals(auth.substr(kBearer.size()), token);
}

std::string candidate_of(const std::string& body) {
  if (body.empty())
    return {};
  boost::system::error_code ec;
  const auto v = json::parse(body, ec);
  if (ec || !v.is_object())
    throw std::invalid_argument("the body must be a JSON object");
  if (const auto* c = v.as_object().if_contains("candidate")) {
    if (!c->is_string() || c->as_string().size() > 63)
      throw std::invalid_argument("candidate must be a node name (a string of at most 63)");
    return std::string(c->as_string());
  }
  return {};
}

// What GET /primary says, in a few bytes: a long poll waits while it stays the same.
std::string primary_version(const MonitorSnapshot& s) {
  std::string v = std::to_string(s.record.epoch) + ":" + s.serving_primary;
  for (const auto& r : s.readable_replicas)
    v += ":" + r;
  return v;
}

}  // namespace

MonitorRouter monitor_routes(Monitor& monitor, EventLog& events, std::string token,
                             std::shared_ptr<RecordReader> records) {
  MonitorRouter r;
  auto exporter = std::make_shared<Exporter>(monitor.options().cluster);

  r.add(http::verb::get, "/health", [](RequestContext& ctx) -> boost::asio::awaitable<Response> {
    co_return json_reply(ctx.request, 200, R"({"status":"ok"})");
  });
  r.add(http::verb::get, "/status",
        [&monitor](RequestContext& ctx) -> boost::asio::awaitable<Response> {
          co_return json_reply(ctx.request, 200, json::serialize(monitor.snapshot()->status));
        });
  auto primary = [&monitor](RequestContext& ctx) -> boost::asio::awaitable<Response> {
    auto s = monitor.snapshot();
    const std::string want = ctx.params.empty() ? "" : ctx.param("node");
    // A long poll (?known=VERSION&wait_ms=N, N at most 30 s): an answer the caller already
    // has waits until it changes or N passes, so a client learns a promotion within
    // milliseconds of its publication without asking every few hundred.
    auto known = ctx.query_param("known");
    if (known && known->size() > 1024)
      known.reset();  // no version is that long: answer at once
    long wait_ms = 0;
    if (const auto w = ctx.query_param("wait_ms");
        w && w->size() <= 6 && w->find_first_not_of("0123456789") == std::string::npos &&
        !w->empty())
      wait_ms = std::min(std::stol(*w), 30'000L);
    if (want.empty() && known && wait_ms > 0 && primary_version(*s) == *known) {
      boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
      const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
      while (std::chrono::steady_clock::now() < until) {
        // The snapshot is replaced after every round (a pointer swap): looking every 10 ms
        // costs a pointer comparison and needs no hook into the monitor's loop.
        timer.expires_after(std::chrono::milliseconds(10));
        co_await timer.async_wait(boost::asio::use_awaitable);
        auto next = monitor.snapshot();
        if (next == s)
          continue;
        s = std::move(next);
        if (primary_version(*s) != *known)
          break;
      }
    }
    const bool ok = !s->serving_primary.empty() && (want.empty() || want == s->serving_primary);
    const auto* acting = s->status.if_contains("acting");
    json::object body{{"epoch", s->record.epoch},
                      {"state", s->state},
                      {"version", primary_version(*s)},
                      {"acting", acting && acting->is_bool() ? acting->as_bool() : true}};
    // Where a client may read while the primary does not answer (MonitorSnapshot's
    // readable_replicas). A node outside this list (an old primary awaiting its rejoin, a
    // hung one) may hold writes nobody acknowledged.
    json::array replicas;
    for (const auto& n : monitor.options().nodes)
      if (std::find(s->readable_replicas.begin(), s->readable_replicas.end(), n.spec.name) !=
          s->readable_replicas.end())
        replicas.push_back(
            json::object{{"name", n.spec.name}, {"host", n.spec.host}, {"port", n.spec.port}});
    body["replicas"] = std::move(replicas);
    if (ok) {
      for (const auto& n : monitor.options().nodes)
        if (n.spec.name == s->serving_primary)
          body["primary"] =
              json::object{{"name", n.spec.name}, {"host", n.spec.host}, {"port", n.spec.port}};
    } else {
      body["error"] =
          want.empty() ? "no primary takes writes now" : want + " is not the serving primary";
      body["elected"] = s->record.primary;
    }
    co_return json_reply(ctx.request, ok ? 200 : 503, json::serialize(body));
  };
  r.add(http::verb::get, "/primary", primary);
  r.add(http::verb::get, "/primary/{node}", primary);
  auto replica = [&monitor](RequestContext& ctx) -> boost::asio::awaitable<Response> {
    const auto s = monitor.snapshot();
    const std::string want = ctx.params.empty() ? "" : ctx.param("node");
    json::array list;
    bool found = false;
    for (const auto& n : s->streaming_replicas) {
      list.push_back(json::value(n));
      found = found || n == want;
    }
    const bool ok = want.empty() ? !list.empty() : found;
    co_return json_reply(
        ctx.request, ok ? 200 : 503,
        json::serialize(json::object{{"epoch", s->record.epoch}, {"streaming_replicas", list}}));
  };
  // How a node may start (its start wrapper asks before the server starts): key=value lines
  // by default, for shell scripts in database images without jq; JSON with ?format=json.
  // The record is read from the store when asked, not taken from this monitor's snapshot
  // (db-monitors/record_reader.hpp): no answer says "primary" to a node another monitor has
  // just replaced.
  r.add(http::verb::get, "/role/{node}",
        [&monitor, records](RequestContext& ctx) -> boost::asio::awaitable<Response> {
          std::vector<NodeSpec> specs;
          for (const auto& n : monitor.options().nodes)
            specs.push_back(n.spec);
          const std::string node = ctx.param("node");
          if (std::none_of(specs.begin(), specs.end(),
                           [&](const NodeSpec& s) { return s.name == node; }))
            co_return error_reply(ctx.request, 404, "unknown_node",
                                  "no node named '" + node + "' in the configuration");
          std::optional<TopologyRecord> record;
          std::string unreadable;
          try {
            record = co_await records->read();
          } catch (const std::exception& e) {
            unreadable = e.what();
          }
          if (!unreadable.empty())
            co_return error_reply(ctx.request, 503, "record_unreadable",
                                  "the topology record cannot be read now (" + unreadable +
                                      "): a node must not guess its role");
          const NodeRole role = node_role(record, specs, node);
          if (ctx.query_param("format") == std::optional<std::string>("json"))
            co_return json_reply(ctx.request, 200, json::serialize(to_json(role)));
          co_return text_reply(ctx.request, 200, to_shell(role), "text/plain; charset=utf-8");
        });
  r.add(http::verb::get, "/replica", replica);
  r.add(http::verb::get, "/replica/{node}", replica);
  r.add(http::verb::get, "/events",
        [&events](RequestContext& ctx) -> boost::asio::awaitable<Response> {
          uint64_t after = 0;
          size_t limit = 200;
          try {
            if (auto a = ctx.query_param("after"))
              after = std::stoull(*a);
            if (auto l = ctx.query_param("limit"))
              limit = std::clamp<size_t>(std::stoul(*l), 1, 1000);
          } catch (const std::exception&) {
            co_return error_reply(ctx.request, 400, "bad_query", "after and limit are numbers");
          }
          json::array out;
          for (auto& e : events.since(after, limit))
            out.push_back(std::move(e));
          co_return json_reply(ctx.request, 200, json::serialize(json::object{{"events", out}}));
        });
  r.add(http::verb::get, "/metrics",
        [&monitor, &events, exporter](RequestContext& ctx) -> boost::asio::awaitable<Response> {
          co_return text_reply(ctx.request, 200, exporter->scrape(*monitor.snapshot(), events),
                               "text/plain; version=0.0.4; charset=utf-8");
        });

  auto command = [&monitor, token](Monitor::CommandKind kind) {
    return [&monitor, token, kind](RequestContext& ctx) -> boost::asio::awaitable<Response> {
      if (token.empty())
        co_return error_reply(ctx.request, 403, "commands_disabled",
                              "operator commands are disabled: set api.token");
      if (!authorized(ctx, token)) {
        Response res = error_reply(ctx.request, 401, "unauthorized", "Bearer token required");
        res.set(http::field::www_authenticate, "Bearer");
        co_return res;
      }
      std::string candidate;
      Monitor::CommandKind k = kind;
      try {
        if (kind == Monitor::CommandKind::maintenance_on) {
          boost::system::error_code ec;
          const auto v = json::parse(ctx.request.body(), ec);
          const auto* on = !ec && v.is_object() ? v.as_object().if_contains("on") : nullptr;
          if (!on || !on->is_bool())
            throw std::invalid_argument(R"(the body must be {"on": true|false})");
          k = on->as_bool() ? Monitor::CommandKind::maintenance_on
                            : Monitor::CommandKind::maintenance_off;
        } else {
          candidate = candidate_of(ctx.request.body());
        }
      } catch (const std::invalid_argument& e) {
        co_return error_reply(ctx.request, 422, "invalid_body", e.what());
      }
      auto result = monitor.command(k, candidate);
      // Wait without blocking this thread: the loop runs the command between rounds.
      boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      while (result.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
        if (std::chrono::steady_clock::now() > give_up)
          co_return error_reply(ctx.request, 504, "timeout",
                                "the command did not finish within 60 s; see /events");
        timer.expires_after(std::chrono::milliseconds(20));
        co_await timer.async_wait(boost::asio::use_awaitable);
      }
      const auto r = result.get();
      if (!r.ok)
        co_return error_reply(ctx.request, 409, "refused", r.message);
      co_return json_reply(ctx.request, 200,
                           json::serialize(json::object{{"ok", true}, {"message", r.message}}));
    };
  };
  r.add(http::verb::post, "/switchover", command(Monitor::CommandKind::switchover));
  r.add(http::verb::post, "/failover", command(Monitor::CommandKind::failover));
  r.add(http::verb::post, "/ack", command(Monitor::CommandKind::ack));
  r.add(http::verb::post, "/maintenance", command(Monitor::CommandKind::maintenance_on));
  return r;
}

boost::asio::awaitable<Response> MonitorApi::serve(httpd::Request& req,
                                                   const httpd::BeastExchange& exchange) {
  const auto started = std::chrono::steady_clock::now();
  const std::string_view target = req.target();
  const size_t q = target.find('?');
  const std::string_view path = target.substr(0, q);
  const auto m = routes_.match(req.method(), path);
  Response res;
  if (!m.handler) {
    res = m.path_known
              ? error_reply(req, 405, "method_not_allowed", "method not allowed on this path")
              : error_reply(req, 404, "not_found", "no such resource");
  } else {
    RequestContext ctx{req, m.params,
                       q == std::string_view::npos ? std::string_view() : target.substr(q + 1),
                       exchange.request_id, exchange.connection.peer};
    try {
      res = co_await (*m.handler)(ctx);
    } catch (const std::exception& e) {
      log_->error("{} {} failed: {}", std::string(req.method_string()), path.substr(0, 256),
                  std::string_view(e.what()).substr(0, 1024));
      res = error_reply(req, 500, "internal_error", "the monitor failed to handle the request");
    }
  }
  log_->info("{{\"request_id\":{},\"method\":{},\"path\":{},\"status\":{},\"duration_ms\":{:.3f}}}",
             json::serialize(json::value(exchange.request_id)),
             json::serialize(json::value(req.method_string())),
             json::serialize(json::value(target.substr(0, 256))), res.result_int(),
             std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
                 .count());
  co_return res;
}

}  // namespace medgate::dbmon
