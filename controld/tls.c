/*
 * TLS for the HTTPS API: the server context, and a self-signed certificate
 * made on first start so that a fresh host serves HTTPS at once.  An
 * operator replaces the two files with a real certificate; we never touch
 * them once they exist.
 *
 * The certificate is valid for 825 days (from an hour ago, for clients
 * whose clocks lag): the longest that Apple's clients accept for a TLS
 * server certificate, and what the CA/Browser Forum allowed until 2020.
 * It is not renewed: tls_ctx warns from 30 days before it expires, and
 * removing both files makes a new one on the next start.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "controld.h"
#include "xeno/log.h"

#define TLS_DAYS	825
#define TLS_CN_MAX	64	/* ub-common-name, RFC 5280 */
#define TLS_WARN_DAYS	30

/*
 * A message for (err, errsz): what failed, then the oldest error OpenSSL
 * queued, the cause (later ones only say which caller gave up), with the
 * detail OpenSSL attached to it.  errno is the system error behind it if
 * there is one, else EINVAL.
 */
static void
tls_err(char *err, size_t errsz, const char *what, const char *path)
{
	const char *reason = NULL, *data = NULL;
	char buf[256];
	unsigned long e;
	int errnum = EINVAL, flags = 0;

	e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags);
	if (e == 0)
		snprintf(buf, sizeof(buf), "unknown OpenSSL error");
	else if (ERR_SYSTEM_ERROR(e)) {
		errnum = ERR_GET_REASON(e);
		snprintf(buf, sizeof(buf), "%s", strerror(errnum));
	} else if ((reason = ERR_reason_error_string(e)) == NULL)
		ERR_error_string_n(e, buf, sizeof(buf));
	else if ((flags & ERR_TXT_STRING) && data != NULL && *data != '\0')
		snprintf(buf, sizeof(buf), "%s (%s)", reason, data);
	else
		snprintf(buf, sizeof(buf), "%s", reason);
	ERR_clear_error();
	err_set(err, errsz, errnum, "tls: %s%s%s: %s", what,
	    path ? " " : "", path ? path : "", buf);
}

/* Does path exist?  1 yes, 0 no, -1 on an error other than ENOENT. */
static int
tls_exists(const char *path, char *err, size_t errsz)
{
	struct stat st;

	if (stat(path, &st) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	return err_set(err, errsz, errno, "tls: %s: %s", path,
	    strerror(errno));
}

/*
 * The CN goes into a subjectAltName list whose entries are separated by
 * commas, so only host-name characters get there.
 */
static int
tls_checkcn(const char *cn, char *err, size_t errsz)
{
	size_t n = strlen(cn);

	if (n == 0 || n > TLS_CN_MAX || cn[0] == '.' || cn[0] == '-' ||
	    strspn(cn, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.-") != n)
		return err_set(err, errsz, EINVAL, "tls: certificate name "
		    "'%s' is not a host name (1 to %d characters of A-Z a-z "
		    "0-9 . -)", cn, TLS_CN_MAX);
	return 0;
}

static int
tls_addext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* A self-signed server certificate for pkey; NULL with OpenSSL's queue. */
static X509 *
tls_mkcert(EVP_PKEY *pkey, const char *cn)
{
	unsigned char rnd[16];
	char san[2 * TLS_CN_MAX + 64];
	BIGNUM *serial = NULL;
	X509_NAME *name;
	X509 *x;

	if ((x = X509_new()) == NULL)
		return NULL;
	/* 16 random bytes but the top two bits, 0 and 1: a positive DER
	 * INTEGER of exactly 16 bytes with 126 bits of chance (64 needed) */
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		goto fail;
	rnd[0] = (rnd[0] & 0x7f) | 0x40;
	if ((serial = BN_bin2bn(rnd, sizeof(rnd), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) == NULL)
		goto fail;
	name = X509_get_subject_name(x);
	if (!X509_set_version(x, X509_VERSION_3) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), TLS_DAYS, 0, NULL) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_issuer_name(x, name) || !X509_set_pubkey(x, pkey))
		goto fail;
	if (strcmp(cn, "localhost") == 0)
		snprintf(san, sizeof(san), "DNS:localhost,IP:127.0.0.1,IP:::1");
	else
		snprintf(san, sizeof(san), "DNS:localhost,DNS:%s,"
		    "IP:127.0.0.1,IP:::1", cn);
	/*
	 * No CA (so no keyCertSign, RFC 5280 4.2.1.3): a client trusts this
	 * very certificate, and ECDHE with an ECDSA key only signs.
	 */
	if (tls_addext(x, NID_basic_constraints, "critical,CA:FALSE") == -1 ||
	    tls_addext(x, NID_key_usage, "critical,digitalSignature") == -1 ||
	    tls_addext(x, NID_ext_key_usage, "serverAuth") == -1 ||
	    tls_addext(x, NID_subject_key_identifier, "hash") == -1 ||
	    tls_addext(x, NID_subject_alt_name, san) == -1 ||
	    X509_sign(x, pkey, EVP_sha256()) == 0)
		goto fail;
	BN_free(serial);
	return x;
fail:
	BN_free(serial);
	X509_free(x);
	return NULL;
}

/*
 * Write path.tmp with mode and fsync it: the key or the certificate as
 * PEM.  A .tmp left by a crash is ours by name and is replaced; O_EXCL
 * still refuses to follow a symlink planted there.
 */
static int
tls_writetmp(const char *tmp, mode_t mode, EVP_PKEY *pkey, X509 *x,
    char *err, size_t errsz)
{
	BIO *bio = NULL;
	int fd, ok, e;

	if (unlink(tmp) == -1 && errno != ENOENT)
		return err_set(err, errsz, errno, "tls: cannot remove %s: %s",
		    tmp, strerror(errno));
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode))
	    == -1)
		return err_set(err, errsz, errno, "tls: cannot create %s: %s",
		    tmp, strerror(errno));
	/* the mode asked for, whatever the umask */
	if (fchmod(fd, mode) == -1) {
		err_set(err, errsz, errno, "tls: %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if ((bio = BIO_new_fd(fd, BIO_NOCLOSE)) == NULL)
		goto sslfail;
	ok = pkey ? PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL,
	    NULL) : PEM_write_bio_X509(bio, x);
	if (!ok)
		goto sslfail;
	BIO_free(bio);
	bio = NULL;
	if (fsync(fd) == -1) {
		err_set(err, errsz, errno, "tls: cannot write %s: %s", tmp,
		    strerror(errno));
		goto fail;
	}
	if (close(fd) == -1) {
		fd = -1;
		err_set(err, errsz, errno, "tls: cannot write %s: %s", tmp,
		    strerror(errno));
		goto fail;
	}
	return 0;
sslfail:
	tls_err(err, errsz, "cannot write", tmp);
fail:
	e = errno;
	BIO_free(bio);
	if (fd != -1)
		close(fd);
	unlink(tmp);
	errno = e;
	return -1;
}

/* Make the renames durable: fsync the directory that holds path. */
static int
tls_syncdir(const char *path, char *err, size_t errsz)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, rc;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return err_set(err, errsz, errno, "tls: %s: %s", dir,
		    strerror(errno));
	rc = fsync(fd);
	close(fd);
	if (rc == -1)
		return err_set(err, errsz, errno, "tls: cannot sync %s: %s",
		    dir, strerror(errno));
	return 0;
}

int
tls_selfsigned(const char *certpath, const char *keypath, const char *cn,
    char *err, size_t errsz)
{
	char certtmp[PATH_MAX], keytmp[PATH_MAX];
	EVP_PKEY *pkey = NULL;
	X509 *x = NULL;
	int hascert, haskey, keyin = 0, certin = 0, rc = -1;

	if ((hascert = tls_exists(certpath, err, errsz)) == -1 ||
	    (haskey = tls_exists(keypath, err, errsz)) == -1)
		return -1;
	if (hascert && haskey)
		return 0;
	if (strcmp(certpath, keypath) == 0)
		return err_set(err, errsz, EINVAL, "tls: the certificate and "
		    "the key cannot both be %s", certpath);
	if (hascert || haskey)
		return err_set(err, errsz, EEXIST, "tls: %s exists but %s does "
		    "not: not replacing it; supply both, or remove it for a "
		    "new self-signed pair", hascert ? certpath : keypath,
		    hascert ? keypath : certpath);
	if (tls_checkcn(cn, err, errsz) == -1)
		return -1;
	if ((size_t)snprintf(certtmp, sizeof(certtmp), "%s.tmp", certpath) >=
	    sizeof(certtmp) ||
	    (size_t)snprintf(keytmp, sizeof(keytmp), "%s.tmp", keypath) >=
	    sizeof(keytmp))
		return err_set(err, errsz, ENAMETOOLONG, "tls: %s: path too "
		    "long", certpath);

	ERR_clear_error();
	if ((pkey = EVP_EC_gen("P-256")) == NULL) {
		tls_err(err, errsz, "cannot make an EC P-256 key", NULL);
		goto out;
	}
	if ((x = tls_mkcert(pkey, cn)) == NULL) {
		tls_err(err, errsz, "cannot make a certificate for", cn);
		goto out;
	}
	if (tls_writetmp(keytmp, 0600, pkey, NULL, err, errsz) == -1)
		goto out;
	if (tls_writetmp(certtmp, 0644, NULL, x, err, errsz) == -1)
		goto out;
	/*
	 * Two files cannot appear at once: a crash between the renames
	 * leaves the key alone, which the next start refuses with a message
	 * naming both files.
	 */
	if (rename(keytmp, keypath) == -1) {
		err_set(err, errsz, errno, "tls: cannot rename %s to %s: %s",
		    keytmp, keypath, strerror(errno));
		goto out;
	}
	keyin = 1;
	if (rename(certtmp, certpath) == -1) {
		err_set(err, errsz, errno, "tls: cannot rename %s to %s: %s",
		    certtmp, certpath, strerror(errno));
		goto out;
	}
	certin = 1;
	if (tls_syncdir(keypath, err, errsz) == -1 ||
	    tls_syncdir(certpath, err, errsz) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1) {
		int saved = errno;

		unlink(keytmp);
		unlink(certtmp);
		if (keyin)
			unlink(keypath);
		if (certin)
			unlink(certpath);
		errno = saved;
	}
	X509_free(x);
	EVP_PKEY_free(pkey);
	return rc;
}

/* A warning, not a failure: an expired certificate still serves clients
 * that pinned it, and the operator needs to hear about it. */
static void
tls_checkexpiry(SSL_CTX *ctx, const char *certpath)
{
	X509 *x = SSL_CTX_get0_certificate(ctx);
	int days, secs;

	if (x == NULL || !ASN1_TIME_diff(&days, &secs, NULL,
	    X509_get0_notAfter(x)))
		return;
	if (days < 0 || secs < 0)
		log_warnx("tls: the certificate in %s has expired; replace "
		    "it, or remove it and its key for a new self-signed one",
		    certpath);
	else if (days < TLS_WARN_DAYS)
		log_warnx("tls: the certificate in %s expires in %d days",
		    certpath, days);
}

struct ssl_ctx_st *
tls_ctx(const char *certpath, const char *keypath, char *err, size_t errsz)
{
	static const unsigned char sid_ctx[] = "xeno-controld";
	SSL_CTX *ctx;

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		tls_err(err, errsz, "cannot make a TLS context", NULL);
		return NULL;
	}
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
		tls_err(err, errsz, "cannot require TLS 1.2", NULL);
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, certpath) != 1) {
		tls_err(err, errsz, "cannot load the certificate chain from",
		    certpath);
		goto fail;
	}
	/* loading the key already compares it with the certificate */
	if (SSL_CTX_use_PrivateKey_file(ctx, keypath, SSL_FILETYPE_PEM) != 1 &&
	    ERR_GET_REASON(ERR_peek_error()) != X509_R_KEY_VALUES_MISMATCH) {
		tls_err(err, errsz, "cannot load the private key from",
		    keypath);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		err_set(err, errsz, EINVAL, "tls: the key in %s does not "
		    "match the certificate in %s", keypath, certpath);
		goto fail;
	}
	/*
	 * OpenSSL's default ciphers and groups.  No compression (CRIME), no
	 * renegotiation (a client's cheap way to make us do handshakes).
	 * The server-side session cache and tickets (both on by default)
	 * let API clients that reconnect skip the full handshake; the
	 * session id context is what a resumed session must match.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	if (!SSL_CTX_set_session_id_context(ctx, sid_ctx,
	    sizeof(sid_ctx) - 1)) {
		tls_err(err, errsz, "cannot set the session id context", NULL);
		goto fail;
	}
	tls_checkexpiry(ctx, certpath);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}
