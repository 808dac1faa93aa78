/* json: JSON pointers (RFC 6901) over cJSON trees, and a writer that
 * streams base64 file payloads. cJSON as packaged has no pointer support;
 * profiles need get, set and a wildcard walk for result URLs. */
#ifndef TROUPE_JSON_H
#define TROUPE_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The item at pointer in root (borrowed), or NULL. "" is root itself. */
cJSON *jp_get(cJSON *root, const char *pointer);
/* Puts value at pointer, creating objects on the way; "-" as the last
 * token appends to an array. Takes ownership of value. -1 with an error
 * when the path runs through something that is not a container. */
int jp_set(cJSON *root, const char *pointer, cJSON *value);
/* Every string reached by a pointer in which "*" stands for each element
 * of an array (or member of an object); pushed onto out, borrowed. */
void jp_collect_strings(cJSON *root, const char *pointer, const char ***out, size_t *n);
/* Every item (of any type) reached by a pointer with "*" wildcards;
 * pushed onto out, borrowed. */
void jp_collect_items(cJSON *root, const char *pointer, cJSON ***out, size_t *n);
/* Rewrites a pointer whose tokens may be selectors "[key=value]" (the
 * first member or element that is an object whose member key is the
 * string value) into a plain pointer, taking the n-th match (from 0) for
 * the first selector and the first match for any later one. NULL (no
 * error recorded) when nothing matches; the caller frees the result. */
char *jp_resolve(cJSON *root, const char *pointer, int n);
/* The number of matches of the first selector in pointer (1 when it has
 * none and the rest resolves, 0 when nothing matches). */
int jp_count(cJSON *root, const char *pointer);
/* 0 when pointer is "" or starts with "/"; -1 with an error naming what. */
int jp_check(const char *what, const char *pointer);

/* Writes item as compact JSON to out without building the text in
 * memory first (an injected request can be megabytes of base64). A raw
 * item holding a json_base64_file() marker is written as the quoted
 * base64 of that file's bytes, encoded as it is written. -1 with an
 * error when such a file cannot be read (part of the JSON may be out). */
int json_write(FILE *out, const cJSON *item);
/* The marker for the base64 of the file at path, to be the text of a raw
 * item (type cJSON_Raw) that json_write streams; the caller frees it. */
char *json_base64_file(const char *path);
/* Whether s is such a marker. */
bool json_is_base64_file(const char *s);

#endif
