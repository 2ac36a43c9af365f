// A scripted Transport for the gateway's policy chain: each endpoint answers from its own
// queue (200 "ok" once the queue is empty), time passes only on a FakeClock, and every
// attempt is recorded with the edits it would have written.
#pragma once

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gateway/transport.hpp"
#include "tests/support/fake_clock.hpp"

namespace medgate::testing {

class FakeTransport final : public gateway::Transport {
 public:
  struct Answer {
    clients::SendError error = clients::SendError::none;
    unsigned status = 200;
    std::string body = "ok";
    std::vector<std::pair<std::string, std::string>> fields;
    resilience::Duration latency{};  // the clock moves this much during the attempt
  };
  struct Sent {
    size_t endpoint;
    std::chrono::nanoseconds timeout;
    std::string target;
    std::map<std::string, std::string> fields;  // the edits' fields
    bool resend_on_stale;
  };

  explicit FakeTransport(FakeClock& clock) : clock_(clock) {}

  void script(size_t endpoint, Answer a) { answers_[endpoint].push_back(std::move(a)); }
  // What every endpoint answers once its queue is empty (nullopt: 200 "ok").
  void answer_otherwise(std::optional<Answer> a) { otherwise_ = std::move(a); }

  boost::asio::awaitable<clients::SendResult> send(const gateway::Upstream&, size_t endpoint,
                                                   const clients::WireRequest& req,
                                                   clients::WireResponse& res,
                                                   std::chrono::nanoseconds timeout,
                                                   bool resend_on_stale,
                                                   const clients::WireEdits& edits) override {
    Sent s{endpoint,
           timeout,
           std::string(edits.target.empty() ? req.target : edits.target),
           {},
           resend_on_stale};
    for (const auto& f : edits.fields)
      s.fields[std::string(f.name)] = std::string(f.value);
    sent.push_back(std::move(s));
    Answer a = otherwise_.value_or(Answer{});
    if (auto& q = answers_[endpoint]; !q.empty()) {
      a = std::move(q.front());
      q.pop_front();
    }
    clock_.advance(a.latency);
    res.clear();
    if (a.error == clients::SendError::none) {
      res.status = a.status;
      res.body = a.body;
      for (const auto& [name, value] : a.fields)
        res.fields.add(name, value);
    }
    co_return clients::SendResult{a.error, false};
  }

  boost::asio::awaitable<void> sleep(std::chrono::nanoseconds d) override {
    slept.push_back(d);
    clock_.advance(d);
    co_return;
  }

  std::vector<Sent> sent;
  std::vector<std::chrono::nanoseconds> slept;

 private:
  FakeClock& clock_;
  std::map<size_t, std::deque<Answer>> answers_;
  std::optional<Answer> otherwise_;
};

}  // namespace medgate::testing
