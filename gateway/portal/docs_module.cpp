#include "gateway/portal/docs_module.hpp"

#include <boost/beast/http/verb.hpp>

#include "gateway/http_util.hpp"
#include "gateway/web_file.hpp"

namespace medgate::gateway {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

WireResponse docs(const WireRequest& req, std::string_view path) {
  if (req.method != http::verb::get && req.method != http::verb::head)
    return error_response(405, "method_not_allowed", "use GET");
  if (path == "/openapi.json")
    return web_file("openapi.json", kDocsCsp);
  if (path == "/docs" || path == "/docs/")
    return web_file("docs.html", kDocsCsp);
  if (auto f =
          file_in(path, "/docs/static/", {"docs.js", "swagger-ui-bundle.js", "swagger-ui.css"}))
    return web_file(*f, kDocsCsp);
  return error_response(404, "not_found", "no such documentation file");
}

class DocsModule final : public ApiModule {
 public:
  std::vector<std::string> route_labels() const override { return {"/docs"}; }
  Exposure exposure() const override { return Exposure::operator_only; }
  void bind(const ModuleContext&) override {}
  std::optional<size_t> match(std::string_view path) const override {
    if (path == "/docs" || path.starts_with("/docs/") || path == "/openapi.json")
      return 0;
    return std::nullopt;
  }
  asio::awaitable<void> handle(const WireRequest& req, std::string_view path, size_t, CallEnv&,
                               RequestInfo&, WireResponse& res) override {
    res = docs(req, path);
    co_return;
  }
};

}  // namespace

std::unique_ptr<ApiModule> make_portal_docs() {
  return std::make_unique<DocsModule>();
}

}  // namespace medgate::gateway
