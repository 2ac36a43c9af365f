#include "config/yaml_reader.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

namespace medgate::config {
namespace {

int one_based(int v) {
  return v >= 0 ? v + 1 : 0;
}

std::string location_text(const std::string& file, int line, int column, const std::string& key,
                          const std::string& detail) {
  // Built with append: GCC 12 at -O3 misreports `"lit" + std::string&&` (-Wrestrict).
  std::string s = file;
  if (line > 0)
    s.append(":").append(std::to_string(line));
  if (column > 0)
    s.append(":").append(std::to_string(column));
  s.append(": ");
  if (!key.empty())
    s.append(key).append(": ");
  return s.append(detail);
}

// Levenshtein distance, for "did you mean" hints on unknown keys.
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string join_path(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

}  // namespace

ConfigError::ConfigError(std::string file, int line, int column, std::string key,
                         std::string detail)
    : std::runtime_error(location_text(file, line, column, key, detail)),
      file_(std::move(file)),
      line_(line),
      column_(column),
      key_(std::move(key)),
      detail_(std::move(detail)) {}

std::optional<std::string> process_env(const std::string& name) {
  if (const char* v = std::getenv(name.c_str()))
    return std::string(v);
  return std::nullopt;
}

std::optional<Duration> parse_duration(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  if (i == 0)
    return std::nullopt;
  const std::string number(text.substr(0, i));
  const std::string_view unit = text.substr(i);
  double value = 0.0;
  const auto res = std::from_chars(number.data(), number.data() + number.size(), value);
  if (res.ec != std::errc{} || res.ptr != number.data() + number.size())
    return std::nullopt;
  double ns_per_unit = 0.0;
  if (unit == "ns")
    ns_per_unit = 1.0;
  else if (unit == "us")
    ns_per_unit = 1e3;
  else if (unit == "ms")
    ns_per_unit = 1e6;
  else if (unit == "s")
    ns_per_unit = 1e9;
  else if (unit == "m")
    ns_per_unit = 60e9;
  else if (unit == "h")
    ns_per_unit = 3600e9;
  else
    return std::nullopt;
  const double ns = value * ns_per_unit;
  if (!std::isfinite(ns) || ns > 9e18)
    return std::nullopt;
  return Duration(static_cast<Duration::rep>(std::llround(ns)));
}

std::string format_duration(Duration d) {
  using namespace std::chrono;
  const auto ns = d.count();
  if (ns == 0)
    return "0s";
  if (ns % 3'600'000'000'000 == 0)
    return std::to_string(ns / 3'600'000'000'000) + "h";
  if (ns % 60'000'000'000 == 0)
    return std::to_string(ns / 60'000'000'000) + "m";
  if (ns % 1'000'000'000 == 0)
    return std::to_string(ns / 1'000'000'000) + "s";
  if (ns % 1'000'000 == 0)
    return std::to_string(ns / 1'000'000) + "ms";
  if (ns % 1'000 == 0)
    return std::to_string(ns / 1'000) + "us";
  return std::to_string(ns) + "ns";
}

// ---- Node ---------------------------------------------------------------------------------

Node::Node(YAML::Node node, std::shared_ptr<const SourceContext> ctx, std::string path,
           YAML::Mark fallback)
    : node_(std::move(node)), ctx_(std::move(ctx)), path_(std::move(path)) {
  const YAML::Mark m = node_.Mark();
  mark_ = m.is_null() ? fallback : m;
}

void Node::fail(const std::string& detail) const {
  throw ConfigError(ctx_->file, one_based(mark_.line), one_based(mark_.column), path_, detail);
}

void Node::fail_key(std::string_view child_key, const std::string& detail) const {
  throw ConfigError(ctx_->file, one_based(mark_.line), one_based(mark_.column),
                    join_path(path_, child_key), detail);
}

std::string Node::raw_scalar(std::string_view expected) const {
  if (!node_.IsScalar())
    fail("expected " + std::string(expected));
  const std::string& in = node_.Scalar();
  // Expand ${NAME} and ${NAME:-default}.
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size();) {
    if (in.compare(i, 2, "${") != 0) {
      out += in[i++];
      continue;
    }
    const size_t close = in.find('}', i + 2);
    if (close == std::string::npos)
      fail("unterminated '${' in value");
    const std::string inner = in.substr(i + 2, close - i - 2);
    const size_t dflt = inner.find(":-");
    const std::string name = inner.substr(0, dflt);
    if (name.empty())
      fail("empty environment variable name in '${}'");
    if (auto v = ctx_->env(name)) {
      out += *v;
    } else if (dflt != std::string::npos) {
      out += inner.substr(dflt + 2);
    } else {
      fail("environment variable " + name + " is not set");
    }
    i = close + 1;
  }
  return out;
}

std::string Node::as_string() const {
  return raw_scalar("a string");
}

std::string Node::as_nonempty_string() const {
  std::string s = as_string();
  if (s.empty())
    fail("must not be empty");
  return s;
}

int64_t Node::as_int(int64_t min, int64_t max) const {
  const std::string s = raw_scalar("an integer");
  int64_t v = 0;
  const auto res = std::from_chars(s.data(), s.data() + s.size(), v);
  if (res.ec != std::errc{} || res.ptr != s.data() + s.size())
    fail("expected an integer (got '" + s + "')");
  if (v < min || v > max)
    fail("must be between " + std::to_string(min) + " and " + std::to_string(max) + " (got " + s +
         ")");
  return v;
}

double Node::as_double(double min, double max) const {
  const std::string s = raw_scalar("a number");
  double v = 0.0;
  const auto res = std::from_chars(s.data(), s.data() + s.size(), v);
  if (res.ec != std::errc{} || res.ptr != s.data() + s.size() || !std::isfinite(v))
    fail("expected a number (got '" + s + "')");
  if (v < min || v > max) {
    std::ostringstream msg;
    msg << "must be between " << min << " and " << max << " (got " << s << ")";
    fail(msg.str());
  }
  return v;
}

bool Node::as_bool() const {
  const std::string s = raw_scalar("true or false");
  if (s == "true" || s == "yes" || s == "on")
    return true;
  if (s == "false" || s == "no" || s == "off")
    return false;
  fail("expected true or false (got '" + s + "')");
}

Duration Node::as_duration(Duration min, Duration max) const {
  const std::string s = raw_scalar("a duration such as 250ms or 5s");
  const auto d = parse_duration(s);
  if (!d)
    fail("expected a duration with a unit (ns, us, ms, s, m, h), e.g. 250ms (got '" + s + "')");
  if (*d < min || *d > max)
    fail("must be between " + format_duration(min) + " and " + format_duration(max) + " (got " + s +
         ")");
  return *d;
}

namespace {

// A string in double quotes, '"' and '\\' escaped: keys and values alike, so no two different
// documents share a canonical text.
std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string Node::canonical() const {
  if (node_.IsNull())
    return "~";
  if (node_.IsScalar())
    return quoted(as_string());
  if (node_.IsSequence()) {
    std::string out = "[";
    for (const Node& item : items())
      out += item.canonical() + ",";
    return out + "]";
  }
  std::map<std::string, std::string> sorted;
  for (const auto& kv : node_)
    sorted[kv.first.Scalar()] =
        Node(kv.second, ctx_, path_ + "." + kv.first.Scalar(), mark_).canonical();
  std::string out = "{";
  for (const auto& [k, v] : sorted)
    out += quoted(k) + ":" + v + ",";
  return out + "}";
}

std::vector<Node> Node::items() const {
  if (!node_.IsSequence())
    fail("expected a list");
  std::vector<Node> out;
  out.reserve(node_.size());
  size_t i = 0;
  for (const auto& item : node_) {
    out.emplace_back(item, ctx_, path_ + "[" + std::to_string(i++) + "]", mark_);
  }
  return out;
}

std::vector<std::string> Node::names(size_t max) const {
  std::vector<std::string> out;
  if (node_.IsSequence()) {
    for (const auto& item : items())
      out.push_back(item.as_nonempty_string());
  } else {
    const std::string text = as_string();
    size_t pos = 0;
    while (pos < text.size()) {
      const size_t start = text.find_first_not_of(", \t", pos);
      if (start == std::string::npos)
        break;
      const size_t end = std::min(text.find_first_of(", \t", start), text.size());
      out.push_back(text.substr(start, end - start));
      pos = end;
    }
  }
  if (out.size() > max)
    fail("at most " + std::to_string(max) + " names");
  return out;
}

MapReader Node::map() const {
  if (node_.IsNull())
    return MapReader(*this, {});  // `key:` with nothing: an empty map
  if (!node_.IsMap())
    fail("expected a mapping of keys to values");
  std::vector<std::pair<std::string, Node>> entries;
  for (const auto& kv : node_) {
    const std::string key = kv.first.Scalar();
    const std::string path = join_path(path_, key);
    for (const auto& [seen, node] : entries) {
      if (seen == key)
        Node(kv.first, ctx_, path, mark_)
            .fail("duplicate key (first defined at line " +
                  std::to_string(one_based(node.mark_.line)) + ")");
    }
    entries.emplace_back(key, Node(kv.second, ctx_, path, kv.first.Mark()));
  }
  return MapReader(*this, std::move(entries));
}

// ---- MapReader ----------------------------------------------------------------------------

MapReader::MapReader(const Node& self, std::vector<std::pair<std::string, Node>> entries)
    : self_(self), entries_(std::move(entries)), used_(entries_.size(), false) {}

bool MapReader::has(std::string_view key) const {
  return std::any_of(entries_.begin(), entries_.end(),
                     [&](const auto& e) { return e.first == key; });
}

std::optional<Node> MapReader::optional(std::string_view key) {
  if (std::find(asked_.begin(), asked_.end(), key) == asked_.end())
    asked_.emplace_back(key);
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].first == key) {
      used_[i] = true;
      return entries_[i].second;
    }
  }
  return std::nullopt;
}

Node MapReader::required(std::string_view key) {
  if (auto n = optional(key))
    return *n;
  self_.fail_key(key, "missing required key");
}

std::string MapReader::get_string(std::string_view key, std::string def) {
  auto n = optional(key);
  return n ? n->as_string() : std::move(def);
}

int64_t MapReader::get_int(std::string_view key, int64_t def, int64_t min, int64_t max) {
  auto n = optional(key);
  return n ? n->as_int(min, max) : def;
}

double MapReader::get_double(std::string_view key, double def, double min, double max) {
  auto n = optional(key);
  return n ? n->as_double(min, max) : def;
}

bool MapReader::get_bool(std::string_view key, bool def) {
  auto n = optional(key);
  return n ? n->as_bool() : def;
}

Duration MapReader::get_duration(std::string_view key, Duration def, Duration min, Duration max) {
  auto n = optional(key);
  return n ? n->as_duration(min, max) : def;
}

std::vector<std::pair<std::string, Node>> MapReader::entries() {
  std::fill(used_.begin(), used_.end(), true);
  return entries_;
}

void MapReader::finish() const {
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (used_[i])
      continue;
    const std::string& key = entries_[i].first;
    std::string_view best;
    size_t best_distance = 3;  // suggest only close matches
    for (const auto& known : asked_) {
      const size_t d = edit_distance(key, known);
      if (d < best_distance) {
        best_distance = d;
        best = known;
      }
    }
    std::string detail = "unknown key '" + key + "'";
    if (!best.empty())
      detail += " (did you mean '" + std::string(best) + "'?)";
    entries_[i].second.fail(detail);
  }
}

// ---- Document -----------------------------------------------------------------------------

Document Document::from_string(std::string_view text, std::string name, EnvLookup env) {
  auto ctx = std::make_shared<SourceContext>(SourceContext{std::move(name), std::move(env)});
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::ParserException& e) {
    throw ConfigError(ctx->file, one_based(e.mark.line), one_based(e.mark.column), "",
                      "YAML syntax error: " + e.msg);
  }
  return Document(std::move(root), std::move(ctx));
}

Document Document::from_file(const std::string& path, EnvLookup env) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw ConfigError(path, 0, 0, "", "cannot open file");
  std::ostringstream buf;
  buf << in.rdbuf();
  constexpr size_t kMaxConfigBytes = 4 * 1024 * 1024;
  if (buf.str().size() > kMaxConfigBytes)
    throw ConfigError(path, 0, 0, "", "file is over 4 MiB");
  return from_string(buf.str(), path, std::move(env));
}

Node Document::root() const {
  return Node(root_, ctx_, "", YAML::Mark());
}

}  // namespace medgate::config
