// How a drill breaks and mends the system: the local stack through supervisorctl and
// signals, or the compose deployment through docker. Programs are named as in the local
// stack (medical-1, medical-db-primary, medgate...); the compose control maps them to the
// old system's container names (app1, mariadb-master, middleware...).
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

namespace medgate::drill {

class StackControl {
 public:
  virtual ~StackControl() = default;
  virtual void stop(const std::string& program) = 0;   // clean stop; returns when stopped
  virtual void start(const std::string& program) = 0;  // returns when started
  virtual void restart(const std::string& program) = 0;
  virtual void kill9(const std::string& program) = 0;  // SIGKILL the server and its children
  virtual void pause(const std::string& program) = 0;  // SIGSTOP (docker pause)
  virtual void resume(const std::string& program) = 0;
  // A gateway's restart: SIGHUP to its medgate-launcher (a new medgate, then the old drains).
  virtual void handover(const std::string& program) = 0;
  [[nodiscard]] virtual std::string name(const std::string& program) const = 0;
};

// supervisorctl -c STACK_DIR/supervisord.conf; signals go to the program's process tree.
[[nodiscard]] std::unique_ptr<StackControl> local_stack_control(std::string stack_dir);
// docker stop/start/restart/kill/pause/unpause on the compose deployment's containers.
[[nodiscard]] std::unique_ptr<StackControl> compose_control();

// Thrown when a command failed: the drill stops and says what failed.
struct ControlError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace medgate::drill
