// TopologyStore in a local JSON file: one monitor per cluster. The monitor that opens it for
// acting holds an exclusive lock (flock on FILE.lock) for its whole life, so a second monitor
// started on the same file refuses to run instead of acting beside the first. Writes are
// atomic (temporary file, fsync, rename, fsync of the directory): a crash leaves the old
// record or the new one, never half of one.
#pragma once

#include <string>

#include "db-monitors/topology.hpp"

namespace medgate::dbmon {

class FileTopologyStore final : public TopologyStore {
 public:
  enum class Mode { act, read_only };
  // Throws std::runtime_error when acting and another process holds the lock.
  FileTopologyStore(std::string path, Mode mode);
  ~FileTopologyStore() override;
  FileTopologyStore(const FileTopologyStore&) = delete;
  FileTopologyStore& operator=(const FileTopologyStore&) = delete;

  [[nodiscard]] std::optional<TopologyRecord> load() override;
  [[nodiscard]] bool compare_and_set(uint64_t expected_epoch, const TopologyRecord& next) override;
  [[nodiscard]] bool may_act() override { return lock_fd_ >= 0; }

 private:
  std::string path_;
  int lock_fd_ = -1;
};

}  // namespace medgate::dbmon
