// Small HTTP helpers shared by the gateway's handlers.
#pragma once

#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "clients/wire_message.hpp"

namespace medgate::gateway {

// The gateway's own answers, never cached by clients. Version and connection handling are
// the server's, as it writes them.
[[nodiscard]] clients::WireResponse json_response(unsigned status, const boost::json::object& body);
[[nodiscard]] clients::WireResponse text_response(unsigned status, std::string body,
                                                  std::string_view content_type);
// {"error": code, "message": message} with the status.
[[nodiscard]] clients::WireResponse error_response(unsigned status, std::string_view code,
                                                   std::string_view message);

// JSON text with doubles in plain fixed notation ("0.5", not Boost.JSON's "5E-1"): the
// gateway's JSON is read by people (/health, errors) as much as by programs.
[[nodiscard]] std::string to_readable_json(const boost::json::value& v);

// Appends `s` as a JSON string literal (quotes included).
void append_json_string(std::string& out, std::string_view s);

// Path without the query string, and the query string alone.
[[nodiscard]] std::string_view path_of(std::string_view target);
[[nodiscard]] std::string_view query_of(std::string_view target);

}  // namespace medgate::gateway
