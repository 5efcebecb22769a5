/*
 * The one log API of the project (after OpenBSD's log.c): log_warn appends
 * strerror(errno), log_warnx does not; fatal/fatalx are for broken
 * invariants and malformed messages from our own peer processes only, never
 * for bad input from clients or guests.
 */
#ifndef XENO_LOG_H
#define XENO_LOG_H

#include <stdarg.h>
#include <stddef.h>

void	log_init(const char *progname, int debug, int use_syslog);
void	log_setverbose(int verbose);
int	log_getverbose(void);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	vlog(int pri, const char *, va_list) __attribute__((format(printf, 2, 0)));
__attribute__((noreturn)) void fatal(const char *, ...)
    __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void fatalx(const char *, ...)
    __attribute__((format(printf, 1, 2)));

/*
 * Pure parsers (no I/O) report errors this way: a one-line message in the
 * caller's buffer, errno set, -1 returned.
 */
int	err_set(char *, size_t, int, const char *, ...)
	    __attribute__((format(printf, 4, 5)));

#endif /* XENO_LOG_H */
