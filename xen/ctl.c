/*
 * The control socket (xeno/control.h, docs/CONTROL.md): a thread that
 * accepts xeno-controld (or `xeno-hv ctl`, `xeno-vfrc`) on a Unix socket
 * and carries out its requests: install a rule set, start or stop a
 * capture, end the domain.  Requests come from our own Domain0 software,
 * but a malformed one still gets an error reply, never a crash.
 *
 * The client half, ctl_request(), is here too: `xeno-hv ctl` and
 * xeno-vfrc use it.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xen.h"
#include "xeno/control.h"
#include "xeno/log.h"

struct ctl {
	struct vm	*cl_vm;
	char		*cl_path;
	int		 cl_fd;		/* listening */
	int		 cl_stop[2];	/* pipe: ctl_stop() writes */
	pthread_t	 cl_thread;
	int		 cl_thread_ok;
};

/* Read exactly n bytes; a descriptor that comes with them goes to *fdp. */
static int
ctl_read(int s, void *buf, size_t n, int *fdp)
{
	union {
		struct cmsghdr	cm;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cbuf;
	struct cmsghdr *cm;
	struct msghdr mh;
	struct iovec iov;
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		iov.iov_base = (uint8_t *)buf + got;
		iov.iov_len = n - got;
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		if (fdp != NULL) {
			mh.msg_control = cbuf.buf;
			mh.msg_controllen = sizeof(cbuf.buf);
		}
		r = recvmsg(s, &mh, MSG_CMSG_CLOEXEC);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = ECONNRESET;
			return -1;
		}
		if (fdp != NULL)
			for (cm = CMSG_FIRSTHDR(&mh); cm != NULL;
			    cm = CMSG_NXTHDR(&mh, cm))
				if (cm->cmsg_level == SOL_SOCKET &&
				    cm->cmsg_type == SCM_RIGHTS &&
				    cm->cmsg_len == CMSG_LEN(sizeof(int))) {
					if (*fdp != -1)
						close(*fdp);
					memcpy(fdp, CMSG_DATA(cm), sizeof(int));
				}
		got += (size_t)r;
	}
	return 0;
}

static int
ctl_write(int s, const void *buf, size_t n, int fd)
{
	union {
		struct cmsghdr	cm;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cbuf;
	struct msghdr mh;
	struct iovec iov;
	size_t put = 0;
	ssize_t w;

	while (put < n) {
		iov.iov_base = (uint8_t *)(uintptr_t)buf + put;
		iov.iov_len = n - put;
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		if (fd != -1 && put == 0) {
			memset(&cbuf, 0, sizeof(cbuf));
			mh.msg_control = cbuf.buf;
			mh.msg_controllen = sizeof(cbuf.buf);
			CMSG_FIRSTHDR(&mh)->cmsg_level = SOL_SOCKET;
			CMSG_FIRSTHDR(&mh)->cmsg_type = SCM_RIGHTS;
			CMSG_FIRSTHDR(&mh)->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(CMSG_FIRSTHDR(&mh)), &fd, sizeof(int));
		}
		w = sendmsg(s, &mh, MSG_NOSIGNAL);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		put += (size_t)w;
	}
	return 0;
}

static int
ctl_reply(int s, uint32_t seq, int status, uint64_t value, const char *msg)
{
	struct {
		struct xeno_ctl_hdr	h;
		struct xeno_ctl_reply	r;
	} m;
	size_t len = strlen(msg);

	if (len > XENO_CTL_MSG_MAX)
		len = XENO_CTL_MSG_MAX;
	memset(&m, 0, sizeof(m));
	m.h.ch_magic = XENO_CTL_MAGIC;
	m.h.ch_type = XENO_CTL_REPLY;
	m.h.ch_len = (uint32_t)(sizeof(m.r) + len);
	m.h.ch_seq = seq;
	m.r.cr_status = status;
	m.r.cr_value = value;
	if (ctl_write(s, &m, sizeof(m), -1) == -1 ||
	    ctl_write(s, msg, len, -1) == -1)
		return -1;
	return 0;
}

/* One request; its reply.  -1 when the connection should close. */
static int
ctl_handle(struct ctl *cl, int s)
{
	struct vm *vm = cl->cl_vm;
	struct xeno_ctl_hdr h;
	struct xeno_ctl_capture cc;
	struct vfr_ruleset rs;
	char msg[512] = "";
	uint8_t *buf = NULL;
	int fd = -1, status = 0;
	uint64_t value = 0;

	if (ctl_read(s, &h, sizeof(h), &fd) == -1)
		goto close;
	if (h.ch_magic != XENO_CTL_MAGIC || h.ch_len > XENO_CTL_MAX_PAYLOAD) {
		ctl_reply(s, h.ch_seq, EPROTO, 0, "not a xeno control request "
		    "(bad magic or size)");
		goto close;
	}
	if ((buf = malloc(h.ch_len + 1)) == NULL) {
		ctl_reply(s, h.ch_seq, ENOMEM, 0, "out of memory");
		goto close;
	}
	if (ctl_read(s, buf, h.ch_len, &fd) == -1)
		goto close;
	switch (h.ch_type) {
	case XENO_CTL_RULES:
		if (vfr_obj_load(buf, h.ch_len, &rs, msg, sizeof(msg)) == -1) {
			status = EINVAL;
			break;
		}
		if (fw_install(&vm->vm_fw, &rs, msg, sizeof(msg)) == -1) {
			vfr_ruleset_free(&rs);
			status = ENOMEM;
			break;
		}
		value = vm->vm_fw.fd_gen;
		snprintf(msg, sizeof(msg), "rule set %" PRIu64 " installed",
		    value);
		log_info("control: %s", msg);
		break;
	case XENO_CTL_CAPTURE_START:
	case XENO_CTL_CAPTURE_STOP:
		if (h.ch_len < sizeof(cc)) {
			status = EINVAL;
			snprintf(msg, sizeof(msg), "capture request too short");
			break;
		}
		memcpy(&cc, buf, sizeof(cc));
		if (h.ch_type == XENO_CTL_CAPTURE_STOP) {
			if (fw_capture_stop(&vm->vm_fw, cc.cc_vif, msg,
			    sizeof(msg)) == -1)
				status = errno != 0 ? errno : EINVAL;
			else
				snprintf(msg, sizeof(msg), "capture stopped");
			break;
		}
		if (fd == -1 || cc.cc_nbpf > VFR_MAX_BPF ||
		    h.ch_len != sizeof(cc) + cc.cc_nbpf *
		    sizeof(struct vfr_insn)) {
			status = EINVAL;
			snprintf(msg, sizeof(msg), "capture request malformed "
			    "(needs a socket and %u BPF instructions)",
			    cc.cc_nbpf);
			break;
		}
		{
			struct vfr_insn *bpf = NULL;

			if (cc.cc_nbpf != 0 && (bpf = calloc(cc.cc_nbpf,
			    sizeof(*bpf))) == NULL) {
				status = ENOMEM;
				snprintf(msg, sizeof(msg), "out of memory");
				break;
			}
			if (cc.cc_nbpf != 0)
				memcpy(bpf, buf + sizeof(cc),
				    cc.cc_nbpf * sizeof(*bpf));
			if (fw_capture_start(&vm->vm_fw, cc.cc_vif, fd,
			    cc.cc_snaplen, bpf, cc.cc_nbpf, msg,
			    sizeof(msg)) == -1)
				status = errno != 0 ? errno : EINVAL;
			else
				snprintf(msg, sizeof(msg), "capture started");
			fd = -1;	/* taken over, or closed */
			free(bpf);
		}
		break;
	case XENO_CTL_SHUTDOWN_REQUEST:
		if (vmm_shutdown_request(vm) == -1) {
			status = errno;
			snprintf(msg, sizeof(msg), "%s", errno == EOPNOTSUPP ?
			    "a Linux guest has no shutdown notice" :
			    strerror(errno));
		} else
			snprintf(msg, sizeof(msg), "shutdown requested");
		break;
	case XENO_CTL_SHUTDOWN:
		snprintf(msg, sizeof(msg), "domain ending");
		ctl_reply(s, h.ch_seq, 0, 0, msg);
		vmm_end(vm, XENO_END_DESTROY, 0, "control request");
		goto close;
	default:
		status = EOPNOTSUPP;
		snprintf(msg, sizeof(msg), "unknown request type %u",
		    h.ch_type);
		break;
	}
	if (status != 0 && msg[0] == '\0')
		snprintf(msg, sizeof(msg), "%s", strerror(status));
	if (fd != -1)
		close(fd);
	free(buf);
	return ctl_reply(s, h.ch_seq, status, value, msg);
close:
	if (fd != -1)
		close(fd);
	free(buf);
	return -1;
}

static void *
ctl_main(void *arg)
{
	struct ctl *cl = arg;
	struct pollfd pfd[2];
	struct timeval tv = { 30, 0 };
	int s;

	for (;;) {
		pfd[0].fd = cl->cl_fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = cl->cl_stop[0];
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("control: poll");
			break;
		}
		if (pfd[1].revents != 0)
			break;
		if ((s = accept4(cl->cl_fd, NULL, NULL, SOCK_CLOEXEC)) == -1)
			continue;
		/* a client that stalls mid-request does not hold us forever */
		setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		while (ctl_handle(cl, s) == 0)
			;
		close(s);
	}
	return NULL;
}

struct ctl *
ctl_start(struct vm *vm, const char *path, char *err, size_t errsz)
{
	struct sockaddr_un sun;
	struct stat st;
	struct ctl *cl;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		err_set(err, errsz, 0, "--control: path longer than %zu bytes",
		    sizeof(sun.sun_path) - 1);
		return NULL;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if ((cl = calloc(1, sizeof(*cl))) == NULL) {
		err_set(err, errsz, errno, "--control");
		return NULL;
	}
	cl->cl_vm = vm;
	cl->cl_fd = cl->cl_stop[0] = cl->cl_stop[1] = -1;
	/* a socket left by a dead xeno-hv is replaced; anything else not */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	if ((cl->cl_path = strdup(path)) == NULL ||
	    pipe2(cl->cl_stop, O_CLOEXEC) == -1 ||
	    (cl->cl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
	    -1 || bind(cl->cl_fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(path, 0600) == -1 || listen(cl->cl_fd, 8) == -1) {
		err_set(err, errsz, errno, "--control: cannot listen on '%s'",
		    path);
		goto fail;
	}
	if (pthread_create(&cl->cl_thread, NULL, ctl_main, cl) != 0) {
		err_set(err, errsz, EAGAIN, "--control: thread");
		goto fail;
	}
	cl->cl_thread_ok = 1;
	return cl;
fail:
	ctl_stop(cl);
	return NULL;
}

void
ctl_stop(struct ctl *cl)
{
	if (cl == NULL)
		return;
	if (cl->cl_thread_ok) {
		if (write(cl->cl_stop[1], "x", 1) == -1)
			log_warn("control: stop");
		pthread_join(cl->cl_thread, NULL);
	}
	if (cl->cl_fd != -1) {
		close(cl->cl_fd);
		unlink(cl->cl_path);
	}
	if (cl->cl_stop[0] != -1)
		close(cl->cl_stop[0]);
	if (cl->cl_stop[1] != -1)
		close(cl->cl_stop[1]);
	free(cl->cl_path);
	free(cl);
}

/* ---- the client ---- */

#define CTL_CLIENT_TIMEOUT_S	2

/*
 * Send one request (with fd, if not -1) to the socket at path and wait for
 * its reply.  Returns the reply's status (0 or an errno value) with its
 * message in msg, or -1 with errno if the exchange itself failed.
 */
int
ctl_request(const char *path, uint32_t type, const void *payload,
    size_t len, int fd, uint64_t *value, char *msg, size_t msgsz)
{
	struct sockaddr_un sun;
	struct xeno_ctl_hdr h;
	struct xeno_ctl_reply r;
	char text[XENO_CTL_MSG_MAX + 1];
	struct timeval tmo = { CTL_CLIENT_TIMEOUT_S, 0 };
	size_t n;
	int s, saved;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path) ||
	    len > XENO_CTL_MAX_PAYLOAD) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	/* a domain that does not answer within CTL_CLIENT_TIMEOUT_S is
	 * given up on (EAGAIN): controld calls this from its event loop */
	if (setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo)) == -1 ||
	    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo)) == -1 ||
	    connect(s, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		goto fail;
	memset(&h, 0, sizeof(h));
	h.ch_magic = XENO_CTL_MAGIC;
	h.ch_type = type;
	h.ch_len = (uint32_t)len;
	h.ch_seq = 1;
	if (ctl_write(s, &h, sizeof(h), fd) == -1 ||
	    ctl_write(s, payload, len, -1) == -1 ||
	    ctl_read(s, &h, sizeof(h), NULL) == -1)
		goto fail;
	if (h.ch_magic != XENO_CTL_MAGIC || h.ch_type != XENO_CTL_REPLY ||
	    h.ch_len < sizeof(r) || h.ch_len > sizeof(r) + XENO_CTL_MSG_MAX) {
		errno = EPROTO;
		goto fail;
	}
	n = h.ch_len - sizeof(r);
	if (ctl_read(s, &r, sizeof(r), NULL) == -1 ||
	    ctl_read(s, text, n, NULL) == -1)
		goto fail;
	text[n] = '\0';
	snprintf(msg, msgsz, "%s", text);
	if (value != NULL)
		*value = r.cr_value;
	close(s);
	return r.cr_status;
fail:
	saved = errno;
	close(s);
	errno = saved;
	return -1;
}
