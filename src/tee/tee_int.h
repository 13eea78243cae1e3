/*
 * tee_int.h -- internals shared by the tee module's files (not public).
 */
#ifndef PROPELLER_TEE_INT_H
#define PROPELLER_TEE_INT_H

#include "tee/tee.h"

/* root + absolute path ("/dev/x"); malloc'd, NULL on OOM. */
char *tee_root_path(const char *root, const char *path);
/* True for "", "/" or NULL: the real system. */
bool tee_is_real_root(const char *root);

/*
 * Creates a configfs-tsm entry, reads its provider and removes it.
 * CORE_ERR_UNSUPPORTED when there is no configfs-tsm or no provider.
 */
enum core_err tee_tsm_probe_provider(const char *root, char *provider,
    size_t len, struct core_errbuf *eb);

#endif /* PROPELLER_TEE_INT_H */
