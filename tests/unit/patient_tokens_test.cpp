// The portal's tokens: one per patient, reused while more than half its life is left.
#include <gtest/gtest.h>

#include <variant>

#include "apps/patient-portal/patient_tokens.hpp"
#include "auth/key_set.hpp"
#include "auth/token_verifier.hpp"
#include "tests/support/test_keys.hpp"

namespace medgate::service {
namespace {

using namespace std::chrono_literals;
using std::chrono::system_clock;

TEST(PatientTokens, ReusedUntilHalfTheirLifeThenRenewedAndEachPatientHasTheirOwn) {
  const auto key = testing::make_p256_key_pair();
  const auth::TokenIssuer issuer({.key_id = "p1",
                                  .private_pem = key.private_pem,
                                  .issuer = "medgate-portal",
                                  .audience = "medgate"});
  auth::KeySet keys;
  keys.add("p1", key.public_pem, {.issuer = "medgate-portal", .roles = {auth::Role::patient}});
  const auth::TokenVerifier verifier(std::move(keys), {.audience = "medgate"});
  PatientTokens tokens(issuer, 300s);
  const auto t0 = system_clock::now();
  const std::string first = tokens.for_patient("11111111-1", t0);
  EXPECT_EQ(tokens.for_patient("11111111-1", t0 + 149s), first);
  const std::string other = tokens.for_patient("22222222-2", t0);
  EXPECT_NE(other, first);
  const std::string renewed = tokens.for_patient("11111111-1", t0 + 150s);
  EXPECT_NE(renewed, first);
  // Each names its patient, and lasts its whole life from when it was made.
  const auto p = verifier.verify(renewed, t0 + 150s + 290s);
  ASSERT_TRUE(std::holds_alternative<auth::Principal>(p)) << std::get<auth::TokenRefusal>(p).reason;
  EXPECT_EQ(std::get<auth::Principal>(p).subject, "11111111-1");
  EXPECT_TRUE(std::get<auth::Principal>(p).roles.has(auth::Role::patient));
  const auto q = verifier.verify(other, t0);
  ASSERT_TRUE(std::holds_alternative<auth::Principal>(q));
  EXPECT_EQ(std::get<auth::Principal>(q).subject, "22222222-2");
}

}  // namespace
}  // namespace medgate::service
