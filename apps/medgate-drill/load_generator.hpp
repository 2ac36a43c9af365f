// Portal-like traffic on loopback during a drill: page loads on the portal (signed in as a
// demo patient), history and payment reads through medgate, and keyed writes (appointments
// on the portal, payments and consultations through medgate). Every write carries a unique
// Idempotency-Key, stored in its row, and is retried with that same key until an answer
// settles it. Bounded: a fixed pace per worker, a deadline, and a cap on requests.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "apps/medgate-drill/drill_record.hpp"
#include "apps/medgate-drill/stack_layout.hpp"

namespace medgate::drill {

struct LoadOptions {
  int workers = 4;
  double per_worker_rps = 6;  // each worker's pace
  size_t max_requests = 100000;
  std::chrono::seconds max_duration{600};
  std::chrono::seconds write_resolve_for{30};  // keep retrying an unsettled write this long
  std::string run_id;  // prefix of every write key, so read-back finds this run's rows
  // The drill patients (seeded by the administrative service, with portal accounts), one per
  // worker in turn: drills never write into the demo patients' records, medgate limits each
  // caller's rate, and real traffic comes from many patients, not one.
  std::vector<std::string> patients{"33333333-3", "44444444-4"};
};

class LoadGenerator {
 public:
  using Clock = std::chrono::steady_clock;
  LoadGenerator(StackLayout layout, LoadOptions options, Clock::time_point origin);
  ~LoadGenerator();  // stops and joins

  // Signs each worker in on the portal, then starts them. Returns an error message when
  // the portal refused the sign-in (empty on success).
  [[nodiscard]] std::string start();
  // Asks the workers to finish and waits: each settles the write it has in hand first.
  void stop();

  struct Progress {
    size_t requests = 0, failed = 0, writes = 0, acked = 0;
  };
  [[nodiscard]] Progress progress() const;

  // After stop(): everything recorded.
  [[nodiscard]] std::vector<Sample> samples() const;
  [[nodiscard]] std::vector<WriteRecord> writes() const;

 private:
  struct Worker;
  void run(Worker& w);
  Sample read(Worker& w, const std::string& op);
  void write(Worker& w, const std::string& op);
  Ms now() const;

  StackLayout layout_;
  LoadOptions opt_;
  Clock::time_point origin_;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> requests_{0}, failed_{0}, writes_{0}, acked_{0};
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
  mutable std::mutex mu_;
};

}  // namespace medgate::drill
