// OpenSSL EVP SHA-256 for glue code: errors become ereport, nothing is hand-written.
#include "pg/sha256.hpp"

#include <openssl/evp.h>

#include "pg/postgres.hpp"

namespace jk::pg {

namespace {

// OpenSSL 3 looks the algorithm up in its provider on every EVP_sha256() init; fetching it
// once per backend keeps that lookup (and its locks) off the per-value path.
const EVP_MD* Sha256Md() {
  static EVP_MD* md = nullptr;
  if (md == nullptr) {
    md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (md == nullptr) {
      ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
                      errmsg("OpenSSL could not provide SHA-256")));
    }
  }
  return md;
}

[[noreturn]] void Fail(const char* step) {
  ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("SHA-256 %s failed in OpenSSL", step)));
  pg_unreachable();
}

// A context kept for one-shot hashes: re-initialised on every use, so a call that errored
// out half-way leaves nothing behind that matters.
EVP_MD_CTX* OneShotCtx() {
  static EVP_MD_CTX* ctx = nullptr;
  if (ctx == nullptr) {
    ctx = EVP_MD_CTX_new();
    if (ctx == nullptr) Fail("context allocation");
  }
  return ctx;
}

}  // namespace

EVP_MD_CTX* Sha256New() {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) Fail("context allocation");
  if (EVP_DigestInit_ex(ctx, Sha256Md(), nullptr) != 1) {
    EVP_MD_CTX_free(ctx);
    Fail("initialisation");
  }
  return ctx;
}

void Sha256Update(EVP_MD_CTX* ctx, const void* data, std::size_t size) {
  if (size > 0 && EVP_DigestUpdate(ctx, data, size) != 1) Fail("update");
}

void Sha256FinishHex(const EVP_MD_CTX* ctx, char out[jk::core::kSha256HexLength + 1]) {
  EVP_MD_CTX* copy = OneShotCtx();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_MD_CTX_copy_ex(copy, ctx) != 1 || EVP_DigestFinal_ex(copy, digest, &len) != 1 ||
      len != jk::core::kSha256Bytes) {
    Fail("finalisation");
  }
  jk::core::HexEncodeLower(digest, len, out);
  out[jk::core::kSha256HexLength] = '\0';
}

void Sha256Free(EVP_MD_CTX* ctx) { EVP_MD_CTX_free(ctx); }

void Sha256Hex(const void* data, std::size_t size, char out[jk::core::kSha256HexLength + 1]) {
  EVP_MD_CTX* ctx = OneShotCtx();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestInit_ex(ctx, Sha256Md(), nullptr) != 1 ||
      (size > 0 && EVP_DigestUpdate(ctx, data, size) != 1) ||
      EVP_DigestFinal_ex(ctx, digest, &len) != 1 || len != jk::core::kSha256Bytes) {
    Fail("hashing");
  }
  jk::core::HexEncodeLower(digest, len, out);
  out[jk::core::kSha256HexLength] = '\0';
}

}  // namespace jk::pg
