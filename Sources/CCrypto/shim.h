#ifndef LICENSEMESH_CCRYPTO_SHIM_H
#define LICENSEMESH_CCRYPTO_SHIM_H
// Only libcrypto's EVP interface and its helpers: authenticated encryption, signatures, digests, randomness.
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/err.h>
#include <openssl/crypto.h>
#endif
