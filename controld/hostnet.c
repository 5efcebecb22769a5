/*
 * The host side of domain networking (Linux, needs CAP_NET_ADMIN): one
 * bridge with the host's address on the domains' subnet, and a tap per
 * domain enslaved to it.  Plain ioctls rather than netlink: these few
 * settings are all we need and each is one call.
 *
 * A tap lives exactly as long as its descriptor: it is not persistent, so
 * a domain that exits, or a controld that crashes, leaves no interface
 * behind and nothing to clean up at the next start.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <linux/ethtool.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controld.h"
#include "xeno/log.h"

/* What the kernel accepts, less the characters a shell or ip(8) trips on. */
static int
hn_checkname(const char *what, const char *name, char *err, size_t errsz)
{
	size_t n = strlen(name);

	if (n == 0 || n >= IFNAMSIZ || strspn(name, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != n ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return err_set(err, errsz, EINVAL, "hostnet: %s name '%s' is "
		    "not 1 to %d characters of A-Z a-z 0-9 _ . -", what, name,
		    IFNAMSIZ - 1);
	return 0;
}

/* "A.B.C.D/P" with P from 1 to 32, nothing before or after. */
static int
hn_parsecidr(const char *cidr, struct in_addr *addr, struct in_addr *mask,
    char *err, size_t errsz)
{
	char ip[INET_ADDRSTRLEN];
	const char *slash = strchr(cidr, '/');
	char *end;
	long p;

	if (slash == NULL || (size_t)(slash - cidr) >= sizeof(ip) ||
	    slash[1] < '0' || slash[1] > '9')
		goto bad;
	memcpy(ip, cidr, (size_t)(slash - cidr));
	ip[slash - cidr] = '\0';
	errno = 0;
	p = strtol(slash + 1, &end, 10);
	if (inet_pton(AF_INET, ip, addr) != 1 || errno != 0 || *end != '\0' ||
	    p < 1 || p > 32)
		goto bad;
	mask->s_addr = htonl(0xffffffffU << (32 - p));
	return 0;
bad:
	return err_set(err, errsz, EINVAL, "hostnet: '%s' is not an IPv4 "
	    "address with a prefix length, like 10.0.0.1/24", cidr);
}

/* name has passed hn_checkname, so it fits with its NUL */
static void
hn_ifreq(struct ifreq *ifr, const char *name)
{
	memset(ifr, 0, sizeof(*ifr));
	memcpy(ifr->ifr_name, name, strlen(name));
}

static int
hn_up(int s, const char *name, char *err, size_t errsz)
{
	struct ifreq ifr;

	hn_ifreq(&ifr, name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == -1)
		return err_set(err, errsz, errno, "hostnet: %s: cannot read "
		    "its flags: %s", name, strerror(errno));
	if (ifr.ifr_flags & IFF_UP)
		return 0;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) == -1)
		return err_set(err, errsz, errno, "hostnet: cannot bring %s "
		    "up: %s", name, strerror(errno));
	return 0;
}

/* An existing interface of that name that is no bridge is not ours. */
static int
hn_isbridge(int s, const char *name, char *err, size_t errsz)
{
	struct ethtool_drvinfo info;
	struct ifreq ifr;

	memset(&info, 0, sizeof(info));
	info.cmd = ETHTOOL_GDRVINFO;
	hn_ifreq(&ifr, name);
	ifr.ifr_data = (char *)&info;
	/* a bridge answers this; loopback, for one, does not */
	if (ioctl(s, SIOCETHTOOL, &ifr) == -1 && errno != EOPNOTSUPP)
		return err_set(err, errsz, errno, "hostnet: %s: cannot tell "
		    "its kind: %s", name, strerror(errno));
	if (strcmp(info.driver, "bridge") != 0)
		return err_set(err, errsz, EEXIST, "hostnet: %s exists and is "
		    "not a bridge (driver '%s'); choose another name", name,
		    info.driver);
	return 0;
}

/*
 * Pin the bridge's MAC address to the one it has.  Otherwise Linux gives
 * a bridge the lowest MAC of its ports, and a new tap with a lower random
 * MAC would change the gateway's address under every domain's ARP cache.
 */
static int
hn_pinmac(int s, const char *name, char *err, size_t errsz)
{
	struct ifreq ifr;

	hn_ifreq(&ifr, name);
	if (ioctl(s, SIOCGIFHWADDR, &ifr) == -1 ||
	    ioctl(s, SIOCSIFHWADDR, &ifr) == -1)
		return err_set(err, errsz, errno, "hostnet: %s: cannot fix "
		    "its MAC address: %s", name, strerror(errno));
	return 0;
}

static int
hn_getaddr(int s, const char *name, unsigned long req, struct in_addr *a)
{
	struct ifreq ifr;

	hn_ifreq(&ifr, name);
	if (ioctl(s, req, &ifr) == -1)
		return -1;
	*a = ((struct sockaddr_in *)(void *)&ifr.ifr_addr)->sin_addr;
	return 0;
}

static int
hn_setaddr(int s, const char *name, unsigned long req, struct in_addr a)
{
	struct sockaddr_in sin;
	struct ifreq ifr;

	hn_ifreq(&ifr, name);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr = a;
	memcpy(&ifr.ifr_addr, &sin, sizeof(sin));
	return ioctl(s, req, &ifr);
}

int
hn_bridge(const char *bridge, const char *cidr, char *err, size_t errsz)
{
	struct in_addr want, mask = { 0 }, have, havemask;
	char buf[INET_ADDRSTRLEN];
	int s, rc = -1, created = 0, e;

	if (hn_checkname("bridge", bridge, err, errsz) == -1 ||
	    hn_parsecidr(cidr, &want, &mask, err, errsz) == -1)
		return -1;
	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return err_set(err, errsz, errno, "hostnet: socket: %s",
		    strerror(errno));
	if (ioctl(s, SIOCBRADDBR, bridge) == 0)
		created = 1;
	else if (errno != EEXIST) {
		err_set(err, errsz, errno, "hostnet: cannot create bridge %s: "
		    "%s", bridge, strerror(errno));
		goto out;
	} else if (hn_isbridge(s, bridge, err, errsz) == -1)
		goto out;
	if (created && hn_pinmac(s, bridge, err, errsz) == -1)
		goto fail;

	/*
	 * The bridge is ours: a different primary address is replaced.
	 * SIOCSIFADDR gives it a classful mask for the moment until
	 * SIOCSIFNETMASK.
	 */
	if (hn_getaddr(s, bridge, SIOCGIFADDR, &have) == -1) {
		if (errno != EADDRNOTAVAIL) {
			err_set(err, errsz, errno, "hostnet: %s: cannot read "
			    "its address: %s", bridge, strerror(errno));
			goto fail;
		}
		have.s_addr = INADDR_ANY;
	}
	if (have.s_addr != want.s_addr &&
	    hn_setaddr(s, bridge, SIOCSIFADDR, want) == -1) {
		e = errno;
		err_set(err, errsz, e, "hostnet: cannot give %s the address "
		    "%s: %s", bridge, inet_ntop(AF_INET, &want, buf,
		    sizeof(buf)), strerror(e));
		goto fail;
	}
	if (hn_getaddr(s, bridge, SIOCGIFNETMASK, &havemask) == -1 ||
	    (havemask.s_addr != mask.s_addr &&
	    hn_setaddr(s, bridge, SIOCSIFNETMASK, mask) == -1)) {
		err_set(err, errsz, errno, "hostnet: cannot give %s the "
		    "netmask of %s: %s", bridge, cidr, strerror(errno));
		goto fail;
	}
	if (hn_up(s, bridge, err, errsz) == -1)
		goto fail;
	rc = 0;
	goto out;
fail:
	/* a bridge we made and could not set up is gone again */
	e = errno;
	if (created && ioctl(s, SIOCBRDELBR, bridge) == -1)
		log_warn("hostnet: cannot remove bridge %s", bridge);
	errno = e;
out:
	close(s);
	return rc;
}

/*
 * The tap descriptor is returned with close-on-exec set, like every
 * descriptor of controld, so no other child inherits it; the caller gives
 * it to its domain with posix_spawn_file_actions_adddup2(), whose copy
 * does not have the flag (glibc clears it even when the two numbers are
 * the same), and closes its own copy after the spawn: from then on the
 * tap lives as long as the domain holds it.
 */
int
hn_tap(const char *bridge, const char *tapname, char *err, size_t errsz)
{
	struct ifreq ifr;
	int fd, s = -1, e;

	if (hn_checkname("bridge", bridge, err, errsz) == -1 ||
	    hn_checkname("tap", tapname, err, errsz) == -1)
		return -1;
	if ((fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC)) == -1)
		return err_set(err, errsz, errno, "hostnet: /dev/net/tun: %s",
		    strerror(errno));
	/*
	 * IFF_TUN_EXCL: a new tap or nothing.  Without it TUNSETIFF would
	 * also attach to a persistent tap of that name, which outlives us.
	 */
	hn_ifreq(&ifr, tapname);
	ifr.ifr_flags = (short)(IFF_TAP | IFF_NO_PI | IFF_TUN_EXCL);
	if (ioctl(fd, TUNSETIFF, &ifr) == -1) {
		e = errno;
		err_set(err, errsz, e, "hostnet: cannot create tap %s: %s%s",
		    tapname, strerror(e), e == EBUSY ? " (an interface of that "
		    "name exists; remove it or choose another name)" : "");
		goto fail;
	}
	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		err_set(err, errsz, errno, "hostnet: socket: %s",
		    strerror(errno));
		goto fail;
	}
	hn_ifreq(&ifr, bridge);
	if ((ifr.ifr_ifindex = (int)if_nametoindex(tapname)) == 0 ||
	    ioctl(s, SIOCBRADDIF, &ifr) == -1) {
		err_set(err, errsz, errno, "hostnet: cannot add tap %s to "
		    "bridge %s: %s", tapname, bridge, strerror(errno));
		goto fail;
	}
	if (hn_up(s, tapname, err, errsz) == -1)
		goto fail;
	close(s);
	return fd;
fail:
	/* closing the only descriptor removes the tap and its bridge port */
	e = errno;
	if (s != -1)
		close(s);
	close(fd);
	errno = e;
	return -1;
}
