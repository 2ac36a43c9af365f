#include "clients/wire_message.hpp"

#include <algorithm>
#include <cstring>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/status.hpp>

namespace medgate::clients {

namespace {

bool same_name(std::string_view a, std::string_view b) {
  return boost::beast::iequals(a, b);
}

}  // namespace

void WireFields::clear() {
  text_.clear();
  entries_.clear();
  line_bytes_ = 0;
}

void WireFields::add(wire_http::field id, std::string_view name, std::string_view value) {
  // One resize and plain copies: four appends per field cost several times as much.
  const size_t at = text_.size();
  const size_t line = name.size() + value.size() + 4;
  text_.resize(at + line);
  put_field_line(text_.data() + at, name, value);
  entries_.push_back(Entry{id, static_cast<uint32_t>(at), static_cast<uint32_t>(name.size()),
                           static_cast<uint32_t>(value.size())});
  line_bytes_ += line;
}

void WireFields::add(std::string_view name, std::string_view value) {
  add(wire_http::string_to_field(name), name, value);
}

void WireFields::set(std::string_view name, std::string_view value) {
  erase(name);
  add(name, value);
}

void WireFields::erase(wire_http::field id) {
  std::erase_if(entries_, [&](const Entry& e) {
    if (e.id != id)
      return false;
    line_bytes_ -= e.name_len + e.value_len + 4;
    return true;
  });
}

void WireFields::erase(std::string_view name) {
  const auto id = wire_http::string_to_field(name);
  if (id != wire_http::field::unknown) {
    erase(id);
    return;
  }
  std::erase_if(entries_, [&](const Entry& e) {
    if (e.id != wire_http::field::unknown ||
        !same_name(std::string_view(text_).substr(e.at, e.name_len), name))
      return false;
    line_bytes_ -= e.name_len + e.value_len + 4;
    return true;
  });
}

std::optional<std::string_view> WireFields::find(wire_http::field id) const {
  for (const Entry& e : entries_)
    if (e.id == id)
      return std::string_view(text_).substr(e.at + e.name_len + 2, e.value_len);
  return std::nullopt;
}

std::optional<std::string_view> WireFields::find(std::string_view name) const {
  const auto id = wire_http::string_to_field(name);
  if (id != wire_http::field::unknown)
    return find(id);
  for (const Entry& e : entries_) {
    if (e.id == wire_http::field::unknown &&
        same_name(std::string_view(text_).substr(e.at, e.name_len), name))
      return std::string_view(text_).substr(e.at + e.name_len + 2, e.value_len);
  }
  return std::nullopt;
}

void WireRequest::set_method(wire_http::verb v) {
  method = v;
  method_text.assign(wire_http::to_string(v));
}

void WireRequest::clear() {
  method = wire_http::verb::get;
  method_text.assign("GET");
  target.clear();
  version = 11;
  keep_alive = true;
  expect_continue = false;
  fields.clear();
  body.clear();
}

void WireResponse::clear() {
  status = 200;
  reason.clear();
  fields.clear();
  body.clear();
  sized_by_body = true;
}

std::string_view reason_phrase(unsigned status) {
  const auto s = wire_http::int_to_status(status);
  if (s == wire_http::status::unknown)
    return "Unknown";
  return wire_http::obsolete_reason(s);
}

bool is_hop_by_hop(wire_http::field id) {
  using f = wire_http::field;
  switch (id) {
    case f::connection:
    case f::keep_alive:
    case f::proxy_authenticate:
    case f::proxy_authorization:
    case f::proxy_connection:
    case f::te:
    case f::trailer:
    case f::transfer_encoding:
    case f::upgrade:
      return true;
    default:
      return false;
  }
}

}  // namespace medgate::clients
