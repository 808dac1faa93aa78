/* graph: where a prompt goes in a request that is a graph of nodes (a
 * ComfyUI workflow), found by following the sampler nodes' links as the
 * profile's "sampler" section says. It only reads the graph: placing
 * the text is inject.c's, and nothing about a service is written here. */
#include "config.h"

#include "graph.h"
#include "json.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static bool strlist_has(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->items[i], s) == 0)
			return true;
	return false;
}

/* A link in a graph request is [node id, output index]. */
static const char *link_target(cJSON *v)
{
	cJSON *id = cJSON_GetArrayItem(v, 0);
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2 || !cJSON_IsString(id) ||
	    !cJSON_IsNumber(cJSON_GetArrayItem(v, 1)))
		return NULL;
	return id->valuestring;
}

/* A node id becomes a token of a plain pointer: one that a pointer could
 * misread (a selector "[", an escape "~", a separator "/") is refused. */
static int check_node_id(const char *id)
{
	if (*id == '[' || strpbrk(id, "/~"))
		return error_set(EX_DATAERR,
				 "the workflow's node \"%s\": troupe cannot address a node id "
				 "with '/', '~' or a leading '['",
				 id);
	return 0;
}

/* The text node a conditioning link leads to: breadth first through the
 * links of the nodes in between (a ControlNet, a combine), the first node
 * whose text pointer holds a string; borrowed, NULL when none. */
static const char *text_node(const struct profile *p, cJSON *graph, const char *start)
{
	struct strlist queue = {0};
	const char *found = NULL;
	strlist_push(&queue, start);
	for (size_t i = 0; i < queue.n && !found; i++) {
		cJSON *node = cJSON_GetObjectItemCaseSensitive(graph, queue.items[i]);
		if (!cJSON_IsObject(node))
			continue;
		if (cJSON_IsString(jp_get(node, p->sampler.text))) {
			found = node->string;
			break;
		}
		cJSON *group, *input;
		cJSON_ArrayForEach(group, node)
			cJSON_ArrayForEach(input, group) {
				const char *next = link_target(input);
				if (next && !strlist_has(&queue, next))
					strlist_push(&queue, next);
			}
	}
	strlist_clear(&queue);
	return found;
}

void graph_places_clear(struct graph_places *pl)
{
	free(pl->prompt);
	free(pl->negative);
	strlist_clear(&pl->seeds);
	memset(pl, 0, sizeof(*pl));
}

int graph_place(const struct profile *p, cJSON *graph, struct graph_places *pl)
{
	size_t samplers = 0;
	cJSON *node;
	cJSON_ArrayForEach(node, graph) {
		cJSON *type = jp_get(node, p->sampler.type);
		if (!cJSON_IsString(type))
			continue;
		cJSON *seed = cJSON_GetObjectItemCaseSensitive(p->sampler.seeds, type->valuestring);
		if (seed) {
			if (check_node_id(node->string) < 0)
				return -1;
			char *at = xasprintf("/%s%s", node->string, seed->valuestring);
			strlist_push(&pl->seeds, at);
			free(at);
		}
		if (!strlist_has(&p->sampler.types, type->valuestring))
			continue;
		samplers++;
		if (check_node_id(node->string) < 0)
			return -1;
		if (pl->prompt)
			continue;
		const char *to = link_target(jp_get(node, p->sampler.positive));
		const char *positive = to ? text_node(p, graph, to) : NULL;
		if (!positive)
			continue;
		to = p->sampler.negative ? link_target(jp_get(node, p->sampler.negative)) : NULL;
		const char *negative = to ? text_node(p, graph, to) : NULL;
		if (check_node_id(positive) < 0 || (negative && check_node_id(negative) < 0))
			return -1;
		pl->prompt = xasprintf("/%s%s", positive, p->sampler.text);
		if (negative && strcmp(negative, positive) != 0)
			pl->negative = xasprintf("/%s%s", negative, p->sampler.text);
	}
	if (!samplers) {
		struct strbuf types = STRBUF_INIT;
		for (size_t i = 0; i < p->sampler.types.n; i++)
			sb_addf(&types, "%s%s", i ? ", " : "", p->sampler.types.items[i]);
		error_set(EX_DATAERR,
			  "the workflow has no sampler (a node of type %s): nowhere to put the "
			  "prompt",
			  types.buf);
		sb_release(&types);
		return -1;
	}
	if (!pl->prompt)
		return error_set(EX_DATAERR,
				 "no sampler's %s input leads to a text node (one with text at "
				 "%s): nowhere to put the prompt",
				 p->sampler.positive, p->sampler.text);
	return 0;
}
