#include "apps/service-kit/json_input.hpp"

#include <boost/json/parse.hpp>

#include "domain/rut.hpp"

namespace medgate::service {

namespace json = boost::json;

namespace {

bool digits(std::string_view s) {
  for (char c : s)
    if (c < '0' || c > '9')
      return false;
  return !s.empty();
}

int to_int(std::string_view s) {
  int v = 0;
  for (char c : s)
    v = v * 10 + (c - '0');
  return v;
}

// UTF-8 code points, so limits match what a person counts.
size_t char_count(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s)
    n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

bool has_control_chars(std::string_view s, bool allow_newlines) {
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7F) {
      if (!(allow_newlines && (c == '\n' || c == '\r' || c == '\t')))
        return true;
    } else if (c == 0xC2 && i + 1 < s.size()) {
      const auto next = static_cast<unsigned char>(s[i + 1]);
      if (next >= 0x80 && next <= 0x9F)  // U+0080..U+009F in UTF-8
        return true;
    }
  }
  return false;
}

bool valid_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-')
    return false;
  if (!digits(s.substr(0, 4)) || !digits(s.substr(5, 2)) || !digits(s.substr(8, 2)))
    return false;
  const int y = to_int(s.substr(0, 4));
  const int m = to_int(s.substr(5, 2));
  const int d = to_int(s.substr(8, 2));
  if (y < 1900 || y > 2200 || m < 1 || m > 12 || d < 1)
    return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= kDays[m - 1] + (m == 2 && leap ? 1 : 0);
}

std::optional<std::string> normalize_datetime(std::string_view s) {
  if (s.size() < 16 || !valid_date(s.substr(0, 10)) || (s[10] != ' ' && s[10] != 'T'))
    return std::nullopt;
  const std::string_view hh = s.substr(11, 2);
  const std::string_view mm = s.substr(14, 2);
  if (s[13] != ':' || !digits(hh) || !digits(mm) || to_int(hh) > 23 || to_int(mm) > 59)
    return std::nullopt;
  std::string ss = "00";
  if (s.size() == 19 && s[16] == ':' && digits(s.substr(17, 2)) && to_int(s.substr(17, 2)) < 60)
    ss = std::string(s.substr(17, 2));
  else if (s.size() != 16)
    return std::nullopt;
  return std::string(s.substr(0, 10)) + " " + std::string(hh) + ":" + std::string(mm) + ":" + ss;
}

JsonInput::JsonInput(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object())
    throw InputError(400, "invalid_json", "", "the body must be a JSON object");
  object_ = std::move(v.as_object());
}

void JsonInput::fail(std::string_view field, const std::string& message) {
  throw InputError(422, "invalid_field", std::string(field), std::string(field) + ": " + message);
}

const json::value* JsonInput::find(std::string_view field) const {
  const auto* v = object_.if_contains(field);
  return v && !v->is_null() ? v : nullptr;
}

std::string JsonInput::rut(std::string_view field) {
  const std::string raw = text(field, 16);
  auto r = domain::normalize_rut(raw);
  if (!r)
    fail(field, "must be a RUT like 12345678-5 with a valid check digit");
  return *r;
}

std::string JsonInput::text(std::string_view field, size_t max_chars, Lines lines) {
  auto v = optional_text(field, max_chars, lines);
  if (!v)
    fail(field, "is required");
  return *v;
}

std::optional<std::string> JsonInput::optional_text(std::string_view field, size_t max_chars,
                                                    Lines lines) {
  const json::value* v = find(field);
  if (!v)
    return std::nullopt;
  if (!v->is_string())
    fail(field, "must be a string");
  std::string s(v->as_string());
  if (has_control_chars(s, lines == Lines::many))
    fail(field, lines == Lines::many
                    ? "must not contain control characters (line breaks and tabs are allowed)"
                    : "must not contain control characters or line breaks");
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.pop_back();
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.erase(s.begin());
  if (s.empty())
    fail(field, "must not be empty");
  if (char_count(s) > max_chars)
    fail(field, "must be at most " + std::to_string(max_chars) + " characters");
  return s;
}

std::string JsonInput::date(std::string_view field) {
  std::string s = text(field, 10);
  if (!valid_date(s))
    fail(field, "must be a date YYYY-MM-DD");
  return s;
}

std::string JsonInput::datetime(std::string_view field) {
  auto s = normalize_datetime(text(field, 19));
  if (!s)
    fail(field, "must be a date-time YYYY-MM-DD HH:MM");
  return *s;
}

int64_t JsonInput::integer(std::string_view field, int64_t min, int64_t max) {
  auto v = optional_integer(field, min, max);
  if (!v)
    fail(field, "is required");
  return *v;
}

std::optional<int64_t> JsonInput::optional_integer(std::string_view field, int64_t min,
                                                   int64_t max) {
  const json::value* v = find(field);
  if (!v)
    return std::nullopt;
  int64_t n = 0;
  if (v->is_int64())
    n = v->as_int64();
  else if (v->is_uint64() && v->as_uint64() <= static_cast<uint64_t>(INT64_MAX))
    n = static_cast<int64_t>(v->as_uint64());
  else
    fail(field, "must be a whole number");
  if (n < min || n > max)
    fail(field, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  return n;
}

}  // namespace medgate::service
