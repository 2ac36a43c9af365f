// Waiting on a database connection's socket, as both drivers' non-blocking calls do: until the
// socket is ready, the statement's deadline passes, or its AbandonSignal fires.
#pragma once

#include <poll.h>

#include <chrono>
#include <cstdint>

#include "clients/db/abandon_signal.hpp"

namespace medgate::db {

enum class SocketWait : uint8_t { ready, timed_out, abandoned };

// `deadline` time_point::max(): no deadline. `abandon` may be null. On `ready`, `revents`
// (when given) holds the socket's poll events; a poll error reads as POLLERR, for the
// library to find and report.
SocketWait wait_socket(int fd, short events, std::chrono::steady_clock::time_point deadline,
                       const AbandonSignal* abandon, short* revents = nullptr);

}  // namespace medgate::db
