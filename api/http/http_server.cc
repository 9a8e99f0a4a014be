#include "api/http/http_server.h"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <exception>
#include <list>
#include <optional>
#include <thread>
#include <unordered_map>

#include "registry/base/exception_guard.h"
#include "registry/base/status_macros.h"
#include "registry/base/strings.h"
#include "registry/base/thread_name.h"
#include "registry/base/utf8.h"
#include "registry/identifier/identifier.h"
#include "resolver/net/asio_endpoint.h"

namespace idnode::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

absl::StatusOr<std::string> PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%') {
      const bool whole = i + 2 < text.size();
      const int high = whole ? HexDigit(text[i + 1]) : -1;
      const int low = whole ? HexDigit(text[i + 2]) : -1;
      if (high < 0 || low < 0) {
        return absl::InvalidArgumentError(
            StrCat("malformed percent escape at offset ", i, " of \"", EscapeForLog(text), "\""));
      }
      out += static_cast<char>(high * 16 + low);
      i += 2;
    } else if (text[i] == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace

const std::string* Request::Param(std::string_view name) const {
  auto it = query.find(name);
  return it == query.end() ? nullptr : &it->second;
}

Response Response::Text(unsigned status, std::string body) {
  return Response{status, "text/plain; charset=utf-8", std::move(body)};
}

Response Response::Json(unsigned status, std::string body) {
  return Response{status, "application/json", std::move(body)};
}

absl::StatusOr<Request> ParseTarget(std::string_view method, std::string_view target) {
  Request request;
  request.method = std::string(method);
  const size_t question = target.find('?');
  auto path = PercentDecode(target.substr(0, question), false);
  if (!path.ok()) return path.status();
  RETURN_IF_ERROR(identifier::ValidatePrintableUtf8(*path, "path"));
  request.path = *std::move(path);
  if (question == std::string_view::npos) return request;
  std::string_view rest = target.substr(question + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t equals = pair.find('=');
    auto key = PercentDecode(pair.substr(0, equals), true);
    if (!key.ok()) return key.status();
    auto value = PercentDecode(
        equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1), true);
    if (!value.ok()) return value.status();
    RETURN_IF_ERROR(identifier::ValidatePrintableUtf8(*key, "query parameter name"));
    RETURN_IF_ERROR(identifier::ValidatePrintableUtf8(*value, StrCat("query parameter ", *key)));
    request.query[*std::move(key)] = *std::move(value);
  }
  return request;
}

namespace {
class Session;
}

// Everything below runs on the server's one thread (the io_context's), so the connection list and
// the per-source counts need no lock; the counters are atomic for stats() from other threads.
struct HttpServer::Impl {
  HttpOptions options;
  Handler handler;
  std::unique_ptr<asio::io_context> io = std::make_unique<asio::io_context>(1);
  std::optional<tcp::acceptor> acceptor;
  std::thread thread;
  int port = 0;
  // Connections that hold a place, least recently active first (accepted, or a request answered);
  // those closing (lingering for the client's last bytes) are moved to the front.
  std::list<Session*> sessions;
  std::unordered_map<std::string, size_t> sources;  // places held per source (net::SourceKey)
  std::atomic<uint64_t> requests{0}, refused{0}, rejected{0}, evicted{0}, timeouts{0};
  std::atomic<uint64_t> open{0};  // sessions.size(), for stats()
  ExceptionGuard guard{"http"};

  void Accept();
  void Admit(tcp::socket socket);
  // The least recently active connection from `source` (or, with an empty `source`, from any
  // source holding at least `weight` places), or null.
  Session* GiveWay(const std::string& source, size_t weight);
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::string source, HttpServer::Impl& server)
      : stream_(std::move(socket)), source_(std::move(source)), server_(server) {
    ++server_.sources[source_];
    place_ = server_.sessions.insert(server_.sessions.end(), this);
    server_.open.fetch_add(1, std::memory_order_relaxed);
  }
  ~Session() { Unlist(); }

  const std::string& source() const { return source_; }

  void Read() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server_.options.max_header_bytes));
    parser_->body_limit(0);
    // One deadline for the whole request, however slowly its bytes come.
    stream_.expires_after(server_.options.timeout);
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  // Gives this connection's place to a newcomer: closed at once, its pending operations end.
  void Evict() {
    Unlist();
    beast::error_code ignored;
    stream_.socket().close(ignored);
  }

 private:
  // Gives up the place (once).
  void Unlist() {
    if (!listed_) return;
    listed_ = false;
    server_.sessions.erase(place_);
    server_.open.fetch_sub(1, std::memory_order_relaxed);
    auto it = server_.sources.find(source_);
    if (it != server_.sources.end() && --it->second == 0) server_.sources.erase(it);
  }

  void Touch() {
    if (listed_) server_.sessions.splice(server_.sessions.end(), server_.sessions, place_);
  }

  void OnRead(beast::error_code ec) {
    if (ec == beast::error::timeout && parser_->got_some()) {
      server_.timeouts.fetch_add(1, std::memory_order_relaxed);
    }
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        !stream_.socket().is_open()) {
      return Close();
    }
    if (ec) {
      // The bytes were not an HTTP request we accept (bad syntax, header or body too large).
      server_.refused.fetch_add(1, std::memory_order_relaxed);
      return Reply(Response::Text(400, StrCat("bad request: ", ec.message(), "\n")), false, false);
    }
    const auto& message = parser_->get();
    const bool head = message.method() == bhttp::verb::head;
    if (message.method() != bhttp::verb::get && !head) {
      server_.refused.fetch_add(1, std::memory_order_relaxed);
      Response response = Response::Text(405, "only GET and HEAD are served\n");
      return Reply(std::move(response), false, message.keep_alive());
    }
    auto request = ParseTarget(
        std::string_view(message.method_string().data(), message.method_string().size()),
        std::string_view(message.target().data(), message.target().size()));
    if (!request.ok()) {
      server_.refused.fetch_add(1, std::memory_order_relaxed);
      return Reply(Response::Text(400, StrCat(ToStd(request.status().message()), "\n")), head,
                   message.keep_alive());
    }
    Response response;
    try {
      response = server_.handler(*request);
    } catch (const std::exception& e) {
      server_.guard.Record(StrCat("answering ", request->method, " ", request->path), e.what());
      response = Response::Text(500, "internal error\n");
    } catch (...) {
      server_.guard.Record(StrCat("answering ", request->method, " ", request->path),
                           ExceptionGuard::kNotStd);
      response = Response::Text(500, "internal error\n");
    }
    server_.requests.fetch_add(1, std::memory_order_relaxed);
    Touch();
    Reply(std::move(response), head, message.keep_alive());
  }

  void Reply(Response response, bool head, bool keep_alive) {
    response_.emplace();
    response_->result(response.status);
    response_->version(11);
    response_->set(bhttp::field::server, "idnode");
    response_->set(bhttp::field::content_type, response.content_type);
    response_->set(bhttp::field::cache_control, "no-store");
    if (response.status == 405) response_->set(bhttp::field::allow, "GET, HEAD");
    response_->keep_alive(keep_alive);
    const size_t length = response.body.size();
    if (!head) response_->body() = std::move(response.body);
    response_->content_length(length);
    stream_.expires_after(server_.options.timeout);
    bhttp::async_write(stream_, *response_,
                       [self = shared_from_this(), keep_alive](beast::error_code ec, size_t) {
                         if (ec || !keep_alive) return self->Close();
                         self->Read();
                       });
  }

  // Ends the connection gracefully: no more sending, then read and discard what the client still
  // sends until it closes (or the timeout), so that a reply to a refused request is not lost to a
  // reset caused by unread bytes.
  void Close() {
    // Lingering: the first to give way.
    if (listed_) server_.sessions.splice(server_.sessions.begin(), server_.sessions, place_);
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(kLinger);
    Drain();
  }

  void Drain() {
    stream_.async_read_some(asio::buffer(discard_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->stream_.close();
                              self->Drain();
                            });
  }

  static constexpr std::chrono::seconds kLinger{2};
  std::array<char, 4096> discard_;

  beast::tcp_stream stream_;
  std::string source_;
  HttpServer::Impl& server_;
  std::list<Session*>::iterator place_;
  bool listed_ = true;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::empty_body>> parser_;
  std::optional<bhttp::response<bhttp::string_body>> response_;
};

}  // namespace

Session* HttpServer::Impl::GiveWay(const std::string& source, size_t weight) {
  if (!source.empty()) {
    for (Session* session : sessions) {
      if (session->source() == source) return session;
    }
    return nullptr;
  }
  // Sources strictly heavier than the newcomer's first, as the Handle TCP front end does.
  for (const size_t need : {weight + 1, weight}) {
    for (Session* session : sessions) {
      if (sources[session->source()] >= need) return session;
    }
  }
  return nullptr;
}

void HttpServer::Impl::Admit(tcp::socket socket) {
  beast::error_code ignored;
  std::string source = net::SourceKey(socket.remote_endpoint(ignored).address());
  auto held = sources.find(source);
  const size_t weight = (held == sources.end() ? 0 : held->second) + 1;  // with the newcomer
  Session* victim = nullptr;
  if (weight > options.max_per_source) {
    victim = GiveWay(source, 0);
  } else if (sessions.size() >= options.max_connections) {
    victim = GiveWay("", weight);
    if (victim == nullptr) {
      rejected.fetch_add(1, std::memory_order_relaxed);
      socket.close(ignored);
      return;
    }
  }
  if (victim != nullptr) {
    evicted.fetch_add(1, std::memory_order_relaxed);
    victim->Evict();
  }
  std::make_shared<Session>(std::move(socket), std::move(source), *this)->Read();
}

void HttpServer::Impl::Accept() {
  acceptor->async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) Admit(std::move(socket));
    Accept();
  });
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Bind(const HttpOptions& options,
                                                             Handler handler) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->handler = std::move(handler);
  impl->acceptor.emplace(*impl->io);
  if (beast::error_code ec = net::Listen(*impl->acceptor, options.listen)) {
    return absl::UnavailableError(
        StrCat("http.listen: cannot listen on ", options.listen.ToString(), ": ", ec.message()));
  }
  impl->port = impl->acceptor->local_endpoint().port();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Start() {
  impl_->Accept();
  impl_->thread = std::thread([impl = impl_.get()] {
    // An exception out of a handler unwinds run(); the server goes on with the next one.
    while (!impl->guard.Run("serving", [impl] { impl->io->run(); })) {
    }
  });
  NameThread(impl_->thread, "http");
}

void HttpServer::Stop() {
  if (impl_->io == nullptr) return;
  impl_->io->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->acceptor.reset();
  impl_->io.reset();  // destroys the pending handlers and with them every open connection
}

int HttpServer::port() const { return impl_->port; }

const ExceptionGuard& HttpServer::guard() const { return impl_->guard; }

HttpStats HttpServer::stats() const {
  return HttpStats{impl_->requests.load(std::memory_order_relaxed),
                   impl_->refused.load(std::memory_order_relaxed),
                   impl_->rejected.load(std::memory_order_relaxed),
                   impl_->evicted.load(std::memory_order_relaxed),
                   impl_->timeouts.load(std::memory_order_relaxed),
                   impl_->open.load(std::memory_order_relaxed)};
}

}  // namespace idnode::http
