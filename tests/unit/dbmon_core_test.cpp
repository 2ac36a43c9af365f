#include "db-monitors/monitor_core.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/fake_clock.hpp"

namespace medgate::dbmon {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

class RecordingSink final : public EventSink {
 public:
  void emit(Event e) override { events.push_back(std::move(e)); }
  [[nodiscard]] size_t count(const std::string& type) const {
    return static_cast<size_t>(std::count_if(events.begin(), events.end(),
                                             [&](const Event& e) { return e.type == type; }));
  }
  std::vector<Event> events;
};

Position gtid(uint64_t seq) {
  return *Position::from_mariadb_gtid("0-1-" + std::to_string(seq));
}

NodeObservation primary_at(uint64_t seq, int sync_replicas = 1) {
  NodeObservation o;
  o.reach = Reach::ok;
  o.writable = true;
  o.applied = gtid(seq);
  o.sync_enabled = true;
  o.sync_replicas = sync_replicas;
  return o;
}

NodeObservation replica_of(uint16_t source_port, uint64_t seq, int64_t progress,
                           bool running = true) {
  NodeObservation o;
  o.reach = Reach::ok;
  o.replicating = true;
  o.source = "127.0.0.1:" + std::to_string(source_port);
  o.receiver_running = running;
  o.receiver_progress = progress;
  o.received = gtid(seq);
  o.applied = gtid(seq);
  return o;
}

NodeObservation failed(std::string why = "connection refused") {
  NodeObservation o;
  o.reach = Reach::failed;
  o.error = std::move(why);
  return o;
}

class MonitorCoreTest : public ::testing::Test {
 protected:
  using Round = std::map<std::string, NodeObservation>;

  MonitorCoreTest() { rebuild(sync_record()); }

  static TopologyRecord sync_record() {
    TopologyRecord r;
    r.epoch = 5;
    r.primary = "a";
    r.mode = ReplicationMode::sync;
    r.mode_reason = "b acknowledges";
    return r;
  }

  void rebuild(TopologyRecord record, CoreOptions options = default_options()) {
    sink.events.clear();
    core = std::make_unique<MonitorCore>(
        std::vector<NodeSpec>{
            {.name = "a", .port = 1}, {.name = "b", .port = 2}, {.name = "c", .port = 3}},
        options, std::move(record), sink);
  }

  static CoreOptions default_options() {
    CoreOptions o;
    o.failures_to_down = 3;
    o.confirm_silence = 2s;
    o.max_lag_on_failover = 10;
    o.max_failovers = 2;
    o.flap_window = 10min;
    o.repair_backoff = 5s;
    return o;
  }

  // One round one second after the last; publishes whatever the plan publishes.
  Plan round(const Round& r) {
    clock.advance(1s);
    wall_ms += 1000;
    Plan p = core->observe(r, clock.now(), wall_ms);
    if (p.publish)
      core->committed(*p.publish);
    return p;
  }

  Round healthy(uint64_t seq, int64_t progress) {
    return {{"a", primary_at(seq)},
            {"b", replica_of(1, seq, progress)},
            {"c", replica_of(1, seq - 1, progress)}};
  }

  testing::FakeClock clock;
  int64_t wall_ms = 1'700'000'000'000;
  RecordingSink sink;
  std::unique_ptr<MonitorCore> core;
};

TEST_F(MonitorCoreTest, HealthyRoundsDoNothing) {
  for (int i = 0; i < 5; ++i) {
    const Plan p = round(healthy(100 + i, i));
    EXPECT_FALSE(p.publish);
    EXPECT_TRUE(p.actions.empty());
  }
  EXPECT_EQ(core->state(), "healthy");
  EXPECT_TRUE(sink.events.empty());
}

TEST_F(MonitorCoreTest, DownOnlyAfterThresholdAndReplicasConfirm) {
  (void)round(healthy(100, 1));
  // Crash: replicas' receivers stop at once.
  const Round crashed = {
      {"a", failed()}, {"b", replica_of(1, 100, 1, false)}, {"c", replica_of(1, 99, 1, false)}};
  Plan p = round(crashed);
  EXPECT_EQ(core->view("a").health, Health::suspect);
  EXPECT_TRUE(p.actions.empty());
  p = round(crashed);
  EXPECT_TRUE(p.actions.empty());
  EXPECT_EQ(core->state(), "suspect");
  p = round(crashed);  // third consecutive failure
  EXPECT_EQ(core->view("a").health, Health::down);
  ASSERT_TRUE(p.publish);
  EXPECT_EQ(p.publish->epoch, 6u);
  EXPECT_EQ(p.publish->primary, "b");  // the most advanced replica
  EXPECT_TRUE(p.publish->needs_rejoin.contains("a"));
  EXPECT_EQ(p.publish->mode, ReplicationMode::async);
  ASSERT_EQ(p.actions.size(), 1u);
  const auto& promote = std::get<Promote>(p.actions[0]);
  EXPECT_EQ(promote.node, "b");
  EXPECT_EQ(promote.wait_for, gtid(100));
  EXPECT_EQ(promote.fence_first, std::vector<std::string>{"a"});
  EXPECT_EQ(promote.repoint, std::vector<std::string>{"c"});
  EXPECT_TRUE(promote.sync);  // c is left to acknowledge
  EXPECT_EQ(sink.count("check_failed"), 3u);
  EXPECT_EQ(sink.count("suspect"), 1u);
  EXPECT_EQ(sink.count("confirmed_down"), 1u);
  EXPECT_EQ(sink.count("candidate_selected"), 1u);
}

TEST_F(MonitorCoreTest, OneGoodCheckResetsTheCount) {
  (void)round(healthy(100, 1));
  const Round crashed = {
      {"a", failed()}, {"b", replica_of(1, 100, 1, false)}, {"c", replica_of(1, 100, 1, false)}};
  (void)round(crashed);
  (void)round(crashed);
  (void)round(healthy(100, 2));
  EXPECT_EQ(core->view("a").consecutive_failures, 0u);
  EXPECT_EQ(sink.count("node_recovered"), 1u);
  (void)round(crashed);
  const Plan p = round(crashed);
  EXPECT_TRUE(p.actions.empty());
}

TEST_F(MonitorCoreTest, MonitorOnlyBlindnessNeverPromotes) {
  (void)round(healthy(100, 1));
  for (int i = 0; i < 10; ++i) {
    // The replicas still receive from the primary: only the monitor's view is cut.
    const Plan p = round({{"a", failed("timeout")},
                          {"b", replica_of(1, 100 + i, 10 + i)},
                          {"c", replica_of(1, 100 + i, 10 + i)}});
    EXPECT_TRUE(p.actions.empty());
    EXPECT_FALSE(p.publish);
  }
  EXPECT_EQ(core->state(), "unreachable");
  EXPECT_EQ(sink.count("unreachable"), 1u);
  EXPECT_EQ(sink.count("confirmed_down"), 0u);
}

TEST_F(MonitorCoreTest, HungPrimaryConfirmedBySilenceNotByDisconnect) {
  (void)round(healthy(100, 7));
  // SIGSTOP: the replicas' connections stay up but nothing arrives, not even heartbeats.
  const Round hung = {
      {"a", failed("timeout")}, {"b", replica_of(1, 100, 7)}, {"c", replica_of(1, 100, 7)}};
  Plan p = round(hung);  // silence 1 s
  p = round(hung);       // 2 s: confirms, but only two failures
  EXPECT_TRUE(p.actions.empty());
  p = round(hung);
  ASSERT_EQ(p.actions.size(), 1u);
  EXPECT_EQ(std::get<Promote>(p.actions[0]).node, "b");
}

TEST_F(MonitorCoreTest, SilenceShorterThanConfirmWindowDoesNotConfirm) {
  CoreOptions o = default_options();
  o.confirm_silence = 10s;
  rebuild(sync_record(), o);
  (void)round(healthy(100, 7));
  const Round hung = {
      {"a", failed("timeout")}, {"b", replica_of(1, 100, 7)}, {"c", replica_of(1, 100, 7)}};
  for (int i = 0; i < 8; ++i)
    EXPECT_TRUE(round(hung).actions.empty());
  EXPECT_EQ(core->state(), "unreachable");
  (void)round(hung);
  const Plan p = round(hung);  // 10 s of silence
  ASSERT_EQ(p.actions.size(), 1u);
}

TEST_F(MonitorCoreTest, RefusingServerIsAliveNotDown) {
  (void)round(healthy(100, 1));
  NodeObservation refusing;
  refusing.reach = Reach::refusing;
  refusing.error = "1040 Too many connections";
  for (int i = 0; i < 6; ++i) {
    const Plan p = round({{"a", refusing},
                          {"b", replica_of(1, 100, 1, false)},
                          {"c", replica_of(1, 100, 1, false)}});
    EXPECT_TRUE(p.actions.empty());
  }
  EXPECT_EQ(core->view("a").health, Health::healthy);
  EXPECT_THAT(core->state_reason(), HasSubstr("Too many connections"));
  EXPECT_EQ(sink.count("check_refused"), 1u);
}

TEST_F(MonitorCoreTest, NoReachableReplicaMeansNoPromotion) {
  (void)round(healthy(100, 1));
  const Round all_down = {{"a", failed()}, {"b", failed()}, {"c", failed()}};
  for (int i = 0; i < 5; ++i)
    EXPECT_TRUE(round(all_down).actions.empty());
  EXPECT_EQ(core->state(), "down");
  EXPECT_EQ(sink.count("failover_refused"), 1u);
}

TEST_F(MonitorCoreTest, CandidateRankingSkipsErrantAndNoFailover) {
  (void)round(healthy(100, 1));
  NodeObservation errant = replica_of(1, 105, 1, false);
  errant.errant = "0-3-1";
  const Round crashed = {{"a", failed()}, {"b", errant}, {"c", replica_of(1, 100, 1, false)}};
  (void)round(crashed);
  (void)round(crashed);
  const Plan p = round(crashed);
  ASSERT_EQ(p.actions.size(), 1u);
  EXPECT_EQ(std::get<Promote>(p.actions[0]).node, "c");
}

TEST_F(MonitorCoreTest, AllCandidatesErrantRefuses) {
  (void)round(healthy(100, 1));
  NodeObservation errant = replica_of(1, 100, 1, false);
  errant.errant = "0-3-1";
  const Round crashed = {{"a", failed()}, {"b", errant}, {"c", errant}};
  for (int i = 0; i < 4; ++i)
    EXPECT_TRUE(round(crashed).actions.empty());
  EXPECT_THAT(core->state_reason(), HasSubstr("errant"));
  // An operator cannot override errant transactions either.
  const auto cmd = core->force_failover("b", clock.now(), wall_ms);
  EXPECT_FALSE(cmd.plan);
  EXPECT_THAT(cmd.error, HasSubstr("errant"));
}

TEST_F(MonitorCoreTest, LaggingCandidateRefusedUntilOperatorOverrides) {
  (void)round(healthy(100, 1));
  const Round crashed = {
      {"a", failed()}, {"b", replica_of(1, 80, 1, false)}, {"c", replica_of(1, 85, 1, false)}};
  for (int i = 0; i < 4; ++i)
    EXPECT_TRUE(round(crashed).actions.empty());
  EXPECT_THAT(core->state_reason(), HasSubstr("c lacks 15"));
  const auto cmd = core->force_failover("", clock.now(), wall_ms);
  ASSERT_TRUE(cmd.plan) << cmd.error;
  EXPECT_EQ(std::get<Promote>(cmd.plan->actions[0]).node, "c");
  EXPECT_EQ(sink.count("operator_failover"), 1u);
}

TEST_F(MonitorCoreTest, AsynchronousModeRefusesAutomaticFailover) {
  TopologyRecord r = sync_record();
  r.mode = ReplicationMode::async;
  r.mode_reason = "no replica can acknowledge";
  rebuild(r);
  (void)round({{"a", primary_at(100, 0)}, {"b", failed()}, {"c", failed()}});
  const Round crashed = {
      {"a", failed()}, {"b", replica_of(1, 100, 1, false)}, {"c", replica_of(1, 100, 1, false)}};
  for (int i = 0; i < 4; ++i)
    EXPECT_TRUE(round(crashed).actions.empty());
  EXPECT_THAT(core->state_reason(), HasSubstr("asynchronous"));
}

TEST_F(MonitorCoreTest, ForcedFailoverRefusedWhilePrimaryAlive) {
  (void)round(healthy(100, 1));
  EXPECT_THAT(core->force_failover("b", clock.now(), wall_ms).error, HasSubstr("not down"));
  // Down for the monitor, but a replica still receives from it.
  for (int i = 0; i < 3; ++i)
    (void)round({{"a", failed()}, {"b", replica_of(1, 100, 10 + i)}, {"c", failed()}});
  EXPECT_THAT(core->force_failover("b", clock.now(), wall_ms).error, HasSubstr("still receives"));
}

// The second fault a minute after the first: the in-sync replica left is promoted at once,
// not held by a cooldown.
TEST_F(MonitorCoreTest, ASecondFaultFailsOverAgainToAnInSyncReplica) {
  (void)round(healthy(100, 1));
  const Round crashed = {
      {"a", failed()}, {"b", replica_of(1, 100, 1, false)}, {"c", replica_of(1, 100, 1, false)}};
  (void)round(crashed);
  (void)round(crashed);
  Plan p = round(crashed);
  ASSERT_EQ(p.actions.size(), 1u);
  EXPECT_TRUE(core->on_result(p.actions[0], {.ok = true}, clock.now(), wall_ms) == std::nullopt);
  EXPECT_EQ(core->record().recent_failovers_ms, std::vector<int64_t>{wall_ms});
  // b is primary now, c its synchronous replica; b fails too, a minute later.
  (void)round({{"a", failed()}, {"b", primary_at(101)}, {"c", replica_of(2, 101, 2)}});
  (void)round({{"a", failed()}, {"b", primary_at(101)}, {"c", replica_of(2, 101, 3)}});
  EXPECT_EQ(core->record().mode, ReplicationMode::sync);
  clock.advance(60s);
  wall_ms += 60'000;
  const Round crashed_b = {{"a", failed()}, {"b", failed()}, {"c", replica_of(2, 101, 3, false)}};
  (void)round(crashed_b);
  (void)round(crashed_b);
  p = round(crashed_b);
  ASSERT_EQ(p.actions.size(), 1u);
  EXPECT_EQ(std::get<Promote>(p.actions[0]).node, "c");
  EXPECT_EQ(core->record().primary, "c");
  EXPECT_EQ(core->record().recent_failovers_ms.size(), 2u);
}

// max_failovers (2 here) within the window: the next confirmed fault is held for an operator,
// the record says why, and an acknowledgement lets it go.
TEST_F(MonitorCoreTest, TheFlapGuardHoldsAFailoverPastItsCountUntilAcknowledged) {
  TopologyRecord r = sync_record();
  wall_ms = 10'000'000;
  r.recent_failovers_ms = {wall_ms - 300'000, wall_ms - 120'000};
  rebuild(r);
  (void)round(healthy(100, 1));
  const Round crashed = {
      {"a", failed()}, {"b", replica_of(1, 100, 1, false)}, {"c", replica_of(1, 100, 1, false)}};
  (void)round(crashed);
  (void)round(crashed);
  Plan p = round(crashed);
  EXPECT_TRUE(p.actions.empty());
  EXPECT_THAT(core->record().blocked, HasSubstr("flap guard: 2 failovers within 600 s"));
  EXPECT_EQ(core->state(), "down");
  EXPECT_THAT(core->state_reason(), HasSubstr("POST /ack"));
  EXPECT_EQ(sink.count("flap_guard_held"), 1u);
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(round(crashed).actions.empty());
  auto ack = core->acknowledge(wall_ms);
  ASSERT_TRUE(ack.plan && ack.plan->publish);
  core->committed(*ack.plan->publish);
  EXPECT_TRUE(core->record().recent_failovers_ms.empty());
  p = round(crashed);
  ASSERT_EQ(p.actions.size(), 1u);
  EXPECT_EQ(std::get<Promote>(p.actions[0]).node, "b");
}

// Failovers older than the window do not count.
TEST_F(MonitorCoreTest, TheFlapGuardForgetsFailoversOutsideItsWindow) {
  TopologyRecord r = sync_record();
  wall_ms = 10'000'000;
  r.recent_failovers_ms = {wall_ms - 900'000, wall_ms - 700'000};
  rebuild(r);
  (void)round(healthy(100, 1));
  const Round crashed = {
      {"a", failed()}, {"b", replica_of(1, 100, 1, false)}, {"c", replica_of(1, 100, 1, false)}};
  (void)round(crashed);
  (void)round(crashed);
  const Plan p = round(crashed);
  ASSERT_EQ(p.actions.size(), 1u);
  EXPECT_TRUE(core->record().blocked.empty());
  // Only this failover is kept: the old ones fell out of the window.
  EXPECT_EQ(core->record().recent_failovers_ms, std::vector<int64_t>{wall_ms});
}

TEST_F(MonitorCoreTest, FailedPromotionBlocksUntilAcknowledged) {
  (void)round(healthy(100, 1));
  const Round crashed = {
      {"a", failed()}, {"b", replica_of(1, 100, 1, false)}, {"c", replica_of(1, 99, 1, false)}};
  (void)round(crashed);
  (void)round(crashed);
  Plan p = round(crashed);
  ASSERT_EQ(p.actions.size(), 1u);
  const auto follow = core->on_result(p.actions[0], {.ok = false, .error = "STOP SLAVE: timeout"},
                                      clock.now(), wall_ms);
  ASSERT_TRUE(follow);
  EXPECT_THAT(follow->blocked, HasSubstr("STOP SLAVE"));
  EXPECT_EQ(follow->epoch, 7u);
  EXPECT_EQ(sink.count("failover_failed"), 1u);
  core->committed(*follow);
  // b is still a read-only replica and the elected primary: nothing happens until the ack.
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(round({{"a", failed()},
                       {"b", replica_of(1, 100, 1, false)},
                       {"c", replica_of(1, 99, 1, false)}})
                    .actions.empty());
  auto ack = core->acknowledge(wall_ms);
  core->committed(*ack.plan->publish);
  p = round(
      {{"a", failed()}, {"b", replica_of(1, 100, 1, false)}, {"c", replica_of(1, 99, 1, false)}});
  ASSERT_EQ(p.actions.size(), 1u);
  EXPECT_EQ(std::get<Promote>(p.actions[0]).node, "b");
}

TEST_F(MonitorCoreTest, ReturningOldPrimaryIsFencedThenRejoined) {
  TopologyRecord r = sync_record();
  r.primary = "b";
  r.needs_rejoin["a"] = "failed over";
  rebuild(r);
  // a comes back writable (a MariaDB started with read_only=OFF, or SIGCONT).
  Plan p = round({{"a", primary_at(100)}, {"b", primary_at(101)}, {"c", replica_of(2, 101, 1)}});
  ASSERT_EQ(p.actions.size(), 1u);
  EXPECT_EQ(std::get<Fence>(p.actions[0]).node, "a");
  EXPECT_EQ(sink.count("old_primary_returned"), 1u);
  // Fenced: read-only, not replicating -> rejoin.
  NodeObservation fenced = primary_at(100);
  fenced.writable = false;
  p = round({{"a", fenced}, {"b", primary_at(102)}, {"c", replica_of(2, 102, 2)}});
  ASSERT_EQ(p.actions.size(), 1u);
  const auto& rejoin = std::get<Rejoin>(p.actions[0]);
  EXPECT_EQ(rejoin.node, "a");
  EXPECT_EQ(rejoin.primary, "b");
  EXPECT_TRUE(rejoin.old_primary);
  // Within the back-off: no second attempt.
  EXPECT_TRUE(
      round({{"a", fenced}, {"b", primary_at(102)}, {"c", replica_of(2, 102, 3)}}).actions.empty());
  // Streaming from b: rejoined.
  p = round({{"a", replica_of(2, 102, 1)}, {"b", primary_at(102)}, {"c", replica_of(2, 102, 4)}});
  ASSERT_TRUE(p.publish);
  EXPECT_FALSE(p.publish->needs_rejoin.contains("a"));
  EXPECT_EQ(sink.count("old_primary_rejoined"), 1u);
}

TEST_F(MonitorCoreTest, UnexpectedWriterIsFencedAndMarked) {
  const Plan p =
      round({{"a", primary_at(100)}, {"b", primary_at(100)}, {"c", replica_of(1, 100, 1)}});
  ASSERT_TRUE(p.publish);
  EXPECT_TRUE(p.publish->needs_rejoin.contains("b"));
  ASSERT_EQ(p.actions.size(), 1u);
  EXPECT_EQ(std::get<Fence>(p.actions[0]).node, "b");
  // A node marked needs_rejoin is never the candidate.
  const Round crashed = {
      {"a", failed()}, {"b", replica_of(1, 100, 1, false)}, {"c", replica_of(1, 100, 1, false)}};
  (void)round(crashed);
  (void)round(crashed);
  const Plan f = round(crashed);
  ASSERT_FALSE(f.actions.empty());
  EXPECT_EQ(std::get<Promote>(f.actions[0]).node, "c");
}

TEST_F(MonitorCoreTest, FencingHappensEvenWhileThePrimaryIsDown) {
  TopologyRecord r = sync_record();
  r.primary = "b";
  r.needs_rejoin["a"] = "failed over";
  rebuild(r);
  const Plan p = round({{"a", primary_at(100)}, {"b", failed()}, {"c", replica_of(2, 101, 1)}});
  ASSERT_EQ(p.actions.size(), 1u);
  EXPECT_EQ(std::get<Fence>(p.actions[0]).node, "a");
}

TEST_F(MonitorCoreTest, ElectedPrimaryRestartedReadOnlyIsMadeWritableWithSync) {
  NodeObservation restarted = primary_at(100, 0);
  restarted.writable = false;
  restarted.sync_enabled = false;
  const Plan p = round(
      {{"a", restarted}, {"b", replica_of(1, 100, 1, false)}, {"c", replica_of(1, 100, 1, false)}});
  ASSERT_EQ(p.actions.size(), 1u);
  const auto& mw = std::get<MakeWritable>(p.actions[0]);
  EXPECT_EQ(mw.node, "a");
  EXPECT_TRUE(mw.sync);  // the record says sync: acknowledged writes must wait for a replica
}

TEST_F(MonitorCoreTest, SyncRelaxedOnlyWhenEveryReplicaIsConfirmedGone) {
  (void)round(healthy(100, 1));
  // b gone, c still connected: keep waiting for acknowledgements.
  Plan p = round({{"a", primary_at(100, 0)}, {"b", failed()}, {"c", replica_of(1, 100, 1)}});
  EXPECT_TRUE(p.actions.empty());
  for (int i = 0; i < 3; ++i) {
    p = round({{"a", primary_at(100, 0)}, {"b", failed()}, {"c", failed()}});
    if (!p.actions.empty())
      break;
  }
  ASSERT_EQ(p.actions.size(), 1u);
  ASSERT_TRUE(p.publish);
  EXPECT_EQ(p.publish->mode, ReplicationMode::async);
  const auto& relax = std::get<SetSync>(p.actions[0]);
  EXPECT_FALSE(relax.enable);
  // Only after both were down three times.
  EXPECT_EQ(core->view("c").health, Health::down);
  EXPECT_EQ(sink.count("rpo_mode_changed"), 1u);
}

TEST_F(MonitorCoreTest, AReplicaReconnectingIsNotGoneUntilRelaxAfter) {
  (void)round(healthy(100, 1));
  // The replicas answer but their receivers are down (reconnecting): writes wait 5 s from
  // the first round that saw them down.
  for (int i = 0; i < 5; ++i) {
    const Plan p = round({{"a", primary_at(100, 0)},
                          {"b", replica_of(1, 100, 1, false)},
                          {"c", replica_of(1, 100, 1, false)}});
    EXPECT_TRUE(p.actions.empty()) << "relaxed after " << i + 1 << " s";
  }
  const Plan p = round({{"a", primary_at(100, 0)},
                        {"b", replica_of(1, 100, 1, false)},
                        {"c", replica_of(1, 100, 1, false)}});
  ASSERT_EQ(p.actions.size(), 1u);
  EXPECT_FALSE(std::get<SetSync>(p.actions[0]).enable);
}

TEST_F(MonitorCoreTest, SyncRestoredOnlyAfterReplicaCatchesUp) {
  TopologyRecord r = sync_record();
  r.mode = ReplicationMode::async;
  r.mode_reason = "no replica can acknowledge";
  rebuild(r);
  NodeObservation p_async = primary_at(200, 0);
  p_async.sync_enabled = false;
  Plan p = round({{"a", p_async}, {"b", replica_of(1, 150, 1)}, {"c", failed()}});
  ASSERT_EQ(p.actions.size(), 1u);
  EXPECT_TRUE(std::get<SetSync>(p.actions[0]).enable);
  EXPECT_FALSE(p.publish);
  // Enabled and acknowledged, but b has only 180 of the 200 written while asynchronous.
  p = round({{"a", primary_at(200, 1)}, {"b", replica_of(1, 180, 2)}, {"c", failed()}});
  EXPECT_FALSE(p.publish);
  p = round({{"a", primary_at(230, 1)}, {"b", replica_of(1, 210, 3)}, {"c", failed()}});
  ASSERT_TRUE(p.publish);
  EXPECT_EQ(p.publish->mode, ReplicationMode::sync);
}

TEST_F(MonitorCoreTest, SyncFoundOffIsRecordedHonestly) {
  NodeObservation off = primary_at(100, 0);
  off.sync_enabled = false;
  const Plan p = round({{"a", off}, {"b", replica_of(1, 100, 1)}, {"c", replica_of(1, 100, 1)}});
  ASSERT_TRUE(p.publish);
  EXPECT_EQ(p.publish->mode, ReplicationMode::async);
  ASSERT_EQ(p.actions.size(), 1u);
  EXPECT_TRUE(std::get<SetSync>(p.actions[0]).enable);
}

TEST_F(MonitorCoreTest, ReplicaFollowingWrongSourceIsRepointed) {
  const Plan p =
      round({{"a", primary_at(100)}, {"b", replica_of(1, 100, 1)}, {"c", replica_of(9, 100, 1)}});
  ASSERT_EQ(p.actions.size(), 1u);
  const auto& rj = std::get<Rejoin>(p.actions[0]);
  EXPECT_EQ(rj.node, "c");
  EXPECT_FALSE(rj.old_primary);
}

TEST_F(MonitorCoreTest, MaintenancePausesEverything) {
  TopologyRecord r = sync_record();
  r.maintenance = true;
  rebuild(r);
  for (int i = 0; i < 5; ++i)
    EXPECT_TRUE(round({{"a", failed()}, {"b", primary_at(1)}, {"c", failed()}}).actions.empty());
  EXPECT_EQ(core->state(), "maintenance");
}

TEST_F(MonitorCoreTest, BootstrapElectsTheOnlyWritableNode) {
  rebuild(TopologyRecord{});
  const Plan p =
      round({{"a", replica_of(2, 5, 1)}, {"b", primary_at(5)}, {"c", replica_of(2, 5, 1)}});
  ASSERT_TRUE(p.publish);
  EXPECT_EQ(p.publish->epoch, 1u);
  EXPECT_EQ(p.publish->primary, "b");
  EXPECT_TRUE(p.actions.empty());
}

TEST_F(MonitorCoreTest, BootstrapMakesTheConfiguredPrimaryWritable) {
  CoreOptions o = default_options();
  o.bootstrap_primary = "a";
  rebuild(TopologyRecord{}, o);
  NodeObservation fenced = primary_at(0, 0);
  fenced.writable = false;
  const Plan p = round({{"a", fenced}, {"b", replica_of(1, 0, 1)}, {"c", replica_of(1, 0, 1)}});
  ASSERT_TRUE(p.publish);
  EXPECT_EQ(p.publish->primary, "a");
  ASSERT_EQ(p.actions.size(), 1u);
  EXPECT_FALSE(std::get<MakeWritable>(p.actions[0]).sync);
}

TEST_F(MonitorCoreTest, BootstrapRefusesTwoWritersWithoutADecision) {
  rebuild(TopologyRecord{});
  const Plan p = round({{"a", primary_at(5)}, {"b", primary_at(5)}, {"c", replica_of(2, 5, 1)}});
  EXPECT_FALSE(p.publish);
  EXPECT_THAT(core->state_reason(), HasSubstr("several nodes are writable"));
}

TEST_F(MonitorCoreTest, SwitchoverNeedsAStreamingCandidate) {
  (void)round(healthy(100, 1));
  const auto ok = core->switchover("b");
  ASSERT_TRUE(ok.plan) << ok.error;
  const auto& s = std::get<Switchover>(ok.plan->actions[0]);
  EXPECT_EQ(s.old_primary, "a");
  EXPECT_EQ(s.candidate, "b");
  EXPECT_EQ(s.repoint, std::vector<std::string>{"c"});
  (void)round(
      {{"a", primary_at(100)}, {"b", replica_of(1, 100, 2)}, {"c", replica_of(1, 99, 1, false)}});
  EXPECT_THAT(core->switchover("c").error, HasSubstr("does not stream"));
  EXPECT_THAT(core->switchover("zz").error, HasSubstr("no node named"));
  const TopologyRecord rec = core->switchover_record("a", "b", clock.now(), wall_ms);
  EXPECT_EQ(rec.primary, "b");
  EXPECT_EQ(rec.epoch, 6u);
  EXPECT_TRUE(rec.needs_rejoin.contains("a"));
}

TEST_F(MonitorCoreTest, RecordRoundTripsThroughJson) {
  TopologyRecord r = sync_record();
  r.needs_rejoin["a"] = "x";
  r.blocked = "y";
  r.recent_failovers_ms = {41, 42};
  EXPECT_EQ(record_from_json(to_json(r)), r);
  // A record written before the flap guard (with a cooldown field instead) still loads.
  auto old = to_json(r).as_object();
  old.erase("recent_failovers_ms");
  old["no_auto_failover_before_ms"] = 7;
  EXPECT_TRUE(record_from_json(old).recent_failovers_ms.empty());
  EXPECT_THROW((void)record_from_json(boost::json::object{{"epoch", 1}}), std::runtime_error);
}

// ---- several monitors -----------------------------------------------------------------

// A monitor that does not act detects but plans nothing, and says why.
TEST_F(MonitorCoreTest, AMonitorThatDoesNotActPlansNothing) {
  const Coordination standby{.acting = false, .why_not = "m2 holds the leader key"};
  (void)core->observe(healthy(100, 1), clock.now(), wall_ms, standby);
  const Round crashed = {
      {"a", failed()}, {"b", replica_of(1, 100, 1, false)}, {"c", replica_of(1, 100, 1, false)}};
  for (int i = 0; i < 5; ++i) {
    clock.advance(1s);
    wall_ms += 1000;
    EXPECT_TRUE(core->observe(crashed, clock.now(), wall_ms, standby).actions.empty());
  }
  EXPECT_EQ(core->view("a").health, Health::down);  // it still detects
  EXPECT_EQ(core->state(), "standby");
  EXPECT_EQ(core->state_reason(), "m2 holds the leader key");
  EXPECT_EQ(sink.count("candidate_selected"), 0u);
}

// The acting monitor cannot reach the primary, the replicas stopped hearing from it, but the
// other monitors reach it: no failover until a majority of the voting monitors see it fail.
TEST_F(MonitorCoreTest, AFailoverNeedsAMajorityOfTheMonitors) {
  (void)round(healthy(100, 1));
  const Round crashed = {
      {"a", failed()}, {"b", replica_of(1, 100, 1, false)}, {"c", replica_of(1, 100, 1, false)}};
  auto observe = [&](std::vector<PeerView> peers) {
    clock.advance(1s);
    wall_ms += 1000;
    Plan p = core->observe(crashed, clock.now(), wall_ms, {.peers = std::move(peers)});
    if (p.publish)
      core->committed(*p.publish);
    return p;
  };
  auto view = [&](std::string member, bool failing, uint64_t epoch = 5) {
    return PeerView{.member = std::move(member),
                    .epoch = epoch,
                    .primary = "a",
                    .primary_failing = failing,
                    .at_ms = wall_ms};
  };
  (void)observe({view("m2", false)});
  (void)observe({view("m2", false)});
  // Down for this monitor, confirmed by the replicas, but m2 still reaches a: 1 of 2.
  EXPECT_TRUE(observe({view("m2", false)}).actions.empty());
  EXPECT_EQ(core->state(), "unreachable");
  EXPECT_THAT(core->state_reason(), HasSubstr("m2 still can"));
  EXPECT_EQ(sink.count("monitors_disagree"), 1u);
  // Three monitors, one of the others agrees: 2 of 3.
  Plan p = observe({view("m2", false), view("m3", true)});
  ASSERT_EQ(p.actions.size(), 1u);
  EXPECT_EQ(std::get<Promote>(p.actions[0]).node, "b");
}

// A view of an older record, or none at all (the other monitor is gone with its lease),
// does not vote: a lone surviving monitor still fails over.
TEST_F(MonitorCoreTest, StaleOrMissingViewsDoNotVote) {
  (void)round(healthy(100, 1));
  const Round crashed = {
      {"a", failed()}, {"b", replica_of(1, 100, 1, false)}, {"c", replica_of(1, 100, 1, false)}};
  const std::vector<PeerView> stale = {
      {.member = "m2", .epoch = 4, .primary = "a", .primary_failing = false, .at_ms = wall_ms}};
  Plan p;
  for (int i = 0; i < 3; ++i) {
    clock.advance(1s);
    wall_ms += 1000;
    p = core->observe(crashed, clock.now(), wall_ms, {.peers = stale});
  }
  ASSERT_EQ(p.actions.size(), 1u);
  EXPECT_EQ(sink.count("monitors_disagree"), 0u);
}

}  // namespace
}  // namespace medgate::dbmon
