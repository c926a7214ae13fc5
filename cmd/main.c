/* crmsync: move CRM records between CRMs and the Unix pipe.
 * main(): global options, configuration, dispatch, signals, exit codes. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "common.h"
#include "config.h"
#include "provider.h"
#include "sig.h"
#include "summary.h"
#include "banned.h"

#define CRMSYNC_VERSION "0.1.0"

#define NEED_PROVIDER 1u

#define NEED_STDOUT 2u   /* writes data to stdout: a closed one is refused up front */

struct command {
	const char *name;
	int (*fn)(struct ctx *c, int argc, char **argv);
	const struct option *opts;
	unsigned flags;
	const char *summary;
};

static const struct command commands[] = {
	{ "fields", cmd_fields, fields_options, NEED_PROVIDER | NEED_STDOUT,
	  "list the provider's fields of OBJECT as NDJSON" },
	{ "lists", cmd_lists, lists_options, NEED_PROVIDER | NEED_STDOUT,
	  "list the CRM's lists; lists members|add|remove LIST" },
	{ "pull", cmd_pull, pull_options, NEED_PROVIDER | NEED_STDOUT,
	  "stream records of OBJECT from the CRM to stdout as NDJSON" },
	{ "push", cmd_push, push_options, NEED_PROVIDER | NEED_STDOUT,
	  "create/update/upsert/delete the NDJSON records read on stdin" },
	{ "status", cmd_status, status_options, 0,
	  "check the connection (every profile when no provider is given)" },
};

/* The global options; -h and --version only before the command (after it,
 * -h is the command's help). */
static const struct option global_opts[] = {
	{ "provider", required_argument, NULL, 'p' },
	{ "profile", required_argument, NULL, 'P' },
	{ "config", required_argument, NULL, 'c' },
	{ "base-url", required_argument, NULL, 'b' },
	{ "cacert", required_argument, NULL, 'A' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "progress", no_argument, NULL, 'g' },
	{ "no-progress", no_argument, NULL, 'G' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

struct globals {
	const char *provider, *config_file;
	int explicit_cfg, progress;
};

static void set_global(struct ctx *c, struct globals *g, int ch, const char *arg)
{
	switch (ch) {
	case 'p': g->provider = arg; break;
	case 'P': c->profile = arg; break;
	case 'c': g->config_file = arg; g->explicit_cfg = 1; break;
	case 'b': c->base_url = arg; break;
	case 'A': c->cacert = arg; break;
	case 'v': c->verbose = 1; break;
	case 'q': c->quiet = 1; break;
	case 'g': g->progress = 1; break;
	case 'G': g->progress = 0; break;
	}
}

/* Global options may stand after the command too (`crmsync pull contacts
 * -q`): takes them out of argv[from..], leaving the command's own options
 * and arguments in order.  The command's option table tells which of its
 * options take a value, so a value is never read as an option ("--state
 * -q" keeps "-q" as the state file).  Returns the new argc, or -1 when a
 * global option lacks its value (*bad names it). */
static int take_globals(struct ctx *c, struct globals *g, const struct option *cmd_opts,
			int argc, char **argv, int from, const char **bad)
{
	int out = from;

	for (int i = from; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		int ch = 0;

		if (!strcmp(a, "--")) {
			while (i < argc)
				argv[out++] = argv[i++];
			break;
		}
		if (!strcmp(a, "-p") || !strncmp(a, "-p", 2)) {
			ch = 'p';
			val = a[2] ? a + 2 : NULL;
		} else if (!strcmp(a, "-v") || !strcmp(a, "-q")) {
			ch = a[1];
		} else if (a[0] == '-' && a[1] == '-' && a[2]) {
			size_t n = strcspn(a + 2, "=");
			const struct option *o;
			for (o = global_opts; o->name; o++)
				if (o->val != 'h' && o->val != 'V' && strlen(o->name) == n &&
				    !strncmp(o->name, a + 2, n))
					break;
			if (o->name) {
				ch = o->val;
				val = a[2 + n] == '=' ? a + 3 + n : NULL;
			} else {
				/* The command's option: keep it, with its value. */
				for (o = cmd_opts; o && o->name; o++)
					if (strlen(o->name) == n && !strncmp(o->name, a + 2, n))
						break;
				argv[out++] = argv[i];
				if (o && o->name && o->has_arg == required_argument && !a[2 + n] && i + 1 < argc)
					argv[out++] = argv[++i];
				continue;
			}
		}
		if (!ch) {
			argv[out++] = argv[i];
			continue;
		}
		int needs = ch != 'v' && ch != 'q' && ch != 'g' && ch != 'G';
		if (needs && !val) {
			if (i + 1 >= argc) {
				*bad = a;
				return -1;
			}
			val = argv[++i];
		}
		set_global(c, g, ch, val);
	}
	argv[out] = NULL;
	return out;
}

/* "hubspot, salesforce, ...": every provider built in (providers/registry.c),
 * so that no list here falls behind providers/. */
static void provider_names(struct buf *b)
{
	const struct provider *p;
	for (size_t i = 0; (p = provider_at(i)); i++)
		buf_addf(b, "%s%s", i ? ", " : "", p->name);
}

static void usage(FILE *f)
{
	fputs("usage: crmsync [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]\n\n"
	      "commands:\n", f);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	struct buf names = BUF_INIT;
	provider_names(&names);
	fprintf(f, "\nglobal options:\n"
		"  -p, --provider NAME   %s (env CRMSYNC_PROVIDER)\n", names.buf);
	buf_release(&names);
	fputs("      --profile NAME    a named connection of the config file (env CRMSYNC_PROFILE)\n"
	      "      --config FILE     default $XDG_CONFIG_HOME/crmsync/config (env CRMSYNC_CONFIG)\n"
	      "      --base-url URL    API root override: sandbox, proxy, emulator (env CRMSYNC_BASE_URL)\n"
	      "      --cacert FILE     trust this CA bundle (a TLS-inspecting proxy); TLS is always verified\n"
	      "  -v, --verbose         log each request on stderr, credentials redacted\n"
	      "  -q, --quiet           errors only on stderr\n"
	      "      --progress        progress line on stderr (default: only on a terminal)\n"
	      "      --no-progress     no progress line\n"
	      "  -h, --help            this help; 'crmsync COMMAND --help' for a command\n"
	      "      --version         print the version\n\n"
	      "Credentials come from the environment or the config file, never from arguments:\n", f);
	const struct provider *p;
	for (size_t i = 0; (p = provider_at(i)); i++) {
		fprintf(f, "  %-10s", p->name);
		for (int k = 0; p->env_vars && p->env_vars[k]; k++)
			fprintf(f, " %s", p->env_vars[k]);
		fputc('\n', f);
	}
	fputs("A config value KEY_cmd = COMMAND (token_cmd for the main secret) takes the first line\n"
	      "COMMAND prints; it may run cmd_timeout seconds (default 30, env CRMSYNC_CMD_TIMEOUT).\n", f);
	fputs("\nexit codes: 0 ok, 1 some records failed, 64 usage, 65 bad input, 69 CRM unreachable,\n"
	      "74 output error, 75 temporary failure (safe to re-run), 77 auth refused, 78 config error\n"
	      "See crmsync(1).\n", f);
}

static void on_signal(int sig)
{
	sig_stop = sig;
}

static char *default_config(void)
{
	struct buf b = BUF_INIT;
	const char *x = getenv("XDG_CONFIG_HOME"), *h = getenv("HOME");

	if (x && *x)
		buf_addf(&b, "%s/crmsync/config", x);
	else if (h && *h)
		buf_addf(&b, "%s/.config/crmsync/config", h);
	else
		return NULL;
	return buf_detach(&b, NULL);
}

int main(int argc, char **argv)
{
	struct ctx c = { 0 };
	struct crm_err err = CRM_ERR_INIT;
	struct globals g = { NULL, NULL, 0, -1 };
	const char *provider, *config_file;
	char *defcfg = NULL;
	int progress, ch, rc = 0, explicit_cfg, stdout_closed;
	const struct command *cmd = NULL;
	struct sigaction sa;

	/* fds 0-2 that were closed are opened on /dev/null before anything
	 * opens a file: else the next open file or socket (libcurl's
	 * socketpair) takes the number, and records go into it. */
	int was_closed[3];
	for (int fd = 0; fd < 3; fd++)
		was_closed[fd] = fcntl(fd, F_GETFD) < 0 && errno == EBADF;
	for (int fd = 0; fd < 3; fd++) {
		if (!was_closed[fd])
			continue;
		int n = open("/dev/null", fd ? O_WRONLY : O_RDONLY);
		if (n >= 0 && n != fd) {
			dup2(n, fd);
			close(n);
		}
	}
	stdout_closed = was_closed[1];

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	c.cmd = "crmsync";
	ndjson_writer_init(&c.out, STDOUT_FILENO, "stdout");

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+p:vqh", global_opts, NULL)) != -1) {
		switch (ch) {
		case 'h': usage(stdout); return 0;
		case 'V': puts("crmsync " CRMSYNC_VERSION); return 0;
		case '?': case ':': {
			/* The option's name only: "--token=..." must not echo a value. */
			const char *o = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
			fprintf(stderr, "crmsync: unknown or incomplete option '%.*s' (see: crmsync --help)\n",
				(int)strcspn(o, "="), o);
			return 64;
		}
		default: set_global(&c, &g, ch, optarg); break;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 64;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, argv[optind]))
			cmd = &commands[i];
	if (!cmd) {
		fprintf(stderr, "crmsync: '%s' is not a command; see crmsync --help\n", argv[optind]);
		return 64;
	}
	c.cmd = cmd->name;
	const char *bad = NULL;
	if ((argc = take_globals(&c, &g, cmd->opts, argc, argv, optind + 1, &bad)) < 0) {
		fprintf(stderr, "crmsync: %s: option '%.*s' needs a value (see: crmsync --help)\n", cmd->name,
			(int)strcspn(bad, "="), bad);
		return 64;
	}
	provider = g.provider;
	config_file = g.config_file;
	explicit_cfg = g.explicit_cfg;
	progress = g.progress;

	/* argv > env > profile > defaults. */
	if (!provider)
		provider = getenv("CRMSYNC_PROVIDER");
	if (!c.profile)
		c.profile = getenv("CRMSYNC_PROFILE");
	if (!config_file && (config_file = getenv("CRMSYNC_CONFIG")) && *config_file)
		explicit_cfg = 1;
	else if (config_file && !*config_file && !explicit_cfg)
		config_file = NULL;
	if (!config_file)
		config_file = defcfg = default_config();
	if (!c.base_url)
		c.base_url = getenv("CRMSYNC_BASE_URL");
	if (c.base_url && !*c.base_url)
		c.base_url = NULL;
	if (!c.cacert && (c.cacert = getenv("CRMSYNC_CACERT")) && !*c.cacert)
		c.cacert = NULL;
	c.base_url_arg = c.base_url;
	if (c.profile && !*c.profile)
		c.profile = NULL;
	if (config_load(&c.cfg, config_file, explicit_cfg, &err) < 0) {
		rc = fail_with(&c, &err);
		goto done;
	}
	if (c.profile && !config_has_profile(c.cfg, c.profile)) {
		err_set(&err, CRM_ECONFIG, "config_error", "no profile '%s' in %s", c.profile,
			config_path(c.cfg) ? config_path(c.cfg) : config_file ? config_file : "the config file");
		rc = fail_with(&c, &err);
		goto done;
	}
	if (!provider || !*provider)
		provider = config_get(c.cfg, c.profile, "provider");
	if (!c.base_url)
		c.base_url = config_get(c.cfg, c.profile, "base_url");
	if (provider && *provider) {
		c.provider_name = provider;
		c.prov = provider_find(provider);
		if (!c.prov) {
			struct buf known = BUF_INIT;
			provider_names(&known);
			err_set(&err, CRM_EUSAGE, "usage", "unknown provider '%s' (known: %s)", provider, known.buf);
			buf_release(&known);
			rc = fail_with(&c, &err);
			goto done;
		}
	}
	if (progress < 0)
		progress = isatty(STDERR_FILENO);
	c.progress = progress && !c.quiet;
	summary_make_run_id(c.run_id);

	/* Help needs no provider. */
	int wants_help = 0;
	for (int i = optind + 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			wants_help = 1;
	}
	if ((cmd->flags & NEED_STDOUT) && stdout_closed && !wants_help) {
		err_set(&err, CRM_EOUTPUT, "stdout_closed",
			"standard output is closed; %s writes its %s there (redirect it to a file, or to /dev/null)",
			cmd->name, !strcmp(cmd->name, "push") || !strcmp(cmd->name, "lists") ? "results" : "records");
		rc = fail_with(&c, &err);
		goto done;
	}
	if ((cmd->flags & NEED_PROVIDER) && !c.prov && !wants_help) {
		struct buf names = BUF_INIT;
		provider_names(&names);
		err_set(&err, CRM_ECONFIG, "no_provider",
			"no provider: give -p NAME (%s), set CRMSYNC_PROVIDER, or use --profile with provider = NAME",
			names.buf);
		buf_release(&names);
		rc = fail_with(&c, &err);
		goto done;
	}
	optind++;
	rc = cmd->fn(&c, argc - optind + 1, argv + optind - 1);
	if (sig_stop)
		rc = 128 + sig_stop;
done:
	{
		struct crm_err e2 = CRM_ERR_INIT;
		if (ndjson_flush(&c.out, &e2) < 0 && e2.status == CRM_EOUTPUT && rc == 0) {
			msg(&c, "%s", e2.message);
			rc = 74;
		}
	}
	ctx_release(&c);
	ndjson_writer_release(&c.out);
	config_free(c.cfg);
	free(defcfg);
	return rc;
}
