/* Fuzz target: the state file reader (a corrupt or foreign file is an
 * error naming the file, never a crash). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "err.h"
#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/crmsync-fuzz-state-XXXXXX";
	int fd = mkstemp(path);
	struct state_cursor cur;
	struct crm_err err = CRM_ERR_INIT;

	if (fd < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size)
		state_read(path, "hubspot/default/contacts", "contacts", &cur, &err);
	close(fd);
	unlink(path);
	return 0;
}
