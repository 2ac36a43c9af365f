// Typed, validated reading of YAML configuration.
//
// Every error is a ConfigError naming file, line, column and key path, e.g.
//   medgate.yaml:12:17: upstreams.medical.retry.attempts: must be between 1 and 10 (got 0)
// Mappings are read through MapReader, whose finish() rejects unknown keys (with a
// "did you mean" hint), so a typo never silently falls back to a default.
// Scalars may reference environment variables: ${NAME} or ${NAME:-default}.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace medgate::config {

using Duration = std::chrono::nanoseconds;

class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string file, int line, int column, std::string key, std::string detail);
  [[nodiscard]] const std::string& file() const { return file_; }
  [[nodiscard]] int line() const { return line_; }      // 1-based, 0 when unknown
  [[nodiscard]] int column() const { return column_; }  // 1-based, 0 when unknown
  [[nodiscard]] const std::string& key() const { return key_; }
  [[nodiscard]] const std::string& detail() const { return detail_; }

 private:
  std::string file_;
  int line_;
  int column_;
  std::string key_;
  std::string detail_;
};

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
// Reads the process environment.
[[nodiscard]] std::optional<std::string> process_env(const std::string& name);

// Parses "250ms", "5s", "1.5m", "2h", "100us", "10ns". A bare number is refused: units are
// what makes a timeout readable. Returns nullopt on malformed input.
[[nodiscard]] std::optional<Duration> parse_duration(std::string_view text);
// Renders a duration the way parse_duration reads it ("250ms", "5s").
[[nodiscard]] std::string format_duration(Duration d);

class MapReader;

struct SourceContext {
  std::string file;
  EnvLookup env;
};

class Node {
 public:
  Node(YAML::Node node, std::shared_ptr<const SourceContext> ctx, std::string path,
       YAML::Mark fallback);

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] bool is_null() const { return node_.IsNull(); }
  [[nodiscard]] bool is_scalar() const { return node_.IsScalar(); }
  [[nodiscard]] bool is_sequence() const { return node_.IsSequence(); }
  [[nodiscard]] bool is_map() const { return node_.IsMap(); }

  [[nodiscard]] std::string as_string() const;  // env references expanded
  [[nodiscard]] std::string as_nonempty_string() const;
  [[nodiscard]] int64_t as_int(int64_t min, int64_t max) const;
  [[nodiscard]] double as_double(double min, double max) const;
  [[nodiscard]] bool as_bool() const;
  [[nodiscard]] Duration as_duration(Duration min, Duration max) const;

  // One of the listed names; the error lists them all.
  template <typename E>
  [[nodiscard]] E as_enum(std::initializer_list<std::pair<std::string_view, E>> choices) const {
    const std::string s = as_string();
    std::string names;
    for (const auto& [name, value] : choices) {
      if (s == name)
        return value;
      names += names.empty() ? "" : ", ";
      names += name;
    }
    fail("must be one of " + names + " (got '" + s + "')");
  }

  [[nodiscard]] std::vector<Node> items() const;  // the elements of a sequence
  // A list of names: a sequence of non-empty strings, or one string of names separated by
  // commas or spaces (so one environment variable can name several: "${HOSTS:-a,b}"). An
  // empty string names none. More than `max` fails.
  [[nodiscard]] std::vector<std::string> names(size_t max) const;
  [[nodiscard]] MapReader map() const;  // a mapping's reader

  // The subtree as one canonical text, environment references expanded and mapping keys
  // sorted: equal exactly when two files say the same thing here, whatever their layout
  // (flow or block style, key order, comments). What a restart compares to decide whether a
  // part of the configuration changed.
  [[nodiscard]] std::string canonical() const;

  [[noreturn]] void fail(const std::string& detail) const;
  // Fails naming a child key of this mapping (e.g. one that is missing).
  [[noreturn]] void fail_key(std::string_view child_key, const std::string& detail) const;

 private:
  [[nodiscard]] std::string raw_scalar(std::string_view expected) const;

  YAML::Node node_;
  std::shared_ptr<const SourceContext> ctx_;
  std::string path_;
  YAML::Mark mark_;
};

class MapReader {
 public:
  MapReader(const Node& self, std::vector<std::pair<std::string, Node>> entries);

  [[nodiscard]] bool has(std::string_view key) const;
  [[nodiscard]] Node required(std::string_view key);
  [[nodiscard]] std::optional<Node> optional(std::string_view key);

  // Convenience readers with defaults.
  [[nodiscard]] std::string get_string(std::string_view key, std::string def);
  [[nodiscard]] int64_t get_int(std::string_view key, int64_t def, int64_t min, int64_t max);
  [[nodiscard]] double get_double(std::string_view key, double def, double min, double max);
  [[nodiscard]] bool get_bool(std::string_view key, bool def);
  [[nodiscard]] Duration get_duration(std::string_view key, Duration def, Duration min,
                                      Duration max);

  // Every key, in file order (for maps of named things); all count as read.
  [[nodiscard]] std::vector<std::pair<std::string, Node>> entries();

  // Fails on the first key nothing asked for.
  void finish() const;

  [[nodiscard]] const Node& self() const { return self_; }

 private:
  Node self_;
  std::vector<std::pair<std::string, Node>> entries_;
  std::vector<bool> used_;
  std::vector<std::string> asked_;  // keys the schema knows, for "did you mean" hints
};

class Document {
 public:
  [[nodiscard]] static Document from_file(const std::string& path, EnvLookup env = process_env);
  [[nodiscard]] static Document from_string(std::string_view text, std::string name,
                                            EnvLookup env = process_env);
  [[nodiscard]] Node root() const;

 private:
  Document(YAML::Node root, std::shared_ptr<const SourceContext> ctx)
      : root_(std::move(root)), ctx_(std::move(ctx)) {}
  YAML::Node root_;
  std::shared_ptr<const SourceContext> ctx_;
};

}  // namespace medgate::config
