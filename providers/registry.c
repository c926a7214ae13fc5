/* The providers crmsync knows.  Adding a CRM: one file under providers/
 * that defines `const struct provider provider_NAME`, and one line here. */
#include <string.h>

#include "provider.h"
#include "banned.h"

extern const struct provider provider_hubspot;

const struct provider *const providers[] = {
	&provider_hubspot,
	NULL,
};

const struct provider *provider_find(const char *name)
{
	for (int i = 0; providers[i]; i++)
		if (!strcmp(providers[i]->name, name))
			return providers[i];
	return NULL;
}
