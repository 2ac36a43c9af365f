#include "gateway/server.hpp"

#include <array>
#include <charconv>
#include <cstdio>
#include <random>

#include "gateway/health_checks.hpp"
#include "gateway/http_util.hpp"
#include "http/request_id.hpp"

namespace medgate::gateway {

namespace asio = boost::asio;

namespace {

void write_access_log(spdlog::logger& log, const RequestInfo& info, std::string_view method,
                      std::string_view target, unsigned status, double seconds,
                      const std::string& route) {
  std::string line;
  line.reserve(256);
  line += "{\"request_id\":";
  append_json_string(line, info.request_id);
  line += ",\"method\":";
  append_json_string(line, method);
  line += ",\"path\":";
  append_json_string(line, target);
  line += ",\"route\":";
  append_json_string(line, route);
  line += ",\"status\":" + std::to_string(status);
  line += ",\"upstream\":";
  append_json_string(line, info.upstream);
  line += ",\"endpoint\":";
  append_json_string(line, info.endpoint);
  line += ",\"attempts\":" + std::to_string(info.attempts);
  if (info.stale)
    line += ",\"stale\":true";
  if (!info.token_refusal.empty()) {
    line += ",\"token_refused\":";
    append_json_string(line, info.token_refusal);
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, ",\"duration_ms\":%.3f}", seconds * 1e3);
  line += buf;
  log.info(line);
}

}  // namespace

// One connection's answers. Its RequestInfo and Reply are reused request after request,
// so their strings keep their capacity.
class Server::GatewayResponder final : public httpd::Responder {
 public:
  GatewayResponder(Server& server, ThreadContext& ctx, const httpd::Connection& c)
      : server_(server), ctx_(ctx) {
    info_.client = c.peer;
    info_.operator_listener = c.listener == 1;
  }

  asio::awaitable<void> respond(const clients::WireRequest& req, httpd::Answer& answer) override {
    const auto started = std::chrono::steady_clock::now();
    Gateway& gateway = server_.gateway_;
    info_.clear();
    // Kept or made here; call_upstream sends it upstream as it writes the request.
    if (auto id = req.fields.find("X-Request-Id"); id && httpd::acceptable_request_id(*id))
      info_.request_id.assign(*id);
    else
      httpd::make_request_id(ctx_.rng, info_.request_id);
    try {
      co_await gateway.handle(req, ctx_.env, info_, reply_);
    } catch (const std::exception& e) {
      gateway.events().error("request {} failed: {}", info_.request_id,
                             server_.redacted(std::string_view(e.what()).substr(0, 1024)));
      reply_.clear();
      reply_.response =
          error_response(500, "internal_error", "the gateway failed to handle this request");
    }
    gateway.cors().decorate(req, reply_.response);
    // Written in place of any the upstream sent.
    const auto attempts_end =
        std::to_chars(attempts_, attempts_ + sizeof attempts_, info_.attempts).ptr;
    overrides_ = {{
        {"X-Request-Id", info_.request_id},
        {"X-Medgate-Upstream", info_.upstream},
        {"X-Medgate-Attempts",
         std::string_view(attempts_, static_cast<size_t>(attempts_end - attempts_))},
    }};
    answer.response = &reply_.response;
    answer.overrides = std::span(overrides_).first(info_.upstream.empty() ? 1 : 3);
    // Counted before the write, so /metrics never lags what a client has already received;
    // the duration is request read -> response ready.
    gateway.metrics().request(
        info_.route, reply_.response.status,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }

  void sent(const clients::WireRequest& req, const httpd::Answer& answer, double seconds,
            bool /*written*/) override {
    const unsigned status = answer.response->status;
    const std::string& route = server_.gateway_.route_labels()[info_.route];
    if (server_.audit_ && info_.audit)
      server_.audit_->record(audit_entry(info_, req.method_text, route, status));
    if (server_.access_log_)
      write_access_log(*server_.access_log_, info_, req.method_text,
                       server_.redacted(std::string_view(req.target).substr(0, 512)), status,
                       seconds, route);
  }

 private:
  Server& server_;
  ThreadContext& ctx_;
  RequestInfo info_;
  Reply reply_;
  char attempts_[12] = {};
  std::array<clients::FieldOverride, 3> overrides_;
};

Server::Server(Gateway& gateway, std::shared_ptr<spdlog::logger> access_log,
               std::shared_ptr<AuditLog> audit, Redactor redact)
    : gateway_(gateway),
      access_log_(std::move(access_log)),
      audit_(std::move(audit)),
      redact_(std::move(redact)) {}

Server::~Server() {
  drain();
  wait();
}

std::string Server::redacted(std::string_view text) const {
  return redact_ ? redact_(text) : std::string(text);
}

void Server::start() {
  const GatewayConfig& cfg = gateway_.config();
  httpd::ServerOptions opts;
  opts.threads = cfg.threads;
  opts.limits = {.max_header_bytes = cfg.limits.max_header_bytes,
                 .max_body_bytes = cfg.limits.max_body_bytes,
                 .header_timeout = cfg.limits.header_timeout,
                 .body_timeout = cfg.limits.body_timeout,
                 .write_timeout = cfg.limits.write_timeout,
                 .max_connections = cfg.limits.max_connections,
                 .drain_timeout = cfg.limits.drain_timeout,
                 .drain_idle_grace = cfg.limits.drain_idle_grace};
  httpd::ListenerOptions pub{
      .address = cfg.listen.address, .port = cfg.listen.port, .adopted_fd = adopted_fd_};
  if (cfg.listen.tls.enabled())
    pub.tls = httpd::TlsFiles{cfg.listen.tls.cert_file, cfg.listen.tls.key_file,
                              cfg.listen.tls.reload_check};
  opts.listeners.push_back(std::move(pub));
  // The operator listener, plain HTTP. SO_REUSEPORT: a successor medgate (the launcher's
  // hand-over) binds it while this one drains.
  if (cfg.operator_listen)
    opts.listeners.push_back({.address = cfg.operator_listen->address,
                              .port = cfg.operator_listen->port,
                              .reuse_port = true});
  opts.warn = [this](const std::string& line) { gateway_.events().warn("{}", line); };
  http_ = std::make_unique<httpd::Server>(std::move(opts), static_cast<httpd::Site&>(*this));
  http_->start();
  gateway_.set_started();
}

uint16_t Server::operator_port() const {
  return http_ && gateway_.config().operator_listen ? http_->port(1) : 0;
}

void Server::worker_started(uint32_t worker, asio::io_context& io) {
  std::random_device rd;
  contexts_.push_back(std::make_unique<ThreadContext>(io, gateway_.config(),
                                                      (uint64_t{rd()} << 32) ^ rd() ^ worker,
                                                      gateway_.clock(), gateway_.events()));
  if (worker == 0)
    start_health_checks(gateway_, io);
}

std::unique_ptr<httpd::Responder> Server::open(const httpd::Connection& c) {
  return std::make_unique<GatewayResponder>(*this, *contexts_.at(c.worker), c);
}

void Server::drain() {
  if (http_)
    http_->drain();
  else
    gateway_.set_draining();
}

void Server::wait() {
  if (http_)
    http_->wait();
}

}  // namespace medgate::gateway
