// The portal's `web:` names: from a YAML list, or from one string (an environment variable in
// the example configuration) that names several; the loopback defaults only when none is set.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "apps/patient-portal/portal_security.hpp"
#include "config/yaml_reader.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_keys.hpp"

namespace medgate::service {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class PortalWebNames : public ::testing::Test {
 protected:
  PortalWebNames() : dir_(testing::make_temp_dir("portal-web")) {
    std::ofstream(dir_ + "/portal.key.pem") << testing::make_p256_key_pair().private_pem;
  }
  ~PortalWebNames() override { std::filesystem::remove_all(dir_); }

  PortalSecuritySettings read(const std::string& web, const config::EnvLookup& env) {
    const std::string text = web + "tokens: { key_file: " + dir_ +
                             "/portal.key.pem, kid: portal-1, issuer: i, audience: a }\n";
    const auto doc = config::Document::from_string(text, "portal.yaml", env);
    auto root = doc.root().map();
    PortalSecuritySettings s;
    read_portal_security(root, s);
    return s;
  }

  static std::optional<std::string> no_env(const std::string&) { return std::nullopt; }

  std::string dir_;
};

TEST_F(PortalWebNames, AListNamesEachHost) {
  auto s = read("web: { allowed_hosts: [ portal.example, \"127.0.0.1:3003\" ] }\n", no_env);
  default_web_names(s, 3003);
  EXPECT_THAT(s.allowed_hosts, ElementsAre("portal.example", "127.0.0.1:3003"));
  EXPECT_THAT(s.allowed_origins, ElementsAre("http://portal.example", "http://127.0.0.1:3003"));
}

TEST_F(PortalWebNames, OneVariableNamesSeveralSeparatedByCommasOrSpaces) {
  const auto env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "HOSTS")
      return "portal.example:8443, localhost:3003 127.0.0.1:3003";
    return std::nullopt;
  };
  auto s = read("web: { allowed_hosts: \"${HOSTS:-}\" }\n", env);
  default_web_names(s, 3003);
  EXPECT_THAT(s.allowed_hosts,
              ElementsAre("portal.example:8443", "localhost:3003", "127.0.0.1:3003"));
  EXPECT_EQ(s.allowed_origins.front(), "http://portal.example:8443");
}

TEST_F(PortalWebNames, AnEmptyVariableLeavesTheLoopbackDefaults) {
  auto s =
      read("web: { allowed_hosts: \"${HOSTS:-}\", allowed_origins: \"${ORIGINS:-}\" }\n", no_env);
  default_web_names(s, 3003);
  EXPECT_THAT(s.allowed_hosts, ElementsAre("127.0.0.1:3003", "localhost:3003"));
  EXPECT_THAT(s.allowed_origins, ElementsAre("http://127.0.0.1:3003", "http://localhost:3003"));
}

TEST_F(PortalWebNames, TooManyNamesAreRefusedWithTheKey) {
  std::string many;
  for (int i = 0; i < 65; ++i) {  // appended: GCC 12 -O3 reads "h" + ... as an overlap (105329)
    many += 'h';
    many += std::to_string(i);
    many += ' ';
  }
  try {
    (void)read("web: { allowed_hosts: \"" + many + "\" }\n", no_env);
    FAIL() << "65 names were accepted";
  } catch (const config::ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("web.allowed_hosts"));
    EXPECT_THAT(e.what(), HasSubstr("at most 64"));
  }
}

}  // namespace
}  // namespace medgate::service
