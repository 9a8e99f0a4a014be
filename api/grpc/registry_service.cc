#include <deque>
#include <mutex>

#include "api/grpc/auth.h"
#include "api/grpc/convert.h"
#include "api/grpc/services.h"
#include "registry/base/strings.h"
#include "registry/identifier/record.h"
#include "registry/writer/registry_ops.h"

namespace idnode::rpc {
namespace {

constexpr uint32_t kDefaultPageSize = 100;
constexpr uint32_t kMaxPageSize = 1000;
// Batches, and bytes of records, one stream may have queued for commit before it stops reading
// (back-pressure): a stream of large values waits for its commits instead of filling memory.
constexpr int kMaxBatchesInFlight = 4;
constexpr size_t kMaxBytesInFlight = size_t{32} << 20;

absl::StatusOr<writer::PreparedRecord> Prepare(const v1::CreateRequest& request,
                                               const identifier::IdentifierOptions& options) {
  auto values = FromProto(request.values(), "values");
  if (!values.ok()) return values.status();
  return writer::PrepareRecord(request.identifier(), *std::move(values), options);
}

absl::StatusOr<accounts::Principal> AuthenticateRegistrant(
    const ServiceEnv& env, const grpc::CallbackServerContext& context,
    const char* method = __builtin_FUNCTION()) {
  auto principal = AuthenticateCall(env, context, method);
  if (!principal.ok()) return principal;
  if (absl::Status s = RequireRole(*principal, accounts::Role::kRegistrant); !s.ok()) return s;
  return principal;
}

// Read access to an identifier's record: the prefix owner or an admin.
absl::Status AuthorizeRead(const store::ReadTxn& txn, const accounts::Principal& principal,
                           std::string_view prefix) {
  if (principal.role == accounts::Role::kAdmin) return absl::OkStatus();
  auto record = accounts::PrefixTable::Get(txn, prefix);
  if (!record.ok()) return record.status();
  if (!record->has_value()) {
    return absl::NotFoundError(StrCat("prefix ", prefix, " is not allocated on this node"));
  }
  if ((*record)->owner != principal.account) {
    return absl::PermissionDeniedError(
        StrCat("account ", principal.account, " may not read under prefix ", prefix));
  }
  return absl::OkStatus();
}

// BatchCreate: each request message becomes one CreateOp; up to kMaxBatchesInFlight are queued
// for commit at once, and each response is written after its batch is durable.
class BatchCreateReactor final
    : public grpc::ServerBidiReactor<v1::BatchCreateRequest, v1::BatchCreateResponse> {
 public:
  BatchCreateReactor(const ServiceEnv& env, grpc::CallbackServerContext* context)
      : env_(env), context_(context) {
    auto principal = AuthenticateRegistrant(env_, *context, "BatchCreate");
    if (!principal.ok()) {
      Finish(ToGrpc(principal.status()));
      return;
    }
    principal_ = *std::move(principal);
    std::lock_guard lock(mu_);
    reading_ = true;
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    std::unique_lock lock(mu_);
    reading_ = false;
    if (!ok || failed_) {
      reads_done_ = true;
      MaybeFinishLocked();
      return;
    }
    // Each batch is checked again, so a token revoked while a stream is open (or its account
    // disabled) stops the stream at its next batch.
    if (auto again = AuthenticateRegistrant(env_, *context_, "BatchCreate"); !again.ok()) {
      Fail(again.status());
      return;
    }
    std::vector<absl::StatusOr<writer::PreparedRecord>> items;
    items.reserve(request_.items_size());
    for (const v1::CreateRequest& item : request_.items()) {
      items.push_back(Prepare(item, env_.identifier_options));
    }
    uint64_t batch_id = request_.batch_id();
    const size_t bytes = writer::CreateOp::BytesOf(items);
    ++in_flight_;
    in_flight_bytes_ += bytes;
    lock.unlock();
    absl::Status submitted = env_.writer.Submit(std::make_unique<writer::CreateOp>(
        principal_, std::move(items),
        [this, batch_id, bytes](const absl::Status& store_status,
                                std::vector<writer::ItemOutcome>& outcomes) {
          OnCommitted(batch_id, bytes, store_status, outcomes);
        }));
    lock.lock();
    if (!submitted.ok()) {
      --in_flight_;
      in_flight_bytes_ -= bytes;
      Fail(submitted);
      return;
    }
    ReadMoreLocked();
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    writing_ = false;
    outbox_.pop_front();
    if (!ok) failed_ = true;
    if (!outbox_.empty() && !failed_) {
      writing_ = true;
      StartWrite(&outbox_.front());
    } else if (failed_) {
      outbox_.clear();
    }
    ReadMoreLocked();
    MaybeFinishLocked();
  }

  void OnCancel() override {
    std::lock_guard lock(mu_);
    failed_ = true;
    final_status_ = grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled");
  }

  void OnDone() override { delete this; }

 private:
  void OnCommitted(uint64_t batch_id, size_t bytes, const absl::Status& store_status,
                   const std::vector<writer::ItemOutcome>& outcomes) {
    std::lock_guard lock(mu_);
    --in_flight_;
    in_flight_bytes_ -= bytes;
    if (!store_status.ok()) {
      Fail(store_status);
      return;
    }
    if (failed_) {
      MaybeFinishLocked();
      return;
    }
    v1::BatchCreateResponse& response = outbox_.emplace_back();
    response.set_batch_id(batch_id);
    for (const writer::ItemOutcome& outcome : outcomes) {
      v1::ItemResult* result = response.add_results();
      result->set_code(static_cast<int>(outcome.status.code()));
      result->set_message(std::string(ToStd(outcome.status.message())));
      result->set_unchanged(outcome.unchanged);
    }
    if (!writing_) {
      writing_ = true;
      StartWrite(&outbox_.front());
    }
    ReadMoreLocked();
  }

  // Requires mu_.
  void ReadMoreLocked() {
    if (reading_ || reads_done_ || failed_) return;
    if (in_flight_ + static_cast<int>(outbox_.size()) >= kMaxBatchesInFlight) return;
    if (in_flight_bytes_ >= kMaxBytesInFlight) return;
    reading_ = true;
    StartRead(&request_);
  }

  // Requires mu_. Ends the stream with `status` once nothing is outstanding.
  void Fail(const absl::Status& status) {
    if (!failed_) final_status_ = ToGrpc(status);
    failed_ = true;
    MaybeFinishLocked();
  }

  // Requires mu_.
  void MaybeFinishLocked() {
    if (finished_ || reading_ || writing_ || in_flight_ > 0) return;
    if (!failed_ && (!reads_done_ || !outbox_.empty())) return;
    finished_ = true;
    Finish(final_status_);
  }

  const ServiceEnv& env_;
  grpc::CallbackServerContext* context_;
  accounts::Principal principal_;
  std::mutex mu_;
  v1::BatchCreateRequest request_;
  std::deque<v1::BatchCreateResponse> outbox_;
  int in_flight_ = 0;
  size_t in_flight_bytes_ = 0;
  bool reading_ = false;
  bool reads_done_ = false;
  bool writing_ = false;
  bool failed_ = false;
  bool finished_ = false;
  grpc::Status final_status_ = grpc::Status::OK;
};

}  // namespace

grpc::ServerUnaryReactor* RegistryService::Create(grpc::CallbackServerContext* context,
                                                  const v1::CreateRequest* request,
                                                  v1::CreateResponse* response) {
  auto* reactor = context->DefaultReactor();
  auto principal = AuthenticateRegistrant(env_, *context);
  if (!principal.ok()) {
    reactor->Finish(ToGrpc(principal.status()));
    return reactor;
  }
  auto prepared = Prepare(*request, env_.identifier_options);
  if (!prepared.ok()) {
    reactor->Finish(ToGrpc(prepared.status()));
    return reactor;
  }
  response->set_identifier(prepared->id.original());
  std::vector<absl::StatusOr<writer::PreparedRecord>> items;
  items.push_back(std::move(prepared));
  absl::Status submitted = env_.writer.Submit(std::make_unique<writer::CreateOp>(
      *std::move(principal), std::move(items),
      [reactor, response](const absl::Status& store_status,
                          std::vector<writer::ItemOutcome>& outcomes) {
        if (!store_status.ok()) return reactor->Finish(ToGrpc(store_status));
        response->set_unchanged(outcomes[0].unchanged);
        response->set_version(outcomes[0].version);
        reactor->Finish(ToGrpc(outcomes[0].status));
      }));
  if (!submitted.ok()) reactor->Finish(ToGrpc(submitted));
  return reactor;
}

grpc::ServerUnaryReactor* RegistryService::Get(grpc::CallbackServerContext* context,
                                               const v1::GetRequest* request,
                                               v1::Record* response) {
  auto* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpc([&]() -> absl::Status {
    auto principal = AuthenticateCall(env_, *context, "Get");
    if (!principal.ok()) return principal.status();
    auto id = identifier::Identifier::Parse(request->identifier(), env_.identifier_options);
    if (!id.ok()) return id.status();
    auto txn = env_.store.BeginRead();
    if (!txn.ok()) return txn.status();
    if (absl::Status s = AuthorizeRead(*txn, *principal, id->prefix()); !s.ok()) return s;
    auto found = identifier::IdentifierTable::Get(*txn, id->key());
    if (!found.ok()) return found.status();
    if (!found->has_value()) {
      return absl::NotFoundError(StrCat("identifier ", id->original(), " is not registered"));
    }
    const std::optional<identifier::RecordView>& record = *found;
    auto values = identifier::DecodeValueList(record->values);
    if (!values.ok()) return values.status();
    response->set_identifier(std::string(record->original));
    for (const identifier::HandleValue& v : *values) ToProto(v, response->add_values());
    response->set_created_ms(record->created_ms);
    response->set_updated_ms(record->updated_ms);
    response->set_version(record->version);
    response->set_owner(std::string(record->owner));
    return absl::OkStatus();
  }()));
  return reactor;
}

namespace {

absl::StatusOr<writer::UpdateRequest> ToUpdate(const v1::UpdateRequest& in,
                                               const identifier::IdentifierOptions& options) {
  auto id = identifier::Identifier::Parse(in.identifier(), options);
  if (!id.ok()) return id.status();
  writer::UpdateRequest out{*std::move(id), false, {}, {}, {}, {}};
  out.replace_all = in.replace_all();
  if (out.replace_all && (in.add_size() || in.modify_size() || in.remove_size())) {
    return absl::InvalidArgumentError("replace_all: cannot be combined with add, modify or remove");
  }
  for (auto [list, field, target] :
       {std::tuple{&in.replace(), "replace", &out.replace}, std::tuple{&in.add(), "add", &out.add},
        std::tuple{&in.modify(), "modify", &out.modify}}) {
    auto values = FromProto(*list, field);
    if (!values.ok()) return values.status();
    *target = *std::move(values);
  }
  out.remove.assign(in.remove().begin(), in.remove().end());
  if (absl::Status s = writer::ValidateUpdate(out); !s.ok()) return s;
  return out;
}

}  // namespace

grpc::ServerUnaryReactor* RegistryService::Update(grpc::CallbackServerContext* context,
                                                  const v1::UpdateRequest* request,
                                                  v1::UpdateResponse* response) {
  auto* reactor = context->DefaultReactor();
  auto principal = AuthenticateRegistrant(env_, *context);
  auto update = principal.ok() ? ToUpdate(*request, env_.identifier_options)
                               : absl::StatusOr<writer::UpdateRequest>(principal.status());
  if (!update.ok()) {
    reactor->Finish(ToGrpc(update.status()));
    return reactor;
  }
  absl::Status submitted = env_.writer.Submit(std::make_unique<writer::UpdateOp>(
      *std::move(principal), *std::move(update),
      [reactor, response](const absl::Status& store_status, const writer::ItemOutcome& outcome) {
        if (!store_status.ok()) return reactor->Finish(ToGrpc(store_status));
        response->set_version(outcome.version);
        reactor->Finish(ToGrpc(outcome.status));
      }));
  if (!submitted.ok()) reactor->Finish(ToGrpc(submitted));
  return reactor;
}

grpc::ServerUnaryReactor* RegistryService::Delete(grpc::CallbackServerContext* context,
                                                  const v1::DeleteRequest* request,
                                                  v1::DeleteResponse* /*response*/) {
  auto* reactor = context->DefaultReactor();
  auto principal = AuthenticateRegistrant(env_, *context);
  auto id = principal.ok()
                ? identifier::Identifier::Parse(request->identifier(), env_.identifier_options)
                : absl::StatusOr<identifier::Identifier>(principal.status());
  if (!id.ok()) {
    reactor->Finish(ToGrpc(id.status()));
    return reactor;
  }
  absl::Status submitted = env_.writer.Submit(std::make_unique<writer::DeleteOp>(
      *std::move(principal), *std::move(id),
      [reactor](const absl::Status& store_status, const writer::ItemOutcome& outcome) {
        reactor->Finish(ToGrpc(store_status.ok() ? outcome.status : store_status));
      }));
  if (!submitted.ok()) reactor->Finish(ToGrpc(submitted));
  return reactor;
}

grpc::ServerUnaryReactor* RegistryService::List(grpc::CallbackServerContext* context,
                                                const v1::ListRequest* request,
                                                v1::ListResponse* response) {
  auto* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpc([&]() -> absl::Status {
    auto principal = AuthenticateCall(env_, *context, "List");
    if (!principal.ok()) return principal.status();
    auto prefix = identifier::NormalizePrefix(request->prefix(), "prefix");
    if (!prefix.ok()) return prefix.status();
    if (request->page_size() > kMaxPageSize) {
      return absl::InvalidArgumentError(
          StrCat("page_size: ", request->page_size(), " is above the limit of ", kMaxPageSize));
    }
    uint32_t page_size = request->page_size() == 0 ? kDefaultPageSize : request->page_size();
    auto txn = env_.store.BeginRead();
    if (!txn.ok()) return txn.status();
    if (absl::Status s = AuthorizeRead(*txn, *principal, *prefix); !s.ok()) return s;
    const std::string start = *prefix + "/";
    const std::string& token = request->page_token();
    if (!token.empty() && token.compare(0, start.size(), start) != 0) {
      return absl::InvalidArgumentError("page_token: does not belong to this prefix");
    }
    store::Cursor cursor = txn->OpenCursor(identifier::IdentifierTable::kDatabase);
    bool more = cursor.Seek(token.empty() ? start : token);
    if (more && !token.empty() && cursor.key() == token) more = cursor.Next();
    std::string_view last_key;
    for (; more && cursor.key().substr(0, start.size()) == start; more = cursor.Next()) {
      if (static_cast<uint32_t>(response->identifiers_size()) == page_size) {
        response->set_next_page_token(std::string(last_key));
        break;
      }
      auto record = identifier::IdentifierTable::DecodeStored(cursor.value());
      if (!record.ok()) return record.status();
      response->add_identifiers(std::string(record->original));
      last_key = cursor.key();
    }
    return absl::OkStatus();
  }()));
  return reactor;
}

grpc::ServerBidiReactor<v1::BatchCreateRequest, v1::BatchCreateResponse>*
RegistryService::BatchCreate(grpc::CallbackServerContext* context) {
  return new BatchCreateReactor(env_, context);
}

}  // namespace idnode::rpc
