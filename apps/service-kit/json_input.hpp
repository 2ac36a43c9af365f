// Validated reading of a JSON request body. Every failure names the field: a malformed body
// is 400, a missing, mistyped or out-of-range field 422.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

namespace medgate::service {

class InputError : public std::runtime_error {
 public:
  InputError(unsigned status, std::string code, std::string field, const std::string& message)
      : std::runtime_error(message),
        status_(status),
        code_(std::move(code)),
        field_(std::move(field)) {}
  [[nodiscard]] unsigned status() const { return status_; }
  [[nodiscard]] const std::string& code() const { return code_; }
  [[nodiscard]] const std::string& field() const { return field_; }

 private:
  unsigned status_;
  std::string code_;
  std::string field_;
};

// "YYYY-MM-DD" naming a real calendar day.
[[nodiscard]] bool valid_date(std::string_view s);
// "YYYY-MM-DD HH:MM" or "YYYY-MM-DDTHH:MM" (seconds optional); returns "YYYY-MM-DD HH:MM:SS".
[[nodiscard]] std::optional<std::string> normalize_datetime(std::string_view s);

// Whether `s` holds a control character: C0 (NUL included), DEL or C1 (U+0080..U+009F).
// With `allow_newlines`, LF, CR and TAB are text. Drivers and logs read NUL as an end of
// string (a stored "probe\0tail" came back "probe"), and the others have no place in a name,
// a concept or a note: they are refused, never stripped.
[[nodiscard]] bool has_control_chars(std::string_view s, bool allow_newlines = false);

// Whether a text field is one line (names, codes) or may hold line breaks (clinical notes).
enum class Lines : uint8_t { one, many };

class JsonInput {
 public:
  // Parses the body as a JSON object (400 invalid_json otherwise).
  explicit JsonInput(std::string_view body);

  // Text fields are trimmed, non-empty, at most `max_chars` code points, and hold no control
  // character (has_control_chars; Lines::many allows line breaks): else 422 naming the field.
  [[nodiscard]] std::string rut(std::string_view field);
  [[nodiscard]] std::string text(std::string_view field, size_t max_chars,
                                 Lines lines = Lines::one);
  [[nodiscard]] std::optional<std::string> optional_text(std::string_view field, size_t max_chars,
                                                         Lines lines = Lines::one);
  [[nodiscard]] std::string date(std::string_view field);
  [[nodiscard]] std::string datetime(std::string_view field);
  [[nodiscard]] int64_t integer(std::string_view field, int64_t min, int64_t max);
  [[nodiscard]] std::optional<int64_t> optional_integer(std::string_view field, int64_t min,
                                                        int64_t max);

 private:
  [[noreturn]] static void fail(std::string_view field, const std::string& message);
  const boost::json::value* find(std::string_view field) const;
  boost::json::object object_;
};

}  // namespace medgate::service
