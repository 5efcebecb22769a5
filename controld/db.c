/*
 * PostgreSQL for xeno-controld: a private cluster under the state
 * directory that controld starts itself (no system service to set up,
 * nothing on TCP), connecting to it, and the schema migrations compiled
 * in from sql/ by scripts/embed-sql.sh.
 *
 *	dir/pg/data	the cluster, owned by the user postgres runs as
 *	dir/pg/run	its Unix socket: mode 0700, the only way in
 *	dir/pg/log	what the server says (pg_ctl -l)
 *
 * Authentication is "trust" on the socket and "reject" on TCP.  That is
 * safe because the socket's directory is 0700 and belongs to the
 * cluster's user: only root and that user can reach the socket, and that
 * user can read the data files anyway.  There is no password to store.
 *
 * The tools run through fork and exec, never a shell, with a fixed
 * environment (a PGPORT or PGDATA of controld's must not steer them) and
 * no descriptor of controld's but their stdout and stderr, which we read.
 * The caller must neither ignore SIGCHLD nor reap children it did not
 * start: we wait for ours by pid.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "controld.h"
#include "xeno/log.h"

#define PGC_PORT	"5432"
#define PGC_SOCK	"/pg/run/.s.PGSQL." PGC_PORT
#define PGC_WAIT	"60"		/* seconds, for a start or a stop */
#define PGC_PATHSZ	128		/* dir is shorter: see the socket */
/*
 * The state directory goes through pg_ctl's shell command line and into
 * comma-separated lists (unix_socket_directories, libpq's host): rather
 * than quote it three ways, allow only characters none of them treat
 * specially.
 */
#define PGC_PATHCHARS	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
			"0123456789/._-+@"
#define DB_LOCK		"2019913327"	/* 0x78656e6f, "xeno": migrations */

struct pgc {
	char	pc_bin[PATH_MAX];
	char	pc_pg[PGC_PATHSZ];
	char	pc_data[PGC_PATHSZ];
	char	pc_run[PGC_PATHSZ];
	char	pc_log[PGC_PATHSZ];
	char	pc_user[64];
	uid_t	pc_uid;
	gid_t	pc_gid;
	int	pc_drop;	/* we are root: run the tools as pc_user */
};

/* The last lines of `in', as one line " | " between them, in out. */
static const char *
pgc_tail(const char *in, char *out, size_t outsz)
{
	size_t len = strlen(in), n = 0;
	const char *p;

	while (len > 0 && (in[len - 1] == '\n' || in[len - 1] == ' '))
		len--;
	p = len > outsz / 3 ? in + len - outsz / 3 : in;
	if (p != in && memchr(p, '\n', in + len - p) != NULL)
		p = (const char *)memchr(p, '\n', in + len - p) + 1;
	for (; p < in + len && n + 4 < outsz; p++)
		if (*p == '\n') {
			memcpy(out + n, " | ", 3);
			n += 3;
			while (p[1] == ' ' || p[1] == '\t')
				p++;
		} else
			out[n++] = *p == '\t' ? ' ' : *p;
	out[n] = '\0';
	return out;
}

static const char *
pgc_logtail(const struct pgc *pc, char *out, size_t outsz)
{
	char buf[1024];
	ssize_t n = -1;
	off_t end;
	int fd;

	if ((fd = open(pc->pc_log, O_RDONLY | O_CLOEXEC)) != -1) {
		end = lseek(fd, 0, SEEK_END) - (off_t)sizeof(buf) + 1;
		n = pread(fd, buf, sizeof(buf) - 1, end > 0 ? end : 0);
		close(fd);
	}
	buf[n > 0 ? n : 0] = '\0';
	return pgc_tail(buf, out, outsz);
}

static int
pgc_init(struct pgc *pc, const char *dir, char *err, size_t errsz)
{
	struct sockaddr_un sun;
	struct passwd *pw;
	size_t len;

	memset(pc, 0, sizeof(*pc));
	if (dir[0] != '/')
		return err_set(err, errsz, EINVAL, "PostgreSQL state directory "
		    "'%s' is not an absolute path", dir);
	if ((len = strspn(dir, PGC_PATHCHARS)) != strlen(dir))
		return err_set(err, errsz, EINVAL, "PostgreSQL state directory "
		    "'%s': '%c' is not allowed; only A-Z a-z 0-9 / . _ - + @",
		    dir, dir[len]);
	if (len + strlen(PGC_SOCK) >= sizeof(sun.sun_path))
		return err_set(err, errsz, ENAMETOOLONG, "PostgreSQL state "
		    "directory '%s' is too long: its socket %s" PGC_SOCK
		    " would be %zu bytes, a Unix socket path at most %zu",
		    dir, dir, len + strlen(PGC_SOCK),
		    sizeof(sun.sun_path) - 1);
	snprintf(pc->pc_pg, sizeof(pc->pc_pg), "%s/pg", dir);
	snprintf(pc->pc_data, sizeof(pc->pc_data), "%s/pg/data", dir);
	snprintf(pc->pc_run, sizeof(pc->pc_run), "%s/pg/run", dir);
	snprintf(pc->pc_log, sizeof(pc->pc_log), "%s/pg/log", dir);
	if (geteuid() != 0) {
		pc->pc_uid = geteuid();
		pc->pc_gid = getegid();
		return 0;
	}
	/*
	 * PostgreSQL refuses to run as root.  nobody is the last resort: other
	 * daemons run as nobody too, and could reach the socket.
	 */
	if ((pw = getpwnam("postgres")) == NULL &&
	    (pw = getpwnam("nobody")) == NULL)
		return err_set(err, errsz, ENOENT, "PostgreSQL does not run as "
		    "root, and there is no user postgres (or nobody) to run "
		    "it as: install postgresql");
	snprintf(pc->pc_user, sizeof(pc->pc_user), "%s", pw->pw_name);
	pc->pc_uid = pw->pw_uid;
	pc->pc_gid = pw->pw_gid;
	pc->pc_drop = 1;
	return 0;
}

/* dir/pg and dir/pg/run: directories of the cluster's user, mode 0700. */
static int
pgc_mkdir(const struct pgc *pc, const char *path, char *err, size_t errsz)
{
	struct stat st;

	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		return err_set(err, errsz, errno, "mkdir %s: %s", path,
		    strerror(errno));
	if (lstat(path, &st) == -1)
		return err_set(err, errsz, errno, "%s: %s", path,
		    strerror(errno));
	if (!S_ISDIR(st.st_mode))	/* a symlink, say: not ours to chown */
		return err_set(err, errsz, ENOTDIR, "%s: not a directory",
		    path);
	if (pc->pc_drop && (st.st_uid != pc->pc_uid ||
	    st.st_gid != pc->pc_gid) && lchown(path, pc->pc_uid,
	    pc->pc_gid) == -1)
		return err_set(err, errsz, errno, "chown %s to %s: %s", path,
		    pc->pc_user, strerror(errno));
	if ((st.st_mode & 07777) != 0700 && chmod(path, 0700) == -1)
		return err_set(err, errsz, errno, "chmod 0700 %s: %s", path,
		    strerror(errno));
	return 0;
}

static void __attribute__((noreturn))
pgc_child(const struct pgc *pc, const char *const argv[], int out)
{
	static const char *const env[] = { "PATH=/usr/bin:/bin", "LC_ALL=C",
	    NULL };
	sigset_t none;
	long max;
	int i, fd;

	/* whatever controld ignores or blocks, pg_ctl must not */
	for (i = 1; i < NSIG; i++)
		signal(i, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if ((fd = open("/dev/null", O_RDONLY)) == -1 || dup2(fd, 0) == -1 ||
	    dup2(out, 1) == -1 || dup2(out, 2) == -1)
		_exit(127);
	for (i = 0; i < 3; i++)		/* dup2 onto itself keeps CLOEXEC */
		fcntl(i, F_SETFD, 0);
	/* The postmaster outlives us: it must hold none of controld's fds. */
	if (close_range(3, ~0U, 0) == -1)
		for (fd = 3, max = sysconf(_SC_OPEN_MAX); fd < max &&
		    fd < 65536; fd++)
			close(fd);	/* a kernel before 5.9 */
	if (pc->pc_drop && (initgroups(pc->pc_user, pc->pc_gid) == -1 ||
	    setgid(pc->pc_gid) == -1 || setuid(pc->pc_uid) == -1)) {
		dprintf(2, "cannot become user %s: %s\n", pc->pc_user,
		    strerror(errno));
		_exit(127);
	}
	if (chdir(pc->pc_pg) == -1) {
		dprintf(2, "cannot enter %s as uid %u: %s (each directory "
		    "above it must be searchable by that user)\n", pc->pc_pg,
		    (unsigned)pc->pc_uid, strerror(errno));
		_exit(127);
	}
	execve(argv[0], (char *const *)argv, (char *const *)env);
	dprintf(2, "%s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/*
 * Runs argv (argv[0] a full path) as the cluster's user in dir/pg; the end
 * of what it writes to stdout and stderr is left in out.  Returns its exit
 * status (128 + the signal that killed it), or -1.
 */
static int
pgc_run(const struct pgc *pc, const char *const argv[], char *out,
    size_t outsz, char *err, size_t errsz)
{
	size_t n = 0;
	ssize_t r;
	pid_t pid;
	int fd[2], status;

	if (pipe2(fd, O_CLOEXEC) == -1)
		return err_set(err, errsz, errno, "pipe: %s", strerror(errno));
	if ((pid = fork()) == -1) {
		close(fd[0]);
		close(fd[1]);
		return err_set(err, errsz, errno, "fork: %s", strerror(errno));
	}
	if (pid == 0)
		pgc_child(pc, argv, fd[1]);
	close(fd[1]);
	for (;;) {
		if (n == outsz - 1) {	/* keep the end: the errors are there */
			memmove(out, out + n / 2, n - n / 2);
			n -= n / 2;
		}
		if ((r = read(fd[0], out + n, outsz - 1 - n)) > 0)
			n += r;
		else if (r == 0 || errno != EINTR)
			break;
	}
	out[n] = '\0';
	close(fd[0]);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return err_set(err, errsz, errno, "waitpid %s: %s",
			    argv[0], strerror(errno));
	return WIFEXITED(status) ? WEXITSTATUS(status) :
	    128 + WTERMSIG(status);
}

/* pgbin, else the newest /usr/lib/postgresql/N/bin, else pg_config's */
static int
pgc_findbin(struct pgc *pc, const char *pgbin, char *err, size_t errsz)
{
	const char *argv[] = { pc->pc_bin, "--bindir", NULL };
	char out[PATH_MAX], exe[PATH_MAX + 16], *best = NULL, *path, *p;
	char *save;
	glob_t g;
	size_t i;

	if (pgbin != NULL)
		snprintf(pc->pc_bin, sizeof(pc->pc_bin), "%s", pgbin);
	else if (glob("/usr/lib/postgresql/*/bin/pg_ctl", 0, NULL, &g) == 0) {
		for (i = 0; i < g.gl_pathc; i++)
			if (best == NULL || strverscmp(g.gl_pathv[i], best) > 0)
				best = g.gl_pathv[i];
		snprintf(pc->pc_bin, sizeof(pc->pc_bin), "%.*s",
		    (int)(strlen(best) - strlen("/pg_ctl")), best);
		globfree(&g);
	} else if ((path = strdup(getenv("PATH") ? getenv("PATH") :
	    "/usr/bin:/bin")) != NULL) {
		for (p = strtok_r(path, ":", &save); p != NULL;
		    p = strtok_r(NULL, ":", &save)) {
			snprintf(pc->pc_bin, sizeof(pc->pc_bin),
			    "%s/pg_config", p);
			if (p[0] == '/' && access(pc->pc_bin, X_OK) == 0 &&
			    pgc_run(pc, argv, out, sizeof(out), err,
			    errsz) == 0) {
				out[strcspn(out, "\n")] = '\0';
				snprintf(pc->pc_bin, sizeof(pc->pc_bin), "%s",
				    out);
				break;
			}
			pc->pc_bin[0] = '\0';
		}
		free(path);
	}
	snprintf(exe, sizeof(exe), "%s/pg_ctl", pc->pc_bin);
	if (pc->pc_bin[0] == '\0' || access(exe, X_OK) == -1)
		return err_set(err, errsz, ENOENT, "no PostgreSQL server "
		    "programs (pg_ctl) in %s: install postgresql",
		    pc->pc_bin[0] != '\0' ? pc->pc_bin :
		    "/usr/lib/postgresql/*/bin nor in pg_config --bindir");
	return 0;
}

static int
pgc_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/*
 * initdb into data.tmp, renamed to data once complete: a data directory
 * always holds a whole cluster, and an initdb killed halfway is redone.
 */
static int
pgc_initdb(const struct pgc *pc, char *err, size_t errsz)
{
	char tmp[PGC_PATHSZ + 8], initdb[PATH_MAX + 16], out[2048], tail[1024];
	const char *argv[] = { initdb, "-D", tmp, "-U", "xeno", "-E", "UTF8",
	    /* C sorts by bytes: a glibc upgrade never corrupts an index */
	    "--locale=C", "--auth-local=trust", "--auth-host=reject",
	    "--no-instructions", NULL };
	int rc, fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", pc->pc_data);
	snprintf(initdb, sizeof(initdb), "%s/initdb", pc->pc_bin);
	if (nftw(tmp, pgc_rm, 16, FTW_DEPTH | FTW_PHYS) == -1 &&
	    errno != ENOENT)
		return err_set(err, errsz, errno, "cannot remove %s, left by "
		    "an initdb that did not finish: %s", tmp, strerror(errno));
	if ((rc = pgc_run(pc, argv, out, sizeof(out), err, errsz)) == -1)
		return -1;
	if (rc != 0)
		return err_set(err, errsz, EIO, "initdb %s failed (exit %d): "
		    "%s", tmp, rc, pgc_tail(out, tail, sizeof(tail)));
	if (rename(tmp, pc->pc_data) == -1)
		return err_set(err, errsz, errno, "rename %s to %s: %s", tmp,
		    pc->pc_data, strerror(errno));
	if ((fd = open(pc->pc_pg, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		fsync(fd);	/* the rename, as durable as initdb's files */
		close(fd);
	}
	return 0;
}

/* pg_ctl `cmd' -D data [args]: its exit status, or -1 */
static int
pgc_ctl(const struct pgc *pc, const char *cmd, const char *a1,
    const char *a2, char *out, size_t outsz, char *err, size_t errsz)
{
	char pgctl[PATH_MAX + 16], opts[PGC_PATHSZ + 128];
	const char *argv[] = { pgctl, cmd, "-D", pc->pc_data, "-s", "-w", "-t",
	    PGC_WAIT, a1, a2, NULL, NULL, NULL };

	snprintf(pgctl, sizeof(pgctl), "%s/pg_ctl", pc->pc_bin);
	if (strcmp(cmd, "start") == 0) {
		/* no TCP at all; the socket where only we look for it */
		snprintf(opts, sizeof(opts), "-c listen_addresses= -c port="
		    PGC_PORT " -c unix_socket_directories=%s "
		    "-c unix_socket_permissions=0700", pc->pc_run);
		argv[10] = "-o";
		argv[11] = opts;
	}
	return pgc_run(pc, argv, out, outsz, err, errsz);
}

/* Until the server takes connections: it may be in crash recovery. */
static int
pgc_ready(const struct pgc *pc, const char *conninfo, char *err,
    size_t errsz)
{
	const struct timespec tick = { 0, 100 * 1000 * 1000 };
	char tail[1024];
	int i;

	for (i = 0; i < atoi(PGC_WAIT) * 10; i++) {
		if (PQping(conninfo) == PQPING_OK)
			return 0;
		nanosleep(&tick, NULL);
	}
	return err_set(err, errsz, ETIMEDOUT, "PostgreSQL in %s runs (it has "
	    "a live postmaster.pid) but does not answer on %s" PGC_SOCK
	    " after " PGC_WAIT " s; log %s: %s", pc->pc_data, pc->pc_run,
	    pc->pc_log, pgc_logtail(pc, tail, sizeof(tail)));
}

/*
 * what: message, on one line; with the SQL that failed, what: line N:
 * message (the server gives a position in characters, not bytes).
 */
static int
db_err(PGconn *c, PGresult *r, const char *what, const char *sql, char *err,
    size_t errsz)
{
	const char *m = NULL, *pos = NULL, *s;
	char buf[1024];
	long n, line = 1;

	if (r != NULL) {
		m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
		pos = PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION);
	}
	if (m == NULL)
		m = PQerrorMessage(c);
	pgc_tail(m, buf, sizeof(buf));
	if (sql == NULL || pos == NULL)
		return err_set(err, errsz, EIO, "%s: %s", what, buf);
	for (s = sql, n = atol(pos); *s != '\0'; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80 && --n == 0)
			break;		/* at the first byte of character pos */
		if (*s == '\n')
			line++;
	}
	return err_set(err, errsz, EIO, "%s: line %ld: %s", what, line, buf);
}

/*
 * sql, a command or several; on error "what: message" in err, with the
 * line in sql if `lines'.
 */
static int
db_exec(PGconn *c, const char *sql, const char *what, int lines, char *err,
    size_t errsz)
{
	PGresult *r = PQexec(c, sql);
	int rc = 0;

	switch (PQresultStatus(r)) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
	case PGRES_EMPTY_QUERY:		/* a migration of comments only */
		break;
	default:
		rc = db_err(c, r, what, lines ? sql : NULL, err, errsz);
	}
	PQclear(r);
	return rc;
}

static void
db_notice(void *arg, const char *msg)
{
	(void)arg;
	log_warnx("postgres: %.*s", (int)strcspn(msg, "\n"), msg);
}

/* sql, a query of one row of one integer: that integer in *v */
static int
db_int(PGconn *c, const char *sql, const char *what, int *v, char *err,
    size_t errsz)
{
	PGresult *r = PQexec(c, sql);
	int rc = 0;

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		rc = db_err(c, r, what, NULL, err, errsz);
	else
		*v = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	return rc;
}

/* the database xeno, made on the first start; admin: to database postgres */
static int
pgc_createdb(const char *admin, char *err, size_t errsz)
{
	struct pg_conn *c;
	int n = 0, rc;

	if ((c = db_open(admin, err, errsz)) == NULL)
		return -1;
	rc = db_int(c, "SELECT count(*) FROM pg_database WHERE datname = "
	    "'xeno'", "looking for database xeno", &n, err, errsz);
	if (rc == 0 && n == 0)
		rc = db_exec(c, "CREATE DATABASE xeno", "creating database "
		    "xeno", 0, err, errsz);
	PQfinish(c);
	return rc;
}

/*
 * The cluster of state directory dir (absolute; as root, the user postgres
 * must be able to search every directory down to it), made if need be,
 * started unless it runs, with a database xeno; its conninfo in conninfo.
 * One caller at a time per directory.
 */
int
pgc_start(const char *dir, const char *pgbin, char *conninfo,
    size_t conninfosz, char *err, size_t errsz)
{
	struct pgc pc;
	struct stat st;
	char out[2048], tail[1024], admin[PGC_PATHSZ + 64];
	int rc;

	if (pgc_init(&pc, dir, err, errsz) == -1 ||
	    pgc_mkdir(&pc, pc.pc_pg, err, errsz) == -1 ||
	    pgc_mkdir(&pc, pc.pc_run, err, errsz) == -1 ||
	    pgc_findbin(&pc, pgbin, err, errsz) == -1)
		return -1;
	if (stat(pc.pc_data, &st) == -1) {
		if (errno != ENOENT)
			return err_set(err, errsz, errno, "%s: %s", pc.pc_data,
			    strerror(errno));
		if (pgc_initdb(&pc, err, errsz) == -1)
			return -1;
	}

	/* 0: running (controld was killed, postgres was not), 3: not */
	rc = pgc_ctl(&pc, "status", NULL, NULL, out, sizeof(out), err, errsz);
	if (rc == -1)
		return -1;
	if (rc != 0 && rc != 3)
		return err_set(err, errsz, EIO, "pg_ctl status -D %s: exit %d: "
		    "%s", pc.pc_data, rc, pgc_tail(out, tail, sizeof(tail)));
	/* pg_ctl and postgres see through a stale postmaster.pid */
	if (rc == 3 && (rc = pgc_ctl(&pc, "start", "-l", pc.pc_log, out,
	    sizeof(out), err, errsz)) != 0)
		return rc == -1 ? -1 : err_set(err, errsz, EIO, "PostgreSQL in "
		    "%s did not start (pg_ctl exit %d); log %s: %s",
		    pc.pc_data, rc, pc.pc_log,
		    pgc_logtail(&pc, tail, sizeof(tail)));

	snprintf(admin, sizeof(admin), "host=%s port=" PGC_PORT " user=xeno "
	    "dbname=postgres", pc.pc_run);
	if (pgc_ready(&pc, admin, err, errsz) == -1 ||
	    pgc_createdb(admin, err, errsz) == -1)
		return -1;
	if ((size_t)snprintf(conninfo, conninfosz, "host=%s port=" PGC_PORT
	    " user=xeno dbname=xeno", pc.pc_run) >= conninfosz)
		return err_set(err, errsz, ENAMETOOLONG, "pgc_start: conninfo "
		    "buffer of %zu bytes is too small", conninfosz);
	return 0;
}

int
pgc_stop(const char *dir, const char *pgbin, char *err, size_t errsz)
{
	struct pgc pc;
	struct stat st;
	char out[2048], tail[1024];
	int rc;

	if (pgc_init(&pc, dir, err, errsz) == -1)
		return -1;
	if (stat(pc.pc_data, &st) == -1 && errno == ENOENT)
		return 0;	/* never initialised, so not running */
	if (pgc_findbin(&pc, pgbin, err, errsz) == -1 ||
	    (rc = pgc_ctl(&pc, "status", NULL, NULL, out, sizeof(out), err,
	    errsz)) == -1)
		return -1;
	if (rc == 3)
		return 0;
	if (rc == 0 && (rc = pgc_ctl(&pc, "stop", "-m", "fast", out,
	    sizeof(out), err, errsz)) == -1)
		return -1;
	if (rc != 0)
		return err_set(err, errsz, EIO, "cannot stop PostgreSQL in %s "
		    "(pg_ctl exit %d): %s; log %s", pc.pc_data, rc,
		    pgc_tail(out, tail, sizeof(tail)), pc.pc_log);
	return 0;
}

struct pg_conn *
db_open(const char *conninfo, char *err, size_t errsz)
{
	PGconn *c;
	int saved;

	if ((c = PQconnectdb(conninfo)) == NULL) {
		err_set(err, errsz, ENOMEM, "cannot connect to PostgreSQL: "
		    "out of memory");
		return NULL;
	}
	PQsetNoticeProcessor(c, db_notice, NULL);
	if (PQstatus(c) != CONNECTION_OK)
		db_err(c, NULL, "cannot connect to PostgreSQL", NULL, err,
		    errsz);
	/* the migrations are UTF-8, whatever PGCLIENTENCODING says */
	else if (db_exec(c, "SET client_min_messages = warning; "
	    "SET client_encoding = 'UTF8'", "setting up the connection", 0,
	    err, errsz) == 0)
		return c;
	saved = errno;
	PQfinish(c);
	errno = saved;
	return NULL;
}

/* After a failure: keep its message and errno, not ROLLBACK's. */
static int
db_rollback(PGconn *c)
{
	int saved = errno;

	PQclear(PQexec(c, "ROLLBACK"));
	errno = saved;
	return -1;
}

int
db_migrate(struct pg_conn *c, int *from, int *to, char *err, size_t errsz)
{
	const struct db_migration *m, *end = db_migrations + db_nmigrations;
	const char *vals[2];
	char what[128], ver[16];
	PGresult *r;
	int cur, last = 0, first = 1;

	for (m = db_migrations; m < end; last = m->dm_version, m++)
		if (m->dm_version <= last)
			return err_set(err, errsz, EINVAL, "migration %s: "
			    "version %d is not above %d: the migrations "
			    "compiled in must be strictly increasing from 1",
			    m->dm_name, m->dm_version, last);
	if (PQtransactionStatus(c) != PQTRANS_IDLE)
		return err_set(err, errsz, EBUSY, "db_migrate: the connection "
		    "is not idle (inside a transaction?)");

	/*
	 * One transaction per migration, each under the lock (released at
	 * its end), each reading the version afresh: another controld may
	 * have migrated while we waited.
	 */
	for (;;) {
		if (db_exec(c, "BEGIN", "BEGIN", 0, err, errsz) == -1)
			return -1;
		if (db_exec(c, "SELECT pg_advisory_xact_lock(" DB_LOCK ")",
		    "taking the migrations' lock", 0, err, errsz) == -1 ||
		    db_exec(c, "CREATE TABLE IF NOT EXISTS schema_version ("
		    "version integer PRIMARY KEY, name text NOT NULL, "
		    "applied_at timestamptz NOT NULL DEFAULT now())",
		    "creating schema_version", 0, err, errsz) == -1)
			return db_rollback(c);
		if (db_int(c, "SELECT coalesce(max(version), 0) FROM "
		    "schema_version", "reading schema_version", &cur, err,
		    errsz) == -1)
			return db_rollback(c);
		if (first && from != NULL)
			*from = cur;
		if (to != NULL)
			*to = cur;
		first = 0;
		if (cur > last) {
			err_set(err, errsz, ENOTSUP, "the database is at "
			    "schema version %d, newer than this xeno-controld "
			    "knows (%d): a newer xeno-controld migrated it; "
			    "run that one", cur, last);
			return db_rollback(c);
		}
		for (m = db_migrations; m < end && m->dm_version <= cur; m++)
			;
		if (m == end)
			return db_exec(c, "COMMIT", "COMMIT", 0, err, errsz);

		snprintf(what, sizeof(what), "migration %s", m->dm_name);
		snprintf(ver, sizeof(ver), "%d", m->dm_version);
		vals[0] = ver;
		vals[1] = m->dm_name;
		if (db_exec(c, m->dm_sql, what, 1, err, errsz) == -1)
			return db_rollback(c);
		r = PQexecParams(c, "INSERT INTO schema_version (version, "
		    "name) VALUES ($1, $2)", 2, NULL, vals, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			db_err(c, r, what, NULL, err, errsz);
			PQclear(r);
			return db_rollback(c);
		}
		PQclear(r);
		if (db_exec(c, "COMMIT", what, 0, err, errsz) == -1)
			return -1;	/* and rolled back */
		if (to != NULL)
			*to = m->dm_version;
	}
}
