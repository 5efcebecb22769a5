/*
 * xeno-hv: run one domain, or print a domain's counters.
 *
 *	xeno-hv run --image IMG [--mem SIZE] [--vcpus N] [--args STR]
 *	    [--console stdio|none|file:PATH|unix:PATH] [--stats PATH] [--name NAME]
 *	    [--vif SPEC]... [--vbd SPEC]... [--rules FILE.vfro]
 *	    [--flowlog PATH[,records=N][,interval=S]] [--control SOCKET]
 *	xeno-hv stat FILE [--json]
 *	xeno-hv flows FILE [--json] [--follow]
 *	xeno-hv ctl SOCKET rules FILE.vfro | capture-stop VIF | shutdown |
 *	    shutdown-request
 *
 * Exit codes are listed in xen.h and docs/XENO-HV.md.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xen.h"
#include "xeno/control.h"
#include "xeno/log.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: xeno-hv run --image IMAGE [options]\n"
	    "       xeno-hv stat FILE [--json]\n"
	    "       xeno-hv flows FILE [--json] [--follow]\n"
	    "       xeno-hv ctl SOCKET rules FILE.vfro | capture-stop VIF | "
	    "shutdown | shutdown-request\n"
	    "       xeno-hv --version\n"
	    "\n"
	    "run options:\n"
	    "  --image PATH      PV guest, an ELF64 static executable\n"
	    "  --mem SIZE        guest memory (default 16M; K, M, G suffixes;"
	    " a bare number is MiB)\n"
	    "  --vcpus N         virtual CPUs, 1 to %d (default 1)\n"
	    "  --args STRING     guest command line (key=value words)\n"
	    "  --console WHERE   stdio (default), none, file:PATH or unix:PATH\n"
	    "  --stats PATH      counters file to create (see xeno-hv stat)\n"
	    "  --name NAME       domain name (default: image file name)\n"
	    "  --vif SPEC        a network interface on a host tap device:\n"
	    "                    tap=NAME|fd=N[,mac=MAC][,ip=A.B.C.D/P]"
	    "[,ip6=ADDR/P]\n"
	    "                    [,rx-bytes=SIZE:MS[:BURST]][,tx-bytes=...]"
	    "[,rx-pkts=...][,tx-pkts=...][,flows=N]\n"
	    "  --vbd SPEC        a block device: id=ID,extents=FILE:OFF:LEN"
	    "[+FILE:OFF:LEN...][,ro]\n"
	    "                    or id=ID,base=FILE,overlay=FILE; "
	    "[,lease-until=YYYY-MM-DDTHH:MM:SSZ]\n"
	    "  --rules FILE      VFR rule set compiled by xeno-vfrc -o "
	    "(default: accept all)\n"
	    "  --flowlog SPEC    flow-log ring file: PATH[,records=N]"
	    "[,interval=SECONDS]\n"
	    "  --control PATH    control socket (rule sets, captures, "
	    "shutdown)\n"
	    "\n"
	    "exit status: the guest's exit status (0-63); 64 usage; 65 bad "
	    "image;\n"
	    "  66 image missing; 69 no usable /dev/kvm; 70 internal error; "
	    "71 out of\n"
	    "  resources; 73 cannot create a file; 80 guest crashed; 81 guest "
	    "aborted;\n"
	    "  82 destroyed by signal\n", XENO_PV_MAX_VCPUS);
}

/* The domain's firewall, with its flow log, before the VIFs join it. */
static int
fw_start(struct vm *vm, const struct hv_config *cfg, int *code)
{
	const struct xeno_stats_hdr *h = vm->vm_stats.sp_hdr;
	char err[256];

	if (cfg->hc_flowlog != NULL && (vm->vm_flowlog =
	    flowlog_create(cfg->hc_flowlog, h->sh_name, err,
	    sizeof(err))) == NULL) {
		log_warnx("%s", err);
		*code = strstr(err, "create") != NULL ? HV_EXIT_CANTCREAT :
		    HV_EXIT_USAGE;
		return -1;
	}
	if (fw_domain_init(&vm->vm_fw, h->sh_name,
	    (struct xeno_stats_rules *)(void *)(vm->vm_stats.sp_base +
	    h->sh_rules_off), vm->vm_flowlog) == -1) {
		log_warn("firewall");
		*code = HV_EXIT_OSERR;
		return -1;
	}
	return 0;
}

/* Read a whole (small) file: a malloc'ed buffer, or NULL with errno. */
static uint8_t *
file_read(const char *path, size_t max, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	ssize_t r;
	size_t got = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > max) {
		close(fd);
		errno = EFBIG;
		return NULL;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	while (got < (size_t)st.st_size) {
		r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r <= 0) {
			if (r == -1 && errno == EINTR)
				continue;
			free(buf);
			close(fd);
			errno = r == 0 ? EIO : errno;
			return NULL;
		}
		got += (size_t)r;
	}
	close(fd);
	*len = got;
	return buf;
}

/* --rules: install a compiled rule set before the guest runs. */
static int
rules_load(struct vm *vm, const char *path, int *code)
{
	struct vfr_ruleset rs;
	char err[256];
	uint8_t *buf;
	size_t len;

	if ((buf = file_read(path, XENO_CTL_MAX_PAYLOAD, &len)) == NULL) {
		log_warn("--rules: cannot read '%s'", path);
		*code = HV_EXIT_NOINPUT;
		return -1;
	}
	if (vfr_obj_load(buf, len, &rs, err, sizeof(err)) == -1) {
		free(buf);
		log_warnx("--rules: %s: %s (compile rules with xeno-vfrc -o)",
		    path, err);
		*code = HV_EXIT_DATAERR;
		return -1;
	}
	free(buf);
	if (fw_install(&vm->vm_fw, &rs, err, sizeof(err)) == -1) {
		vfr_ruleset_free(&rs);
		log_warnx("--rules: %s: %s", path, err);
		*code = HV_EXIT_OSERR;
		return -1;
	}
	return 0;
}

static int
cmd_run(int argc, char **argv, uint64_t start_ns)
{
	struct hv_config cfg;
	struct vm vm;
	char err[256];
	int rc, code, fw_ok = 0;

	rc = opts_parse_run(argc, (const char *const *)argv, &cfg, err,
	    sizeof(err));
	if (rc == 1) {
		usage(stdout);
		return 0;
	}
	if (rc == -1) {
		log_warnx("%s", err);
		return HV_EXIT_USAGE;
	}
	if (vmm_create(&vm, &cfg, start_ns) == -1) {
		code = vm.vm_exit_code;
		goto out;
	}
	switch (cfg.hc_console) {
	case HV_CONSOLE_STDIO:
		vm.vm_console_fd = STDOUT_FILENO;
		break;
	case HV_CONSOLE_FILE:
		vm.vm_console_fd = open(cfg.hc_console_path, O_WRONLY |
		    O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
		if (vm.vm_console_fd == -1) {
			log_warn("cannot create console file '%s'",
			    cfg.hc_console_path);
			code = HV_EXIT_CANTCREAT;
			goto out;
		}
		break;
	case HV_CONSOLE_UNIX:
		vm.vm_con = console_open(cfg.hc_console_path, err,
		    sizeof(err));
		if (vm.vm_con == NULL) {
			log_warnx("%s", err);
			code = HV_EXIT_CANTCREAT;
			goto out;
		}
		break;
	case HV_CONSOLE_NONE:
		break;
	}
	if (cfg.hc_kernel != NULL ? vmm_load_hvm(&vm, &cfg, &code) == -1 :
	    vmm_load_pv(&vm, &cfg, &code) == -1)
		goto out;
	if (fw_start(&vm, &cfg, &code) == -1)
		goto out;
	fw_ok = 1;
	if (dev_create_all(&vm, &cfg, &code) == -1)
		goto out;
	if (cfg.hc_rules != NULL && rules_load(&vm, cfg.hc_rules, &code) == -1)
		goto out;
	if (cfg.hc_control != NULL &&
	    (vm.vm_ctl = ctl_start(&vm, cfg.hc_control, err,
	    sizeof(err))) == NULL) {
		log_warnx("%s", err);
		code = HV_EXIT_CANTCREAT;
		goto out;
	}
	code = vmm_run(&vm);
out:
	ctl_stop(vm.vm_ctl);
	vm.vm_ctl = NULL;
	/* the VIFs log their last flows as they go: flow log after them */
	dev_destroy_all(&vm);
	if (fw_ok)
		fw_domain_destroy(&vm.vm_fw);
	flowlog_destroy(vm.vm_flowlog);
	vm.vm_flowlog = NULL;
	console_close(vm.vm_con);
	vm.vm_con = NULL;
	vmm_destroy(&vm);
	return code;
}

static int
cmd_stat(int argc, char **argv)
{
	const char *path = NULL;
	struct xeno_stats_hdr hdr;
	char err[256];
	size_t size;
	void *p;
	int i, json = 0, rc;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (argv[i][0] == '-' || path != NULL) {
			log_warnx("stat: unexpected argument '%s' (usage: "
			    "xeno-hv stat FILE [--json])", argv[i]);
			return HV_EXIT_USAGE;
		} else
			path = argv[i];
	}
	if (path == NULL) {
		log_warnx("stat: no counters file (usage: xeno-hv stat FILE "
		    "[--json])");
		return HV_EXIT_USAGE;
	}
	if ((p = stats_map(path, &size, &hdr, err, sizeof(err))) == NULL) {
		log_warnx("stat: %s: %s", path, err);
		return errno == EINVAL ? HV_EXIT_DATAERR : HV_EXIT_NOINPUT;
	}
	rc = stats_print(p, &hdr, json, vmm_now_ns());
	munmap(p, size);
	if (rc == -1) {
		log_warnx("stat: %s: counters kept changing mid-read (is the "
		    "writer stuck?)", path);
		return HV_EXIT_SOFTWARE;
	}
	return 0;
}

static int
cmd_flows(int argc, char **argv)
{
	const char *path = NULL;
	char err[256];
	int i, json = 0, follow = 0;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--follow") == 0)
			follow = 1;
		else if (argv[i][0] == '-' || path != NULL) {
			log_warnx("flows: unexpected argument '%s' (usage: "
			    "xeno-hv flows FILE [--json] [--follow])", argv[i]);
			return HV_EXIT_USAGE;
		} else
			path = argv[i];
	}
	if (path == NULL) {
		log_warnx("flows: no flow-log file (usage: xeno-hv flows FILE "
		    "[--json] [--follow])");
		return HV_EXIT_USAGE;
	}
	if (flowlog_print(path, json, follow, err, sizeof(err)) == -1) {
		log_warnx("flows: %s", err);
		return HV_EXIT_NOINPUT;
	}
	return 0;
}

static int
cmd_ctl(int argc, char **argv)
{
	struct xeno_ctl_capture cc;
	char msg[XENO_CTL_MSG_MAX + 1];
	uint8_t *buf = NULL;
	unsigned int vif;
	size_t len = 0;
	uint64_t value = 0;
	int rc;

	if (argc == 2 && strcmp(argv[1], "shutdown") == 0)
		rc = ctl_request(argv[0], XENO_CTL_SHUTDOWN, "", 0, -1, &value,
		    msg, sizeof(msg));
	else if (argc == 2 && strcmp(argv[1], "shutdown-request") == 0)
		rc = ctl_request(argv[0], XENO_CTL_SHUTDOWN_REQUEST, "", 0, -1,
		    &value, msg, sizeof(msg));
	else if (argc == 3 && strcmp(argv[1], "rules") == 0) {
		if ((buf = file_read(argv[2], XENO_CTL_MAX_PAYLOAD, &len)) ==
		    NULL) {
			log_warn("ctl: cannot read '%s'", argv[2]);
			return HV_EXIT_NOINPUT;
		}
		rc = ctl_request(argv[0], XENO_CTL_RULES, buf, len, -1, &value,
		    msg, sizeof(msg));
		free(buf);
	} else if (argc == 3 && strcmp(argv[1], "capture-stop") == 0 &&
	    sscanf(argv[2], "%u", &vif) == 1) {
		memset(&cc, 0, sizeof(cc));
		cc.cc_vif = vif;
		rc = ctl_request(argv[0], XENO_CTL_CAPTURE_STOP, &cc,
		    sizeof(cc), -1, &value, msg, sizeof(msg));
	} else {
		log_warnx("ctl: usage: xeno-hv ctl SOCKET rules FILE.vfro | "
		    "capture-stop VIF | shutdown | shutdown-request");
		return HV_EXIT_USAGE;
	}
	if (rc == -1) {
		log_warn("ctl: %s", argv[0]);
		return HV_EXIT_UNAVAILABLE;
	}
	if (rc != 0) {
		log_warnx("ctl: %s", msg);
		return 1;
	}
	printf("%s\n", msg);
	return 0;
}

int
main(int argc, char **argv)
{
	uint64_t start_ns = vmm_now_ns();

	log_init("xeno-hv", 0, 0);
	if (argc < 2) {
		usage(stderr);
		return HV_EXIT_USAGE;
	}
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 2, argv + 2, start_ns);
	if (strcmp(argv[1], "stat") == 0)
		return cmd_stat(argc - 2, argv + 2);
	if (strcmp(argv[1], "flows") == 0)
		return cmd_flows(argc - 2, argv + 2);
	if (strcmp(argv[1], "ctl") == 0)
		return cmd_ctl(argc - 2, argv + 2);
	if (strcmp(argv[1], "--version") == 0) {
		printf("xeno-hv %s (PV ABI %d, counters v%d)\n",
		    XENO_HV_VERSION, XENO_PV_ABI_VERSION, XENO_STATS_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	log_warnx("unknown command '%s' (commands: run, stat, flows, ctl; "
	    "see xeno-hv "
	    "--help)", argv[1]);
	return HV_EXIT_USAGE;
}
