// The answers the server gives itself: a request it could not read, and a responder that
// failed. JSON {"error": code, "message": text}, never cached.
#pragma once

#include "clients/wire_message.hpp"
#include "http/request_reader.hpp"

namespace medgate::httpd {

// `out` becomes the answer to a request refused while it was read (431, 413, 400).
void refusal_response(const ReadRefusal& refusal, clients::WireResponse& out);
// `out` becomes 500 internal_error.
void internal_error_response(clients::WireResponse& out);

}  // namespace medgate::httpd
