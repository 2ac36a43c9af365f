// auth/: tokens (ES256 only, every claim checked), passwords, canonical paths, access rules.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "auth/access_policy.hpp"
#include "auth/base64url.hpp"
#include "auth/canonical_path.hpp"
#include "auth/cookie.hpp"
#include "auth/password.hpp"
#include "auth/redact.hpp"
#include "auth/secrets.hpp"
#include "auth/token_cache.hpp"
#include "auth/token_issuer.hpp"
#include "auth/token_verifier.hpp"
#include "tests/support/test_keys.hpp"

namespace medgate::auth {
namespace {

using namespace std::chrono_literals;
using std::chrono::system_clock;
using testing::make_p256_key_pair;

const system_clock::time_point kNow = system_clock::time_point(std::chrono::seconds(1'800'000'000));

class Tokens : public ::testing::Test {
 protected:
  Tokens()
      : key_(make_p256_key_pair()),
        patient_key_(make_p256_key_pair()),
        issuer_({.key_id = "k1",
                 .private_pem = key_.private_pem,
                 .issuer = "medgate-test",
                 .audience = "medgate"}),
        patients_({.key_id = "p1",
                   .private_pem = patient_key_.private_pem,
                   .issuer = "medgate-portal",
                   .audience = "medgate"}),
        verifier_(with_patient_key(keys({{"k1", key_.public_pem}}), patient_key_.public_pem),
                  {.audience = "medgate"}) {}

  // `k` plus "p1", granted issuer medgate-portal and the patient role only (the portal's).
  static KeySet with_patient_key(KeySet k, const std::string& pem) {
    k.add("p1", pem, {.issuer = "medgate-portal", .roles = {Role::patient}});
    return k;
  }

  // Keys granted issuer medgate-test and `roles` (by default every staff role, and patient
  // tokens through a patient-only key: see PatientKey).
  static KeySet keys(std::vector<std::pair<std::string, std::string>> entries,
                     RoleSet roles = kStaff) {
    KeySet k;
    for (auto& [kid, pem] : entries)
      k.add(kid, pem, {.issuer = "medgate-test", .roles = roles});
    return k;
  }
  static constexpr RoleSet kStaff{Role::doctor, Role::nurse, Role::administrative, Role::accountant,
                                  Role::service};
  std::string refusal(const std::string& token, system_clock::time_point now = kNow) const {
    auto r = verifier_.verify(token, now);
    if (std::holds_alternative<Principal>(r))
      return "accepted";
    return std::get<TokenRefusal>(r).reason;
  }
  // A token with `header` and `claims` as given, signed with the right key's algorithm:
  // its header is whatever the test says.
  std::string forged(const boost::json::object& header, const boost::json::object& claims,
                     std::string_view signature = "c2ln") const {
    return base64url_encode(boost::json::serialize(header)) + "." +
           base64url_encode(boost::json::serialize(claims)) + "." + std::string(signature);
  }
  boost::json::object good_claims() const {
    const auto secs =
        std::chrono::duration_cast<std::chrono::seconds>(kNow.time_since_epoch()).count();
    return {{"iss", "medgate-test"}, {"aud", "medgate"}, {"sub", "11111111-1"},
            {"roles", {"patient"}},  {"exp", secs + 60}, {"nbf", secs}};
  }

  testing::TestKeyPair key_;
  testing::TestKeyPair patient_key_;
  TokenIssuer issuer_;    // k1: staff
  TokenIssuer patients_;  // p1: patients
  TokenVerifier verifier_;
};

TEST_F(Tokens, IssuedTokenVerifiesWithItsClaims) {
  const auto token = patients_.issue("11111111-1", {Role::patient}, 300s, kNow);
  const auto r = verifier_.verify(token, kNow + 10s);
  ASSERT_TRUE(std::holds_alternative<Principal>(r)) << std::get<TokenRefusal>(r).reason;
  const auto& p = std::get<Principal>(r);
  EXPECT_EQ(p.subject, "11111111-1");
  EXPECT_EQ(p.roles, RoleSet{Role::patient});
  EXPECT_EQ(p.key_id, "p1");
  EXPECT_EQ(p.issuer, "medgate-portal");
  EXPECT_EQ(p.expires, kNow + 300s);
}

TEST_F(Tokens, ExpiryAndNotBeforeHoldWithinTheLeeway) {
  const auto token = issuer_.issue("doc-1", {Role::doctor}, 60s, kNow);
  EXPECT_EQ(refusal(token, kNow + 60s + 29s), "accepted");
  EXPECT_EQ(refusal(token, kNow + 60s + 30s), "token expired");
  EXPECT_EQ(refusal(token, kNow - 29s), "accepted");
  EXPECT_EQ(refusal(token, kNow - 31s), "token not valid yet");
}

TEST_F(Tokens, TamperedClaimsBreakTheSignature) {
  const auto token = patients_.issue("11111111-1", {Role::patient}, 300s, kNow);
  const size_t dot1 = token.find('.');
  const size_t dot2 = token.find('.', dot1 + 1);
  auto claims = good_claims();
  claims["sub"] = "22222222-2";
  const auto tampered = token.substr(0, dot1 + 1) +
                        base64url_encode(boost::json::serialize(claims)) + token.substr(dot2);
  EXPECT_EQ(refusal(tampered), "bad signature");
  // A character inside the signature: the last one also carries padding bits, and changing
  // only those leaves the signature's bytes as they were.
  auto flipped = token;
  char& c = flipped[dot2 + 10];
  c = c == 'A' ? 'g' : 'A';
  EXPECT_EQ(refusal(flipped), "bad signature");
}

TEST_F(Tokens, AlgorithmIsPinned) {
  EXPECT_EQ(refusal(forged({{"alg", "none"}, {"kid", "k1"}}, good_claims(), "")),
            "malformed token");
  EXPECT_EQ(refusal(forged({{"alg", "none"}, {"kid", "k1"}}, good_claims())),
            "algorithm not accepted");
  // HS256 keyed with the public key (the classic confusion attack).
  EXPECT_EQ(refusal(forged({{"alg", "HS256"}, {"kid", "k1"}}, good_claims())),
            "algorithm not accepted");
  EXPECT_EQ(refusal(forged({{"alg", "ES256"}, {"kid", "k1"}}, good_claims())), "bad signature");
}

TEST_F(Tokens, WrongKeyUnknownKidWrongIssuerAndAudienceAreRefused) {
  const auto other = make_p256_key_pair();
  const TokenIssuer wrong_key({.key_id = "k1",
                               .private_pem = other.private_pem,
                               .issuer = "medgate-test",
                               .audience = "medgate"});
  EXPECT_EQ(refusal(wrong_key.issue("doc", {Role::doctor}, 60s, kNow)), "bad signature");
  const TokenIssuer unknown_kid({.key_id = "k9",
                                 .private_pem = key_.private_pem,
                                 .issuer = "medgate-test",
                                 .audience = "medgate"});
  EXPECT_EQ(refusal(unknown_kid.issue("doc", {Role::doctor}, 60s, kNow)), "unknown key");
  const TokenIssuer wrong_iss({.key_id = "k1",
                               .private_pem = key_.private_pem,
                               .issuer = "someone-else",
                               .audience = "medgate"});
  EXPECT_EQ(refusal(wrong_iss.issue("doc", {Role::doctor}, 60s, kNow)),
            "issuer not granted to key k1");
  const TokenIssuer wrong_aud({.key_id = "k1",
                               .private_pem = key_.private_pem,
                               .issuer = "medgate-test",
                               .audience = "another-api"});
  EXPECT_EQ(refusal(wrong_aud.issue("doc", {Role::doctor}, 60s, kNow)), "wrong audience");
}

TEST_F(Tokens, RotationAcceptsEveryListedKey) {
  const auto next = make_p256_key_pair();
  const TokenVerifier both(keys({{"k1", key_.public_pem}, {"k2", next.public_pem}}),
                           {.audience = "medgate"});
  const TokenIssuer new_issuer({.key_id = "k2",
                                .private_pem = next.private_pem,
                                .issuer = "medgate-test",
                                .audience = "medgate"});
  for (const auto& t : {issuer_.issue("a", {Role::nurse}, 60s, kNow),
                        new_issuer.issue("b", {Role::nurse}, 60s, kNow)})
    EXPECT_TRUE(std::holds_alternative<Principal>(both.verify(t, kNow)));
}

TEST_F(Tokens, PatientTokensAreThatPatientsOnly) {
  EXPECT_EQ(refusal(patients_.issue("11.111.111-1", {Role::patient}, 60s, kNow)),
            "a patient token's subject must be a canonical RUT");
  EXPECT_EQ(refusal(patients_.issue("not-a-rut", {Role::patient}, 60s, kNow)),
            "a patient token's subject must be a canonical RUT");
  EXPECT_EQ(refusal(patients_.issue("11111111-1", {Role::patient, Role::doctor}, 60s, kNow)),
            "role doctor not granted to key p1");
  EXPECT_EQ(refusal(patients_.issue("x", RoleSet{}, 60s, kNow)), "token has no known role");
}

// The portal's key (p1) is bound to patient tokens of its own issuer: whoever takes the
// internet-facing portal cannot mint staff tokens with it, nor can a staff key speak for a
// patient, nor can either borrow the other's issuer.
TEST_F(Tokens, EachKeySignsOnlyWhatItsGrantAllows) {
  EXPECT_EQ(refusal(patients_.issue("mallory", {Role::doctor, Role::administrative}, 60s, kNow)),
            "role doctor not granted to key p1");
  EXPECT_EQ(refusal(patients_.issue("svc", {Role::service}, 60s, kNow)),
            "role service not granted to key p1");
  EXPECT_EQ(refusal(issuer_.issue("11111111-1", {Role::patient}, 60s, kNow)),
            "role patient not granted to key k1");
  const TokenIssuer portal_as_staff_issuer({.key_id = "p1",
                                            .private_pem = patient_key_.private_pem,
                                            .issuer = "medgate-test",
                                            .audience = "medgate"});
  EXPECT_EQ(refusal(portal_as_staff_issuer.issue("11111111-1", {Role::patient}, 60s, kNow)),
            "issuer not granted to key p1");
  // A grant narrower than every staff role: a nurse-only key cannot sign a doctor.
  const TokenVerifier nurses(keys({{"k1", key_.public_pem}}, {Role::nurse}),
                             {.audience = "medgate"});
  EXPECT_TRUE(std::holds_alternative<Principal>(
      nurses.verify(issuer_.issue("n", {Role::nurse}, 60s, kNow), kNow)));
  EXPECT_FALSE(std::holds_alternative<Principal>(
      nurses.verify(issuer_.issue("n", {Role::nurse, Role::doctor}, 60s, kNow), kNow)));
}

TEST(KeyGrants, AGrantNamesAnIssuerAndRolesAndPatientKeysSignNothingElse) {
  const auto pair = make_p256_key_pair();
  KeySet k;
  EXPECT_THROW(k.add("a", pair.public_pem, {.issuer = "", .roles = {Role::doctor}}),
               std::invalid_argument);
  EXPECT_THROW(k.add("a", pair.public_pem, {.issuer = "i", .roles = {}}), std::invalid_argument);
  EXPECT_THROW(k.add("a", pair.public_pem, {.issuer = "i", .roles = {Role::patient, Role::nurse}}),
               std::invalid_argument);
  EXPECT_NO_THROW(k.add("a", pair.public_pem, {.issuer = "i", .roles = {Role::patient}}));
  ASSERT_NE(k.find("a"), nullptr);
  EXPECT_EQ(k.find("a")->grant.issuer, "i");
  EXPECT_EQ(k.find("b"), nullptr);
}

TEST_F(Tokens, GarbageIsRefusedWithoutThrowing) {
  for (const std::string& t : std::vector<std::string>{
           "", "a", "a.b", "a.b.c.d", "....", "%%%.%%%.%%%", "e30.e30.e30", std::string(9000, 'a')})
    EXPECT_NE(refusal(t), "accepted") << t;
}

TEST(BearerToken, TakesTheTokenOfTheBearerSchemeOnly) {
  EXPECT_EQ(bearer_token("Bearer abc"), "abc");
  EXPECT_EQ(bearer_token("bearer  abc "), "abc");
  EXPECT_EQ(bearer_token("Basic abc"), "");
  EXPECT_EQ(bearer_token("Bearer"), "");
}

TEST(Passwords, Argon2idHashVerifiesOnlyTheSamePassword) {
  const auto h = hash_password("correct horse");
  EXPECT_TRUE(h.starts_with("$argon2id$"));
  EXPECT_THAT(h, ::testing::Not(::testing::HasSubstr("correct horse")));
  EXPECT_TRUE(verify_password(h, "correct horse"));
  EXPECT_FALSE(verify_password(h, "correct horsE"));
  EXPECT_FALSE(verify_password("not a hash", "correct horse"));
  EXPECT_NE(hash_password("correct horse"), h);  // salted
  EXPECT_THROW((void)hash_password(""), std::invalid_argument);
}

TEST(Secrets, PseudonymsAreStablePerKeyAndTokensRandom) {
  EXPECT_EQ(pseudonym("11111111-1", "k"), pseudonym("11111111-1", "k"));
  EXPECT_NE(pseudonym("11111111-1", "k"), pseudonym("11111111-1", "j"));
  EXPECT_EQ(pseudonym("x", "k").size(), 16U);
  EXPECT_NE(random_token(), random_token());
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(CanonicalPath, OneSpellingPerPath) {
  auto c = [](std::string_view p) { return canonical_path(p).value_or("<refused>"); };
  EXPECT_EQ(c("/api/patient/11111111-1"), "/api/patient/11111111-1");
  EXPECT_EQ(c("//api///patient/./11111111-1"), "/api/patient/11111111-1");
  EXPECT_EQ(c("/api/x/../patient/22222222-2"), "/api/patient/22222222-2");
  EXPECT_EQ(c("/api/%70atient/%32%32222222-2"), "/api/patient/22222222-2");
  EXPECT_EQ(c("/api/patient/%2e%2E/x"), "/api/x");
  EXPECT_EQ(c("/api/medical/"), "/api/medical/");
  EXPECT_EQ(c("/api/medical/."), "/api/medical/");
  EXPECT_EQ(c("/a/b/.."), "/a/");
  EXPECT_EQ(c("/"), "/");
  EXPECT_EQ(c("/a%20b"), "/a%20b");
  EXPECT_EQ(c("/a%3fb"), "/a%3Fb");
  for (const char* refused : {"", "x", "/..", "/a/../..", "/a%2Fb", "/a%2fb", "/a%5Cb", "/a\\b",
                              "/a%00", "/a%", "/a%4", "/a%zz"})
    EXPECT_EQ(c(refused), "<refused>") << refused;
}

AccessPolicy hospital_rules() {
  auto m = [](std::string_view s) { return *MethodSet::parse(s); };
  return AccessPolicy({
      {"/api/patient/{rut}", m("GET"), {Role::administrative, Role::doctor}, true},
      {"/api/admin/patients", m("GET"), {Role::administrative}, false},
      {"/api/admin/payments", m("POST"), {Role::administrative, Role::accountant}, false},
      {"/api/medical/consultations", m("POST"), {Role::doctor}, false},
      {"/api/medical/**", m("GET"), {Role::doctor, Role::nurse}, false},
  });
}

TEST(AccessPolicy, PatientReachesOnlyOwnRecordsInAnySpelling) {
  const auto rules = hospital_rules();
  Principal a{.subject = "11111111-1", .roles = {Role::patient}};
  using V = AccessDecision::Verdict;
  EXPECT_EQ(rules.decide("GET", "/api/patient/11111111-1", &a).verdict, V::allow);
  EXPECT_EQ(rules.decide("GET", "/api/patient/11.111.111-1", &a).verdict, V::allow);
  const auto other = rules.decide("GET", "/api/patient/22222222-2", &a);
  EXPECT_EQ(other.verdict, V::forbidden);
  EXPECT_EQ(other.reason, "a patient may reach only their own records");
  EXPECT_EQ(other.patient, "22222222-2");
  EXPECT_EQ(rules.decide("GET", "/api/patient/not-a-rut", &a).verdict, V::forbidden);
  EXPECT_EQ(rules.decide("GET", "/api/admin/patients", &a).verdict, V::forbidden);
  Principal k{.subject = "10000013-K", .roles = {Role::patient}};
  EXPECT_EQ(rules.decide("GET", "/api/patient/10.000.013-k", &k).verdict, V::allow);
}

TEST(AccessPolicy, StaffNeedTheRouteRoleAndUnknownRoutesAreDenied) {
  const auto rules = hospital_rules();
  using V = AccessDecision::Verdict;
  Principal nurse{.subject = "n1", .roles = {Role::nurse}};
  Principal doctor{.subject = "d1", .roles = {Role::doctor}};
  Principal accountant{.subject = "c1", .roles = {Role::accountant}};
  EXPECT_EQ(rules.decide("POST", "/api/medical/consultations", &doctor).verdict, V::allow);
  EXPECT_EQ(rules.decide("POST", "/api/medical/consultations", &nurse).verdict, V::forbidden);
  EXPECT_EQ(rules.decide("GET", "/api/medical/doctors", &nurse).verdict, V::allow);
  EXPECT_EQ(rules.decide("HEAD", "/api/medical/doctors", &nurse).verdict, V::allow);
  EXPECT_EQ(rules.decide("POST", "/api/admin/payments", &accountant).verdict, V::allow);
  EXPECT_EQ(rules.decide("GET", "/api/admin/patients", &accountant).verdict, V::forbidden);
  EXPECT_EQ(rules.decide("DELETE", "/api/admin/patients", &accountant).verdict, V::forbidden);
  const auto none = rules.decide("GET", "/api/admin/patients", nullptr);
  EXPECT_EQ(none.verdict, V::unauthenticated);
  EXPECT_EQ(rules.decide("GET", "/elsewhere", nullptr).verdict, V::unauthenticated);
  EXPECT_EQ(rules.decide("GET", "/elsewhere", &doctor).reason, "no access rule allows this route");
}

TEST(AccessPolicy, MalformedPatternsAreRefused) {
  auto rule = [](std::string p, bool self = false) {
    return AccessRule{std::move(p), MethodSet::all(), {Role::doctor}, self};
  };
  EXPECT_THROW(AccessPolicy({rule("no-slash")}), std::invalid_argument);
  EXPECT_THROW(AccessPolicy({rule("/a/**/b")}), std::invalid_argument);
  EXPECT_THROW(AccessPolicy({rule("/a/{id}")}), std::invalid_argument);
  EXPECT_THROW(AccessPolicy({rule("/a/{rut}/{rut}")}), std::invalid_argument);
  EXPECT_THROW(AccessPolicy({rule("/a", true)}), std::invalid_argument);
  EXPECT_NO_THROW(AccessPolicy({rule("/a/*/{rut}/**", true)}));
}

}  // namespace
}  // namespace medgate::auth

namespace medgate::auth {
namespace {

TEST(RedactRuts, RutsInPathAndQueryBecomePseudonyms) {
  const std::string p = "rut~" + pseudonym("11111111-1", "key");
  EXPECT_EQ(redact_ruts("/api/patient/11111111-1", "key"), "/api/patient/" + p);
  EXPECT_EQ(redact_ruts("/api/patient/11.111.111-1/x?rut=11111111-1&n=2", "key"),
            "/api/patient/" + p + "/x?rut=" + p + "&n=2");
  EXPECT_EQ(redact_ruts("/api/doctors?specialty=cardio", "key"), "/api/doctors?specialty=cardio");
  // Not a valid check digit: not a RUT, left as is.
  EXPECT_EQ(redact_ruts("/api/patient/11111111-2", "key"), "/api/patient/11111111-2");
  EXPECT_EQ(redact_ruts("/metrics", "key"), "/metrics");
}

// Whatever the spelling — percent-encoded once or twice, lower-case k, inside a longer
// segment, in a path medgate refuses — and in free text such as a database's error message.
TEST(RedactRuts, NoSpellingOrPlaceKeepsARut) {
  const std::string p = "rut~" + pseudonym("11111111-1", "key");
  const std::string k = "rut~" + pseudonym("10000013-K", "key");
  EXPECT_EQ(redact_ruts("/api/patient/%31%31111111-1", "key"), "/api/patient/" + p);
  EXPECT_EQ(redact_ruts("/api/patient/%2531%2531111111%252D1", "key"), "/api/patient/" + p);
  EXPECT_EQ(redact_ruts("/api/patient/10.000.013-k", "key"), "/api/patient/" + k);
  EXPECT_EQ(redact_ruts("/api/patient/x%2F11111111-1", "key"), "/api/patient/x/" + p);
  EXPECT_EQ(redact_ruts("/api/patient/..%5C11111111-1.json", "key"),
            "/api/patient/..\\" + p + ".json");
  EXPECT_EQ(redact_ruts("/api/patient/rut:11111111-1", "key"), "/api/patient/rut:" + p);
  EXPECT_EQ(redact_ruts("Duplicate entry '11111111-1' for key 'PRIMARY'", "key"),
            "Duplicate entry '" + p + "' for key 'PRIMARY'");
  EXPECT_EQ(redact_ruts("a 11111111-1 and 10000013-K", "key"), "a " + p + " and " + k);
  // Dates, counts and broken encodings stay as they are.
  EXPECT_EQ(redact_ruts("/x?date=2026-11-20&n=12-34&bad=%zz%4", "key"),
            "/x?date=2026-11-20&n=12-34&bad=%zz%4");
  EXPECT_EQ(redact_ruts("", "key"), "");
}

}  // namespace
}  // namespace medgate::auth

namespace medgate::auth {
namespace {

TEST(VerifiedTokenCache, KeepsAnEntryUntilExpiryOrMaxAge) {
  VerifiedTokenCache cache(2, std::chrono::seconds(60));
  const Principal p{
      .subject = "d", .roles = {Role::doctor}, .expires = kNow + std::chrono::seconds(30)};
  cache.put("t1", p, kNow, std::chrono::seconds(5));
  ASSERT_NE(cache.find("t1", kNow + std::chrono::seconds(34)), nullptr);
  EXPECT_EQ(cache.find("t1", kNow + std::chrono::seconds(35)), nullptr);  // exp + leeway
  const Principal q{
      .subject = "e", .roles = {Role::nurse}, .expires = kNow + std::chrono::hours(2)};
  cache.put("t2", q, kNow, std::chrono::seconds(5));
  EXPECT_NE(cache.find("t2", kNow + std::chrono::seconds(59)), nullptr);
  EXPECT_EQ(cache.find("t2", kNow + std::chrono::seconds(60)), nullptr);  // max age
  cache.put("a", q, kNow, std::chrono::seconds(0));
  cache.put("b", q, kNow, std::chrono::seconds(0));
  cache.put("c", q, kNow, std::chrono::seconds(0));  // full: starts over
  EXPECT_EQ(cache.find("a", kNow), nullptr);
  EXPECT_NE(cache.find("c", kNow), nullptr);
}

}  // namespace
}  // namespace medgate::auth

namespace medgate::auth {
namespace {

TEST(CookieValue, FindsTheNamedCookieOnly) {
  EXPECT_EQ(cookie_value("a=1; medgate_session=xyz; b=2", "medgate_session"), "xyz");
  EXPECT_EQ(cookie_value("medgate_session_old=1;medgate_session=2", "medgate_session"), "2");
  EXPECT_EQ(cookie_value("a=1", "medgate_session"), "");
  EXPECT_EQ(cookie_value("", "x"), "");
  EXPECT_EQ(cookie_value(";;; =; x", "x"), "");
}

}  // namespace
}  // namespace medgate::auth

namespace medgate::auth {
namespace {

TEST(CanonicalPath, TheFastCheckNeverPassesAPathThatCanonicalizingChanges) {
  for (const char* p : {"/api/x", "/api/x/", "/", "/a-b_c~d"})
    EXPECT_FALSE(may_need_canonicalizing(p)) << p;
  for (const char* p : {"", "x", "/a//b", "/a/./b", "/a/../b", "/a%41", "/a\\b", "/.", "/a/.."})
    EXPECT_TRUE(may_need_canonicalizing(p)) << p;
  for (const char* p : {"/api/x", "/api/x/", "/", "/a-b_c~d"})
    EXPECT_EQ(canonical_path(p), p) << "a path the fast check passes is canonical";
}

}  // namespace
}  // namespace medgate::auth

namespace medgate::auth {
namespace {

TEST(PatientInBody, NamesTheCanonicalRutOfTheFieldOrNothing) {
  EXPECT_EQ(patient_in_body(R"({"patient_rut":"11.111.111-1"})", "patient_rut"), "11111111-1");
  EXPECT_EQ(patient_in_body(R"({"rut":"10000013-k"})", "rut"), "10000013-K");
  EXPECT_EQ(patient_in_body(R"({"rut":"11111111-2"})", "rut"), "");  // bad check digit
  EXPECT_EQ(patient_in_body(R"({"rut":11111111})", "rut"), "");
  EXPECT_EQ(patient_in_body(R"({"other":"11111111-1"})", "rut"), "");
  EXPECT_EQ(patient_in_body("not json", "rut"), "");
  EXPECT_EQ(patient_in_body(R"(["11111111-1"])", "rut"), "");
  EXPECT_EQ(patient_in_body(R"({"rut":"11111111-1"})", ""), "");
}

}  // namespace
}  // namespace medgate::auth
