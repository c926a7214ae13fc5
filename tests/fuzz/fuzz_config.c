/* Fuzz target: the config file parser and credential lookups. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/crmsync-fuzz-config-XXXXXX";
	int fd = mkstemp(path);
	struct config *c = NULL;
	struct crm_err err = CRM_ERR_INIT;

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		unlink(path);
		return 0;
	}
	close(fd);
	if (config_load(&c, path, 1, &err) == 0) {
		const char *const *p = config_profiles(c);
		for (int i = 0; p && p[i]; i++) {
			char *tok = NULL;
			(void)config_get(c, p[i], "provider");
			/* Only literal values: *_cmd keys would run fuzz input as commands. */
			if (!config_get(c, p[i], "access_token_cmd") && !config_get(c, p[i], "token_cmd") &&
			    !config_get(c, NULL, "access_token_cmd") && !config_get(c, NULL, "token_cmd"))
				config_credential(c, p[i], NULL, "access_token", 1, &tok, &err);
			free(tok);
		}
		config_free(c);
	}
	unlink(path);
	return 0;
}
