#include "clients/etcd_client.hpp"

#include <openssl/evp.h>

#include <boost/json.hpp>

#include "clients/curl_client.hpp"

namespace medgate::clients {

namespace json = boost::json;

std::string base64_encode(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string base64_decode(const std::string& text) {
  if (text.size() % 4 != 0)
    throw std::runtime_error("etcd: a value is not base64");
  std::string out(text.size() / 4 * 3 + 1, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0)
    throw std::runtime_error("etcd: a value is not base64");
  // EVP_DecodeBlock counts the padding's zero bytes.
  size_t len = static_cast<size_t>(n);
  for (size_t i = text.size(); i > 0 && text[i - 1] == '=' && len > 0; --i)
    --len;
  out.resize(len);
  return out;
}

namespace {

// The gateway writes 64-bit numbers as strings, and leaves out fields at their default.
int64_t number(const json::object& o, const char* name) {
  const auto* v = o.if_contains(name);
  if (!v)
    return 0;
  if (v->is_string())
    return std::stoll(std::string(v->as_string()));
  if (v->is_int64())
    return v->as_int64();
  if (v->is_uint64())
    return static_cast<int64_t>(v->as_uint64());
  throw std::runtime_error(std::string("etcd: field '") + name + "' is not a number");
}

std::string text(const json::object& o, const char* name) {
  const auto* v = o.if_contains(name);
  return v && v->is_string() ? base64_decode(std::string(v->as_string())) : std::string();
}

std::vector<EtcdKv> kvs(const json::object& range_response) {
  std::vector<EtcdKv> out;
  if (const auto* list = range_response.if_contains("kvs"); list && list->is_array())
    for (const auto& item : list->as_array()) {
      const auto& o = item.as_object();
      out.push_back(EtcdKv{.key = text(o, "key"),
                           .value = text(o, "value"),
                           .create_revision = number(o, "create_revision"),
                           .mod_revision = number(o, "mod_revision"),
                           .lease = number(o, "lease")});
    }
  return out;
}

json::object compare(const std::string& key, const char* target, const char* field, json::value v) {
  return json::object{
      {"key", base64_encode(key)}, {"target", target}, {"result", "EQUAL"}, {field, std::move(v)}};
}

// gRPC codes the gateway passes on that say "ask another member" rather than "no".
bool worth_another_member(long status, const std::string& body) {
  if (status == 0 || status >= 500)
    return true;
  try {
    const auto v = json::parse(body);
    if (const auto* o = v.if_object())
      if (const auto* code = o->if_contains("code"); code && code->is_int64())
        return code->as_int64() == 14 || code->as_int64() == 4;  // UNAVAILABLE, DEADLINE
  } catch (const std::exception&) {
  }
  return false;
}

}  // namespace

namespace etcd {
json::object put(const std::string& key, const std::string& value, int64_t lease) {
  json::object p{{"key", base64_encode(key)}, {"value", base64_encode(value)}};
  if (lease != 0)
    p["lease"] = std::to_string(lease);
  return json::object{{"request_put", std::move(p)}};
}
json::object range(const std::string& key) {
  return json::object{{"request_range", json::object{{"key", base64_encode(key)}}}};
}
json::object remove(const std::string& key) {
  return json::object{{"request_delete_range", json::object{{"key", base64_encode(key)}}}};
}
json::object created_at(const std::string& key, int64_t revision) {
  return compare(key, "CREATE", "create_revision", json::value(std::to_string(revision)));
}
json::object modified_at(const std::string& key, int64_t revision) {
  return compare(key, "MOD", "mod_revision", json::value(std::to_string(revision)));
}
json::object value_is(const std::string& key, const std::string& value) {
  return compare(key, "VALUE", "value", json::value(base64_encode(value)));
}
json::object lease_is(const std::string& key, int64_t lease) {
  return compare(key, "LEASE", "lease", json::value(std::to_string(lease)));
}
}  // namespace etcd

EtcdClient::EtcdClient(std::vector<std::string> endpoints, std::chrono::milliseconds timeout)
    : endpoints_(std::move(endpoints)), timeout_(timeout) {
  if (endpoints_.empty())
    throw std::invalid_argument("etcd: no endpoint");
}

json::object EtcdClient::call(const char* path, const json::object& body) {
  const std::string payload = json::serialize(body);
  std::string failures;
  const size_t first = preferred_.load();
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    const size_t at = (first + i) % endpoints_.size();
    const CurlResponse r = curl_perform({.method = "POST",
                                         .url = endpoints_[at] + path,
                                         .body = payload,
                                         .headers = {{"Content-Type", "application/json"}},
                                         .timeout = timeout_,
                                         .max_body = 4 * 1024 * 1024});
    if (r.ok() && r.status == 200) {
      preferred_.store(at);
      json::value v = json::parse(r.body);
      if (!v.is_object())
        throw std::runtime_error(std::string("etcd ") + path + ": the answer is not an object");
      return std::move(v.as_object());
    }
    const std::string why =
        r.ok() ? "HTTP " + std::to_string(r.status) + " " + r.body.substr(0, 200) : r.error;
    if (r.ok() && !worth_another_member(r.status, r.body))
      throw std::runtime_error(std::string("etcd ") + path + ": " + why);
    failures += (failures.empty() ? "" : "; ") + endpoints_[at] + ": " + why;
  }
  throw EtcdUnavailable(std::string("etcd ") + path + ": no member answered (" + failures + ")");
}

int64_t EtcdClient::grant(int64_t ttl_s) {
  const auto r = call("/v3/lease/grant", json::object{{"TTL", std::to_string(ttl_s)}});
  const int64_t id = number(r, "ID");
  if (id == 0)
    throw std::runtime_error("etcd: lease grant without an id: " + json::serialize(r));
  return id;
}

int64_t EtcdClient::keep_alive(int64_t lease) {
  const auto r = call("/v3/lease/keepalive", json::object{{"ID", std::to_string(lease)}});
  const auto* result = r.if_contains("result");
  if (!result || !result->is_object())
    throw std::runtime_error("etcd: keepalive answer without a result: " + json::serialize(r));
  return number(result->as_object(), "TTL");
}

void EtcdClient::revoke(int64_t lease) {
  try {
    (void)call("/v3/lease/revoke", json::object{{"ID", std::to_string(lease)}});
  } catch (const EtcdUnavailable&) {
    throw;
  } catch (const std::exception&) {
    // Already gone (expired or revoked): what the caller wanted.
  }
}

std::optional<EtcdKv> EtcdClient::get(const std::string& key) {
  auto list = kvs(call("/v3/kv/range", json::object{{"key", base64_encode(key)}}));
  if (list.empty())
    return std::nullopt;
  return std::move(list.front());
}

std::vector<EtcdKv> EtcdClient::get_prefix(const std::string& prefix) {
  // range_end: the prefix with its last byte incremented (etcd's prefix convention).
  std::string end = prefix;
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff)
    end.pop_back();
  if (end.empty())
    end = std::string(1, '\0');
  else
    end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return kvs(call("/v3/kv/range",
                  json::object{{"key", base64_encode(prefix)}, {"range_end", base64_encode(end)}}));
}

EtcdTxnResult EtcdClient::txn(json::array compare, json::array success, json::array failure) {
  const auto r = call("/v3/kv/txn", json::object{{"compare", std::move(compare)},
                                                 {"success", std::move(success)},
                                                 {"failure", std::move(failure)}});
  EtcdTxnResult out;
  if (const auto* s = r.if_contains("succeeded"); s && s->is_bool())
    out.succeeded = s->as_bool();
  if (const auto* h = r.if_contains("header"); h && h->is_object())
    out.revision = number(h->as_object(), "revision");
  if (const auto* list = r.if_contains("responses"); list && list->is_array())
    for (const auto& item : list->as_array())
      if (const auto* range = item.as_object().if_contains("response_range"))
        out.ranges.push_back(kvs(range->as_object()));
  return out;
}

}  // namespace medgate::clients
