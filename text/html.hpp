// Text placed in HTML.
#pragma once

#include <string>
#include <string_view>

namespace medgate::text {

// `s` safe as element content and as a quoted attribute value (either quote): & < > " '
// become character references.
[[nodiscard]] std::string html_escape(std::string_view s);

}  // namespace medgate::text
