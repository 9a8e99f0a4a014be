#include "api/http/https_client.h"

#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <charconv>
#include <memory>
#include <optional>

#include "registry/base/strings.h"

namespace idnode::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

absl::StatusOr<Url> ParseUrl(std::string_view text, std::string_view field) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(StrCat(field, ": \"", text, "\" ", why));
  };
  Url url;
  std::string_view rest;
  if (text.substr(0, 8) == "https://") {
    rest = text.substr(8);
  } else if (text.substr(0, 7) == "http://") {
    url.tls = false;
    url.port = 80;
    rest = text.substr(7);
  } else {
    return bad("must start with https://");
  }
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) url.target = std::string(rest.substr(slash));
  if (authority.find('@') != std::string_view::npos) return bad("must not carry credentials");
  const size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos) {
    std::string_view port = authority.substr(colon + 1);
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return bad("has a bad port");
    }
    url.port = static_cast<uint16_t>(value);
    authority = authority.substr(0, colon);
  }
  if (authority.empty()) return bad("has no host");
  for (char c : authority) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-';
    if (!ok) return bad("has a host that is not a DNS name or an IPv4 address");
  }
  url.host = std::string(authority);
  if (!url.tls) {
    boost::system::error_code ec;
    auto address = asio::ip::make_address_v4(url.host, ec);
    if (url.host != "localhost" && (ec || !address.is_loopback())) {
      return bad("uses plain http to a non-loopback host; use https://");
    }
  }
  return url;
}

namespace {

// One exchange, driven by callbacks on a private io_context that the caller runs for at most the
// timeout. Every step records where it failed.
class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(asio::io_context& io, ssl::context* tls, const Url& url,
           bhttp::request<bhttp::string_body> request)
      : resolver_(io), url_(url), request_(std::move(request)) {
    if (tls != nullptr) {
      tls_stream_.emplace(io, *tls);
    } else {
      plain_.emplace(io);
    }
  }

  void Run() {
    resolver_.async_resolve(
        url_.host, std::to_string(url_.port),
        [self = shared_from_this()](beast::error_code ec, tcp::resolver::results_type results) {
          if (ec) return self->Fail("resolving the host", ec);
          self->Connect(results);
        });
  }

  const std::optional<absl::StatusOr<HttpResult>>& result() const { return result_; }

 private:
  beast::tcp_stream& Tcp() { return tls_stream_ ? beast::get_lowest_layer(*tls_stream_) : *plain_; }

  void Connect(const tcp::resolver::results_type& results) {
    Tcp().async_connect(results,
                        [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
                          if (ec) return self->Fail("connecting", ec);
                          if (!self->tls_stream_) return self->Write();
                          self->Handshake();
                        });
  }

  void Handshake() {
    boost::system::error_code not_ip;
    asio::ip::make_address(url_.host, not_ip);
    if (not_ip) SSL_set_tlsext_host_name(tls_stream_->native_handle(), url_.host.c_str());
    tls_stream_->set_verify_mode(ssl::verify_peer);
    tls_stream_->set_verify_callback(ssl::host_name_verification(url_.host));
    tls_stream_->async_handshake(ssl::stream_base::client,
                                 [self = shared_from_this()](beast::error_code ec) {
                                   if (ec) return self->Fail("the TLS handshake", ec);
                                   self->Write();
                                 });
  }

  void Write() {
    auto on_write = [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->Fail("sending the request", ec);
      self->Read();
    };
    if (tls_stream_) {
      bhttp::async_write(*tls_stream_, request_, on_write);
    } else {
      bhttp::async_write(*plain_, request_, on_write);
    }
  }

  void Read() {
    parser_.body_limit(1 << 20);
    auto on_read = [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->Fail("reading the reply", ec);
      HttpResult out;
      out.status = self->parser_.get().result_int();
      out.body = self->parser_.get().body();
      self->result_ = std::move(out);
    };
    if (tls_stream_) {
      bhttp::async_read(*tls_stream_, buffer_, parser_, on_read);
    } else {
      bhttp::async_read(*plain_, buffer_, parser_, on_read);
    }
  }

  void Fail(std::string_view step, const beast::error_code& ec) {
    result_ =
        absl::UnavailableError(StrCat(step, " (", url_.host, ":", url_.port, "): ", ec.message()));
  }

  tcp::resolver resolver_;
  const Url url_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_stream_;
  std::optional<beast::tcp_stream> plain_;
  bhttp::request<bhttp::string_body> request_;
  beast::flat_buffer buffer_;
  bhttp::response_parser<bhttp::string_body> parser_;
  std::optional<absl::StatusOr<HttpResult>> result_;
};

}  // namespace

absl::StatusOr<HttpResult> Post(const Url& url, std::string_view content_type, std::string body,
                                const PostOptions& options) {
  std::optional<ssl::context> tls;
  if (url.tls) {
    tls.emplace(ssl::context::tls_client);
    tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    boost::system::error_code ec;
    if (options.ca_file.empty()) {
      tls->set_default_verify_paths(ec);
    } else {
      tls->load_verify_file(options.ca_file, ec);
    }
    if (ec) {
      return absl::FailedPreconditionError(
          StrCat("loading the CA certificates ", options.ca_file, ": ", ec.message()));
    }
  }
  bhttp::request<bhttp::string_body> request{bhttp::verb::post, url.target, 11};
  request.set(bhttp::field::host, url.host);
  request.set(bhttp::field::user_agent, "idnode");
  request.set(bhttp::field::content_type, std::string(content_type));
  for (const auto& [name, value] : options.headers) request.set(name, value);
  request.body() = std::move(body);
  request.keep_alive(false);
  request.prepare_payload();

  asio::io_context io(1);
  auto exchange = std::make_shared<Exchange>(io, tls ? &*tls : nullptr, url, std::move(request));
  exchange->Run();
  io.run_for(options.timeout);
  if (!exchange->result()) {
    return absl::DeadlineExceededError(StrCat("no reply from ", url.host, ":", url.port, " within ",
                                              options.timeout.count(), " ms"));
  }
  return *exchange->result();
}

}  // namespace idnode::http
