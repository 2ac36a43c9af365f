#include "clients/deadline_stream.hpp"

#include <boost/asio/error.hpp>

namespace medgate::clients {

namespace asio = boost::asio;

DeadlineStream::DeadlineStream(const executor_type& executor)
    : state_(std::make_shared<State>(asio::ip::tcp::socket(executor))) {}

DeadlineStream::DeadlineStream(asio::ip::tcp::socket socket)
    : state_(std::make_shared<State>(std::move(socket))) {}

DeadlineStream::~DeadlineStream() {
  boost::system::error_code ignored;
  state_->socket.close(ignored);
  state_->timer.cancel();
}

void DeadlineStream::expires_at(Clock::time_point deadline) {
  state_->deadline = deadline;
  // A pending wait that fires no later than the new deadline re-arms itself when it fires.
  if (deadline < state_->armed_until)
    arm(state_, deadline);
}

void DeadlineStream::expires_never() {
  state_->deadline = Clock::time_point::max();  // the pending wait, if any, disarms itself
}

void DeadlineStream::arm(const std::shared_ptr<State>& state, Clock::time_point at) {
  state->armed_until = at;
  state->timer.expires_at(at);  // cancels the wait it replaces
  state->timer.async_wait([state](const boost::system::error_code& ec) {
    if (ec == asio::error::operation_aborted)
      return;  // replaced by a newer wait, or the stream is gone
    on_timer(state);
  });
}

void DeadlineStream::on_timer(const std::shared_ptr<State>& state) {
  state->armed_until = Clock::time_point::max();
  if (state->deadline == Clock::time_point::max())
    return;
  if (Clock::now() >= state->deadline) {
    state->timed_out = true;
    boost::system::error_code ignored;
    state->socket.close(ignored);
    return;
  }
  arm(state, state->deadline);
}

}  // namespace medgate::clients
