// The file-backed topology store: compare-and-set on the epoch, one acting monitor per file,
// a damaged file refused rather than guessed around.
#include "db-monitors/file_store.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/support/process.hpp"

namespace medgate::dbmon {
namespace {

using ::testing::HasSubstr;

class FileStoreTest : public ::testing::Test {
 protected:
  ~FileStoreTest() override { std::filesystem::remove_all(dir_); }
  std::string dir_ = testing::make_temp_dir("dbmon-store-");
  std::string path_ = dir_ + "/topology.json";
};

TopologyRecord record(uint64_t epoch, std::string primary) {
  TopologyRecord r;
  r.epoch = epoch;
  r.primary = std::move(primary);
  r.needs_rejoin["a"] = "failed over";
  return r;
}

TEST_F(FileStoreTest, CompareAndSetOnTheEpoch) {
  FileTopologyStore store(path_, FileTopologyStore::Mode::act);
  EXPECT_FALSE(store.load());
  EXPECT_TRUE(store.may_act());
  EXPECT_TRUE(store.compare_and_set(0, record(1, "a")));
  EXPECT_FALSE(store.compare_and_set(0, record(2, "b"))) << "expected epoch is stale";
  EXPECT_FALSE(store.compare_and_set(1, record(1, "b"))) << "the epoch must grow";
  EXPECT_TRUE(store.compare_and_set(1, record(2, "b")));
  const auto loaded = store.load();
  ASSERT_TRUE(loaded);
  EXPECT_EQ(*loaded, record(2, "b"));
}

TEST_F(FileStoreTest, OneActingMonitorPerFile) {
  FileTopologyStore first(path_, FileTopologyStore::Mode::act);
  try {
    FileTopologyStore second(path_, FileTopologyStore::Mode::act);
    FAIL() << "a second monitor could act on the same cluster";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("another monitor holds"));
  }
  // Readers (start wrappers) need no lock and cannot write.
  FileTopologyStore reader(path_, FileTopologyStore::Mode::read_only);
  EXPECT_FALSE(reader.may_act());
  EXPECT_THROW((void)reader.compare_and_set(0, record(1, "a")), std::logic_error);
}

TEST_F(FileStoreTest, ADamagedRecordIsAnErrorNotAFreshStart) {
  std::ofstream(path_) << "{\"epoch\": 3, \"primary\": ";
  FileTopologyStore store(path_, FileTopologyStore::Mode::act);
  try {
    (void)store.load();
    FAIL() << "a damaged record loaded";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("not valid JSON"));
  }
  std::ofstream(path_) << R"({"epoch": 3})";
  EXPECT_THROW((void)store.load(), std::runtime_error);
}

}  // namespace
}  // namespace medgate::dbmon
