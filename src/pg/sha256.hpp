// SHA-256 through OpenSSL's EVP interface, with the digest fetched once per backend.
#pragma once

#include <cstddef>

#include "core/hex.hpp"

typedef struct evp_md_ctx_st EVP_MD_CTX;

namespace jk::pg {

// Returns a new digest context started on SHA-256; the caller frees it with Sha256Free.
EVP_MD_CTX* Sha256New();

// Feeds size bytes at data into ctx.
void Sha256Update(EVP_MD_CTX* ctx, const void* data, std::size_t size);

// Writes the digest of everything fed to ctx as 64 hex digits plus a terminator; ctx itself
// is left untouched, so more data may follow (aggregates finalize a copy).
void Sha256FinishHex(const EVP_MD_CTX* ctx, char out[jk::core::kSha256HexLength + 1]);

// Frees a context from Sha256New.
void Sha256Free(EVP_MD_CTX* ctx);

// Hashes size bytes at data in one call and writes 64 hex digits plus a terminator.
void Sha256Hex(const void* data, std::size_t size, char out[jk::core::kSha256HexLength + 1]);

}  // namespace jk::pg
