#include "resolver/client/handle_client.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <random>

#include "registry/base/strings.h"

namespace idnode::client {
namespace {

using Clock = std::chrono::steady_clock;

int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

absl::Status WireStatus(std::string_view what, wire::WireError error) {
  return absl::InvalidArgumentError(StrCat(what, ": ", wire::WireErrorMessage(error)));
}

}  // namespace

std::string_view TransportName(Transport transport) {
  return transport == Transport::kUdp ? "udp" : "tcp";
}

void EncodeRequest(const HandleRequest& request, uint32_t request_id, std::string& out) {
  wire::Envelope envelope;
  envelope.request_id = request_id;
  wire::Header header;
  header.opcode = request.opcode;
  header.flags = request.flags;
  header.recursion_count = request.recursion_count;
  header.expiration = request.expiration;
  wire::ReplyWriter writer(out, envelope, header);
  if (request.opcode == wire::opcode::kResolution) {
    std::vector<std::string_view> types(request.types.begin(), request.types.end());
    wire::EncodeResolutionRequest(request.handle, request.indexes, types, writer.body());
  } else {
    wire::AppendString(request.handle, writer.body());
  }
  writer.Finish();
}

absl::StatusOr<HandleReply> DecodeReply(std::string_view whole, uint32_t opcode) {
  HandleReply reply;
  std::string_view body;
  wire::WireError error = wire::DecodeMessage(whole, reply.envelope, reply.header, body);
  if (error != wire::WireError::kOk) return WireStatus("reply", error);
  if ((reply.header.flags & wire::op_flag::kRequestDigest) != 0) {
    error = wire::SkipRequestDigest(reply.envelope.major, reply.envelope.minor, body);
    if (error != wire::WireError::kOk) return WireStatus("reply digest", error);
  }
  const bool referral = reply.header.response_code == wire::rc::kServiceReferral ||
                        reply.header.response_code == wire::rc::kPrefixReferral;
  if (reply.header.response_code != wire::rc::kSuccess && !referral) {
    std::string_view message;
    error = wire::DecodeErrorMessage(body, message);
    if (error != wire::WireError::kOk) return WireStatus("error reply", error);
    reply.message = message;
    return reply;
  }
  if (opcode == wire::opcode::kGetSiteInfo && !referral) {
    error = wire::DecodeSiteInfo(body, reply.site);
    if (error != wire::WireError::kOk) return WireStatus("site info", error);
    return reply;
  }
  std::string_view handle, values;
  error = wire::DecodeResolutionReply(body, handle, values);
  if (error != wire::WireError::kOk) {
    return WireStatus(referral ? "referral" : "resolution reply", error);
  }
  reply.handle = handle;
  auto decoded = identifier::DecodeValueList(values);
  if (!decoded.ok()) {
    return absl::InvalidArgumentError(
        StrCat(referral ? "referral values: " : "resolution reply values: ",
               ToStd(decoded.status().message())));
  }
  reply.values = std::move(*decoded);
  return reply;
}

absl::StatusOr<HandleConnection> HandleConnection::Open(Transport transport,
                                                        const net::Endpoint& server,
                                                        std::chrono::milliseconds timeout,
                                                        uint32_t source) {
  const int type = transport == Transport::kUdp ? SOCK_DGRAM : SOCK_STREAM;
  int fd = socket(server.family(), type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return absl::InternalError(StrCat("socket: ", strerror(errno)));
  HandleConnection connection(transport, fd);
  if (source != 0) {
    sockaddr_storage local;
    const socklen_t local_length = net::Endpoint{source, 0}.ToSockaddr(local);
    if (bind(fd, reinterpret_cast<const sockaddr*>(&local), local_length) != 0) {
      return absl::UnavailableError(
          StrCat("cannot bind to ", net::Endpoint{source, 0}.ToString(), ": ", strerror(errno)));
    }
  }
  sockaddr_storage address;
  const socklen_t address_length = server.ToSockaddr(address);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), address_length) != 0 &&
      errno != EINPROGRESS) {
    return absl::UnavailableError(
        StrCat("cannot connect to ", server.ToString(), ": ", strerror(errno)));
  }
  if (transport == Transport::kTcp) {
    pollfd p{fd, POLLOUT, 0};
    int error = 0;
    socklen_t length = sizeof error;
    if (poll(&p, 1, static_cast<int>(timeout.count())) != 1 ||
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0) {
      return absl::UnavailableError(StrCat("cannot connect to ", server.ToString(), " over TCP: ",
                                           error != 0 ? strerror(error) : "timed out"));
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  return connection;
}

HandleConnection::HandleConnection(HandleConnection&& other) noexcept
    : transport_(other.transport_), fd_(other.fd_), buffer_(std::move(other.buffer_)) {
  other.fd_ = -1;
}

HandleConnection& HandleConnection::operator=(HandleConnection&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    transport_ = other.transport_;
    fd_ = other.fd_;
    buffer_ = std::move(other.buffer_);
    other.fd_ = -1;
  }
  return *this;
}

HandleConnection::~HandleConnection() {
  if (fd_ >= 0) close(fd_);
}

absl::Status HandleConnection::Send(std::string_view whole) {
  if (transport_ == Transport::kUdp && whole.size() > wire::kUdpPacketBytes) {
    std::string scratch;
    absl::Status status;
    wire::SplitForUdp(whole, scratch, [&](std::string_view head, std::string_view slice) {
      std::string datagram(head);
      datagram.append(slice);
      if (send(fd_, datagram.data(), datagram.size(), 0) < 0 && status.ok()) {
        status = absl::UnavailableError(StrCat("send: ", strerror(errno)));
      }
    });
    return status;
  }
  if (transport_ == Transport::kUdp) {
    if (send(fd_, whole.data(), whole.size(), 0) < 0) {
      return absl::UnavailableError(StrCat("send: ", strerror(errno)));
    }
    return absl::OkStatus();
  }
  size_t sent = 0;
  while (sent < whole.size()) {
    ssize_t n = send(fd_, whole.data() + sent, whole.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        pollfd p{fd_, POLLOUT, 0};
        poll(&p, 1, 1000);
        continue;
      }
      return absl::UnavailableError(StrCat("send: ", strerror(errno)));
    }
    sent += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> HandleConnection::Receive(uint32_t request_id,
                                                      std::chrono::milliseconds timeout,
                                                      int* pieces) {
  const Clock::time_point deadline = Clock::now() + timeout;
  auto wait = [&]() -> absl::Status {
    pollfd p{fd_, POLLIN, 0};
    int ready = poll(&p, 1, RemainingMs(deadline));
    if (ready < 0 && errno != EINTR) return absl::InternalError(strerror(errno));
    if (ready == 0) {
      return absl::DeadlineExceededError(
          StrCat("no reply over ", TransportName(transport_), " within ", timeout.count(), " ms"));
    }
    return absl::OkStatus();
  };
  if (transport_ == Transport::kTcp) {
    for (;;) {
      wire::Envelope envelope;
      while (buffer_.size() >= wire::kEnvelopeBytes &&
             wire::DecodeEnvelope(buffer_, envelope) == wire::WireError::kOk &&
             buffer_.size() >= wire::kEnvelopeBytes + envelope.message_length) {
        std::string whole = buffer_.substr(0, wire::kEnvelopeBytes + envelope.message_length);
        buffer_.erase(0, whole.size());
        if (envelope.request_id == request_id) {
          if (pieces != nullptr) *pieces = 1;
          return whole;
        }
      }
      if (absl::Status ready = wait(); !ready.ok()) return ready;
      char chunk[65536];
      ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n <= 0) return absl::UnavailableError("the server closed the TCP connection");
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }
  std::map<uint32_t, std::string> slices;
  wire::Envelope first;
  size_t have = 0;
  for (;;) {
    if (absl::Status ready = wait(); !ready.ok()) return ready;
    char datagram[65536];
    ssize_t n = recv(fd_, datagram, sizeof datagram, 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      if (errno == ECONNREFUSED) return absl::UnavailableError("nothing listens on that UDP port");
      return absl::UnavailableError(StrCat("recv: ", strerror(errno)));
    }
    wire::Envelope envelope;
    std::string_view packet(datagram, static_cast<size_t>(n));
    if (wire::DecodeEnvelope(packet, envelope) != wire::WireError::kOk ||
        envelope.request_id != request_id || envelope.message_length > wire::kMaxMessageBytes) {
      continue;
    }
    if ((envelope.flags & wire::envelope_flag::kTruncated) == 0) {
      if (pieces != nullptr) *pieces = 1;
      return std::string(packet);
    }
    first = envelope;
    std::string slice(packet.substr(wire::kEnvelopeBytes));
    if (!slices.contains(envelope.sequence)) have += slice.size();
    slices[envelope.sequence] = std::move(slice);
    if (have >= envelope.message_length) break;
  }
  if (pieces != nullptr) *pieces = static_cast<int>(slices.size());
  first.flags &= static_cast<uint8_t>(~wire::envelope_flag::kTruncated);
  first.sequence = 0;
  std::string whole;
  wire::EncodeEnvelope(first, whole);
  for (auto& [sequence, slice] : slices) whole += slice;
  return whole;
}

absl::StatusOr<HandleReply> Query(Transport transport, const net::Endpoint& server,
                                  const HandleRequest& request, std::chrono::milliseconds timeout) {
  static thread_local std::mt19937 random(std::random_device{}());
  const uint32_t request_id = static_cast<uint32_t>(random()) & 0x7fffffff;
  std::string message;
  EncodeRequest(request, request_id, message);
  auto connection = HandleConnection::Open(transport, server, timeout);
  if (!connection.ok()) return connection.status();
  const Clock::time_point deadline = Clock::now() + timeout;
  const auto retry = transport == Transport::kUdp ? std::chrono::milliseconds(500) : timeout;
  for (;;) {
    if (absl::Status sent = connection->Send(message); !sent.ok()) return sent;
    auto wait = std::min<std::chrono::milliseconds>(
        retry, std::chrono::milliseconds(RemainingMs(deadline)));
    int pieces = 1;
    auto whole = connection->Receive(request_id, wait, &pieces);
    if (whole.ok()) {
      auto reply = DecodeReply(*whole, request.opcode);
      if (reply.ok()) reply->pieces = pieces;
      return reply;
    }
    if (!absl::IsDeadlineExceeded(whole.status()) || RemainingMs(deadline) == 0) {
      if (absl::IsDeadlineExceeded(whole.status())) {
        return absl::DeadlineExceededError(StrCat("no reply from ", server.ToString(), " over ",
                                                  TransportName(transport), " within ",
                                                  timeout.count(), " ms"));
      }
      return whole.status();
    }
  }
}

std::string ResponseCodeName(uint32_t code) {
  switch (code) {
    case wire::rc::kSuccess:
      return "SUCCESS";
    case wire::rc::kError:
      return "ERROR";
    case wire::rc::kServerTooBusy:
      return "SERVER_TOO_BUSY";
    case wire::rc::kProtocolError:
      return "PROTOCOL_ERROR";
    case wire::rc::kOperationNotSupported:
      return "OPERATION_NOT_SUPPORTED";
    case wire::rc::kRecursionCountTooHigh:
      return "RECURSION_COUNT_TOO_HIGH";
    case wire::rc::kHandleNotFound:
      return "HANDLE_NOT_FOUND";
    case wire::rc::kHandleAlreadyExists:
      return "HANDLE_ALREADY_EXISTS";
    case wire::rc::kInvalidHandle:
      return "INVALID_HANDLE";
    case wire::rc::kValuesNotFound:
      return "VALUES_NOT_FOUND";
    case wire::rc::kServerNotResponsible:
      return "SERVER_NOT_RESPONSIBLE";
    case wire::rc::kServiceReferral:
      return "SERVICE_REFERRAL";
    case wire::rc::kPrefixReferral:
      return "PREFIX_REFERRAL";
    default:
      return StrCat("RC_", code);
  }
}

}  // namespace idnode::client
