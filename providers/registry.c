/* The providers crmsync knows.  Each providers/NAME.c defines
 * `const struct provider provider_NAME`; the declarations below are weak,
 * so a provider whose file is not built yet is simply absent (NULL). */
#include <stddef.h>
#include <string.h>

#include "provider.h"
#include "banned.h"

#define WEAK __attribute__((weak))
extern const struct provider provider_hubspot WEAK;
extern const struct provider provider_salesforce WEAK;
extern const struct provider provider_pipedrive WEAK;
extern const struct provider provider_zoho WEAK;
extern const struct provider provider_sugarcrm WEAK;
extern const struct provider provider_copper WEAK;

static const struct provider *const all[] = {
	&provider_hubspot, &provider_salesforce, &provider_pipedrive,
	&provider_zoho, &provider_sugarcrm, &provider_copper,
};

const struct provider *provider_find(const char *name)
{
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (all[i] && !strcmp(all[i]->name, name))
			return all[i];
	return NULL;
}

const struct provider *provider_at(size_t i)
{
	size_t k = 0;
	for (size_t j = 0; j < sizeof(all) / sizeof(all[0]); j++)
		if (all[j] && k++ == i)
			return all[j];
	return NULL;
}
