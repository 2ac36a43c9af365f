// Replication positions in one engine-neutral shape, so the decision core can rank
// candidates and measure lag without knowing the engine.
//
// A position is a set of sequence numbers per stream ("component"):
// - MariaDB GTID list "0-1-100,1-2-7": component = domain id, the set [1, seq] (with
//   gtid_strict_mode a domain's sequence only grows, whichever server wrote it);
// - MySQL GTID set "uuid:1-100:105-110": component = source uuid, the exact intervals;
// - PostgreSQL LSN "0/3000060": component "lsn", the set [1, byte offset].
// Comparison is set inclusion: `a.covers(b)` when every transaction (or byte) in b is in a.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace medgate::dbmon {

class Position {
 public:
  using Interval = std::pair<uint64_t, uint64_t>;  // inclusive [first, last], first >= 1

  Position() = default;

  // Parsers return nullopt on malformed text; the empty string is the empty position.
  [[nodiscard]] static std::optional<Position> from_mariadb_gtid(std::string_view text);
  [[nodiscard]] static std::optional<Position> from_mysql_gtid_set(std::string_view text);
  [[nodiscard]] static std::optional<Position> from_pg_lsn(std::string_view text);

  // Adds [first, last] to `component`, merging with what is there.
  void add(const std::string& component, uint64_t first, uint64_t last);

  [[nodiscard]] bool empty() const { return parts_.empty(); }
  // Every element of `other` is in this position.
  [[nodiscard]] bool covers(const Position& other) const;
  // How many elements of `other` this position lacks (transactions, or bytes of WAL).
  [[nodiscard]] uint64_t missing_from(const Position& other) const;
  // Elements of this position that `other` lacks, as a position.
  [[nodiscard]] Position minus(const Position& other) const;
  // The engine's own notation, as read (re-rendered when built with add()).
  [[nodiscard]] const std::string& text() const { return text_; }
  [[nodiscard]] const std::map<std::string, std::vector<Interval>>& parts() const { return parts_; }

  friend bool operator==(const Position& a, const Position& b) { return a.parts_ == b.parts_; }

 private:
  std::map<std::string, std::vector<Interval>> parts_;  // intervals sorted, disjoint
  std::string text_;
};

// Renders a PostgreSQL LSN ("0/3000060") from its byte offset.
[[nodiscard]] std::string format_pg_lsn(uint64_t lsn);

}  // namespace medgate::dbmon
