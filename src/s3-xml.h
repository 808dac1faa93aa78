/* s3-xml: reading the few XML answers object storage gives (a listing,
 * an error, a new multipart upload) without an XML library. Everything
 * here comes from the network: element names are matched exactly, text
 * is decoded strictly (the five named entities and numeric references,
 * no NUL, valid UTF-8), and anything malformed is refused, never guessed
 * at. It never prints and never allocates more than the text it is given. */
#ifndef TROUPE_S3_XML_H
#define TROUPE_S3_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The decoded text of the first element named tag in xml (anywhere,
 * nested or not), or NULL when there is none or its text is not well
 * formed. The caller frees it. */
char *s3xml_text(const char *xml, size_t len, const char *tag);

/* An S3 error answer: <Error><Code>..</Code><Message>..</Message>. 0 with
 * *code and *message (either may be NULL when absent; the caller frees
 * them), -1 when the text is not an error answer. */
int s3xml_error(const char *xml, size_t len, char **code, char **message);

/* One object of a listing; key borrowed for the call. A nonzero return
 * stops the walk and is returned. */
typedef int s3xml_object_fn(const char *key, uint64_t bytes, void *ctx);
/* A ListObjectsV2 answer: each <Contents> with its Key and Size, in
 * order; *truncated from IsTruncated, and *next (the caller frees it,
 * NULL when absent) from NextContinuationToken. 0 when the whole answer
 * was read, the callback's nonzero return, or -1 (no error recorded)
 * when it is not a well-formed listing: then some objects may have been
 * passed to each already, and the caller must discard them. */
int s3xml_list(const char *xml, size_t len, s3xml_object_fn *each, void *ctx, bool *truncated,
	       char **next);

#endif
