/*
 * SHA-256 (FIPS 180-4).  Guests print digests of the data they wrote or
 * read so that a test can compare them with sha256sum on the host; speed
 * matters only in that it must not dominate a block benchmark's
 * verification pass.
 */
#include "sdk.h"

/*
 * The first 32 bits of the fractional parts of the cube roots of the
 * first 64 primes.
 */
static const uint32_t sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5,
	0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
	0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
	0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5,
	0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t
sha256_ror(uint32_t x, unsigned int n)
{
	return x >> n | x << (32 - n);
}

static void
sha256_block(uint32_t st[8], const uint8_t *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, h, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		    (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (; i < 64; i++)
		w[i] = w[i - 16] + w[i - 7] +
		    (sha256_ror(w[i - 15], 7) ^ sha256_ror(w[i - 15], 18) ^
		    w[i - 15] >> 3) +
		    (sha256_ror(w[i - 2], 17) ^ sha256_ror(w[i - 2], 19) ^
		    w[i - 2] >> 10);

	a = st[0], b = st[1], c = st[2], d = st[3];
	e = st[4], f = st[5], g = st[6], h = st[7];
	for (i = 0; i < 64; i++) {
		t1 = h + (sha256_ror(e, 6) ^ sha256_ror(e, 11) ^
		    sha256_ror(e, 25)) + ((e & f) ^ (~e & g)) + sha256_k[i] +
		    w[i];
		t2 = (sha256_ror(a, 2) ^ sha256_ror(a, 13) ^
		    sha256_ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		h = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	st[0] += a, st[1] += b, st[2] += c, st[3] += d;
	st[4] += e, st[5] += f, st[6] += g, st[7] += h;
}

void
xeno_sha256_init(struct xeno_sha256 *sh)
{
	/* Fractional parts of the square roots of the first 8 primes. */
	static const uint32_t iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	memcpy(sh->sh_state, iv, sizeof(iv));
	sh->sh_bytes = 0;
}

void
xeno_sha256_update(struct xeno_sha256 *sh, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t used = sh->sh_bytes % 64, n;

	sh->sh_bytes += len;
	if (used > 0) {
		n = 64 - used < len ? 64 - used : len;
		memcpy(sh->sh_block + used, p, n);
		p += n;
		len -= n;
		if (used + n < 64)
			return;
		sha256_block(sh->sh_state, sh->sh_block);
	}
	for (; len >= 64; p += 64, len -= 64)
		sha256_block(sh->sh_state, p);
	memcpy(sh->sh_block, p, len);
}

void
xeno_sha256_final(struct xeno_sha256 *sh, uint8_t out[XENO_SHA256_LEN])
{
	uint64_t bits = sh->sh_bytes * 8;
	size_t used = sh->sh_bytes % 64;
	int i;

	sh->sh_block[used++] = 0x80;
	if (used > 56) {
		memset(sh->sh_block + used, 0, 64 - used);
		sha256_block(sh->sh_state, sh->sh_block);
		used = 0;
	}
	memset(sh->sh_block + used, 0, 56 - used);
	for (i = 0; i < 8; i++)
		sh->sh_block[56 + i] = bits >> (56 - 8 * i);
	sha256_block(sh->sh_state, sh->sh_block);
	for (i = 0; i < 8; i++) {
		out[4 * i] = sh->sh_state[i] >> 24;
		out[4 * i + 1] = sh->sh_state[i] >> 16;
		out[4 * i + 2] = sh->sh_state[i] >> 8;
		out[4 * i + 3] = sh->sh_state[i];
	}
}

void
xeno_sha256_hex(const uint8_t digest[XENO_SHA256_LEN], char *hex)
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 0; i < XENO_SHA256_LEN; i++) {
		hex[2 * i] = digits[digest[i] >> 4];
		hex[2 * i + 1] = digits[digest[i] & 0xf];
	}
	hex[2 * XENO_SHA256_LEN] = '\0';
}
