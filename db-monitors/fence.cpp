#include "db-monitors/fence.hpp"

namespace medgate::dbmon {

FenceWay fence_returning_primary(Engine& engine, db::DbConnection& c,
                                 const std::string& restart_command,
                                 const std::function<int(const std::string&)>& run) {
  if (!restart_command.empty() && run(restart_command) == 0)
    return FenceWay::restart;
  engine.fence(c);
  return FenceWay::sql;
}

}  // namespace medgate::dbmon
