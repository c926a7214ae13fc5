#include "config.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "buf.h"
#include "err.h"
#include "banned.h"

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

static int run_cmd(const char *cmd, const char *key, char **out, struct crm_err *err)
{
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;
	FILE *p;
	int st;

	b.max = 1 << 16;
	fflush(NULL);
	if (!(p = popen(cmd, "r")))
		return err_set(err, CRM_ECONFIG, "config_error", "cannot run %s: %s", key, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		buf_add(&b, chunk, n);
	st = pclose(p);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		buf_release(&b);
		return err_set(err, CRM_ECONFIG, "config_error", "%s failed (exit %d)", key,
			       st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1);
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
			return run_cmd(v, cmdkey, out, err);
		if (primary && (v = get_in(c, sections[i], "token_cmd")) && *v)
			return run_cmd(v, "token_cmd", out, err);
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
