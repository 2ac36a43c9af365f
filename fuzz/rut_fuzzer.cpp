// The RUT validator: its canonical form is a fixed point and carries a valid check digit.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "domain/rut.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto rut = medgate::domain::normalize_rut(text);
  if (!rut)
    return 0;
  if (medgate::domain::normalize_rut(*rut) != rut)
    std::abort();
  const size_t dash = rut->find('-');
  if (dash == std::string::npos ||
      medgate::domain::rut_check_digit(rut->substr(0, dash)) != rut->back())
    std::abort();
  return 0;
}
