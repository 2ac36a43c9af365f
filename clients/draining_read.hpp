// A socket read that tells Asio's reactor when it has drained the socket.
//
// Asio 1.81's epoll reactor reads speculatively: every async_read_some first calls recv()
// and only waits for readiness when that returns EAGAIN. It stops trying (the descriptor's
// `try_speculative_` flag) only after a read returned end-of-file. In a proxy the next read
// on a socket almost always comes right after a short read that emptied it (the client or
// upstream has not answered yet), so that first recv() is a wasted system call: 1.6 per
// proxied request, on a VM where system calls are most of the CPU.
//
// A short stream read (fewer bytes than the buffer holds) means the kernel had no more
// data at that moment. Reporting it to the reactor as `done_and_exhausted` makes the next
// read wait for epoll directly. No wake-up is lost: the reactor registers sockets
// edge-triggered, data arriving after the recv() raises a new edge, and the reactor sets
// the flag back under the same descriptor lock that this read runs under.
//
// Mechanism: reading into a `DrainingBuffer` selects our specialisation of Asio's
// receive-operation base below, whose perform step differs from the stock one only in that
// report. Everything else (handler allocation, work tracking, cancellation, completion)
// stays Asio's own. The specialisation relies on Asio's internal op layout, hence the
// version check: on an upgrade, re-read `detail/reactive_socket_recv_op.hpp` and
// `detail/impl/epoll_reactor.ipp::start_op`. `tests/unit/draining_read_test.cpp` counts the
// recv() calls, so a silent loss of the effect fails a test.
//
// Built only with MEDGATE_DRAINING_READ (CMake turns it on for Boost 1.81); without it,
// DeadlineStream reads through the stock operation and this header declares nothing.
#pragma once
#if MEDGATE_DRAINING_READ

#include <cstddef>

#include <boost/asio/buffer.hpp>
#include <boost/asio/detail/reactive_socket_recv_op.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#include <boost/asio/detail/socket_ops.hpp>
#include <boost/asio/error.hpp>
#include <boost/version.hpp>

static_assert(BOOST_VERSION / 100 == 1081,
              "clients/draining_read.hpp specialises an Asio 1.81 internal: re-check it");

namespace medgate::clients {

// One contiguous buffer for a stream socket read; see the file comment.
struct DrainingBuffer : boost::asio::mutable_buffer {
  explicit DrainingBuffer(boost::asio::mutable_buffer b) : boost::asio::mutable_buffer(b) {}
};

// The first non-empty buffer of a sequence (a read_some may fill just that one).
template <typename MutableBuffers>
DrainingBuffer first_draining_buffer(const MutableBuffers& buffers) {
  const auto end = boost::asio::buffer_sequence_end(buffers);
  for (auto it = boost::asio::buffer_sequence_begin(buffers); it != end; ++it) {
    const boost::asio::mutable_buffer b(*it);
    if (b.size() != 0)
      return DrainingBuffer(b);
  }
  return DrainingBuffer(boost::asio::mutable_buffer());
}

}  // namespace medgate::clients

namespace boost::asio::detail {

template <>
class reactive_socket_recv_op_base<medgate::clients::DrainingBuffer> : public reactor_op {
 public:
  reactive_socket_recv_op_base(const boost::system::error_code& success_ec, socket_type socket,
                               socket_ops::state_type state,
                               const medgate::clients::DrainingBuffer& buffer,
                               socket_base::message_flags flags, func_type complete_func)
      : reactor_op(success_ec, &reactive_socket_recv_op_base::do_perform, complete_func),
        socket_(socket),
        state_(state),
        buffer_(buffer),
        flags_(flags) {}

  static status do_perform(reactor_op* base) {
    auto* o = static_cast<reactive_socket_recv_op_base*>(base);
    const bool stream = (o->state_ & socket_ops::stream_oriented) != 0;
    if (!socket_ops::non_blocking_recv1(o->socket_, o->buffer_.data(), o->buffer_.size(), o->flags_,
                                        stream, o->ec_, o->bytes_transferred_))
      return not_done;  // EAGAIN: the reactor waits for readiness
    if (!stream)
      return done;
    // End of file (as stock Asio), or a short read: nothing more is buffered right now.
    if (o->ec_ == boost::asio::error::eof || (!o->ec_ && o->bytes_transferred_ < o->buffer_.size()))
      return done_and_exhausted;
    return done;
  }

 private:
  socket_type socket_;
  socket_ops::state_type state_;
  boost::asio::mutable_buffer buffer_;
  socket_base::message_flags flags_;
};

}  // namespace boost::asio::detail

#endif  // MEDGATE_DRAINING_READ
