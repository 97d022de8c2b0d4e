// SQL-callable SHA-256: sha256_hex(bytea|text), the sha256_agg aggregate, lo_sha256(oid), and
// the file_hash validator shared with the schema.
#include "core/hex.hpp"
#include "pg/entry.hpp"
#include "pg/guard.hpp"
#include "pg/sha256.hpp"

extern "C" {
#include "libpq/be-fsstubs.h"
#include "libpq/libpq-fs.h"
#include "miscadmin.h"
#include "utils/fmgrprotos.h"
#include "utils/memutils.h"
}

namespace {

using jk::core::kSha256HexLength;

// Bytes read from a large object per step: big enough for full hashing speed, small enough
// that memory stays bounded whatever the object's size.
constexpr int kLargeObjectChunk = 1024 * 1024;

text* HexText(const char hex[kSha256HexLength + 1]) {
  return cstring_to_text_with_len(hex, kSha256HexLength);
}

// The running state of one sha256_agg group, in the aggregate's memory context. OpenSSL
// allocates the digest context with malloc, so a reset callback frees it however the
// query ends (finished, cancelled or failed).
struct AggState {
  EVP_MD_CTX* ctx;
  MemoryContextCallback free_ctx;
};

void FreeAggState(void* arg) {
  AggState* state = static_cast<AggState*>(arg);
  jk::pg::Sha256Free(state->ctx);
  state->ctx = nullptr;
}

}  // namespace

// Returns the SHA-256 of a bytea or text value as 64 lowercase hex digits.
JK_FUNCTION(jobkeeper_sha256_hex) {
  bytea* value = PG_GETARG_BYTEA_PP(0);
  char hex[kSha256HexLength + 1];
  jk::pg::Sha256Hex(VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value), hex);
  PG_RETURN_TEXT_P(HexText(hex));
}

// True when the text is a stored file_hash: 64 lowercase hex digits.
JK_FUNCTION(jobkeeper_is_sha256_hex) {
  text* value = PG_GETARG_TEXT_PP(0);
  PG_RETURN_BOOL(jk::core::IsSha256Hex(
      std::string_view(VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value))));
}

// Returns a 64-hex-digit hash in lowercase; anything else raises 22P02 naming the value.
JK_FUNCTION(jobkeeper_normalize_hash) {
  text* value = PG_GETARG_TEXT_PP(0);
  const std::string_view view(VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value));
  char hex[kSha256HexLength + 1];
  jk::pg::Guard([&] { jk::core::NormalizeSha256Hex(view, hex); });
  PG_RETURN_TEXT_P(HexText(hex));
}

// sha256_agg's transition: feeds one chunk into the group's digest; NULL chunks are skipped.
JK_FUNCTION(jobkeeper_sha256_agg_step) {
  MemoryContext agg_context;
  if (!AggCheckCallContext(fcinfo, &agg_context)) {
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("jobkeeper._sha256_agg_step() can only be called by sha256_agg")));
  }
  AggState* state = PG_ARGISNULL(0) ? nullptr : reinterpret_cast<AggState*>(PG_GETARG_POINTER(0));
  if (PG_ARGISNULL(1)) {
    if (state == nullptr) PG_RETURN_NULL();
    PG_RETURN_POINTER(state);
  }
  if (state == nullptr) {
    state = static_cast<AggState*>(MemoryContextAllocZero(agg_context, sizeof(AggState)));
    state->ctx = jk::pg::Sha256New();
    state->free_ctx.func = FreeAggState;
    state->free_ctx.arg = state;
    MemoryContextRegisterResetCallback(agg_context, &state->free_ctx);
  }
  bytea* chunk = PG_GETARG_BYTEA_PP(1);
  jk::pg::Sha256Update(state->ctx, VARDATA_ANY(chunk), VARSIZE_ANY_EXHDR(chunk));
  PG_RETURN_POINTER(state);
}

// sha256_agg's final function: the hex digest of all chunks so far; NULL when there were none.
JK_FUNCTION(jobkeeper_sha256_agg_final) {
  if (PG_ARGISNULL(0)) PG_RETURN_NULL();
  const AggState* state = reinterpret_cast<const AggState*>(PG_GETARG_POINTER(0));
  char hex[kSha256HexLength + 1];
  jk::pg::Sha256FinishHex(state->ctx, hex);  // finalizes a copy: the state stays usable
  PG_RETURN_TEXT_P(HexText(hex));
}

// Returns the SHA-256 of a large object, read in 1 MB chunks. It goes through the server's
// lo_open/lo_read layer (not inv_api directly), which brings its permission and existence
// errors and closes the object's relations at transaction end even after an error.
JK_FUNCTION(jobkeeper_lo_sha256) {
  const Oid loid = PG_GETARG_OID(0);
  const Datum fd = DirectFunctionCall2(be_lo_open, ObjectIdGetDatum(loid), Int32GetDatum(INV_READ));
  EVP_MD_CTX* ctx = jk::pg::Sha256New();
  char* buffer = static_cast<char*>(palloc(kLargeObjectChunk));
  char hex[kSha256HexLength + 1];
  // The digest context is malloc'd: free it on an error (e.g. a cancel) in the read loop too.
  PG_TRY();
  {
    int n;
    while ((n = lo_read(DatumGetInt32(fd), buffer, kLargeObjectChunk)) > 0) {
      jk::pg::Sha256Update(ctx, buffer, static_cast<size_t>(n));
      CHECK_FOR_INTERRUPTS();
    }
    jk::pg::Sha256FinishHex(ctx, hex);
  }
  PG_FINALLY();
  {
    jk::pg::Sha256Free(ctx);
  }
  PG_END_TRY();
  DirectFunctionCall1(be_lo_close, fd);
  pfree(buffer);
  PG_RETURN_TEXT_P(HexText(hex));
}
