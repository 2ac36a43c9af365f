#include "db-monitors/file_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <boost/json.hpp>

namespace medgate::dbmon {

namespace {

std::runtime_error sys_error(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

void write_all(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      throw sys_error("writing " + path);
    done += static_cast<size_t>(n);
  }
}

}  // namespace

FileTopologyStore::FileTopologyStore(std::string path, Mode mode) : path_(std::move(path)) {
  if (mode == Mode::read_only)
    return;
  const std::string lock = path_ + ".lock";
  lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0)
    throw sys_error("opening " + lock);
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock_fd_);
    lock_fd_ = -1;
    throw std::runtime_error(
        "another monitor holds " + lock +
        ": one monitor acts on a cluster at a time (stop the other one first)");
  }
}

FileTopologyStore::~FileTopologyStore() {
  if (lock_fd_ >= 0)
    ::close(lock_fd_);
}

std::optional<TopologyRecord> FileTopologyStore::load() {
  std::ifstream in(path_);
  if (!in) {
    if (!std::filesystem::exists(path_))
      return std::nullopt;
    throw std::runtime_error("cannot read " + path_);
  }
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  const auto value = boost::json::parse(text.str(), ec);
  if (ec)
    throw std::runtime_error(path_ + ": not valid JSON (" + ec.message() +
                             "): fix or remove it deliberately; the monitor will not guess");
  try {
    return record_from_json(value);
  } catch (const std::exception& e) {
    throw std::runtime_error(path_ + ": " + e.what());
  }
}

bool FileTopologyStore::compare_and_set(uint64_t expected_epoch, const TopologyRecord& next) {
  if (lock_fd_ < 0)
    throw std::logic_error("FileTopologyStore opened read-only cannot write");
  const auto current = load();
  const uint64_t stored = current ? current->epoch : 0;
  if (stored != expected_epoch || next.epoch <= stored)
    return false;
  const std::string tmp = path_ + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    throw sys_error("opening " + tmp);
  try {
    write_all(fd, boost::json::serialize(to_json(next)) + "\n", tmp);
    if (::fsync(fd) != 0)
      throw sys_error("fsync " + tmp);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path_.c_str()) != 0)
    throw sys_error("renaming " + tmp);
  const std::string dir = std::filesystem::path(path_).parent_path().string();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return true;
}

}  // namespace medgate::dbmon
