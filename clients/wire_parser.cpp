#include "clients/wire_parser.hpp"

#include <boost/beast/core/string.hpp>

namespace medgate::clients {

namespace {

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// Calls `f` with each comma-separated token of a list field.
template <typename F>
void for_each_token(std::string_view list, F&& f) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    const std::string_view token = trimmed(list.substr(0, comma));
    if (!token.empty())
      f(token);
    if (comma == std::string_view::npos)
      break;
    list.remove_prefix(comma + 1);
  }
}

bool is_connection_option(std::string_view token) {
  return boost::beast::iequals(token, "close") || boost::beast::iequals(token, "keep-alive");
}

}  // namespace

template <bool IsRequest>
WireParser<IsRequest>::WireParser(Message& message, FieldsKept kept) : m_(message), kept_(kept) {
  m_.clear();
}

template <bool IsRequest>
void WireParser<IsRequest>::on_request_impl(wire_http::verb method, string_view method_str,
                                            string_view target, int version, error_code&) {
  if constexpr (IsRequest) {
    m_.method = method;
    m_.method_text.assign(method_str.data(), method_str.size());
    m_.target.assign(target.data(), target.size());
    m_.version = static_cast<unsigned>(version);
  }
}

template <bool IsRequest>
void WireParser<IsRequest>::on_response_impl(int code, string_view reason, int, error_code&) {
  if constexpr (!IsRequest) {
    m_.status = static_cast<unsigned>(code);
    m_.reason.assign(reason.data(), reason.size());
  }
}

template <bool IsRequest>
void WireParser<IsRequest>::on_field_impl(wire_http::field id, string_view name, string_view value,
                                          error_code&) {
  if (kept_ == FieldsKept::all) {
    // Framing is still the parser's; the rest is noted as the fields are kept.
    if constexpr (IsRequest)
      if (id == wire_http::field::expect)
        m_.expect_continue = boost::beast::iequals(value, "100-continue");
    if (id != wire_http::field::content_length && id != wire_http::field::transfer_encoding)
      m_.fields.add(id, name, value);
    return;
  }
  if (id == wire_http::field::connection) {
    // Other fields it names are hop-by-hop too (RFC 9110 §7.6.1); they may come before
    // or after it, so they are removed once the header is complete.
    for_each_token(value, [&](std::string_view token) {
      if (!is_connection_option(token))
        connection_names_.append(token).push_back(',');
    });
    return;
  }
  if (is_hop_by_hop(id))
    return;
  if constexpr (IsRequest) {
    // The body is read whole before it is passed on, so the framing is the writer's, and
    // nobody downstream of us should be asked to confirm it will take it.
    if (id == wire_http::field::expect) {
      m_.expect_continue = boost::beast::iequals(value, "100-continue");
      return;
    }
    if (id == wire_http::field::content_length)
      return;
  }
  m_.fields.add(id, name, value);
}

template <bool IsRequest>
void WireParser<IsRequest>::on_header_impl(error_code&) {
  if constexpr (IsRequest) {
    m_.keep_alive = this->keep_alive();
  } else {
    // Whether a body follows is known now: when it does, it is sized by what arrives.
    m_.sized_by_body = !this->is_done();
    if (m_.sized_by_body)
      m_.fields.erase(wire_http::field::content_length);
  }
  if (!connection_names_.empty())
    for_each_token(connection_names_, [&](std::string_view name) { m_.fields.erase(name); });
}

template <bool IsRequest>
void WireParser<IsRequest>::on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                                              error_code&) {
  // Beast has already checked the length against the body limit.
  if (content_length)
    m_.body.reserve(static_cast<size_t>(*content_length));
}

template <bool IsRequest>
size_t WireParser<IsRequest>::on_body_impl(string_view body, error_code&) {
  m_.body.append(body.data(), body.size());
  return body.size();
}

template <bool IsRequest>
void WireParser<IsRequest>::on_chunk_header_impl(std::uint64_t, string_view, error_code&) {}

template <bool IsRequest>
size_t WireParser<IsRequest>::on_chunk_body_impl(std::uint64_t, string_view body, error_code&) {
  m_.body.append(body.data(), body.size());
  return body.size();
}

template <bool IsRequest>
void WireParser<IsRequest>::on_finish_impl(error_code&) {}

template class WireParser<true>;
template class WireParser<false>;

}  // namespace medgate::clients
