/*
 * controld/token.c: the format of new tokens, their uniqueness, a SHA-256
 * vector computed outside this code, and the refusal of every malformed
 * bearer string a client could send.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "t.h"
#include "controld.h"

#define NTOKENS	1000

/* The base64url of the bytes 0..31; the hash is from
 * `printf %s xeno_AAEC...Hh8 | sha256sum`. */
static const char known[] = "xeno_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
static const uint8_t known_hash[TOKEN_HASH_LEN] = {
	0x6f, 0x83, 0x14, 0xa7, 0x0f, 0x79, 0x3d, 0x26,
	0x6e, 0x43, 0xd1, 0x08, 0xc5, 0x25, 0x04, 0x8b,
	0x32, 0xaf, 0x10, 0xc7, 0x2f, 0x2b, 0x9a, 0xa0,
	0x5e, 0x17, 0x0f, 0xf6, 0x23, 0x8d, 0x5d, 0x50,
};

static int
cmp_tok(const void *a, const void *b)
{
	return memcmp(a, b, TOKEN_LEN + 1);
}

/* token_hash refuses s (of length len) with EINVAL and leaves hash alone */
static int
refused(const char *s, size_t len)
{
	uint8_t hash[TOKEN_HASH_LEN];

	memset(hash, 0xa5, sizeof(hash));
	errno = 0;
	return token_hash(s, len, hash) == -1 && errno == EINVAL &&
	    hash[0] == 0xa5 && hash[TOKEN_HASH_LEN - 1] == 0xa5;
}

/* The 32 bytes a token's 43 characters stand for, through OpenSSL's
 * base64 decoder (standard alphabet, padded) rather than our encoder. */
static int
decoded_len(const char *tok)
{
	unsigned char in[45], out[33];
	int i;

	for (i = 0; i < 43; i++)
		in[i] = tok[5 + i] == '-' ? '+' : tok[5 + i] == '_' ? '/' :
		    tok[5 + i];
	in[43] = '=';
	in[44] = '\0';
	/* EVP_DecodeBlock counts the padding as a zero byte */
	return EVP_DecodeBlock(out, in, 44) - 1;
}

int
main(void)
{
	static char toks[NTOKENS][TOKEN_LEN + 1];
	uint8_t hash[TOKEN_HASH_LEN], again[TOKEN_HASH_LEN];
	char tok[TOKEN_LEN + 1], bad[TOKEN_LEN + 2];
	size_t i, j;
	int nbad = 0, ndup = 0;

	/* format: prefix, 43 base64url characters, NUL; hash of the string */
	for (i = 0; i < NTOKENS; i++) {
		if (token_new(toks[i], sizeof(toks[i]), hash) != 0) {
			nbad++;
			continue;
		}
		if (strlen(toks[i]) != TOKEN_LEN ||
		    strncmp(toks[i], "xeno_", 5) != 0 ||
		    strspn(toks[i] + 5, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789-_") != 43 ||
		    decoded_len(toks[i]) != 32 ||
		    token_hash(toks[i], TOKEN_LEN, again) != 0 ||
		    memcmp(hash, again, sizeof(hash)) != 0)
			nbad++;
	}
	CHECK_EQ(nbad, 0);
	qsort(toks, NTOKENS, sizeof(toks[0]), cmp_tok);
	for (i = 1; i < NTOKENS; i++)
		ndup += memcmp(toks[i - 1], toks[i], TOKEN_LEN) == 0;
	CHECK_EQ(ndup, 0);

	/* the buffer must hold the NUL too */
	errno = 0;
	CHECK(token_new(tok, TOKEN_LEN, hash) == -1 && errno == ENOSPC);
	CHECK(token_new(tok, sizeof(tok), hash) == 0);

	/* a vector computed with sha256sum */
	CHECK(token_hash(known, strlen(known), hash) == 0);
	CHECK(memcmp(hash, known_hash, sizeof(hash)) == 0);
	/* only len bytes are read: no NUL needed after them */
	memcpy(bad, known, TOKEN_LEN);
	bad[TOKEN_LEN] = 'A';
	CHECK(token_hash(bad, TOKEN_LEN, hash) == 0);
	CHECK(memcmp(hash, known_hash, sizeof(hash)) == 0);
	/* '-' and '_' belong to the alphabet; 'w' (48) is a valid last */
	memcpy(bad, "xeno_", 5);
	memset(bad + 5, '-', 21);
	memset(bad + 26, '_', 21);
	bad[47] = 'w';
	CHECK(token_hash(bad, TOKEN_LEN, hash) == 0);

	/* wrong prefix */
	CHECK(refused(NULL, TOKEN_LEN));
	CHECK(refused("", 0));
	memcpy(bad, known, sizeof(known));
	bad[0] = 'X';
	CHECK(refused(bad, TOKEN_LEN));
	memcpy(bad, known, sizeof(known));
	bad[4] = '-';
	CHECK(refused(bad, TOKEN_LEN));
	memcpy(bad, "xeno-", 5);
	CHECK(refused(bad, TOKEN_LEN));

	/* wrong length, one short or one long, or only the prefix */
	CHECK(refused(known, TOKEN_LEN - 1));
	memcpy(bad, known, TOKEN_LEN);
	bad[TOKEN_LEN] = 'A';
	bad[TOKEN_LEN + 1] = '\0';
	CHECK(refused(bad, TOKEN_LEN + 1));
	CHECK(refused("xeno_", 5));

	/* every byte that is not base64url, at every position */
	for (j = 5; j < TOKEN_LEN; j++) {
		static const char other[] = "+/=.~ \t\n\"'%\x7f\x80\xff";

		for (i = 0; i < sizeof(other); i++) {	/* with the NUL */
			memcpy(bad, known, sizeof(known));
			bad[j] = other[i];
			if (!refused(bad, TOKEN_LEN))
				nbad++;
		}
	}
	CHECK_EQ(nbad, 0);
	/* an embedded NUL, as a C string would end early */
	memcpy(bad, known, sizeof(known));
	bad[20] = '\0';
	CHECK(refused(bad, TOKEN_LEN));
	/* the last character's two padding bits must be clear ('8' is 60,
	 * '9' is 61) */
	memcpy(bad, known, sizeof(known));
	bad[47] = '8';
	CHECK(token_hash(bad, TOKEN_LEN, hash) == 0);
	bad[47] = '9';
	CHECK(refused(bad, TOKEN_LEN));

	return t_done("test_token");
}
