/*
 * controld/db.c against a real PostgreSQL: a private cluster in a fresh
 * directory is created, migrated, reused while it runs, stopped,
 * restarted with its data, and started again after its postmaster was
 * SIGKILLed (a stale postmaster.pid).  Skips when the server programs are
 * not installed.  Whatever fails, the cluster it started is stopped and
 * its directory removed (atexit), so no postmaster outlives the test.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "t.h"
#include "controld.h"

static char dir[] = "/tmp/xeno-db.XXXXXX";
static int made, started;
static char conninfo[256], err[1024];
static sigset_t fatal;		/* the signals that end the test */

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* The postmasters we stopped, our children as their subreaper. */
static void
reap(int block)
{
	pid_t pid;

	while ((pid = waitpid(-1, NULL, block ? 0 : WNOHANG)) > 0 ||
	    (pid == -1 && errno == EINTR))
		;
}

static void
cleanup(void)
{
	char e[1024];

	if (started && pgc_stop(dir, NULL, e, sizeof(e)) == -1) {
		fprintf(stderr, "cleanup: %s\n", e);
		reap(0);
	} else
		reap(1);
	if (made && nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) == -1)
		fprintf(stderr, "cleanup: rm -rf %s failed\n", dir);
}

/*
 * Not async-signal-safe, but a test killed by its timeout must not leave
 * a postmaster and a cluster behind; it waits in read, waitpid or poll.
 */
static void
on_signal(int sig)
{
	(void)sig;
	exit(2);
}

/*
 * pgc_start or pgc_stop on dir, run to its end: a signal waits for it, so
 * that cleanup never races an initdb or a pg_ctl still running.
 */
static int
pg(int start)
{
	sigset_t old;
	int rc;

	sigprocmask(SIG_BLOCK, &fatal, &old);
	started = 1;
	if (start)
		rc = pgc_start(dir, NULL, conninfo, sizeof(conninfo), err,
		    sizeof(err));
	else
		rc = pgc_stop(dir, NULL, err, sizeof(err));
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* the first value of the first row, or "(error: ...)" */
static const char *
q1(PGconn *c, const char *sql)
{
	static char buf[256];
	PGresult *r = PQexec(c, sql);

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
		snprintf(buf, sizeof(buf), "%s", PQgetvalue(r, 0, 0));
	else
		snprintf(buf, sizeof(buf), "(error: %s)",
		    PQresultErrorMessage(r));
	PQclear(r);
	return buf;
}

static int
ok(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	int good = PQresultStatus(r) == PGRES_COMMAND_OK;

	if (!good)
		fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
	return good;
}

/* connected, or the end of the test: nothing below makes sense without */
static PGconn *
open_or_die(const char *ci)
{
	struct pg_conn *c;

	if ((c = db_open(ci, err, sizeof(err))) == NULL) {
		fprintf(stderr, "db_open: %s\n", err);
		CHECK(c != NULL);
		exit(t_done("test_db"));
	}
	return c;
}

static void
start_or_die(const char *what)
{
	static int first = 1;
	double t0 = now();

	if (pg(1) == -1) {
		if (errno == ENOENT && first) {
			printf("SKIP: no PostgreSQL server: %s\n", err);
			exit(77);
		}
		fprintf(stderr, "pgc_start (%s): %s\n", what, err);
		CHECK(!"pgc_start");
		exit(t_done("test_db"));
	}
	first = 0;
	printf("pgc_start, %s: %.2f s\n", what, now() - t0);
}

/* Paths refused before anything is touched. */
static void
test_paths(void)
{
	char c[256], e[512], longdir[128];

	CHECK(pgc_start("relative/dir", NULL, c, sizeof(c), e, sizeof(e)) ==
	    -1 && errno == EINVAL && strstr(e, "absolute") != NULL);
	CHECK(pgc_start("/tmp/a b", NULL, c, sizeof(c), e, sizeof(e)) == -1 &&
	    errno == EINVAL && strstr(e, "' ' is not allowed") != NULL);
	CHECK(pgc_start("/tmp/a'b", NULL, c, sizeof(c), e, sizeof(e)) == -1);
	/* 87 + 21 bytes of "/pg/run/.s.PGSQL.5432": one past sun_path */
	memset(longdir, 'x', sizeof(longdir));
	longdir[0] = '/';
	longdir[87] = '\0';
	CHECK(pgc_start(longdir, NULL, c, sizeof(c), e, sizeof(e)) == -1 &&
	    errno == ENAMETOOLONG && strstr(e, "too long") != NULL);
	CHECK(access(longdir, F_OK) == -1);
}

/* A migration that fails is rolled back and says where it failed. */
static void
test_failing(PGconn *c)
{
	char ci[300];
	PGconn *o;
	int from = -1, to = -1;

	CHECK(ok(c, "CREATE DATABASE clash"));
	snprintf(ci, sizeof(ci), "%s", conninfo);
	memcpy(strstr(ci, "dbname=xeno"), "dbname=clash", 13);
	o = open_or_die(ci);
	CHECK(ok(o, "CREATE TABLE tenants (x int)"));
	CHECK(db_migrate(o, &from, &to, err, sizeof(err)) == -1);
	printf("clash: %s\n", err);
	CHECK(strcmp(err, "migration 001_init: relation \"tenants\" already "
	    "exists") == 0);
	CHECK_EQ(from, 0);
	CHECK_EQ(to, 0);
	/* host came before tenants, schema_version in the same transaction */
	CHECK(strcmp(q1(o, "SELECT to_regclass('host') IS NULL AND "
	    "to_regclass('schema_version') IS NULL"), "t") == 0);
	CHECK(PQtransactionStatus(o) == PQTRANS_IDLE);
	PQfinish(o);

	/*
	 * An error with a position in the SQL says which line: a length()
	 * of our own makes "length(hash) = 32" compare text with integer.
	 */
	CHECK(ok(c, "ALTER DATABASE clash SET search_path = public, "
	    "pg_catalog"));
	o = open_or_die(ci);
	CHECK(ok(o, "DROP TABLE tenants"));
	CHECK(ok(o, "CREATE FUNCTION public.length(bytea) RETURNS text "
	    "LANGUAGE sql AS 'SELECT ''x'''"));
	CHECK(db_migrate(o, &from, &to, err, sizeof(err)) == -1);
	printf("clash: %s\n", err);
	CHECK(strcmp(err, "migration 001_init: line 39: operator does not "
	    "exist: text = integer") == 0);
	PQfinish(o);
	CHECK(ok(c, "DROP DATABASE clash"));
}

/* The postmaster of dir dies by SIGKILL, its children after it. */
static void
kill_postmaster(void)
{
	char path[128];
	FILE *f;
	long pid = 0;

	snprintf(path, sizeof(path), "%s/pg/data/postmaster.pid", dir);
	if ((f = fopen(path, "r")) != NULL) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	CHECK(pid > 0);
	if (pid <= 0)
		return;
	CHECK(kill((pid_t)pid, SIGKILL) == 0);
	/*
	 * We are their subreaper: reap the postmaster, then its children,
	 * which follow it out; until none is left its shared memory is in
	 * use and a new postmaster would refuse to start.
	 */
	reap(1);
	CHECK(access(path, F_OK) == 0);		/* stale, as after a crash */
}

int
main(void)
{
	PGconn *c;
	int from = -1, to = -1, want, rc;

	test_paths();
	CHECK(db_nmigrations >= 1);
	want = db_migrations[db_nmigrations - 1].dm_version;

	/*
	 * The postmaster detaches from pg_ctl; as the subreaper we wait for
	 * it when we kill it, rather than count on an init that reaps (a
	 * zombie's pid still looks alive to pg_ctl).
	 */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	made = 1;
	atexit(cleanup);
	sigemptyset(&fatal);
	sigaddset(&fatal, SIGTERM);
	sigaddset(&fatal, SIGINT);
	sigaddset(&fatal, SIGHUP);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGHUP, on_signal);

	/*
	 * As root, postgres runs as user postgres, who must get through
	 * dir to dir/pg: not while dir is 0700.
	 */
	if (geteuid() == 0 && ((rc = pg(1)) == 0 || errno != ENOENT)) {
		printf("dir 0700: %s\n", rc == 0 ? "started!" : err);
		CHECK(rc == -1 && strstr(err, "searchable") != NULL);
	}
	CHECK(chmod(dir, 0711) == 0);
	start_or_die("fresh cluster");
	printf("conninfo: %s\n", conninfo);

	c = open_or_die(conninfo);
	CHECK(db_migrate(c, &from, &to, err, sizeof(err)) == 0);
	CHECK_EQ(from, 0);
	CHECK_EQ(to, want);
	CHECK(strcmp(q1(c, "SELECT to_regclass('tenants') IS NOT NULL"), "t")
	    == 0);
	CHECK(strcmp(q1(c, "SELECT count(*) FROM schema_version"), "1") == 0);
	CHECK(strcmp(q1(c, "SELECT name FROM schema_version"), "001_init")
	    == 0);
	CHECK(db_migrate(c, &from, &to, err, sizeof(err)) == 0);
	CHECK_EQ(from, want);
	CHECK_EQ(to, want);

	/* a newer controld migrated it: refuse, and touch nothing */
	CHECK(ok(c, "INSERT INTO schema_version VALUES (999, '999_future')"));
	from = to = -1;
	CHECK(db_migrate(c, &from, &to, err, sizeof(err)) == -1);
	CHECK(errno == ENOTSUP);
	printf("newer: %s\n", err);
	CHECK(strstr(err, "schema version 999, newer") != NULL);
	CHECK_EQ(from, 999);
	CHECK(PQtransactionStatus(c) == PQTRANS_IDLE);
	CHECK(ok(c, "DELETE FROM schema_version WHERE version = 999"));

	test_failing(c);

	/* nothing on TCP, the socket only where we put it */
	CHECK(strcmp(q1(c, "SHOW listen_addresses"), "") == 0);
	CHECK(strstr(conninfo, q1(c, "SHOW unix_socket_directories")) !=
	    NULL);
	CHECK(strcmp(q1(c, "SHOW server_encoding"), "UTF8") == 0);
	CHECK(ok(c, "INSERT INTO tenants (name) VALUES ('acme')"));
	PQfinish(c);

	start_or_die("reuse, running");
	CHECK(pg(0) == 0);
	CHECK(pg(0) == 0);
	CHECK(db_open(conninfo, err, sizeof(err)) == NULL);
	printf("stopped: %s\n", err);
	CHECK(strstr(err, "cannot connect to PostgreSQL: ") == err);

	start_or_die("restart, stopped");
	c = open_or_die(conninfo);
	CHECK(strcmp(q1(c, "SELECT name FROM tenants"), "acme") == 0);
	PQfinish(c);

	kill_postmaster();
	start_or_die("restart, postmaster SIGKILLed");
	c = open_or_die(conninfo);
	CHECK(strcmp(q1(c, "SELECT name FROM tenants"), "acme") == 0);
	CHECK(db_migrate(c, &from, &to, err, sizeof(err)) == 0);
	CHECK_EQ(from, want);
	PQfinish(c);

	CHECK(pg(0) == 0);
	return t_done("test_db");
}
