/*
 * controld/tls.c: the self-signed pair (modes, kept when present, refused
 * when half there, its names and extensions), tls_ctx refusing a garbage
 * certificate or a key of another pair, and real handshakes over a
 * socketpair against a client that trusts the certificate and checks the
 * host name: TLS 1.3 and 1.2 succeed and resume, TLS 1.1 is refused.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "t.h"
#include "controld.h"

#define CN	"xeno.example"

static char dir[] = "/tmp/test_tls.XXXXXX", cert[64], key[64];

/* The whole of a small file in buf; its length, or -1. */
static ssize_t
slurp(const char *path, char *buf, size_t bufsz)
{
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, bufsz);
	close(fd);
	return n;
}

static int
spit(const char *path, const char *s)
{
	FILE *f;

	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fputs(s, f);
	return fclose(f);
}

static unsigned int
mode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_mode & 07777 : 0;
}

static void
test_files(void)
{
	char a[4096], b[4096], err[512], path[96], path2[96];
	ssize_t na, nb, ka, kb;

	/* the modes are exact, whatever the umask */
	umask(077);
	CHECK(tls_selfsigned(cert, key, CN, err, sizeof(err)) == 0);
	umask(022);
	CHECK_EQ(mode_of(key), 0600);
	CHECK_EQ(mode_of(cert), 0644);
	snprintf(path, sizeof(path), "%s.tmp", cert);
	CHECK(access(path, F_OK) == -1 && errno == ENOENT);
	snprintf(path, sizeof(path), "%s.tmp", key);
	CHECK(access(path, F_OK) == -1 && errno == ENOENT);

	/* a second call keeps both, byte for byte */
	na = slurp(cert, a, sizeof(a));
	ka = slurp(key, b, sizeof(b));
	CHECK(na > 0 && ka > 0);
	CHECK(tls_selfsigned(cert, key, CN, err, sizeof(err)) == 0);
	nb = slurp(cert, b + ka, sizeof(b) - (size_t)ka);
	CHECK(nb == na && memcmp(a, b + ka, (size_t)na) == 0);
	kb = slurp(key, a + na, sizeof(a) - (size_t)na);
	CHECK(kb == ka && memcmp(a + na, b, (size_t)ka) == 0);

	/* half a pair is the operator's: refused, left alone, not completed */
	snprintf(path, sizeof(path), "%s/saved", dir);
	CHECK(rename(cert, path) == 0);
	err[0] = '\0';
	errno = 0;
	CHECK(tls_selfsigned(cert, key, CN, err, sizeof(err)) == -1);
	CHECK_EQ(errno, EEXIST);
	CHECK(strstr(err, key) != NULL && strstr(err, cert) != NULL);
	CHECK(access(cert, F_OK) == -1);
	CHECK(slurp(key, a, sizeof(a)) == ka && memcmp(a, b, (size_t)ka) == 0);
	CHECK(rename(path, cert) == 0);
	CHECK(rename(key, path) == 0);
	errno = 0;
	CHECK(tls_selfsigned(cert, key, CN, err, sizeof(err)) == -1);
	CHECK_EQ(errno, EEXIST);
	CHECK(access(key, F_OK) == -1);
	CHECK(rename(path, key) == 0);

	/* a name that would smuggle entries into the SAN list; a directory
	 * that is not there: nothing is left behind */
	snprintf(path, sizeof(path), "%s/c2.pem", dir);
	snprintf(path2, sizeof(path2), "%s/k2.pem", dir);
	errno = 0;
	CHECK(tls_selfsigned(path, path2, "a,IP:10.0.0.1", err,
	    sizeof(err)) == -1 && errno == EINVAL);
	CHECK(tls_selfsigned(path, path2, "", err, sizeof(err)) == -1);
	CHECK(access(path, F_OK) == -1 && access(path2, F_OK) == -1);
	snprintf(path, sizeof(path), "%s/none/c.pem", dir);
	snprintf(path2, sizeof(path2), "%s/none/k.pem", dir);
	errno = 0;
	CHECK(tls_selfsigned(path, path2, CN, err, sizeof(err)) == -1);
	CHECK_EQ(errno, ENOENT);
	CHECK(strstr(err, "none/k.pem.tmp") != NULL);
}

static void
test_cert(void)
{
	GENERAL_NAMES *san;
	EVP_PKEY *pkey;
	FILE *f;
	X509 *x;
	char cn[80];
	int days, secs;

	if ((f = fopen(cert, "r")) == NULL || (x = PEM_read_X509(f, NULL,
	    NULL, NULL)) == NULL) {
		CHECK(!"cannot read the certificate");
		if (f)
			fclose(f);
		return;
	}
	fclose(f);
	CHECK_EQ(X509_get_version(x), X509_VERSION_3);
	CHECK(X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	    NID_commonName, cn, sizeof(cn)) > 0 && strcmp(cn, CN) == 0);
	CHECK(X509_NAME_cmp(X509_get_subject_name(x),
	    X509_get_issuer_name(x)) == 0);
	CHECK(X509_check_host(x, "localhost", 0, 0, NULL) == 1);
	CHECK(X509_check_host(x, CN, 0, 0, NULL) == 1);
	CHECK(X509_check_host(x, "other.example", 0, 0, NULL) == 0);
	CHECK(X509_check_ip_asc(x, "127.0.0.1", 0) == 1);
	CHECK(X509_check_ip_asc(x, "::1", 0) == 1);
	CHECK(X509_check_ip_asc(x, "127.0.0.2", 0) == 0);
	san = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	CHECK(san != NULL && sk_GENERAL_NAME_num(san) == 4);
	GENERAL_NAMES_free(san);
	CHECK(X509_check_ca(x) == 0);
	CHECK(X509_check_purpose(x, X509_PURPOSE_SSL_SERVER, 0) == 1);
	CHECK_EQ(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	CHECK(X509_get_extended_key_usage(x) == XKU_SSL_SERVER);
	CHECK(ASN1_STRING_length(X509_get0_serialNumber(x)) == 16);
	CHECK(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x),
	    X509_get0_notAfter(x)) && days == 825 && secs == 3600);
	CHECK(X509_cmp_current_time(X509_get0_notBefore(x)) < 0);
	pkey = X509_get0_pubkey(x);
	CHECK(pkey != NULL && EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC &&
	    EVP_PKEY_get_bits(pkey) == 256);
	X509_free(x);
}

static void
test_ctx(void)
{
	char err[512], bad[96], dir2[] = "/tmp/test_tls.XXXXXX", cert2[64],
	    key2[64];
	SSL_CTX *ctx;

	ctx = tls_ctx(cert, key, err, sizeof(err));
	CHECK(ctx != NULL);
	SSL_CTX_free(ctx);

	snprintf(bad, sizeof(bad), "%s/garbage.pem", dir);
	CHECK(spit(bad, "-----BEGIN CERTIFICATE-----\nnot base64 !\n"
	    "-----END CERTIFICATE-----\n") == 0);
	err[0] = '\0';
	CHECK(tls_ctx(bad, key, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "certificate chain") && strstr(err, bad));
	fprintf(stderr, "garbage: %s\n", err);
	CHECK(spit(bad, "hello\n") == 0);
	CHECK(tls_ctx(bad, key, err, sizeof(err)) == NULL);
	fprintf(stderr, "garbage: %s\n", err);
	CHECK(tls_ctx(cert, bad, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "private key") != NULL);
	fprintf(stderr, "garbage: %s\n", err);
	snprintf(bad, sizeof(bad), "%s/missing.pem", dir);
	errno = 0;
	CHECK(tls_ctx(bad, key, err, sizeof(err)) == NULL && errno == ENOENT);
	fprintf(stderr, "missing: %s\n", err);

	/* the key of another pair */
	CHECK(mkdtemp(dir2) != NULL);
	snprintf(cert2, sizeof(cert2), "%s/cert.pem", dir2);
	snprintf(key2, sizeof(key2), "%s/key.pem", dir2);
	CHECK(tls_selfsigned(cert2, key2, "localhost", err, sizeof(err)) == 0);
	ctx = tls_ctx(cert2, key2, err, sizeof(err));
	CHECK(ctx != NULL);
	SSL_CTX_free(ctx);
	CHECK(tls_ctx(cert, key2, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "does not match") != NULL);
	fprintf(stderr, "mismatch: %s\n", err);
	unlink(cert2);
	unlink(key2);
	rmdir(dir2);
	ERR_clear_error();
}

/* A client and a server over a socketpair, both non-blocking. */
struct pair {
	int		 p_fd[2];
	SSL		*p_c, *p_s;
	int		 p_cerr, p_serr;	/* OpenSSL reasons of failure */
};

/* With close_notify: OpenSSL forgets a session that ended without. */
static void
pair_free(struct pair *p)
{
	if (p->p_c && SSL_is_init_finished(p->p_c))
		SSL_shutdown(p->p_c);
	if (p->p_s && SSL_is_init_finished(p->p_s))
		SSL_shutdown(p->p_s);
	ERR_clear_error();
	SSL_free(p->p_c);
	SSL_free(p->p_s);
	close(p->p_fd[0]);
	close(p->p_fd[1]);
}

/* One step of one side: 1 done, 0 wants more, -1 failed (reason kept). */
static int
step(SSL *ssl, int *reason)
{
	int rc = SSL_do_handshake(ssl), e;

	if (rc == 1)
		return 1;
	e = SSL_get_error(ssl, rc);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return 0;
	*reason = ERR_GET_REASON(ERR_peek_error());
	ERR_clear_error();
	return -1;
}

/*
 * Handshake to the end in one thread: each side runs until it waits for
 * the other.  host is what the client checks, a name or an address;
 * sess a session to resume.  0 if both sides finished.
 */
static int
handshake(SSL_CTX *sctx, SSL_CTX *cctx, const char *host, SSL_SESSION *sess,
    struct pair *p)
{
	int cdone = 0, sdone = 0, i;

	memset(p, 0, sizeof(*p));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    p->p_fd) == -1)
		return -1;
	p->p_s = SSL_new(sctx);
	p->p_c = SSL_new(cctx);
	if (p->p_s == NULL || p->p_c == NULL ||
	    !SSL_set_fd(p->p_s, p->p_fd[0]) || !SSL_set_fd(p->p_c, p->p_fd[1]))
		return -1;
	SSL_set_accept_state(p->p_s);
	SSL_set_connect_state(p->p_c);
	if (strchr(host, ':') || strspn(host, "0123456789.") == strlen(host))
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(p->p_c), host);
	else if (!SSL_set1_host(p->p_c, host) ||
	    !SSL_set_tlsext_host_name(p->p_c, host))
		return -1;
	if (sess != NULL && !SSL_set_session(p->p_c, sess))
		return -1;
	/* on after one side fails, so the other reads its alert */
	for (i = 0; i < 100 && (cdone == 0 || sdone == 0); i++) {
		if (cdone == 0)
			cdone = step(p->p_c, &p->p_cerr);
		if (sdone == 0)
			sdone = step(p->p_s, &p->p_serr);
	}
	return cdone == 1 && sdone == 1 ? 0 : -1;
}

/* A round trip after the handshake, which also delivers TLS 1.3's
 * session tickets to the client. */
static int
roundtrip(struct pair *p)
{
	char buf[8];

	return SSL_write(p->p_c, "ping", 4) == 4 &&
	    SSL_read(p->p_s, buf, sizeof(buf)) == 4 &&
	    memcmp(buf, "ping", 4) == 0 && SSL_write(p->p_s, "pong", 4) == 4 &&
	    SSL_read(p->p_c, buf, sizeof(buf)) == 4 &&
	    memcmp(buf, "pong", 4) == 0 ? 0 : -1;
}

static void
test_handshake(void)
{
	static const struct {
		int	version;
		const char *name;
	} versions[] = {
		{ TLS1_3_VERSION, "TLS 1.3" },
		{ TLS1_2_VERSION, "TLS 1.2" },
	};
	struct pair p;
	SSL_SESSION *sess;
	SSL_CTX *sctx, *cctx;
	char err[512];
	size_t i;

	if ((sctx = tls_ctx(cert, key, err, sizeof(err))) == NULL ||
	    (cctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		CHECK(!"no TLS contexts");
		SSL_CTX_free(sctx);
		return;
	}
	CHECK(SSL_CTX_load_verify_locations(cctx, cert, NULL) == 1);
	SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_CLIENT);

	for (i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		fprintf(stderr, "%s\n", versions[i].name);
		CHECK(SSL_CTX_set_max_proto_version(cctx, versions[i].version));
		CHECK(handshake(sctx, cctx, "localhost", NULL, &p) == 0);
		CHECK_EQ(SSL_version(p.p_c), versions[i].version);
		CHECK_EQ(SSL_get_verify_result(p.p_c), X509_V_OK);
		CHECK(!SSL_session_reused(p.p_c));
		CHECK(roundtrip(&p) == 0);
		sess = SSL_get1_session(p.p_c);
		CHECK(sess != NULL && SSL_SESSION_is_resumable(sess));
		pair_free(&p);
		/* a keep-alive client coming back skips the full handshake */
		CHECK(handshake(sctx, cctx, "localhost", sess, &p) == 0);
		CHECK(SSL_session_reused(p.p_c) == 1);
		CHECK(roundtrip(&p) == 0);
		pair_free(&p);
		SSL_SESSION_free(sess);
	}
	SSL_CTX_set_max_proto_version(cctx, 0);

	/* the other names in the certificate, and one that is not */
	CHECK(handshake(sctx, cctx, CN, NULL, &p) == 0);
	pair_free(&p);
	CHECK(handshake(sctx, cctx, "127.0.0.1", NULL, &p) == 0);
	pair_free(&p);
	CHECK(handshake(sctx, cctx, "::1", NULL, &p) == 0);
	pair_free(&p);
	CHECK(handshake(sctx, cctx, "evil.example", NULL, &p) == -1);
	CHECK_EQ(p.p_cerr, SSL_R_CERTIFICATE_VERIFY_FAILED);
	CHECK_EQ(SSL_get_verify_result(p.p_c), X509_V_ERR_HOSTNAME_MISMATCH);
	pair_free(&p);

	/*
	 * A TLS 1.1 client: the client side is opened all the way down
	 * (Debian's openssl.cnf would otherwise refuse before sending), so
	 * it is the server that says no.
	 */
	SSL_CTX_set_security_level(cctx, 0);
	CHECK(SSL_CTX_set_min_proto_version(cctx, TLS1_VERSION));
	CHECK(SSL_CTX_set_max_proto_version(cctx, TLS1_1_VERSION));
	CHECK(handshake(sctx, cctx, "localhost", NULL, &p) == -1);
	CHECK_EQ(p.p_serr, SSL_R_UNSUPPORTED_PROTOCOL);
	CHECK_EQ(p.p_cerr, SSL_R_TLSV1_ALERT_PROTOCOL_VERSION);
	pair_free(&p);

	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

int
main(void)
{
	char path[96];

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	test_files();
	test_cert();
	test_ctx();
	test_handshake();
	unlink(cert);
	unlink(key);
	snprintf(path, sizeof(path), "%s/garbage.pem", dir);
	unlink(path);
	rmdir(dir);
	return t_done("test_tls");
}
