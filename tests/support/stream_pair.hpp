// A connected loopback TCP pair for client-side I/O tests: a DeadlineStream on one end, a
// plain socket (`peer`) on the other, both on one io_context the test runs itself.
#pragma once

#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "clients/deadline_stream.hpp"

namespace medgate::testing {

struct StreamPair {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket peer{io};
  std::unique_ptr<clients::DeadlineStream> stream;

  StreamPair() {
    using tcp = boost::asio::ip::tcp;
    tcp::acceptor acceptor(io, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    tcp::socket client(io);
    client.connect(acceptor.local_endpoint());
    peer = acceptor.accept();
    stream = std::make_unique<clients::DeadlineStream>(std::move(client));
  }
};

}  // namespace medgate::testing
