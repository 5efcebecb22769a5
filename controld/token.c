/*
 * API tokens: "xeno_" and the unpadded base64url of 32 random bytes.  Only
 * the SHA-256 of the whole string is stored, so a stolen database yields
 * no usable token; 256 random bits need no salt or slow hash.  The prefix
 * lets secret scanners and people recognise a leaked token.
 */
#include <sys/random.h>

#include <errno.h>
#include <string.h>

#include <openssl/evp.h>

#include "controld.h"

#define TOKEN_RAW	32
#define TOKEN_PFXLEN	(sizeof(TOKEN_PREFIX) - 1)

static const char token_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The value of a base64url character, -1 for anything else. */
static int
token_b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

static int
token_sha256(const char *tok, size_t len, uint8_t hash[TOKEN_HASH_LEN])
{
	unsigned int n = 0;

	if (EVP_Digest(tok, len, hash, &n, EVP_sha256(), NULL) != 1 ||
	    n != TOKEN_HASH_LEN) {
		errno = EIO;
		return -1;
	}
	return 0;
}

int
token_new(char *tok, size_t toksz, uint8_t hash[TOKEN_HASH_LEN])
{
	uint8_t raw[TOKEN_RAW];
	char *p;
	size_t i, got = 0;
	ssize_t n;
	uint32_t v;

	if (toksz <= TOKEN_LEN) {
		errno = ENOSPC;
		return -1;
	}
	while (got < TOKEN_RAW) {
		n = getrandom(raw + got, TOKEN_RAW - got, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		got += (size_t)n;
	}
	memcpy(tok, TOKEN_PREFIX, TOKEN_PFXLEN);
	p = tok + TOKEN_PFXLEN;
	/* 32 bytes: ten groups of 3 make 40 characters, the last 2 make 3 */
	for (i = 0; i < TOKEN_RAW; i += 3) {
		v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 |
		    (i + 2 < TOKEN_RAW ? raw[i + 2] : 0);
		*p++ = token_b64[v >> 18 & 63];
		*p++ = token_b64[v >> 12 & 63];
		*p++ = token_b64[v >> 6 & 63];
		if (i + 2 < TOKEN_RAW)
			*p++ = token_b64[v & 63];
	}
	*p = '\0';
	explicit_bzero(raw, sizeof(raw));
	return token_sha256(tok, TOKEN_LEN, hash);
}

/*
 * tok is what a client sent as its bearer token: hostile, not necessarily
 * NUL-terminated, only len bytes of it are read.  Anything token_new could
 * not have made is refused before hashing, down to the last character,
 * which carries 4 bits and must have its 2 padding bits clear.
 */
int
token_hash(const char *tok, size_t len, uint8_t hash[TOKEN_HASH_LEN])
{
	size_t i;
	int v = 0;

	if (tok == NULL || len != TOKEN_LEN ||
	    memcmp(tok, TOKEN_PREFIX, TOKEN_PFXLEN) != 0) {
		errno = EINVAL;
		return -1;
	}
	for (i = TOKEN_PFXLEN; i < TOKEN_LEN; i++)
		if ((v = token_b64val((unsigned char)tok[i])) == -1) {
			errno = EINVAL;
			return -1;
		}
	if (v & 3) {
		errno = EINVAL;
		return -1;
	}
	return token_sha256(tok, len, hash);
}
