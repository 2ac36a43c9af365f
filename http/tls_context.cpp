#include "http/tls_context.hpp"

#include <stdexcept>

namespace medgate::httpd {

namespace ssl = boost::asio::ssl;

TlsContextSource::TlsContextSource(std::string cert_file, std::string key_file,
                                   std::chrono::milliseconds check_every, Log log)
    : cert_file_(std::move(cert_file)),
      key_file_(std::move(key_file)),
      check_every_(check_every),
      log_(std::move(log)) {
  loaded_stamps_ = stamps();
  ctx_ = load();
  next_check_ = std::chrono::steady_clock::now() + check_every_;
}

std::pair<std::filesystem::file_time_type, std::filesystem::file_time_type>
TlsContextSource::stamps() const {
  std::error_code a, b;
  return {std::filesystem::last_write_time(cert_file_, a),
          std::filesystem::last_write_time(key_file_, b)};
}

std::shared_ptr<ssl::context> TlsContextSource::load() const {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  // Modern versions only: no SSLv2/3, TLS 1.0 or 1.1; no renegotiation, no compression.
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::no_compression | ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  SSL_CTX_set_options(ctx->native_handle(), SSL_OP_NO_RENEGOTIATION);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(cert_file_, ec);
  if (ec)
    throw std::runtime_error("TLS certificate " + cert_file_ + ": " + ec.message());
  ctx->use_private_key_file(key_file_, ssl::context::pem, ec);
  if (ec)
    throw std::runtime_error("TLS key " + key_file_ + ": " + ec.message());
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
    throw std::runtime_error("TLS key " + key_file_ + " does not match " + cert_file_);
  return ctx;
}

std::shared_ptr<ssl::context> TlsContextSource::current() {
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (now < next_check_)
    return ctx_;
  next_check_ = now + check_every_;
  const auto s = stamps();
  if (s == loaded_stamps_)
    return ctx_;
  loaded_stamps_ = s;  // a bad pair is reported once, not at every check
  try {
    ctx_ = load();
    log_("TLS certificate and key reloaded from " + cert_file_);
  } catch (const std::exception& e) {
    log_(std::string("TLS reload refused, the previous certificate stays: ") + e.what());
  }
  return ctx_;
}

}  // namespace medgate::httpd
