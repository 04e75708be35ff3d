/* hash.h - a keyed hash for tables whose keys come from files (vocabularies, tensor names).
 *
 * An unkeyed hash lets a crafted file put every key in one bucket (hash flooding: minutes
 * of probing for a few MB). This is SipHash-1-3 under a key drawn at random once per
 * process, so the placement of keys cannot be predicted from the file. */
#ifndef MHV_HASH_H
#define MHV_HASH_H

#include <stddef.h>
#include <stdint.h>

/* The hash of data[0..len) under this process's key. Thread-safe. */
uint64_t mhv_hash(const void *data, size_t len);

/* An integer key (a pair of token ids, a trie edge) mixed under this process's key: for
 * tables in hot loops where SipHash would cost too much. Two rounds of a 64-bit finaliser
 * around the secret key, so which keys share low bits cannot be chosen from the file. */
uint64_t mhv_hash_u64(uint64_t k);

/* SipHash-1-3 of data[0..len) under the 128-bit key (k0, k1); for tests. */
uint64_t mhv_siphash13(uint64_t k0, uint64_t k1, const void *data, size_t len);

#endif
