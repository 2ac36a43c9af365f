// The TLS settings of medgate's listener: certificate chain and key from files, TLS 1.2 and
// 1.3 only, reloaded without a restart when the files change (checked at most every
// `check_every`, on the accept path). A new pair that does not load is refused with the
// reason logged, and the one in use stays.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/ssl/context.hpp>

namespace medgate::httpd {

class TlsContextSource {
 public:
  using Log = std::function<void(const std::string&)>;
  // Throws std::runtime_error naming the file when the pair does not load.
  TlsContextSource(std::string cert_file, std::string key_file,
                   std::chrono::milliseconds check_every, Log log);

  // The context new connections use; connections keep theirs until they close.
  [[nodiscard]] std::shared_ptr<boost::asio::ssl::context> current();

 private:
  [[nodiscard]] std::shared_ptr<boost::asio::ssl::context> load() const;
  [[nodiscard]] std::pair<std::filesystem::file_time_type, std::filesystem::file_time_type> stamps()
      const;

  const std::string cert_file_;
  const std::string key_file_;
  const std::chrono::milliseconds check_every_;
  const Log log_;
  std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> ctx_;
  std::pair<std::filesystem::file_time_type, std::filesystem::file_time_type> loaded_stamps_;
  std::chrono::steady_clock::time_point next_check_;
};

}  // namespace medgate::httpd
