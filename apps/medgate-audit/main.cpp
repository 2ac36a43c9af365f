// medgate-audit: who looked at which patient's records, from the audit logs of medgate and
// the services (one format, auth/audit_log.hpp); several --log files are merged by time.
//   medgate-audit --log FILE [--log FILE ...] (--patient RUT | --subject ID | --all)
//                 [--since ISO-TIME]
// Reads the rotated files too (FILE's <name>.N.<ext>, oldest first) and prints the matching
// JSON lines in time order. A RUT matches in any spelling (dots, lower-case k).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "domain/rut.hpp"

namespace {

namespace fs = std::filesystem;

int usage() {
  std::fprintf(stderr,
               "usage: medgate-audit --log FILE [--log FILE ...] (--patient RUT | --subject ID "
               "| --all) [--since 2026-11-29T00:00:00]\n");
  return 2;
}

// FILE and its rotations, oldest first: audit.3.jsonl, audit.2.jsonl, audit.1.jsonl, audit.jsonl.
std::vector<fs::path> log_files(const fs::path& file) {
  const std::string stem = file.stem().string();
  const std::string ext = file.extension().string();
  std::vector<fs::path> rotated;
  for (int i = 1; i < 10000; ++i) {
    const fs::path p = file.parent_path() / (stem + "." + std::to_string(i) + ext);
    if (!fs::exists(p))
      break;
    rotated.push_back(p);
  }
  std::vector<fs::path> out(rotated.rbegin(), rotated.rend());
  if (fs::exists(file))
    out.push_back(file);
  return out;
}

std::string field(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> logs;
  std::string patient, subject, since;
  bool all = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : std::string(); };
    if (a == "--log")
      logs.push_back(value());
    else if (a == "--patient")
      patient = value();
    else if (a == "--subject")
      subject = value();
    else if (a == "--since")
      since = value();
    else if (a == "--all")
      all = true;
    else
      return usage();
  }
  if (logs.empty() || (patient.empty() && subject.empty() && !all))
    return usage();
  if (!patient.empty()) {
    const auto canonical = medgate::domain::normalize_rut(patient);
    if (!canonical) {
      std::fprintf(stderr, "medgate-audit: '%s' is not a valid RUT\n", patient.c_str());
      return 2;
    }
    patient = *canonical;
  }
  std::vector<fs::path> files;
  for (const auto& log : logs) {
    const auto these = log_files(log);
    if (these.empty()) {
      std::fprintf(stderr, "medgate-audit: no audit log at %s\n", log.c_str());
      return 1;
    }
    files.insert(files.end(), these.begin(), these.end());
  }
  // Each file is in time order; entries from several components are merged by time (stable:
  // one component's entries of the same millisecond keep their order).
  std::vector<std::pair<std::string, std::string>> selected;  // time, line
  size_t malformed = 0;
  for (const auto& f : files) {
    std::ifstream in(f);
    for (std::string line; std::getline(in, line);) {
      boost::system::error_code ec;
      const auto v = boost::json::parse(line, ec);
      if (ec || !v.is_object()) {
        ++malformed;
        continue;
      }
      const auto& o = v.as_object();
      if (!patient.empty() && field(o, "patient") != patient)
        continue;
      if (!subject.empty() && field(o, "subject") != subject)
        continue;
      if (!since.empty() && field(o, "time") < since)
        continue;
      selected.emplace_back(field(o, "time"), std::move(line));
    }
  }
  if (logs.size() > 1)
    std::stable_sort(selected.begin(), selected.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [time, line] : selected)
    std::printf("%s\n", line.c_str());
  const size_t shown = selected.size();
  std::fprintf(stderr, "medgate-audit: %zu entries from %zu files", shown, files.size());
  if (malformed > 0)
    std::fprintf(stderr, " (%zu unreadable lines skipped)", malformed);
  std::fprintf(stderr, "\n");
  return 0;
}
