// How an old primary that comes back from a hang after a failover is fenced.
//
// Commits may be in flight on it: binlogged, waiting for a replica's acknowledgement (the
// replica it waited for is now the primary) or about to wait. Ending those sessions, as the
// SQL fence does, makes MariaDB/MySQL complete the commits locally: transactions no client
// was told about and the new primary lacks, so the node could then only be re-cloned (seen
// after a 2.5 s hang under writes). Whether any are in flight cannot be read reliably (a
// session between binlog and wait shows no wait state), so with a restart command the
// node is always killed instead: it starts again as a replica (scripts/lib/mariadb-node-start:
// --init-rpl-role=SLAVE, semi-sync replica on), its crash recovery drops the transactions that
// were only prepared (MariaDB's semi-sync crash recovery; with AFTER_SYNC, every transaction
// committed in the engine had been acknowledged), and it rejoins.
#pragma once

#include <functional>
#include <string>

#include "clients/db/db.hpp"
#include "db-monitors/engine.hpp"

namespace medgate::dbmon {

enum class FenceWay { sql, restart };

// Runs `restart_command` through `run` (which returns its exit status) when it is set; the
// SQL fence (Engine::fence) when it is not or when it fails. Returns the way taken.
FenceWay fence_returning_primary(Engine& engine, db::DbConnection& c,
                                 const std::string& restart_command,
                                 const std::function<int(const std::string&)>& run);

}  // namespace medgate::dbmon
