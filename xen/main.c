/*
 * xeno-hv: run one domain, or print a domain's counters.
 *
 *	xeno-hv run --image IMG [--mem SIZE] [--vcpus N] [--args STR]
 *	    [--console stdio|none|file:PATH] [--stats PATH] [--name NAME]
 *	    [--vif SPEC]... [--vbd SPEC]...
 *	xeno-hv stat FILE [--json]
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
#include "xeno/log.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: xeno-hv run --image IMAGE [options]\n"
	    "       xeno-hv stat FILE [--json]\n"
	    "       xeno-hv --version\n"
	    "\n"
	    "run options:\n"
	    "  --image PATH      PV guest, an ELF64 static executable\n"
	    "  --mem SIZE        guest memory (default 16M; K, M, G suffixes;"
	    " a bare number is MiB)\n"
	    "  --vcpus N         virtual CPUs, 1 to %d (default 1)\n"
	    "  --args STRING     guest command line (key=value words)\n"
	    "  --console WHERE   stdio (default), none, or file:PATH\n"
	    "  --stats PATH      counters file to create (see xeno-hv stat)\n"
	    "  --name NAME       domain name (default: image file name)\n"
	    "  --vif SPEC        a network interface on a host tap device:\n"
	    "                    tap=NAME|fd=N[,mac=MAC][,ip=A.B.C.D/P]"
	    "[,ip6=ADDR/P]\n"
	    "                    [,rx-bytes=SIZE:MS[:BURST]][,tx-bytes=...]"
	    "[,rx-pkts=...][,tx-pkts=...]\n"
	    "  --vbd SPEC        a block device: id=ID,extents=FILE:OFF:LEN"
	    "[+FILE:OFF:LEN...][,ro]\n"
	    "                    or id=ID,base=FILE,overlay=FILE; "
	    "[,lease-until=YYYY-MM-DDTHH:MM:SSZ]\n"
	    "\n"
	    "exit status: the guest's exit status (0-63); 64 usage; 65 bad "
	    "image;\n"
	    "  66 image missing; 69 no usable /dev/kvm; 70 internal error; "
	    "71 out of\n"
	    "  resources; 73 cannot create a file; 80 guest crashed; 81 guest "
	    "aborted;\n"
	    "  82 destroyed by signal\n", XENO_PV_MAX_VCPUS);
}

static int
cmd_run(int argc, char **argv, uint64_t start_ns)
{
	struct hv_config cfg;
	struct vm vm;
	char err[256];
	int rc, code;

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
	case HV_CONSOLE_NONE:
		break;
	}
	if (vmm_load_pv(&vm, &cfg, &code) == -1)
		goto out;
	if (dev_create_all(&vm, &cfg, &code) == -1)
		goto out;
	code = vmm_run(&vm);
out:
	vmm_destroy(&vm);
	return code;
}

static int
cmd_stat(int argc, char **argv)
{
	const char *path = NULL;
	struct xeno_stats_hdr hdr;
	struct stat st;
	char err[256];
	void *p;
	int i, json = 0, fd, rc;

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
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		log_warn("stat: %s", path);
		return HV_EXIT_NOINPUT;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size == 0 ||
	    st.st_size > (1 << 24)) {
		log_warnx("stat: %s: not a counters file", path);
		close(fd);
		return HV_EXIT_DATAERR;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		log_warn("stat: %s", path);
		return HV_EXIT_NOINPUT;
	}
	if (stats_check(p, (size_t)st.st_size, &hdr, err, sizeof(err)) == -1) {
		log_warnx("stat: %s: %s", path, err);
		munmap(p, (size_t)st.st_size);
		return HV_EXIT_DATAERR;
	}
	rc = stats_print(p, &hdr, json, vmm_now_ns());
	munmap(p, (size_t)st.st_size);
	if (rc == -1) {
		log_warnx("stat: %s: counters kept changing mid-read (is the "
		    "writer stuck?)", path);
		return HV_EXIT_SOFTWARE;
	}
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
	log_warnx("unknown command '%s' (commands: run, stat; see xeno-hv "
	    "--help)", argv[1]);
	return HV_EXIT_USAGE;
}
