// A TCP socket with one deadline that is cheap to move.
//
// beast::tcp_stream arms and cancels a timer around every read and every write. A proxied
// request does four of those (client read and write, upstream write and read), and the
// timer traffic was ~13 % of the gateway's CPU in callgrind. Here moving the deadline is a
// store; the timer is armed only when no earlier expiry is pending. When it fires it looks
// at the current deadline: past -> the socket is closed (pending operations complete with
// an error and `timed_out()` says why); still ahead -> it re-arms for it. A connection in
// steady traffic therefore touches its timer about once per timeout period, not per I/O.
#pragma once

#include <chrono>
#include <memory>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "clients/draining_read.hpp"

namespace medgate::clients {

class DeadlineStream {
 public:
  using executor_type = boost::asio::any_io_executor;
  using Clock = std::chrono::steady_clock;

 private:
  struct State {
    explicit State(boost::asio::ip::tcp::socket s)
        : socket(std::move(s)), timer(socket.get_executor()) {}
    boost::asio::ip::tcp::socket socket;
    boost::asio::steady_timer timer;
    Clock::time_point deadline = Clock::time_point::max();
    Clock::time_point armed_until = Clock::time_point::max();  // max: no wait pending
    bool timed_out = false;
  };

 public:
  explicit DeadlineStream(const executor_type& executor);
  explicit DeadlineStream(boost::asio::ip::tcp::socket socket);
  ~DeadlineStream();  // closes the socket
  DeadlineStream(const DeadlineStream&) = delete;
  DeadlineStream& operator=(const DeadlineStream&) = delete;

  [[nodiscard]] executor_type get_executor() noexcept { return state_->socket.get_executor(); }
  [[nodiscard]] boost::asio::ip::tcp::socket& socket() noexcept { return state_->socket; }
  // For a layer on top (asio::ssl::stream<DeadlineStream>), which names the lowest layer.
  using lowest_layer_type = boost::asio::ip::tcp::socket;
  [[nodiscard]] lowest_layer_type& lowest_layer() noexcept { return state_->socket; }

  // The socket is closed if an operation is still running (or the connection is idle) at
  // this time. Applies to everything that follows until moved again.
  void expires_at(Clock::time_point deadline);
  void expires_after(Clock::duration d) { expires_at(Clock::now() + d); }
  void expires_never();

  // The deadline passed and the socket was closed because of it.
  [[nodiscard]] bool timed_out() const noexcept { return state_->timed_out; }

  // Sends what the socket takes now without waiting (would_block when nothing).
  template <typename ConstBuffers>
  size_t try_send(const ConstBuffers& buffers, boost::system::error_code& ec) {
    auto& socket = state_->socket;
    if (!socket.non_blocking()) {
      socket.non_blocking(true, ec);
      if (ec)
        return 0;
    }
    return socket.send(buffers, 0, ec);
  }

  // AsyncReadStream / AsyncWriteStream, so Beast and Asio algorithms accept the stream.
  // Reads skip the speculative recv() after a read that drained the socket
  // (clients/draining_read.hpp). Hence a read that continues after a short read must
  // re-arm first (socket().async_wait(wait_read)): a FIN or RST that came with the last
  // bytes raises no new edge. clients/read_http does this; use it for HTTP messages.
  template <typename MutableBuffers, typename Token>
  decltype(auto) async_read_some(const MutableBuffers& buffers, Token&& token) {
#if MEDGATE_DRAINING_READ
    return state_->socket.async_read_some(first_draining_buffer(buffers),
                                          std::forward<Token>(token));
#else
    return state_->socket.async_read_some(buffers, std::forward<Token>(token));
#endif
  }
  template <typename ConstBuffers, typename Token>
  decltype(auto) async_write_some(const ConstBuffers& buffers, Token&& token) {
    return state_->socket.async_write_some(buffers, std::forward<Token>(token));
  }

 private:
  static void arm(const std::shared_ptr<State>& state, Clock::time_point at);
  static void on_timer(const std::shared_ptr<State>& state);

  // Shared with the pending timer handler, which may run after this object is gone.
  std::shared_ptr<State> state_;
};

}  // namespace medgate::clients
