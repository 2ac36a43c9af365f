// The portal API's transforms on whatever an upstream answers: a JSON object or nullopt.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "gateway/portal/portal_transform.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  (void)medgate::gateway::to_medical_history("11111111-1", body);
  (void)medgate::gateway::to_doctors("cardiology", body);
  (void)medgate::gateway::to_patient(body);
  (void)medgate::gateway::to_payments("11111111-1", body, std::nullopt);
  (void)medgate::gateway::to_payments("11111111-1", R"({"payments":[]})", body);
  return 0;
}
