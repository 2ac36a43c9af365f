// medgate-drill: chaos drills with measured recovery, judged against targets.
//
//   medgate-drill [options] SCENARIO|all
//
// Writes SCENARIO's report as JSON, Markdown and HTML to --out (the local stack's drills/
// directory by default, where medgate's dashboard lists them) and prints the Markdown.
// Exit status: 0 every target met, 1 a target missed (or unknown), 2 usage or set-up error.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <boost/json.hpp>

#include "apps/medgate-drill/drill_runner.hpp"

namespace {
using namespace medgate::drill;
namespace fs = std::filesystem;

void usage(std::ostream& out) {
  out << "usage: medgate-drill [options] SCENARIO|all\n\nscenarios:\n";
  for (const auto& [name, what] : scenario_catalogue())
    out << "  " << name << "\n      " << what << "\n";
  out << "  all\n      every scenario above in turn, steady in between\n\n"
         "options:\n"
         "  --stack-dir DIR      the local stack (default $MEDGATE_STACK_DIR or "
         "/var/tmp/medgate-stack)\n"
         "  --compose            fault the compose deployment's containers (docker) instead\n"
         "  --credentials FILE   KEY=VALUE credentials (default STACK_DIR/credentials.env)\n"
         "  --variant V          database drills: stop (default), kill (-9), hang (SIGSTOP)\n"
         "  --cluster C          old-primary-returns, second-fault: medical (default),\n"
         "                       administrative, portal\n"
         "  --gap S              second-fault: seconds from the first fault to the second (60)\n"
         "  --before S --hold S --after S   seconds of load before the fault (5), the fault's\n"
         "                       length for instance stops and hangs (10), load once steady (5)\n"
         "  --workers N --rps R  load: N workers (4), R requests per second each (8)\n"
         "  --target NAME=VALUE  detect (3s), promote (5s), recovery (10s), logged (1s),\n"
         "                       p99 (1s), rejoin (60s)\n"
         "  --out DIR            where reports go (default STACK_DIR/drills)\n"
         "  --no-progress        no progress line on stderr\n";
}

std::string stamp() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p);
  out << text;
  if (!out)
    throw std::runtime_error("cannot write " + p.string());
}

double seconds_arg(const std::string& flag, const std::string& v) {
  char* end = nullptr;
  const double s = std::strtod(v.c_str(), &end);
  if (end == v.c_str() || *end != '\0' || s < 0 || s > 3600)
    throw std::invalid_argument(flag + ": expected seconds (0..3600), got '" + v + "'");
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const char* env_dir = std::getenv("MEDGATE_STACK_DIR");
  std::string stack_dir = env_dir ? env_dir : "/var/tmp/medgate-stack";
  std::string credentials, out_dir, scenario;
  bool compose = false;
  bool progress = isatty(STDERR_FILENO) != 0;
  bool progress_forced_off = false;
  DrillOptions opt;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto next = [&]() -> std::string {
        if (i + 1 >= argc)
          throw std::invalid_argument(a + " needs a value");
        return argv[++i];
      };
      auto ms = [&](const std::string& v) {
        return std::chrono::milliseconds(static_cast<int64_t>(seconds_arg(a, v) * 1000));
      };
      if (a == "-h" || a == "--help") {
        usage(std::cout);
        return 0;
      } else if (a == "--stack-dir") {
        stack_dir = next();
      } else if (a == "--compose") {
        compose = true;
      } else if (a == "--credentials") {
        credentials = next();
      } else if (a == "--variant") {
        opt.variant = next();
      } else if (a == "--cluster") {
        opt.cluster = next();
      } else if (a == "--before") {
        opt.before = ms(next());
      } else if (a == "--gap") {
        opt.gap = ms(next());
      } else if (a == "--hold") {
        opt.hold = ms(next());
      } else if (a == "--after") {
        opt.after = ms(next());
      } else if (a == "--workers") {
        opt.load.workers = static_cast<int>(seconds_arg(a, next()));
        if (opt.load.workers < 1 || opt.load.workers > 64)
          throw std::invalid_argument("--workers: 1..64");
      } else if (a == "--rps") {
        opt.load.per_worker_rps = seconds_arg(a, next());
        if (opt.load.per_worker_rps < 0.1 || opt.load.per_worker_rps > 200)
          throw std::invalid_argument("--rps: 0.1..200 per worker");
      } else if (a == "--target") {
        if (auto err = set_target(opt.targets, next()); !err.empty())
          throw std::invalid_argument(err);
      } else if (a == "--out") {
        out_dir = next();
      } else if (a == "--progress") {
        progress = true;
      } else if (a == "--no-progress") {
        progress_forced_off = true;
      } else if (!a.empty() && a[0] == '-') {
        throw std::invalid_argument("unknown option " + a);
      } else if (scenario.empty()) {
        scenario = a;
      } else {
        throw std::invalid_argument("one scenario only (or all)");
      }
    }
    if (scenario.empty())
      throw std::invalid_argument("which scenario?");
  } catch (const std::exception& e) {
    std::cerr << "medgate-drill: " << e.what() << "\n\n";
    usage(std::cerr);
    return 2;
  }
  if (progress_forced_off)
    progress = false;
  const bool tty = isatty(STDERR_FILENO) != 0;
  if (progress)
    opt.progress = [tty](const std::string& line) {
      if (tty)
        std::fprintf(stderr, "\r%-110s", line.c_str());
      else
        std::fprintf(stderr, "%s\n", line.c_str());
      std::fflush(stderr);
    };

  try {
    StackLayout layout = local_stack_layout(stack_dir);
    if (!credentials.empty()) {
      std::ifstream in(credentials);
      std::stringstream text;
      text << in.rdbuf();
      layout.credentials = parse_env_file(text.str());
    }
    if (compose)
      layout.log_dir.clear();
    auto control = compose ? compose_control() : local_stack_control(stack_dir);
    if (out_dir.empty())
      out_dir = stack_dir + "/drills";
    fs::create_directories(out_dir);

    std::vector<std::string> names;
    if (scenario == "all") {
      for (const auto& [name, _] : scenario_catalogue())
        if (name != "second-fault")  // a minute of set-up; run it by name
          names.push_back(name);
    } else {
      names.push_back(scenario);
    }
    DrillRunner runner(layout, *control, opt);
    std::vector<Report> reports;
    bool passed = true;
    for (const auto& name : names) {
      Report rep = runner.run(name);
      if (opt.progress && tty)
        std::fprintf(stderr, "\n");
      const std::string base =
          (fs::path(out_dir) /
           (stamp() + "-" + name + (rep.record.variant.empty() ? "" : "-" + rep.record.variant)))
              .string();
      write_file(base + ".json", boost::json::serialize(to_json(rep)) + "\n");
      write_file(base + ".md", to_markdown(rep));
      write_file(base + ".html", to_html(rep));
      std::cout << to_markdown(rep) << "Reports: " << base << ".{json,md,html}\n\n" << std::flush;
      passed = passed && all_passed(rep.verdicts);
      reports.push_back(std::move(rep));
    }
    if (reports.size() > 1) {
      const std::string summary = summary_markdown(reports);
      write_file((fs::path(out_dir) / (stamp() + "-all.md")).string(), summary);
      std::cout << "## All drills\n\n" << summary;
    }
    return passed ? 0 : 1;
  } catch (const std::invalid_argument& e) {
    std::cerr << "medgate-drill: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "\nmedgate-drill: " << e.what() << "\n";
    return 2;
  }
}
