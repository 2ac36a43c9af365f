// What the drill watches while it runs, on threads of its own: medgate's /health (breaker
// states and transitions, endpoints taken out and back), each monitor's /events (detection,
// promotion, rejoin), whether the whole system is steady, both clocks, and — for a database
// drill — whether two nodes of the faulted cluster ever take writes at once.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "apps/medgate-drill/drill_record.hpp"
#include "apps/medgate-drill/stack_layout.hpp"

namespace medgate::drill {

class Probes {
 public:
  using Clock = std::chrono::steady_clock;
  // `watch_writable`: a cluster whose nodes are checked for two writable primaries (empty:
  // none). Polls every `period`.
  Probes(StackLayout layout, Clock::time_point origin, std::string watch_writable,
         std::chrono::milliseconds period = std::chrono::milliseconds(100));
  ~Probes();  // stops and joins

  void start();
  void stop();

  // Records an event of the drill itself (fault injected, cleared...) at the current time.
  void mark(const std::string& kind, const std::string& detail);
  [[nodiscard]] bool steady() const { return steady_; }
  // Waits until steady or `timeout`; true when steady.
  [[nodiscard]] bool wait_steady(std::chrono::milliseconds timeout) const;
  // Waits until an event of `kind` at or after `from` was recorded, or `timeout`.
  [[nodiscard]] bool wait_event(const std::string& kind, Ms from,
                                std::chrono::milliseconds timeout) const;
  [[nodiscard]] std::string why_unsteady() const;

  [[nodiscard]] std::vector<Event> events() const;
  [[nodiscard]] std::vector<ClockReading> clocks() const;
  [[nodiscard]] Ms now() const;

 private:
  void poll_loop();
  void writable_loop();
  void poll_medgate();
  void poll_monitors();
  void check_steady();
  void add(Event e);

  StackLayout layout_;
  Clock::time_point origin_;
  int64_t origin_mono_ms_ = 0;  // the monitors' mono_ms at our origin
  std::string watch_;
  std::chrono::milliseconds period_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> steady_{false};
  bool steady_known_ = false;
  std::thread poller_, writable_;
  mutable std::mutex mu_;
  std::vector<Event> events_;
  std::vector<ClockReading> clocks_;
  std::string unsteady_reason_;
  std::map<std::string, std::string> breaker_state_;  // upstream or endpoint -> state
  std::map<std::string, bool> routable_;
  std::map<std::string, uint64_t> monitor_seq_;
  bool medgate_seen_ = false;
};

}  // namespace medgate::drill
