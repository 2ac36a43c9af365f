// Whether a string is a DNS host name (RFC 1123): dot-separated labels of letters, digits and
// '-', none empty, none starting or ending with '-', at most 63 bytes each and 253 in all; one
// trailing dot (the fully qualified form) is allowed. No port, no IP literal check: an address
// such as "10.0.0.7" is also a valid name by these rules. Used for upstream endpoints and for
// the names medgate answers to (listen.allowed_hosts, the Host header).
#pragma once

#include <string_view>

namespace medgate::clients {

[[nodiscard]] inline bool is_host_name(std::string_view name) {
  if (name.ends_with('.'))
    name.remove_suffix(1);
  if (name.empty() || name.size() > 253)
    return false;
  size_t label = 0;
  for (size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '.') {
      if (label == 0 || label > 63 || name[i - 1] == '-')
        return false;
      label = 0;
      continue;
    }
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    (c == '-' && label > 0);
    if (!ok)
      return false;
    ++label;
  }
  return true;
}

}  // namespace medgate::clients
