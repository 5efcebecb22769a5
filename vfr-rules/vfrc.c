/*
 * xeno-vfrc: check VFR rules and print their normal form, or compile
 * them into an object for xeno-hv.
 *
 *	xeno-vfrc -n [--tenant FILE] FILE
 *	xeno-vfrc -o OUT [--tenant FILE] FILE
 *	xeno-vfrc capture SOCKET VIF -w FILE [-s SNAPLEN] [-c COUNT]
 *	    [-G SECONDS] [-C BYTES] [FILTER...]	(capture.c)
 *
 * Exit status: 0 ok; 1 the rules (or a file) are wrong; 64 usage; 70
 * internal error; 73 the output cannot be written.  The logic is in
 * libvfr (vfr_parse_ext, vfr_print, vfr_obj_write); this is the shell.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lang.h"
#include "vfr.h"
#include "xen.h"

#define EXIT_RULES	1
#define EXIT_USAGE	64
#define EXIT_SOFTWARE	70
#define EXIT_CANTCREAT	73

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: xeno-vfrc -n [--tenant FILE] FILE\n"
	    "       xeno-vfrc -o OUT [--tenant FILE] FILE\n"
	    "       xeno-vfrc capture SOCKET VIF -w FILE [-s SNAPLEN] "
	    "[-c COUNT] [-G SECONDS]\n"
	    "                 [-C BYTES] [FILTER...]\n"
	    "       xeno-vfrc --help | --version\n"
	    "\n"
	    "  -n             check the rules; print their normal form\n"
	    "  -o OUT         compile the rules into the object OUT "
	    "(- for stdout)\n"
	    "  --tenant FILE  a tenant's rules, inserted at the operator's\n"
	    "                 \"anchor tenant\" (or after the last rule)\n"
	    "  FILE           the operator's rules; - reads stdin\n"
	    "\n"
	    "exit status: 0 ok; 1 bad rules or unreadable file; 64 usage; "
	    "70 internal\n"
	    "  error; 73 cannot write OUT.  docs/VFR.md describes the "
	    "language.\n");
}

static void
warn_print(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "xeno-vfrc: %s\n", msg);
}

/* Write buf to path through a temporary file and rename(2). */
static int
out_write(const char *path, const uint8_t *buf, size_t len)
{
	char *tmp = NULL;
	FILE *f;
	int fd;

	if (strcmp(path, "-") == 0) {
		if (fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0)
			goto fail;
		return 0;
	}
	if (asprintf(&tmp, "%s.XXXXXX", path) == -1) {
		tmp = NULL;
		goto fail;
	}
	if ((fd = mkstemp(tmp)) == -1)
		goto fail;
	/* mkstemp makes 0600; an object is as readable as a config file */
	if (fchmod(fd, 0644) == -1 || (f = fdopen(fd, "w")) == NULL) {
		close(fd);
		goto fail_unlink;
	}
	if (fwrite(buf, 1, len, f) != len || fflush(f) != 0 ||
	    fsync(fileno(f)) != 0) {
		fclose(f);
		goto fail_unlink;
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		goto fail_unlink;
	free(tmp);
	return 0;
fail_unlink:
	unlink(tmp);
fail:
	fprintf(stderr, "xeno-vfrc: cannot write %s: %s\n", path,
	    strerror(errno));
	free(tmp);
	return -1;
}

int
main(int argc, char **argv)
{
	struct vfr_source op, ten;
	struct vfr_parse_opts po;
	struct vfr_ruleset rs;
	const char *out = NULL, *tenant = NULL, *file = NULL;
	char *optext = NULL, *tentext = NULL, err[1024];
	uint8_t *obj = NULL;
	size_t objlen;
	int i, check = 0, rc = EXIT_RULES;

	if (argc > 1 && strcmp(argv[1], "capture") == 0)
		return vfr_capture_main(argc - 1, argv + 1);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("xeno-vfrc %s (VFR language 1)\n",
			    XENO_HV_VERSION);
			return 0;
		}
		if (strcmp(argv[i], "-n") == 0)
			check = 1;
		else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
			out = argv[++i];
		else if (strcmp(argv[i], "--tenant") == 0 && i + 1 < argc)
			tenant = argv[++i];
		else if (strncmp(argv[i], "--tenant=", 9) == 0)
			tenant = argv[i] + 9;
		else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "xeno-vfrc: %s '%s' (see xeno-vfrc "
			    "--help)\n", strcmp(argv[i], "-o") == 0 ||
			    strcmp(argv[i], "--tenant") == 0 ?
			    "missing argument to" : "unknown option", argv[i]);
			return EXIT_USAGE;
		} else if (file == NULL)
			file = argv[i];
		else {
			fprintf(stderr, "xeno-vfrc: one rule file only ('%s' "
			    "is a second)\n", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (check == (out != NULL) || file == NULL) {
		fprintf(stderr, "xeno-vfrc: %s (see xeno-vfrc --help)\n",
		    file == NULL ? "no rule file" : "give -n or -o OUT, not "
		    "both");
		return EXIT_USAGE;
	}
	if (tenant != NULL && strcmp(tenant, "-") == 0 &&
	    strcmp(file, "-") == 0) {
		fprintf(stderr, "xeno-vfrc: stdin can be read once only\n");
		return EXIT_USAGE;
	}

	memset(&op, 0, sizeof(op));
	memset(&ten, 0, sizeof(ten));
	if (vfr_file_read(file, &optext, &op.src_len, err, sizeof(err)) == -1 ||
	    (tenant != NULL && vfr_file_read(tenant, &tentext, &ten.src_len,
	    err, sizeof(err)) == -1)) {
		fprintf(stderr, "xeno-vfrc: %s\n", err);
		goto done;
	}
	op.src_name = strcmp(file, "-") == 0 ? "<stdin>" : file;
	op.src_text = optext;
	ten.src_name = tenant != NULL && strcmp(tenant, "-") == 0 ?
	    "<stdin>" : tenant;
	ten.src_text = tentext;
	ten.src_tenant = 1;
	memset(&po, 0, sizeof(po));
	po.po_warn = warn_print;
	if (vfr_parse_ext(&op, tenant != NULL ? &ten : NULL, &po, &rs, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "xeno-vfrc: %s\n", err);
		goto done;
	}
	if (check) {
		if (vfr_print(&rs, stdout) == -1) {
			fprintf(stderr, "xeno-vfrc: stdout: %s\n",
			    strerror(errno));
			rc = EXIT_CANTCREAT;
		} else
			rc = 0;
	} else if (vfr_obj_write(&rs, &obj, &objlen) == -1) {
		fprintf(stderr, "xeno-vfrc: cannot compile the object: %s\n",
		    strerror(errno));
		rc = EXIT_SOFTWARE;
	} else
		rc = out_write(out, obj, objlen) == 0 ? 0 : EXIT_CANTCREAT;
	vfr_ruleset_free(&rs);
done:
	free(obj);
	free(optext);
	free(tentext);
	return rc;
}
