/* graph: finding, in a request that is a graph of nodes (a ComfyUI
 * workflow in its API format), the text nodes a sampler's positive and
 * negative inputs lead to and the nodes that hold a seed. */
#ifndef TROUPE_GRAPH_H
#define TROUPE_GRAPH_H

#include <cjson/cJSON.h>

#include "profile.h"
#include "util.h"

/* Where a request's prompt, negative prompt and seeds go, as plain JSON
 * pointers (no selectors); negative is NULL when there is no place. */
struct graph_places {
	char *prompt;
	char *negative;
	struct strlist seeds;
};

/* Fills pl (zeroed by the caller) for graph, a request of nodes, by the
 * profile's sampler section: the prompt and negative prompt go into the
 * text nodes the first sampler's positive and negative links lead to, and
 * every node of a type in sampler.seed gets the seed. -1 with an error
 * naming why when there is no sampler or no text node behind it, or a
 * node id a pointer cannot address. Free with graph_places_clear(). */
int graph_place(const struct profile *p, cJSON *graph, struct graph_places *pl);
/* Frees what pl holds and zeroes it. */
void graph_places_clear(struct graph_places *pl);

#endif
