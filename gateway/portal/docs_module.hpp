// The portal API's description and its reader, as a module medgate's main hands the
// Gateway (operator side): /openapi.json (the OpenAPI document), /docs (Swagger UI) and
// /docs/static/* (its files, pinned from npm and compiled in).
#pragma once

#include <memory>

#include "gateway/api_module.hpp"

namespace medgate::gateway {

[[nodiscard]] std::unique_ptr<ApiModule> make_portal_docs();

}  // namespace medgate::gateway
