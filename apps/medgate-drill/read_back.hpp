// After a drill: every write of this run looked up by its key on each cluster's current
// primary (asked of its monitor), counting the rows that carry it.
#pragma once

#include <string>
#include <vector>

#include "apps/medgate-drill/drill_record.hpp"
#include "apps/medgate-drill/stack_layout.hpp"

namespace medgate::drill {

struct ReadBackResult {
  std::vector<ReadBack> rows;  // key -> copies, for the keys found
  std::string error;           // empty when every cluster could be read
};

[[nodiscard]] ReadBackResult read_back(const StackLayout& layout, const std::string& run_id);

}  // namespace medgate::drill
