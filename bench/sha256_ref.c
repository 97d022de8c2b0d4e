/* The physical reference for sha256_hex: OpenSSL EVP SHA-256 over a buffer in memory, as a
 * plain C program would hash it. The buffer (64 MB by default) is far larger than the CPU's
 * caches, unlike `openssl speed`'s, so this is what any caller can get. Prints the best MB/s
 * of several runs. Usage: sha256_ref [megabytes] [runs] */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  size_t mb = argc > 1 ? (size_t)atol(argv[1]) : 64;
  int runs = argc > 2 ? atoi(argv[2]) : 5;
  size_t size = mb * 1024 * 1024;
  unsigned char *buf = malloc(size);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len;
  double best = 0;
  if (buf == NULL) return 1;
  for (size_t i = 0; i < size; i++) buf[i] = (unsigned char)(i * 2654435761u >> 13);
  for (int r = 0; r < runs; r++) {
    double start = now_seconds();
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    EVP_DigestUpdate(ctx, buf, size);
    EVP_DigestFinal_ex(ctx, digest, &len);
    EVP_MD_CTX_free(ctx);
    double rate = mb / (now_seconds() - start);
    if (rate > best) best = rate;
  }
  printf("%.0f\n", best);
  free(buf);
  return 0;
}
