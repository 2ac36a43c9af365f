#include "db-monitors/position.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>

namespace medgate::dbmon {

namespace {

std::optional<uint64_t> parse_u64(std::string_view s, int base = 10) {
  uint64_t v = 0;
  if (s.empty())
    return std::nullopt;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size())
    return std::nullopt;
  return v;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\n' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\n' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Splits on `sep`, trimming each piece.
std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    const size_t end = s.find(sep, start);
    out.push_back(trim(s.substr(start, end == std::string_view::npos ? end : end - start)));
    if (end == std::string_view::npos)
      return out;
    start = end + 1;
  }
}

uint64_t count(const std::vector<Position::Interval>& v) {
  uint64_t n = 0;
  for (const auto& [a, b] : v)
    n += b - a + 1;
  return n;
}

// Elements of `a` not in `b`; both sorted and disjoint.
std::vector<Position::Interval> subtract(const std::vector<Position::Interval>& a,
                                         const std::vector<Position::Interval>& b) {
  std::vector<Position::Interval> out;
  for (auto [first, last] : a) {
    for (const auto& [bf, bl] : b) {
      if (bl < first || bf > last)
        continue;
      if (bf > first)
        out.emplace_back(first, bf - 1);
      if (bl >= last) {
        first = last + 1;
        break;
      }
      first = bl + 1;
    }
    if (first <= last && first != 0)
      out.emplace_back(first, last);
  }
  return out;
}

}  // namespace

void Position::add(const std::string& component, uint64_t first, uint64_t last) {
  if (first == 0 || last < first)
    return;
  auto& v = parts_[component];
  v.emplace_back(first, last);
  std::sort(v.begin(), v.end());
  std::vector<Interval> merged;
  for (const auto& iv : v) {
    if (!merged.empty() && iv.first <= merged.back().second + 1)
      merged.back().second = std::max(merged.back().second, iv.second);
    else
      merged.push_back(iv);
  }
  v = std::move(merged);
  text_.clear();
  for (const auto& [c, ivs] : parts_) {
    text_ += text_.empty() ? "" : ",";
    text_ += c;
    for (const auto& [a, b] : ivs) {
      // Appended piece by piece: GCC 12 at -O3 misreports the temporaries of a + chain
      // (-Wrestrict).
      text_.push_back(':');
      text_.append(std::to_string(a));
      if (a != b) {
        text_.push_back('-');
        text_.append(std::to_string(b));
      }
    }
  }
}

std::optional<Position> Position::from_mariadb_gtid(std::string_view text) {
  Position p;
  text = trim(text);
  if (text.empty())
    return p;
  for (std::string_view gtid : split(text, ',')) {
    // domain-server-seq
    const auto parts = split(gtid, '-');
    if (parts.size() != 3)
      return std::nullopt;
    const auto domain = parse_u64(parts[0]);
    const auto server = parse_u64(parts[1]);
    const auto seq = parse_u64(parts[2]);
    if (!domain || !server || !seq)
      return std::nullopt;
    if (p.parts_.contains(std::to_string(*domain)))
      return std::nullopt;  // one GTID per domain in a position
    if (*seq > 0)
      p.add(std::to_string(*domain), 1, *seq);
    else
      p.parts_[std::to_string(*domain)];  // the domain exists with nothing in it yet
  }
  p.text_ = std::string(text);
  return p;
}

std::optional<Position> Position::from_mysql_gtid_set(std::string_view text) {
  Position p;
  text = trim(text);
  if (text.empty())
    return p;
  for (std::string_view member : split(text, ',')) {
    // uuid:a-b:c:d-e (MySQL 8.3+ may add tags: uuid:tag:a-b; a tag becomes part of the name)
    const auto fields = split(member, ':');
    if (fields.size() < 2 || fields[0].size() != 36)
      return std::nullopt;
    std::string component(fields[0]);
    for (size_t i = 1; i < fields.size(); ++i) {
      const std::string_view f = fields[i];
      if (!f.empty() && !std::isdigit(static_cast<unsigned char>(f.front()))) {
        component = std::string(fields[0]) + ":" + std::string(f);  // a tag
        continue;
      }
      const size_t dash = f.find('-');
      const auto first = parse_u64(f.substr(0, dash));
      const auto last = dash == std::string_view::npos ? first : parse_u64(f.substr(dash + 1));
      if (!first || !last || *first == 0 || *last < *first)
        return std::nullopt;
      p.add(component, *first, *last);
    }
  }
  p.text_ = std::string(text);
  return p;
}

std::optional<Position> Position::from_pg_lsn(std::string_view text) {
  Position p;
  text = trim(text);
  if (text.empty())
    return p;
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos)
    return std::nullopt;
  const auto hi = parse_u64(text.substr(0, slash), 16);
  const auto lo = parse_u64(text.substr(slash + 1), 16);
  if (!hi || !lo || *hi > 0xffffffffULL || *lo > 0xffffffffULL)
    return std::nullopt;
  const uint64_t lsn = (*hi << 32) | *lo;
  if (lsn > 0)
    p.add("lsn", 1, lsn);
  p.text_ = std::string(text);
  return p;
}

bool Position::covers(const Position& other) const {
  return missing_from(other) == 0;
}

uint64_t Position::missing_from(const Position& other) const {
  uint64_t n = 0;
  for (const auto& [component, theirs] : other.parts_) {
    const auto mine = parts_.find(component);
    n += mine == parts_.end() ? count(theirs) : count(subtract(theirs, mine->second));
  }
  return n;
}

Position Position::minus(const Position& other) const {
  Position out;
  for (const auto& [component, mine] : parts_) {
    const auto theirs = other.parts_.find(component);
    const auto rest = theirs == other.parts_.end() ? mine : subtract(mine, theirs->second);
    for (const auto& [a, b] : rest)
      out.add(component, a, b);
  }
  return out;
}

std::string format_pg_lsn(uint64_t lsn) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%X/%X", static_cast<unsigned>(lsn >> 32),
                static_cast<unsigned>(lsn & 0xffffffffULL));
  return buf;
}

}  // namespace medgate::dbmon
