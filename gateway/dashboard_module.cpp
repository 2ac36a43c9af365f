#include "gateway/dashboard_module.hpp"

#include <boost/beast/http/verb.hpp>

#include "gateway/dashboard.hpp"
#include "gateway/http_util.hpp"
#include "gateway/web_file.hpp"

namespace medgate::gateway {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

class DashboardModule final : public ApiModule {
 public:
  explicit DashboardModule(DashboardConfig cfg) : cfg_(std::move(cfg)) {}
  std::vector<std::string> route_labels() const override { return {"/dashboard"}; }
  Exposure exposure() const override { return Exposure::operator_only; }
  void bind(const ModuleContext& ctx) override {
    ctx_ = &ctx;
    if (cfg_.enabled)
      collector_ = std::make_unique<DashboardCollector>(
          cfg_, [&metrics = ctx.metrics] { return metrics.api_totals(); });
  }
  std::optional<size_t> match(std::string_view path) const override {
    if (path == "/dashboard" || path.starts_with("/dashboard/"))
      return 0;
    return std::nullopt;
  }
  asio::awaitable<void> handle(const WireRequest& req, std::string_view path, size_t, CallEnv&,
                               RequestInfo& info, WireResponse& res) override {
    res = answer(req, info, path);
    co_return;
  }

 private:
  WireResponse answer(const WireRequest& req, const RequestInfo& info, std::string_view path);

  const DashboardConfig cfg_;
  const ModuleContext* ctx_ = nullptr;
  std::unique_ptr<DashboardCollector> collector_;
};

WireResponse DashboardModule::answer(const WireRequest& req, const RequestInfo& info,
                                     std::string_view path) {
  if (!collector_)
    return error_response(404, "not_found", "the dashboard is off (dashboard.enabled)");
  if (req.method != http::verb::get && req.method != http::verb::head)
    return error_response(405, "method_not_allowed", "use GET");
  // The page and its files are public (no data in them); the state needs what /health
  // needs: loopback, or a staff or admin token.
  if (path == "/dashboard" || path == "/dashboard/")
    return web_file("dashboard.html", kPageCsp);
  if (auto f = file_in(path, "/dashboard/static/",
                       {"dashboard.js", "dashboard.css", "uPlot.iife.min.js", "uPlot.min.css"}))
    return web_file(*f, kPageCsp);
  if (path == "/dashboard/api/state") {
    if (auto refused = ctx_->operator_refusal(req, info))
      return std::move(*refused);
    const auto health = ctx_->health_report(true);
    const auto collected = collector_->snapshot();
    std::string body;
    body.reserve(health.body.size() + collected->size() + 64);
    body.append("{\"health\":").append(health.body).append(",\"collected\":").append(*collected);
    body.append("}");
    auto res = text_response(200, std::move(body), "application/json");
    res.fields.set("Cache-Control", "no-store");
    return res;
  }
  return error_response(404, "not_found", "no such dashboard file or endpoint");
}

}  // namespace

std::unique_ptr<ApiModule> make_dashboard_module(DashboardConfig cfg) {
  return std::make_unique<DashboardModule>(std::move(cfg));
}

}  // namespace medgate::gateway
