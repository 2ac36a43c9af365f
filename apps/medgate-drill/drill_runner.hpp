// Runs named scenarios against a running system: watches it (Probes), loads it
// (LoadGenerator), breaks and mends it (StackControl), then reads the writes back, measures,
// judges and reports. One drill at a time; the system is brought back to steady between two.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "apps/medgate-drill/load_generator.hpp"
#include "apps/medgate-drill/report.hpp"
#include "apps/medgate-drill/stack_control.hpp"
#include "apps/medgate-drill/stack_layout.hpp"

namespace medgate::drill {

struct DrillOptions {
  std::chrono::milliseconds before{5000};  // load before the fault
  std::chrono::milliseconds hold{10000};   // how long an instance stays down or a node hangs
  std::chrono::milliseconds after{5000};   // load once the system is steady again
  std::chrono::milliseconds promote_timeout{30000};
  std::chrono::milliseconds steady_timeout{90000};
  std::string variant = "stop";          // database drills: stop, kill, hang
  std::string cluster = "medical";       // old-primary-returns, second-fault
  std::chrono::milliseconds gap{60000};  // second-fault: first fault to the measured one
  Targets targets;
  LoadOptions load;
  std::function<void(const std::string&)> progress;  // one line, rewritten; may be empty
};

// Every scenario `all` runs, in its order, and what each name means.
[[nodiscard]] const std::vector<std::pair<std::string, std::string>>& scenario_catalogue();

class DrillRunner {
 public:
  DrillRunner(StackLayout layout, StackControl& control, DrillOptions options);
  // Throws std::invalid_argument for an unknown scenario or variant.
  [[nodiscard]] Report run(const std::string& scenario);

 private:
  void first_fault(const ClusterLayout& c);

  StackLayout layout_;
  StackControl& control_;
  DrillOptions opt_;
  std::string first_fault_note_;
};

}  // namespace medgate::drill
