// The monitor's executor (Monitor::step) against the engine's GMock double and an in-memory
// store: what it does to which node, in which order, and what it publishes.
#include "db-monitors/monitor.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <mutex>
#include <set>

#include <boost/json/serialize.hpp>

#include "tests/support/db_mocks.hpp"
#include "tests/support/engine_mock.hpp"
#include "tests/support/fake_clock.hpp"

namespace medgate::dbmon {
namespace {

using namespace std::chrono_literals;
using ::testing::_;
using ::testing::HasSubstr;
using ::testing::NiceMock;
using ::testing::Return;

class MemoryStore final : public TopologyStore {
 public:
  explicit MemoryStore(std::optional<TopologyRecord> r, bool* refuse = nullptr)
      : record_(std::move(r)), refuse_(refuse) {}
  std::optional<TopologyRecord> load() override { return record_; }
  bool compare_and_set(uint64_t expected, const TopologyRecord& next) override {
    if (refuse_ && *refuse_)
      return false;
    if ((record_ ? record_->epoch : 0) != expected || next.epoch <= expected)
      return false;
    record_ = next;
    ++writes;
    return true;
  }
  bool may_act() override { return true; }
  std::optional<TopologyRecord> record_;
  bool* refuse_;
  int writes = 0;
};

NodeObservation primary_obs() {
  NodeObservation o;
  o.reach = Reach::ok;
  o.writable = true;
  o.applied = *Position::from_mariadb_gtid("0-1-10");
  o.received = o.applied;
  o.sync_enabled = true;
  o.sync_replicas = 1;
  return o;
}

NodeObservation replica_obs(int64_t progress, bool running) {
  NodeObservation o;
  o.reach = Reach::ok;
  o.replicating = true;
  o.source = "127.0.0.1:1";
  o.receiver_running = running;
  o.receiver_progress = progress;
  o.received = *Position::from_mariadb_gtid("0-1-10");
  o.applied = o.received;
  return o;
}

class MonitorTest : public ::testing::Test {
 protected:
  MonitorTest() {
    ON_CALL(*driver_, connect).WillByDefault([this](const db::DbNode& n, auto) {
      std::lock_guard lock(mu_);
      if (down_.contains(n.port))
        throw db::DbError(db::DbErrorKind::unavailable, "connection refused");
      auto c = std::make_unique<NiceMock<testing::MockDbConnection>>();
      auto node = std::make_shared<db::DbNode>(n);
      ON_CALL(*c, node).WillByDefault(::testing::ReturnRef(*node));
      nodes_.push_back(node);
      return std::unique_ptr<db::DbConnection>(std::move(c));
    });
    ON_CALL(*engine_, name).WillByDefault(Return("mock"));
    ON_CALL(*engine_, observe).WillByDefault([this](db::DbConnection& c) {
      std::lock_guard lock(mu_);
      if (down_.contains(c.node().port))
        throw db::DbError(db::DbErrorKind::unavailable, "connection lost");
      return obs_.at(c.node().port);
    });
  }

  void make(TopologyRecord record, bool* refuse_cas = nullptr) {
    MonitorOptions o;
    o.cluster = "t";
    o.nodes = {{.spec = {.name = "a", .port = 1}}, {.spec = {.name = "b", .port = 2}}};
    o.core.failures_to_down = 3;
    o.core.confirm_silence = 2s;
    o.core.max_lag_on_failover = 100;
    o.check_timeout = 2s;
    auto store = std::make_unique<MemoryStore>(record, refuse_cas);
    store_ = store.get();
    monitor_ = std::make_unique<Monitor>(o, engine_, driver_, std::move(store), events_, clock_);
  }

  void set(uint16_t port, NodeObservation o) {
    std::lock_guard lock(mu_);
    obs_[port] = std::move(o);
  }
  void crash(uint16_t port) {
    std::lock_guard lock(mu_);
    down_.insert(port);
  }
  void step() {
    clock_.advance(1s);
    monitor_->step();
  }
  std::string events() const {
    std::string out;
    for (const auto& e : events_.since(0, 1000))
      out += boost::json::serialize(e) + "\n";
    return out;
  }

  static TopologyRecord sync_record() {
    TopologyRecord r;
    r.epoch = 3;
    r.primary = "a";
    r.mode = ReplicationMode::sync;
    return r;
  }

  std::mutex mu_;
  std::map<uint16_t, NodeObservation> obs_;
  std::set<uint16_t> down_;
  std::vector<std::shared_ptr<db::DbNode>> nodes_;
  std::shared_ptr<NiceMock<testing::MockDbDriver>> driver_ =
      std::make_shared<NiceMock<testing::MockDbDriver>>();
  std::shared_ptr<NiceMock<testing::MockEngine>> engine_ =
      std::make_shared<NiceMock<testing::MockEngine>>();
  testing::FakeClock clock_;
  EventLog events_{"t", "", 1000, nullptr};
  MemoryStore* store_ = nullptr;
  std::unique_ptr<Monitor> monitor_;
};

TEST_F(MonitorTest, CrashedPrimaryIsReplacedPublishFirstThenPromoteThenProbe) {
  make(sync_record());
  set(1, primary_obs());
  set(2, replica_obs(1, true));
  step();
  EXPECT_EQ(monitor_->snapshot()->serving_primary, "a");
  EXPECT_THAT(monitor_->snapshot()->readable_replicas, ::testing::ElementsAre("b"));
  crash(1);
  set(2, replica_obs(1, false));
  std::vector<std::string> calls;
  EXPECT_CALL(*engine_, promote(_, _, false)).WillOnce([&](auto&, auto, bool) {
    // The record naming b is already published when b is made writable.
    calls.push_back("promote@epoch" + std::to_string(store_->record_->epoch) + ":" +
                    store_->record_->primary);
  });
  EXPECT_CALL(*engine_, write_probe(_, 4)).WillOnce([&](auto&, uint64_t) {
    calls.push_back("probe");
  });
  step();
  step();
  EXPECT_TRUE(calls.empty()) << "promoted before the third failed check";
  step();
  EXPECT_THAT(calls, ::testing::ElementsAre("promote@epoch4:b", "probe"));
  EXPECT_EQ(store_->record_->primary, "b");
  EXPECT_TRUE(store_->record_->needs_rejoin.contains("a"));
  EXPECT_THAT(events(), HasSubstr("\"event\":\"first_write_ok\""));
  // Fenced at once, or queued when a's worker is still on a check (a loaded machine): the
  // attempt is made either way, before the promotion.
  EXPECT_THAT(events(), HasSubstr("\"event\":\"fence_attempt\",\"node\":\"a\""));
  EXPECT_LT(events().find("\"event\":\"fence_attempt\""), events().find("\"promote_start\""));
  // The round after a promotion comes at once: b is not "serving" until a check sees it take
  // writes, and that check must not wait an interval.
  EXPECT_EQ(monitor_->pause_before_next_round(), Duration::zero());
  EXPECT_EQ(monitor_->snapshot()->serving_primary, "");
  // Meanwhile reads may go to b (being promoted), never to a (crashed, awaiting its rejoin).
  EXPECT_THAT(monitor_->snapshot()->readable_replicas, ::testing::ElementsAre("b"));
  set(2, primary_obs());
  monitor_->step();
  EXPECT_EQ(monitor_->snapshot()->serving_primary, "b");
  EXPECT_THAT(monitor_->snapshot()->readable_replicas, ::testing::IsEmpty());
  EXPECT_EQ(monitor_->pause_before_next_round(), 500ms) << "then the interval again";
}

TEST_F(MonitorTest, AFailedPromotionIsPublishedAsABlock) {
  make(sync_record());
  set(1, primary_obs());
  set(2, replica_obs(1, true));
  step();
  crash(1);
  set(2, replica_obs(1, false));
  EXPECT_CALL(*engine_, promote).WillOnce([](auto&, auto, bool) {
    throw db::DbError(db::DbErrorKind::unavailable, "relay log not applied");
  });
  EXPECT_CALL(*engine_, write_probe).Times(0);
  for (int i = 0; i < 5; ++i)
    step();
  EXPECT_THAT(store_->record_->blocked, HasSubstr("relay log not applied"));
  EXPECT_EQ(monitor_->snapshot()->state, "read_only");
  EXPECT_TRUE(monitor_->snapshot()->serving_primary.empty());
  // An operator's acknowledgement changes the record: the next round comes at once (here it
  // finishes b's promotion). A round that came at once and changes the record again (an
  // operator turning maintenance on) is followed by the usual pause: a record that kept
  // changing could not spin the loop.
  EXPECT_CALL(*engine_, promote).WillOnce(::testing::Return());
  EXPECT_CALL(*engine_, write_probe).WillOnce(::testing::Return());
  const uint64_t blocked_epoch = store_->record_->epoch;
  auto acked = monitor_->command(Monitor::CommandKind::ack);
  step();
  ASSERT_GT(store_->record_->epoch, blocked_epoch);
  EXPECT_EQ(monitor_->pause_before_next_round(), Duration::zero());
  const uint64_t acked_epoch = store_->record_->epoch;
  auto maintenance = monitor_->command(Monitor::CommandKind::maintenance_on);
  step();
  ASSERT_GT(store_->record_->epoch, acked_epoch) << events();
  EXPECT_TRUE(store_->record_->maintenance);
  EXPECT_EQ(monitor_->pause_before_next_round(), 500ms);
}

TEST_F(MonitorTest, LosingTheCompareAndSetMeansNoPromotion) {
  bool refuse = false;
  make(sync_record(), &refuse);
  set(1, primary_obs());
  set(2, replica_obs(1, true));
  step();
  crash(1);
  set(2, replica_obs(1, false));
  refuse = true;  // another writer moved the record meanwhile
  EXPECT_CALL(*engine_, promote).Times(0);
  for (int i = 0; i < 4; ++i)
    step();
  EXPECT_THAT(events(), HasSubstr("record_conflict"));
}

TEST_F(MonitorTest, SwitchoverFencesWaitsPublishesPromotesAndRejoins) {
  make(sync_record());
  set(1, primary_obs());
  set(2, replica_obs(1, true));
  step();
  std::vector<std::string> calls;
  auto note = [&](std::string what) {
    return [&calls, what](auto&&...) { calls.push_back(what); };
  };
  EXPECT_CALL(*engine_, fence).WillOnce(note("fence a"));
  EXPECT_CALL(*engine_, written).WillOnce([&](auto&) {
    calls.push_back("position of a");
    return *Position::from_mariadb_gtid("0-1-12");
  });
  EXPECT_CALL(*engine_, wait_applied).WillOnce(note("b caught up"));
  EXPECT_CALL(*engine_, promote(_, _, false)).WillOnce([&](auto&, auto, bool) {
    calls.push_back("promote b at epoch " + std::to_string(store_->record_->epoch));
  });
  EXPECT_CALL(*engine_, history).WillOnce(Return("0-1-12"));
  EXPECT_CALL(*engine_, follow).WillOnce(note("a follows b"));
  EXPECT_CALL(*engine_, write_probe).WillOnce(note("probe"));
  auto result = monitor_->command(Monitor::CommandKind::switchover, "b");
  step();
  ASSERT_EQ(result.wait_for(0s), std::future_status::ready);
  const auto r = result.get();
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_THAT(calls, ::testing::ElementsAre("fence a", "position of a", "b caught up",
                                            "promote b at epoch 4", "a follows b", "probe"));
  EXPECT_EQ(store_->record_->primary, "b");
}

TEST_F(MonitorTest, SwitchoverThatCannotCatchUpUnfencesTheOldPrimary) {
  make(sync_record());
  set(1, primary_obs());
  set(2, replica_obs(1, true));
  step();
  EXPECT_CALL(*engine_, written).WillOnce(Return(*Position::from_mariadb_gtid("0-1-12")));
  EXPECT_CALL(*engine_, wait_applied).WillOnce([](auto&, auto&, auto) {
    throw db::DbError(db::DbErrorKind::unavailable, "not applied in time");
  });
  EXPECT_CALL(*engine_, make_writable(_, true)).Times(1);
  EXPECT_CALL(*engine_, promote).Times(0);
  auto result = monitor_->command(Monitor::CommandKind::switchover, "b");
  step();
  const auto r = result.get();
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.message, HasSubstr("did not catch up"));
  EXPECT_EQ(store_->record_->primary, "a");
  EXPECT_EQ(store_->record_->epoch, 3u);
}

TEST_F(MonitorTest, AliveButRefusingIsNeverDown) {
  make(sync_record());
  set(1, primary_obs());
  set(2, replica_obs(1, true));
  ON_CALL(*engine_, proves_alive).WillByDefault(Return(true));
  step();
  crash(1);  // now every connect is refused with an error the engine says proves life
  set(2, replica_obs(1, false));
  EXPECT_CALL(*engine_, promote).Times(0);
  for (int i = 0; i < 5; ++i)
    step();
  EXPECT_THAT(events(), HasSubstr("check_refused"));
}

}  // namespace
}  // namespace medgate::dbmon
