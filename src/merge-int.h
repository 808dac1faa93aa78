/* merge-int: what the two halves of merge (planning in merge.c, writing
 * in merge-apply.c) share: the plan itself. Nothing else includes it. */
#ifndef TROUPE_MERGE_INT_H
#define TROUPE_MERGE_INT_H

#include <pthread.h>
#include <stdbool.h>

#include "catalog-int.h"
#include "look.h"
#include "manifest.h"
#include "merge.h"
#include "store.h"

/* A manifest blob as staging found it. */
struct merge_blob {
	bool taken;  /* a stage of it is under way or done */
	bool staged; /* verified: st holds it (or st.present: the store had it) */
	struct store_staged st;
};

struct merge_plan {
	struct catalog *cat;
	const struct manifest *m;
	struct merge_item *items;
	size_t nitems, alloc;
	size_t conflicts;
	/* By the manifest's indexes: the local id (0: new here), the item. */
	int64_t *element_ids;
	size_t *element_items;
	enum merge_state **looks; /* [element][look] */
	int64_t *asset_ids;
	size_t *asset_items;
	enum merge_state **embeddings; /* [asset][embedding] */
	int64_t *shot_ids;
	size_t *shot_items;
	struct merge_blob *blobs; /* by the manifest's blob index */
	const struct manifest_blob **missing;
	size_t nmissing;
	pthread_mutex_t lock; /* blobs, staged_once */
	bool staged_once;
};

#endif
