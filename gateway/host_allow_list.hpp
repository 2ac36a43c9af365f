// Which `Host` headers medgate answers: a defence against DNS rebinding, where a web page an
// operator or patient visits gets its own name resolved to medgate's address and then reads
// medgate's answers as same-origin. Such a request carries the attacker's name in `Host`.
//
// Allowed: an IP literal (`127.0.0.1:8000`, `[::1]`, `10.77.0.10`: a rebinding needs a
// name), `localhost`, and the names configured (`listen.allowed_hosts`), each with any port,
// compared without case and without a trailing dot. A request without `Host` (HTTP/1.0
// tools) is allowed: browsers always send one. Anything else is answered 421.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace medgate::gateway {

class HostAllowList {
 public:
  HostAllowList() = default;
  // `names`: host names without port (validated by the configuration reader).
  explicit HostAllowList(std::vector<std::string> names);

  // `host`: the Host header's value, nullopt when absent.
  [[nodiscard]] bool allows(std::optional<std::string_view> host) const;

 private:
  std::vector<std::string> names_;  // lower case, no trailing dot
};

}  // namespace medgate::gateway
