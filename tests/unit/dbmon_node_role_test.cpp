// What a node's start wrapper is told: unknown before a primary is elected, primary or
// standby after, the primary's replication address, and the key=value lines it parses.
#include "db-monitors/node_role.hpp"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

namespace medgate::dbmon {
namespace {

std::vector<NodeSpec> nodes() {
  NodeSpec a{.name = "a", .host = "db-a", .port = 3306};
  NodeSpec b{.name = "b", .host = "proxy", .port = 7000};
  b.replication_host = "db-b";
  b.replication_port = 3307;
  return {a, b};
}

TEST(NodeRole, UnknownWithoutARecordOrAnElectedPrimary) {
  EXPECT_EQ(to_shell(node_role(std::nullopt, nodes(), "a")), "role=unknown\nepoch=0\n");
  TopologyRecord none;
  none.epoch = 3;
  EXPECT_EQ(to_shell(node_role(none, nodes(), "b")), "role=unknown\nepoch=3\n");
}

TEST(NodeRole, TheElectedPrimaryAndAStandbyThatMustRejoin) {
  TopologyRecord rec;
  rec.epoch = 7;
  rec.primary = "b";
  rec.needs_rejoin["a"] = "was the primary";
  const NodeRole b = node_role(rec, nodes(), "b");
  EXPECT_EQ(b.role, "primary");
  // A replica reaches b at its replication address, not at the monitor's view of it.
  EXPECT_EQ(to_shell(b),
            "role=primary\nepoch=7\nprimary_name=b\nprimary_host=db-b\nprimary_port=3307\n");
  const NodeRole a = node_role(rec, nodes(), "a");
  EXPECT_EQ(a.role, "standby");
  EXPECT_EQ(boost::json::serialize(to_json(a)),
            R"({"node":"a","role":"standby","epoch":7,)"
            R"("primary":{"name":"b","host":"db-b","port":3307},)"
            R"("needs_rejoin":"was the primary"})");
}

TEST(NodeRole, AnUnknownNodeIsRefused) {
  EXPECT_THROW((void)node_role(std::nullopt, nodes(), "c"), std::invalid_argument);
}

}  // namespace
}  // namespace medgate::dbmon
