#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "sig.h"
#include "timeutil.h"
#include "banned.h"

#define CMD_TIMEOUT_DEFAULT 30 /* seconds */
#define CMD_TIMEOUT_MAX 86400
#define CMD_GRACE_MS 500 /* between SIGTERM and SIGKILL */

struct kv {
	char *section; /* "" = top level */
	char *key;
	char *value;
};

struct config {
	char *path;
	struct kv *kv;
	size_t n, alloc;
	char **profiles;
	size_t nprof;
};

static char *section_name(const char *s)
{
	if (!strncmp(s, "profile ", 8))
		s += 8;
	while (*s == ' ')
		s++;
	return strdup(s);
}

static int on_kv(void *ud, const char *section, const char *name, const char *value)
{
	struct config *c = ud;
	char *sec = section_name(section);

	if (c->n == c->alloc) {
		c->alloc = c->alloc ? c->alloc * 2 : 16;
		c->kv = realloc(c->kv, c->alloc * sizeof(*c->kv));
	}
	if (!strcmp(sec, "default")) {
		free(sec);
		sec = strdup("");
	}
	c->kv[c->n].section = sec;
	c->kv[c->n].key = strdup(name);
	c->kv[c->n].value = strdup(value);
	c->n++;
	if (*sec) {
		size_t i;
		for (i = 0; i < c->nprof && strcmp(c->profiles[i], sec); i++)
			;
		if (i == c->nprof) {
			c->profiles = realloc(c->profiles, (c->nprof + 2) * sizeof(char *));
			c->profiles[c->nprof++] = strdup(sec);
			c->profiles[c->nprof] = NULL;
		}
	}
	return 1;
}

static int is_secret_key(const char *k)
{
	size_t l = strlen(k);
	if (l > 4 && !strcmp(k + l - 4, "_cmd"))
		return 0;
	return strstr(k, "token") || strstr(k, "secret") || strstr(k, "password") ||
	       strstr(k, "api_key") || strstr(k, "apikey");
}

int config_load(struct config **out, const char *path, int required, struct crm_err *err)
{
	struct config *c = calloc(1, sizeof(*c));
	struct stat st;
	FILE *f;
	int line;

	*out = NULL;
	c->profiles = calloc(1, sizeof(char *));
	if (!path || !(f = fopen(path, "r"))) {
		if (path && (required || errno != ENOENT)) {
			err_set(err, CRM_ECONFIG, "config_error", "cannot read config file %s: %s", path, strerror(errno));
			config_free(c);
			return CRM_ECONFIG;
		}
		*out = c;
		return 0;
	}
	/* fopen() opens a directory and its reads fail, which inih takes for
	 * an empty file: a wrong --config would quietly run with no settings. */
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		err_set(err, CRM_ECONFIG, "config_error", "config file %s is a directory", path);
		config_free(c);
		return CRM_ECONFIG;
	}
	c->path = strdup(path);
	line = ini_parse_file(f, on_kv, c);
	if (line != 0) {
		fclose(f);
		err_set(err, CRM_ECONFIG, "config_error", "config file %s: cannot parse line %d", path, line);
		config_free(c);
		return CRM_ECONFIG;
	}
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077)) {
		for (size_t i = 0; i < c->n; i++) {
			if (is_secret_key(c->kv[i].key)) {
				fclose(f);
				err_set(err, CRM_ECONFIG, "config_error",
					"config file %s holds a secret (%s) and others can read it; run: chmod 600 %s",
					path, c->kv[i].key, path);
				config_free(c);
				return CRM_ECONFIG;
			}
		}
	}
	fclose(f);
	*out = c;
	return 0;
}

void config_free(struct config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->kv[i].section);
		free(c->kv[i].key);
		free(c->kv[i].value);
	}
	for (size_t i = 0; i < c->nprof; i++)
		free(c->profiles[i]);
	free(c->profiles);
	free(c->kv);
	free(c->path);
	free(c);
}

const char *config_path(const struct config *c)
{
	return c ? c->path : NULL;
}

static const char *get_in(const struct config *c, const char *section, const char *key)
{
	const char *v = NULL;
	for (size_t i = 0; c && i < c->n; i++)
		if (!strcmp(c->kv[i].section, section) && !strcmp(c->kv[i].key, key))
			v = c->kv[i].value; /* the last one wins */
	return v;
}

const char *config_get(const struct config *c, const char *profile, const char *key)
{
	const char *v = profile ? get_in(c, profile, key) : NULL;
	return v ? v : get_in(c, "", key);
}

int config_has_profile(const struct config *c, const char *profile)
{
	for (size_t i = 0; c && i < c->nprof; i++)
		if (!strcmp(c->profiles[i], profile))
			return 1;
	return 0;
}

const char *const *config_profiles(const struct config *c)
{
	return (const char *const *)c->profiles;
}

/* How long a credential command may run: CRMSYNC_CMD_TIMEOUT, else the
 * profile's or the top's cmd_timeout, else CMD_TIMEOUT_DEFAULT seconds.
 * A `pass` behind a locked agent or a hung network keychain must not hang
 * a cron job for ever. */
static int cmd_timeout(const struct config *c, const char *profile, long *out, struct crm_err *err)
{
	const char *v = getenv("CRMSYNC_CMD_TIMEOUT"), *what = "CRMSYNC_CMD_TIMEOUT";
	char *end;
	long n;

	if (!v || !*v) {
		v = config_get(c, profile, "cmd_timeout");
		what = "cmd_timeout";
	}
	if (!v || !*v) {
		*out = CMD_TIMEOUT_DEFAULT;
		return 0;
	}
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < 1 || n > CMD_TIMEOUT_MAX)
		return err_set(err, CRM_ECONFIG, "config_error",
			       "%s must be a whole number of seconds from 1 to %d, not '%s'",
			       what, CMD_TIMEOUT_MAX, v);
	*out = n;
	return 0;
}

/* The child's side, between fork and exec: only async-signal-safe calls.
 * Its own process group (so crmsync can stop it and whatever it started
 * at once), stdin /dev/null, stdout the pipe, stderr crmsync's, no other
 * descriptor, default signal dispositions and mask. */
static void cmd_child(const char *cmd, int null_fd, int w)
{
	static char sh[] = "/bin/sh", dash_c[] = "-c";
	char *argv[] = { sh, dash_c, (char *)cmd, NULL };
	extern char **environ;
	struct sigaction dfl;
	sigset_t none;
	long max;

	setpgid(0, 0);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(SIGINT, &dfl, NULL);
	sigaction(SIGTERM, &dfl, NULL);
	sigaction(SIGPIPE, &dfl, NULL); /* crmsync ignores it; exec would keep that */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Above 2 first, so the dup2s below cannot close one another's source. */
	if ((null_fd = fcntl(null_fd, F_DUPFD, 3)) < 0 || (w = fcntl(w, F_DUPFD, 3)) < 0 ||
	    dup2(null_fd, 0) < 0 || dup2(w, 1) < 0)
		_exit(127);
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0)
		max = 0;
	else
#endif
		max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 1L << 20)
		max = 1L << 20;
	for (long fd = 3; fd < max; fd++)
		close((int)fd);
	execve(sh, argv, environ);
	_exit(127);
}

/* Reaps pid if it has ended; 1 when reaped (status in *st), else 0. */
static int reaped(pid_t pid, int *st)
{
	pid_t r;

	while ((r = waitpid(pid, st, WNOHANG)) < 0 && errno == EINTR)
		;
	return r == pid || (r < 0 && errno == ECHILD);
}

/* Stops the command's process group: SIGTERM, a short grace for it to go
 * (its leader reaped and the group empty), then SIGKILL to what is left. */
static void cmd_stop(pid_t pid, int done, int *st)
{
	long long until = time_mono_ms() + CMD_GRACE_MS;

	kill(-pid, SIGTERM);
	while (time_mono_ms() < until) {
		if (!done)
			done = reaped(pid, st);
		if (done && kill(-pid, 0) < 0 && errno == ESRCH)
			return;
		time_sleep_ms(10);
	}
	kill(-pid, SIGKILL);
	while (!done && waitpid(pid, st, 0) < 0 && errno == EINTR)
		;
}

/* Runs cmd with /bin/sh and takes the first line of its stdout.  Bounded by
 * timeout_s seconds and by SIGINT/SIGTERM (sig_stop): either stops the
 * command's whole process group.  The messages name the key, never the
 * command's output (a secret). */
static int run_cmd(const char *cmd, const char *key, long timeout_s, char **out, struct crm_err *err)
{
	struct buf b = BUF_INIT;
	char chunk[4096];
	long long deadline = time_mono_ms() + timeout_s * 1000LL, left;
	int fds[2], null_fd, st = 0, done = 0, eof = 0;
	pid_t pid;
	ssize_t n;

	b.max = 1 << 16;
	if ((null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
		return err_set(err, CRM_ECONFIG, "config_error", "cannot run %s: /dev/null: %s", key, strerror(errno));
	if (pipe(fds) < 0) {
		close(null_fd);
		return err_set(err, CRM_ECONFIG, "config_error", "cannot run %s: %s", key, strerror(errno));
	}
	fcntl(fds[0], F_SETFD, FD_CLOEXEC);
	fcntl(fds[1], F_SETFD, FD_CLOEXEC); /* the child's copy is dup2'd, which clears it */
	fflush(NULL);
	if ((pid = fork()) < 0) {
		close(null_fd);
		close(fds[0]);
		close(fds[1]);
		return err_set(err, CRM_ECONFIG, "config_error", "cannot run %s: %s", key, strerror(errno));
	}
	if (pid == 0)
		cmd_child(cmd, null_fd, fds[1]);
	setpgid(pid, pid); /* also here: a signal may come before the child's own call */
	close(null_fd);
	close(fds[1]);
	/* Its output until end of file, then its exit, all before the deadline.
	 * Short polls: a signal that lands just before poll() is not missed. */
	while (!done && !sig_stop && (left = deadline - time_mono_ms()) > 0) {
		if (eof) {
			if (!(done = reaped(pid, &st)))
				time_sleep_ms(left < 20 ? left : 20);
			continue;
		}
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
		if (poll(&pfd, 1, left < 200 ? (int)left : 200) <= 0)
			continue;
		if ((n = read(fds[0], chunk, sizeof(chunk))) > 0) {
			if (b.len < b.max)
				buf_add(&b, chunk, (size_t)n < b.max - b.len ? (size_t)n : b.max - b.len);
		} else if (n == 0 || errno != EINTR) {
			eof = 1;
		}
	}
	close(fds[0]);
	if (!done) {
		cmd_stop(pid, 0, &st);
		buf_release(&b);
		if (sig_stop)
			return err_set(err, CRM_EINTR, "interrupted", "interrupted while %s ran", key);
		return err_set(err, CRM_ECONFIG, "config_error",
			       "%s did not finish within %ld s and was stopped (the limit is cmd_timeout in the config file or CRMSYNC_CMD_TIMEOUT)",
			       key, timeout_s);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		buf_release(&b);
		return err_set(err, CRM_ECONFIG, "config_error", "%s failed (exit %d)", key,
			       WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	}
	/* The first line, without its line end. */
	b.len = strcspn(b.buf, "\r\n");
	if (b.alloc)
		b.buf[b.len] = '\0';
	if (!b.len) {
		buf_release(&b);
		return err_set(err, CRM_ECONFIG, "config_error", "%s printed nothing", key);
	}
	*out = buf_detach(&b, NULL);
	return 0;
}

static int run_cmd_limited(const struct config *c, const char *profile, const char *cmd,
			   const char *key, char **out, struct crm_err *err)
{
	long t = CMD_TIMEOUT_DEFAULT;
	int rc;

	if ((rc = cmd_timeout(c, profile, &t, err)) < 0)
		return rc;
	return run_cmd(cmd, key, t, out, err);
}

int config_number(const struct config *c, const char *profile, const char *env, const char *key,
		  long min, long def, int off_ok, long *out, struct crm_err *err)
{
	const char *v = getenv(env);
	char *end;
	long n;

	if (!v || !*v)
		v = config_get(c, profile, key);
	*out = def;
	if (!v || !*v)
		return 0;
	if (off_ok && !strcmp(v, "off"))
		return *out = LONG_MAX, 0;
	errno = 0;
	n = strtol(v, &end, 10);
	if (*end || errno || n < min)
		return err_set(err, CRM_ECONFIG, "bad_config", "%s (%s) must be a number >= %ld, not '%.64s'", env, key,
			       min, v);
	*out = n;
	return 0;
}

int config_credential(const struct config *c, const char *profile, const char *env,
		      const char *key, int primary, char **out, struct crm_err *err)
{
	const char *v;
	char cmdkey[128];
	/* The profile's section first (value, then command), then the top level:
	 * a profile's access_token_cmd beats a top-level access_token. */
	const char *sections[2] = { profile, "" };

	*out = NULL;
	if (env && (v = getenv(env)) && *v) {
		*out = strdup(v);
		return 0;
	}
	snprintf(cmdkey, sizeof(cmdkey), "%s_cmd", key);
	for (int i = 0; i < 2; i++) {
		if (!sections[i])
			continue;
		if ((v = get_in(c, sections[i], key)) && *v) {
			*out = strdup(v);
			return 0;
		}
		if ((v = get_in(c, sections[i], cmdkey)) && *v)
			return run_cmd_limited(c, profile, v, cmdkey, out, err);
		if (primary && (v = get_in(c, sections[i], "token_cmd")) && *v)
			return run_cmd_limited(c, profile, v, "token_cmd", out, err);
	}
	return 0;
}

void config_secret_free(char *s)
{
	if (s) {
		volatile char *p = s;
		while (*p)
			*p++ = '\0';
	}
	free(s);
}
