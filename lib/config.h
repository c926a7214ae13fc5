/* config.h: the INI config file, profiles, credentials.
 *
 * File: `key = value` lines at the top (defaults for every profile) and
 * `[profile NAME]` sections (a plain `[NAME]` is read the same way).
 * Lookups take the profile's value, then the top-level one.  A file that
 * holds a secret must not be readable by group or others (as ssh refuses
 * such keys).  Precedence for every setting: argv > env > profile > default;
 * cmd/ applies argv and env, this module the file. */
#ifndef CRM_CONFIG_H
#define CRM_CONFIG_H

struct crm_err;
struct config;

/* Loads path; a missing file is an empty config unless `required`; a
 * directory is refused.
 * *out is always set on success (free with config_free). */
int config_load(struct config **out, const char *path, int required, struct crm_err *err);
void config_free(struct config *c);
/* The file's path, or NULL when none was read. */
const char *config_path(const struct config *c);
/* Value of key in profile (NULL = top level only), then at the top level.
 * Borrowed, or NULL. */
const char *config_get(const struct config *c, const char *profile, const char *key);
/* Does the file have a section for this profile? */
int config_has_profile(const struct config *c, const char *profile);
/* The profile names in file order; NULL-terminated, borrowed. */
const char *const *config_profiles(const struct config *c);

/* A credential: the environment variable `env`, else the profile's `key`,
 * else the output of the profile's `key_cmd` (for the primary secret also
 * `token_cmd`).  *out is a new malloc'd string or NULL when not set.
 * A command runs in its own process group, stopped at its time limit
 * (CRMSYNC_CMD_TIMEOUT, else cmd_timeout, else 30 s) or on sig_stop.
 * Returns 0, CRM_ECONFIG when a command fails or runs too long, or
 * CRM_EINTR when a signal stopped it. */
int config_credential(const struct config *c, const char *profile, const char *env,
		      const char *key, int primary, char **out, struct crm_err *err);

/* A provider's number knob: the environment variable `env`, else the
 * profile's `key`; def when neither is set (an empty value is unset).
 * "off" is LONG_MAX where off_ok (a limit turned off), else refused like
 * any value that is not a whole number >= min: CRM_ECONFIG, code
 * bad_config, naming env and key.  The one place providers read the
 * environment for anything but credentials. */
int config_number(const struct config *c, const char *profile, const char *env, const char *key,
		  long min, long def, int off_ok, long *out, struct crm_err *err);

/* Frees a credential from config_credential after overwriting it, so no
 * copy of the secret stays in freed memory.  NULL-safe. */
void config_secret_free(char *s);

#endif
