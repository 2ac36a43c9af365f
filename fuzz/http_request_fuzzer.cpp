// Bytes from a client, up to the routing decision: Beast's parser into a WireRequest, the
// path's canonical form, the access rules, the log redaction, the query helpers.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <boost/asio/buffer.hpp>

#include "auth/access_policy.hpp"
#include "auth/canonical_path.hpp"
#include "auth/redact.hpp"
#include "clients/url_query.hpp"
#include "clients/wire_parser.hpp"

namespace {

const medgate::auth::AccessPolicy& rules() {
  using medgate::auth::Role;
  static const medgate::auth::AccessPolicy policy({
      {"/api/patient/{rut}", *medgate::auth::MethodSet::parse("GET"), {Role::doctor}, true, true},
      {"/api/medical/**", medgate::auth::MethodSet::all(), {Role::doctor}, false, false},
  });
  return policy;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  medgate::clients::WireRequest req;
  medgate::clients::WireRequestParser parser(req);
  parser.header_limit(16 * 1024);
  parser.body_limit(64 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  size_t used = 0;
  while (used < size && !parser.is_done()) {
    const size_t n = parser.put(boost::asio::buffer(data + used, size - used), ec);
    if (ec || n == 0)
      break;
    used += n;
  }
  if (!parser.is_header_done())
    return 0;
  const std::string_view target = req.target;
  const size_t q = target.find('?');
  const std::string_view path = target.substr(0, q);
  // The fast check that lets canonical paths skip the copy must never pass one that changes.
  if (!medgate::auth::may_need_canonicalizing(path) && medgate::auth::canonical_path(path) != path)
    std::abort();
  if (const auto canonical = medgate::auth::canonical_path(path)) {
    // Canonical is a fixed point: what is authorized is what is forwarded.
    if (medgate::auth::canonical_path(*canonical) != canonical)
      std::abort();
    const medgate::auth::Principal patient{.subject = "11111111-1",
                                           .roles = {medgate::auth::Role::patient}};
    (void)rules().decide(req.method_text, *canonical, &patient);
    (void)rules().decide(req.method_text, *canonical, nullptr);
  }
  (void)medgate::auth::redact_ruts(target, "fuzz-key");
  if (q != std::string_view::npos) {
    if (const auto raw = medgate::clients::find_query_param(target.substr(q + 1), "rut"))
      (void)medgate::clients::percent_decode(*raw);
  }
  return 0;
}
