#include "config/yaml_reader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

namespace medgate::config {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

EnvLookup fake_env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end())
      return std::nullopt;
    return it->second;
  };
}

Document doc(std::string_view text, std::map<std::string, std::string> env = {}) {
  return Document::from_string(text, "test.yaml", fake_env(std::move(env)));
}

// Runs `f` and returns the ConfigError it throws (fails the test when none is thrown).
template <typename F>
ConfigError error_of(F&& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e;
  }
  ADD_FAILURE() << "expected a ConfigError";
  return ConfigError("", 0, 0, "", "");
}

TEST(ParseDuration, AcceptsUnits) {
  EXPECT_EQ(parse_duration("250ms"), Duration(250ms));
  EXPECT_EQ(parse_duration("5s"), Duration(5s));
  EXPECT_EQ(parse_duration("1.5s"), Duration(1500ms));
  EXPECT_EQ(parse_duration("2m"), Duration(120s));
  EXPECT_EQ(parse_duration("1h"), Duration(3600s));
  EXPECT_EQ(parse_duration("100us"), Duration(100us));
  EXPECT_EQ(parse_duration("7ns"), Duration(7ns));
}

TEST(ParseDuration, RejectsMalformed) {
  for (auto s : {"", "5", "s", "5 s", "-1s", "5sec", "1e3s", "ms250", "1..5s"})
    EXPECT_FALSE(parse_duration(s).has_value()) << s;
}

TEST(FormatDuration, RoundTrips) {
  for (auto d : {Duration(250ms), Duration(5s), Duration(2min), Duration(1h), Duration(3us),
                 Duration(1500ms)}) {
    EXPECT_EQ(parse_duration(format_duration(d)), d) << format_duration(d);
  }
  EXPECT_EQ(format_duration(1500ms), "1500ms");
}

TEST(YamlReader, ReadsTypedValues) {
  auto d = doc("port: 8000\nratio: 0.25\nname: medgate\non: true\ntimeout: 2s\n");
  auto m = d.root().map();
  EXPECT_EQ(m.get_int("port", 0, 1, 65535), 8000);
  EXPECT_DOUBLE_EQ(m.get_double("ratio", 0, 0, 1), 0.25);
  EXPECT_EQ(m.get_string("name", ""), "medgate");
  EXPECT_TRUE(m.get_bool("on", false));
  EXPECT_EQ(m.get_duration("timeout", 1s, 1ms, 1h), Duration(2s));
  EXPECT_EQ(m.get_int("absent", 42, 0, 100), 42);
  m.finish();
}

TEST(YamlReader, CanonicalTextIgnoresLayoutAndSeesEveryValue) {
  const auto canon = [](std::string_view text, std::map<std::string, std::string> env = {}) {
    return doc(text, std::move(env)).root().canonical();
  };
  const std::string block = canon("b: [ 1, \"x\\\"y\" ]\n# a comment\na:\n  c: ${V:-2s}\n  d:\n");
  EXPECT_EQ(block, R"({"a":{"c":"2s","d":~,},"b":["1","x\"y",],})");
  // Keys are quoted like values: a key holding the separators cannot pass for a nested map.
  EXPECT_NE(canon("'a:{c:\"1\",},b': 2\n"), canon("a: { c: 1 }\nb: 2\n"));
  EXPECT_EQ(canon("a: { d: , c: 2s }\nb:\n  - 1\n  - 'x\"y'\n"), block) << "layout and order";
  EXPECT_NE(canon("b: [ 1, \"x\\\"y\" ]\na:\n  c: ${V:-2s}\n  d:\n", {{"V", "3s"}}), block)
      << "the environment's value counts";
  EXPECT_NE(canon("b: [ \"x\\\"y\", 1 ]\na: { c: 2s, d: }\n"), block) << "list order counts";
}

TEST(YamlReader, OutOfRangeNamesFileLineColumnAndKeyPath) {
  auto d = doc("upstreams:\n  medical:\n    retry:\n      attempts: 0\n");
  const auto e = error_of([&] {
    auto up = d.root().map().required("upstreams").map().required("medical").map();
    (void)up.required("retry").map().get_int("attempts", 3, 1, 10);
  });
  EXPECT_EQ(e.file(), "test.yaml");
  EXPECT_EQ(e.line(), 4);
  EXPECT_EQ(e.column(), 17);
  EXPECT_EQ(e.key(), "upstreams.medical.retry.attempts");
  EXPECT_STREQ(e.what(),
               "test.yaml:4:17: upstreams.medical.retry.attempts: must be between 1 and 10 "
               "(got 0)");
}

TEST(YamlReader, WrongTypeIsReported) {
  auto d = doc("port: eighty\nlist: [1]\n");
  auto m = d.root().map();
  EXPECT_THAT(error_of([&] { (void)m.get_int("port", 0, 0, 10); }).what(),
              HasSubstr("port: expected an integer (got 'eighty')"));
  EXPECT_THAT(error_of([&] { (void)m.get_string("list", ""); }).what(),
              HasSubstr("list: expected a string"));
  EXPECT_THAT(error_of([&] { (void)d.root().map().required("port").items(); }).what(),
              HasSubstr("expected a list"));
}

TEST(YamlReader, MissingRequiredKeyNamesThePath) {
  auto d = doc("listen:\n  address: 127.0.0.1\n");
  const auto e = error_of([&] { (void)d.root().map().required("listen").map().required("port"); });
  EXPECT_EQ(e.key(), "listen.port");
  EXPECT_EQ(e.detail(), "missing required key");
  EXPECT_EQ(e.line(), 2);
}

TEST(YamlReader, UnknownKeyIsRejectedWithSuggestion) {
  auto d = doc("retry:\n  atempts: 3\n");
  auto retry = d.root().map().required("retry").map();
  (void)retry.get_int("attempts", 3, 1, 10);
  const auto e = error_of([&] { retry.finish(); });
  EXPECT_EQ(e.key(), "retry.atempts");
  EXPECT_EQ(e.line(), 2);
  EXPECT_THAT(e.detail(), HasSubstr("unknown key 'atempts' (did you mean 'attempts'?)"));
}

TEST(YamlReader, UnknownKeyFarFromAnyKnownHasNoSuggestion) {
  auto d = doc("zzzzzz: 1\n");
  auto m = d.root().map();
  (void)m.get_int("port", 1, 0, 10);
  EXPECT_EQ(error_of([&] { m.finish(); }).detail(), "unknown key 'zzzzzz'");
}

TEST(YamlReader, DuplicateKeyIsRejected) {
  const auto e = error_of([&] { (void)doc("a: 1\nb: 2\na: 3\n").root().map(); });
  EXPECT_EQ(e.line(), 3);
  EXPECT_THAT(e.detail(), HasSubstr("duplicate key (first defined at line 1)"));
}

TEST(YamlReader, SyntaxErrorHasLocation) {
  const auto e = error_of([&] { (void)doc("a: [1, 2\nb: 3\n"); });
  EXPECT_GT(e.line(), 0);
  EXPECT_THAT(e.detail(), HasSubstr("YAML syntax error"));
}

TEST(YamlReader, EnvironmentReferencesExpand) {
  auto d = doc("token: ${ADMIN_TOKEN}\nurl: http://${HOST:-127.0.0.1}:${PORT:-80}/x\n",
               {{"ADMIN_TOKEN", "s3cret"}, {"PORT", "8080"}});
  auto m = d.root().map();
  EXPECT_EQ(m.get_string("token", ""), "s3cret");
  EXPECT_EQ(m.get_string("url", ""), "http://127.0.0.1:8080/x");
}

TEST(YamlReader, UnsetEnvironmentVariableIsAnError) {
  auto d = doc("token: ${MISSING_TOKEN}\n");
  const auto e = error_of([&] { (void)d.root().map().get_string("token", ""); });
  EXPECT_EQ(e.key(), "token");
  EXPECT_EQ(e.detail(), "environment variable MISSING_TOKEN is not set");
}

TEST(YamlReader, DurationNeedsUnit) {
  auto d = doc("timeout: 5\n");
  EXPECT_THAT(error_of([&] { (void)d.root().map().get_duration("timeout", 1s, 0s, 1h); }).detail(),
              HasSubstr("expected a duration with a unit"));
}

TEST(YamlReader, EnumListsChoices) {
  auto d = doc("selection: random\n");
  enum class Sel { ordered, round_robin };
  const auto e = error_of([&] {
    (void)d.root()
        .map()
        .required("selection")
        .as_enum<Sel>({{"ordered", Sel::ordered}, {"round_robin", Sel::round_robin}});
  });
  EXPECT_EQ(e.detail(), "must be one of ordered, round_robin (got 'random')");
}

TEST(YamlReader, SequenceItemsCarryIndexInPath) {
  auto d = doc("routes:\n  - prefix: /a\n  - prefix: 7\n    bogus: 1\n");
  auto routes = d.root().map().required("routes").items();
  ASSERT_EQ(routes.size(), 2u);
  auto second = routes[1].map();
  (void)second.get_string("prefix", "");
  const auto e = error_of([&] { second.finish(); });
  EXPECT_EQ(e.key(), "routes[1].bogus");
  EXPECT_EQ(e.line(), 4);
}

TEST(YamlReader, MissingFileIsReported) {
  const auto e = error_of([] { (void)Document::from_file("/nonexistent/medgate.yaml"); });
  EXPECT_EQ(e.file(), "/nonexistent/medgate.yaml");
  EXPECT_EQ(e.detail(), "cannot open file");
}

TEST(Names, AListOrOneStringOfNamesSeparatedByCommasOrSpaces) {
  const auto d =
      doc("a: [ x, y ]\nb: \"${HOSTS:-}\"\nc: \"${NONE:-}\"\n", {{"HOSTS", " app1, app2 app3,,"}});
  auto m = d.root().map();
  EXPECT_THAT(m.required("a").names(8), ElementsAre("x", "y"));
  EXPECT_THAT(m.required("b").names(8), ElementsAre("app1", "app2", "app3"));
  EXPECT_TRUE(m.required("c").names(8).empty());
  const auto e = error_of([&] { (void)m.required("b").names(2); });
  EXPECT_EQ(e.key(), "b");
  EXPECT_THAT(e.detail(), HasSubstr("at most 2 names"));
}

}  // namespace
}  // namespace medgate::config
