#include "clients/curl_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>

namespace medgate::clients {
namespace {

struct Sink {
  CurlResponse* response;
  size_t max_body;
  bool overflow = false;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const size_t bytes = size * n;
  if (sink->response->body.size() + bytes > sink->max_body) {
    sink->overflow = true;
    return 0;  // aborts the transfer
  }
  sink->response->body.append(data, bytes);
  return bytes;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* response = static_cast<CurlResponse*>(user);
  std::string line(data, size * n);
  const size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string value = line.substr(colon + 1);
    const auto first = value.find_first_not_of(" \t");
    const auto last = value.find_last_not_of(" \t\r\n");
    value = first == std::string::npos ? "" : value.substr(first, last - first + 1);
    response->headers.emplace_back(std::move(name), std::move(value));
  }
  return size * n;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::atomic<bool>*>(user)->load() ? 1 : 0;  // 1: abort
}

}  // namespace

std::string CurlResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name)
      return v;
  return {};
}

CurlResponse curl_perform(const CurlRequest& request) {
  CurlResponse response;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) {
    response.error = "curl_easy_init failed";
    return response;
  }
  Sink sink{&response, request.max_body};
  curl_slist* raw_headers = nullptr;
  for (const auto& [k, v] : request.headers)
    raw_headers = curl_slist_append(raw_headers, (k + ": " + v).c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(raw_headers,
                                                                      curl_slist_free_all);
  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &response);
  if (request.cancel) {
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(request.cancel));
  }
  if (headers)
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
  }
  if (request.method == "HEAD")
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  if (!request.ca_file.empty())
    curl_easy_setopt(h, CURLOPT_CAINFO, request.ca_file.c_str());
  if (request.tls_max == "1.1")
    curl_easy_setopt(h, CURLOPT_SSLVERSION,
                     static_cast<long>(CURL_SSLVERSION_TLSv1_0) |
                         static_cast<long>(CURL_SSLVERSION_MAX_TLSv1_1));
  else if (request.tls_max == "1.2")
    curl_easy_setopt(h, CURLOPT_SSLVERSION,
                     static_cast<long>(CURL_SSLVERSION_TLSv1_2) |
                         static_cast<long>(CURL_SSLVERSION_MAX_TLSv1_2));
  const CURLcode rc = curl_easy_perform(h);
  curl_off_t total_us = 0;
  curl_easy_getinfo(h, CURLINFO_TOTAL_TIME_T, &total_us);
  response.elapsed = std::chrono::microseconds(total_us);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
  if (rc != CURLE_OK) {
    response.error = sink.overflow ? "response body over limit" : curl_easy_strerror(rc);
  }
  return response;
}

}  // namespace medgate::clients
