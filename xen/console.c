/*
 * The guest console on a Unix socket (--console unix:PATH), the way a
 * serial port is served by QEMU's `-serial unix:...,server` or Cloud
 * Hypervisor's `--serial socket=`: xeno-hv listens at PATH, and every
 * client that connects gets the last CON_RING bytes of output, then the
 * output as it comes.  Up to CON_CLIENTS at once; what clients send is
 * read and dropped (the UART has no receiver yet).
 *
 * The guest never waits for a client: output goes into a ring under
 * co_lock and a thread of its own writes it to the clients with
 * non-blocking sends.  A client that falls more than the ring behind
 * skips ahead to the oldest byte still held (counted in co_skipped).
 */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xen.h"
#include "xeno/log.h"

#define CON_RING	(64U << 10)
#define CON_CLIENTS	8
#define CON_CHUNK	4096
#define CON_TAG_LISTEN	(~0ULL)
#define CON_TAG_WAKE	(~0ULL - 1)

struct con_client {
	int		cc_fd;		/* -1: free */
	uint64_t	cc_pos;		/* next byte of the stream it gets */
	int		cc_waiting;	/* EPOLLOUT armed */
};

struct console {
	int			co_lfd;
	int			co_evfd;
	int			co_epfd;
	char			co_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	pthread_t		co_thread;
	int			co_thread_ok;
	pthread_mutex_t		co_lock;
	uint8_t			co_ring[CON_RING];
	uint64_t		co_head;	/* bytes ever written */
	int			co_stop;
	uint64_t		co_skipped;
	struct con_client	co_client[CON_CLIENTS];
};

static void
con_drop(struct console *co, struct con_client *c)
{
	epoll_ctl(co->co_epfd, EPOLL_CTL_DEL, c->cc_fd, NULL);
	close(c->cc_fd);
	c->cc_fd = -1;
}

/* Copy out what c has not had yet; 0 when it is up to date. */
static size_t
con_take(struct console *co, struct con_client *c, uint8_t *buf)
{
	size_t n, at;

	pthread_mutex_lock(&co->co_lock);
	if (co->co_head - c->cc_pos > CON_RING) {
		co->co_skipped += co->co_head - CON_RING - c->cc_pos;
		c->cc_pos = co->co_head - CON_RING;
	}
	n = (size_t)(co->co_head - c->cc_pos);
	at = (size_t)(c->cc_pos % CON_RING);
	if (n > CON_CHUNK)
		n = CON_CHUNK;
	if (n > CON_RING - at)
		n = CON_RING - at;
	memcpy(buf, co->co_ring + at, n);
	pthread_mutex_unlock(&co->co_lock);
	return n;
}

static void
con_flush(struct console *co, struct con_client *c)
{
	struct epoll_event ev;
	uint8_t buf[CON_CHUNK];
	ssize_t w;
	size_t n;
	int wait = 0;

	while ((n = con_take(co, c, buf)) > 0) {
		w = send(c->cc_fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			wait = 1;
			break;
		}
		if (w <= 0) {
			con_drop(co, c);
			return;
		}
		c->cc_pos += (uint64_t)w;
	}
	if (wait != c->cc_waiting) {
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN | EPOLLRDHUP | (wait ? EPOLLOUT : 0);
		ev.data.u64 = (uint64_t)(c - co->co_client);
		epoll_ctl(co->co_epfd, EPOLL_CTL_MOD, c->cc_fd, &ev);
		c->cc_waiting = wait;
	}
}

static void
con_accept(struct console *co)
{
	struct epoll_event ev;
	struct con_client *c = NULL;
	unsigned int i;
	int fd;

	fd = accept4(co->co_lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1)
		return;
	for (i = 0; i < CON_CLIENTS && c == NULL; i++)
		if (co->co_client[i].cc_fd == -1)
			c = &co->co_client[i];
	if (c == NULL) {
		static const char full[] = "xeno-hv: console: too many "
		    "clients\n";

		(void)!send(fd, full, sizeof(full) - 1, MSG_DONTWAIT |
		    MSG_NOSIGNAL);
		close(fd);
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLRDHUP;
	ev.data.u64 = (uint64_t)(c - co->co_client);
	if (epoll_ctl(co->co_epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
		close(fd);
		return;
	}
	c->cc_fd = fd;
	c->cc_waiting = 0;
	pthread_mutex_lock(&co->co_lock);
	c->cc_pos = co->co_head > CON_RING ? co->co_head - CON_RING : 0;
	pthread_mutex_unlock(&co->co_lock);
	con_flush(co, c);
}

/* A client spoke or hung up: its input is dropped. */
static void
con_input(struct console *co, struct con_client *c, uint32_t events)
{
	uint8_t buf[256];
	ssize_t n;

	if (events & EPOLLIN) {
		n = recv(c->cc_fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n == -1 && errno != EAGAIN &&
		    errno != EINTR)) {
			con_drop(co, c);
			return;
		}
	}
	if (events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
		con_drop(co, c);
		return;
	}
	if (events & EPOLLOUT)
		con_flush(co, c);
}

static void *
con_main(void *arg)
{
	struct console *co = arg;
	struct epoll_event evs[CON_CLIENTS + 2];
	uint64_t v;
	unsigned int i;
	int n, k, stop;

	for (;;) {
		n = epoll_wait(co->co_epfd, evs, CON_CLIENTS + 2, -1);
		if (n == -1 && errno != EINTR)
			break;
		for (k = 0; k < n; k++) {
			if (evs[k].data.u64 == CON_TAG_LISTEN)
				con_accept(co);
			else if (evs[k].data.u64 == CON_TAG_WAKE)
				(void)!read(co->co_evfd, &v, sizeof(v));
			else if (evs[k].data.u64 < CON_CLIENTS &&
			    co->co_client[evs[k].data.u64].cc_fd != -1)
				con_input(co, &co->co_client[evs[k].data.u64],
				    evs[k].events);
		}
		for (i = 0; i < CON_CLIENTS; i++)
			if (co->co_client[i].cc_fd != -1)
				con_flush(co, &co->co_client[i]);
		pthread_mutex_lock(&co->co_lock);
		stop = co->co_stop;
		pthread_mutex_unlock(&co->co_lock);
		if (stop)
			break;
	}
	return NULL;
}

static int
con_epoll_add(int ep, int fd, uint64_t tag)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = tag;
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/*
 * Listen at path.  A socket left there by an earlier run is replaced;
 * anything else at path is an error, not overwritten.
 */
struct console *
console_open(const char *path, char *err, size_t errsz)
{
	struct sockaddr_un sun;
	struct console *co;
	struct stat st;
	unsigned int i;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		err_set(err, errsz, ENAMETOOLONG, "--console unix:%s: the "
		    "path is longer than a socket address holds (%zu bytes)",
		    path, sizeof(sun.sun_path) - 1);
		return NULL;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			err_set(err, errsz, EEXIST, "--console unix:%s: a file "
			    "that is not a socket is in the way", path);
			return NULL;
		}
		unlink(path);
	}
	co = calloc(1, sizeof(*co));
	if (co == NULL) {
		err_set(err, errsz, errno, "--console: out of memory");
		return NULL;
	}
	co->co_lfd = co->co_evfd = co->co_epfd = -1;
	for (i = 0; i < CON_CLIENTS; i++)
		co->co_client[i].cc_fd = -1;
	pthread_mutex_init(&co->co_lock, NULL);
	memcpy(co->co_path, sun.sun_path, sizeof(co->co_path));
	co->co_lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (co->co_lfd == -1 || bind(co->co_lfd, (struct sockaddr *)&sun,
	    sizeof(sun)) == -1 || listen(co->co_lfd, CON_CLIENTS) == -1) {
		err_set(err, errsz, errno, "--console unix:%s: cannot listen",
		    path);
		co->co_path[0] = '\0';	/* not ours to unlink */
		goto fail;
	}
	co->co_evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	co->co_epfd = epoll_create1(EPOLL_CLOEXEC);
	if (co->co_evfd == -1 || co->co_epfd == -1 ||
	    con_epoll_add(co->co_epfd, co->co_lfd, CON_TAG_LISTEN) == -1 ||
	    con_epoll_add(co->co_epfd, co->co_evfd, CON_TAG_WAKE) == -1) {
		err_set(err, errsz, errno, "--console: epoll");
		goto fail;
	}
	if (pthread_create(&co->co_thread, NULL, con_main, co) != 0) {
		err_set(err, errsz, EAGAIN, "--console: cannot start its "
		    "thread");
		goto fail;
	}
	co->co_thread_ok = 1;
	return co;
fail:
	console_close(co);
	return NULL;
}

void
console_put(struct console *co, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t one = 1;
	size_t at, n;

	pthread_mutex_lock(&co->co_lock);
	/* more than the ring holds: only its last CON_RING bytes stay */
	if (len > CON_RING) {
		p += len - CON_RING;
		co->co_head += len - CON_RING;
		len = CON_RING;
	}
	while (len > 0) {
		at = (size_t)(co->co_head % CON_RING);
		n = CON_RING - at < len ? CON_RING - at : len;
		memcpy(co->co_ring + at, p, n);
		co->co_head += n;
		p += n;
		len -= n;
	}
	pthread_mutex_unlock(&co->co_lock);
	(void)!write(co->co_evfd, &one, sizeof(one));
}

/* Last output to the clients that keep up, then close and unlink. */
void
console_close(struct console *co)
{
	uint64_t one = 1;
	unsigned int i;

	if (co == NULL)
		return;
	if (co->co_thread_ok) {
		pthread_mutex_lock(&co->co_lock);
		co->co_stop = 1;
		pthread_mutex_unlock(&co->co_lock);
		(void)!write(co->co_evfd, &one, sizeof(one));
		pthread_join(co->co_thread, NULL);
	}
	for (i = 0; i < CON_CLIENTS; i++)
		if (co->co_client[i].cc_fd != -1)
			close(co->co_client[i].cc_fd);
	if (co->co_lfd != -1)
		close(co->co_lfd);
	if (co->co_path[0] != '\0')
		unlink(co->co_path);
	if (co->co_evfd != -1)
		close(co->co_evfd);
	if (co->co_epfd != -1)
		close(co->co_epfd);
	pthread_mutex_destroy(&co->co_lock);
	free(co);
}
