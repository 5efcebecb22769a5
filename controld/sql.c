/*
 * Small helpers over libpq for the daemon's one connection: text
 * parameters (never SQL built by printf), one call per statement, errors
 * logged once here and returned as -1 / NULL.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "controld.h"
#include "xeno/log.h"

void
sqlp_init(struct sqlp *p)
{
	p->sp_n = 0;
}

void
sqlp_i64(struct sqlp *p, int64_t v)
{
	if (p->sp_n >= SQL_MAXP)
		fatalx("sqlp: more than %d parameters", SQL_MAXP);
	snprintf(p->sp_buf[p->sp_n], sizeof(p->sp_buf[0]), "%" PRId64, v);
	p->sp_v[p->sp_n] = p->sp_buf[p->sp_n];
	p->sp_n++;
}

void
sqlp_str(struct sqlp *p, const char *s)
{
	if (p->sp_n >= SQL_MAXP)
		fatalx("sqlp: more than %d parameters", SQL_MAXP);
	p->sp_v[p->sp_n++] = s;
}

void
sqlp_null(struct sqlp *p)
{
	sqlp_str(p, NULL);
}

/*
 * Every statement is prepared once, on first use, and executed by name
 * after: parsing and planning were most of the server's time per
 * admission.  Statements are string literals, so the text's address
 * identifies one; the cache goes with the connection (PQreset).
 */
#define SQL_STMTS	128
static const char *sql_stmts[SQL_STMTS];
static int sql_nstmts;

static int
sql_stmt(const char *q, const struct sqlp *p, char *name, size_t namesz)
{
	PGresult *r;
	int i;

	for (i = 0; i < sql_nstmts; i++)
		if (sql_stmts[i] == q)
			break;
	snprintf(name, namesz, "s%d", i);
	if (i < sql_nstmts)
		return 0;
	if (sql_nstmts == SQL_STMTS)
		return -1;	/* more statements than we have: unprepared */
	r = PQprepare((PGconn *)ctld->c_db, name, q, p != NULL ? p->sp_n : 0,
	    NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		PQclear(r);
		return -1;	/* PQexecParams will report the error */
	}
	PQclear(r);
	sql_stmts[sql_nstmts++] = q;
	return 0;
}

/* A statement that returns rows (or not): the result, or NULL. */
PGresult *
sql_q(const char *q, const struct sqlp *p)
{
	PGresult *r;
	ExecStatusType st;
	char name[16];

	if (sql_stmt(q, p, name, sizeof(name)) == 0)
		r = PQexecPrepared((PGconn *)ctld->c_db, name,
		    p != NULL ? p->sp_n : 0, p != NULL ? p->sp_v : NULL, NULL,
		    NULL, 0);
	else
		r = PQexecParams((PGconn *)ctld->c_db, q, p != NULL ?
		    p->sp_n : 0, NULL, p != NULL ? p->sp_v : NULL, NULL, NULL,
		    0);
	st = PQresultStatus(r);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		log_warnx("sql: %s (in: %.80s)", PQresultErrorMessage(r), q);
		PQclear(r);
		if (PQstatus((PGconn *)ctld->c_db) == CONNECTION_BAD) {
			PQreset((PGconn *)ctld->c_db);
			sql_nstmts = 0;
		}
		errno = EIO;
		return NULL;
	}
	return r;
}

int
sql_exec(const char *q, const struct sqlp *p)
{
	PGresult *r;

	if ((r = sql_q(q, p)) == NULL)
		return -1;
	PQclear(r);
	return 0;
}

int
sql_begin(void)
{
	return sql_exec("BEGIN", NULL);
}

int
sql_commit(void)
{
	return sql_exec("COMMIT", NULL);
}

void
sql_rollback(void)
{
	PGresult *r = PQexec((PGconn *)ctld->c_db, "ROLLBACK");

	PQclear(r);
}

int64_t
sql_i64(PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return 0;
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

const char *
sql_str(PGresult *r, int row, int col)
{
	return PQgetvalue(r, row, col);
}

int
sql_isnull(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col);
}

int
sql_ntuples(PGresult *r)
{
	return PQntuples(r);
}

void
sql_free(PGresult *r)
{
	PQclear(r);
}

/*
 * bytea travels as hex text (every parameter is text): n bytes of b into
 * 2n hex digits and a NUL at out.
 */
void
sql_hex(const void *b, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	const uint8_t *p = b;
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hx[p[i] >> 4];
		out[2 * i + 1] = hx[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int
unhex1(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ?
	    c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : 0;
}

/* The other way, from encode(..., 'hex'): bytes written, at most max. */
size_t
sql_unhex(const char *hex, void *out, size_t max)
{
	uint8_t *p = out;
	size_t n;

	for (n = 0; n < max && hex[2 * n] != '\0' && hex[2 * n + 1] != '\0';
	    n++)
		p[n] = (uint8_t)(unhex1(hex[2 * n]) << 4 |
		    unhex1(hex[2 * n + 1]));
	return n;
}

const char *
sql_error(void)
{
	return PQerrorMessage((PGconn *)ctld->c_db);
}
