/* inject: puts elements into a generation request. Mentions (@slug,
 * @slug.look, @slug:look) are resolved to elements of any kind (a
 * character, location, prop or style) and looks; their references are chosen,
 * fitted to the profile's limits through derive, encoded as the profile
 * says, and placed with the description, negative prompt and seed. */
#ifndef TROUPE_INJECT_H
#define TROUPE_INJECT_H

#include "catalog.h"
#include "derivative.h"
#include "profile.h"
#include "refchoice.h"
#include "util.h"

struct inject_options {
	const char *ref_query; /* --ref: use these assets instead of the rule */
	const char *aspect;    /* --aspect: set where the profile puts it */
	double duration;       /* seconds, where the profile puts it; 0: none */
	bool keep_seed;	       /* --keep-seed: a workflow's sampler seed stays */
	/* --dry-run: nothing is sent and no key is read; an upload's id is
	 * "upload:HASH" of the derivative that would have been sent. */
	bool dry_run;
	/* Told of each mentioned character that gets no reference because
	 * the request takes only max_refs (NULL: nobody is told); the
	 * command prints it, so no character is dropped silently. */
	void (*unplaced)(const char *profile, const char *slug, int max_refs, void *ctx);
	void *unplaced_ctx;
	/* Told, instead of unplaced, of every mentioned element whose
	 * references the limits cut (refchoice.h says which and why; slug
	 * NULL for --ref's matches beyond max); ctx is unplaced_ctx. */
	void (*left_out)(const char *profile, const char *slug, const struct refchoice_left *l,
			 void *ctx);
	/* --no-drop: a mentioned element the limits would leave without any
	 * reference is an error (EX_DATAERR) instead of a warning. */
	bool no_drop;
	/* Told of each mentioned element whose kind the profile carries as
	 * text only (its description, no reference); ctx is unplaced_ctx. */
	void (*text_only)(const char *profile, const char *slug, const char *kind, void *ctx);
	/* --first-frame, --last-frame: the picture an image-to-video clip
	 * starts or ends on, a file (stored as a generated asset) or an asset
	 * ("#ID", an id or a hash prefix), for the profile's frame slots. A
	 * character's reference is never put there in their stead. */
	const char *first_frame;
	const char *last_frame;
	/* base64 payloads of a JSON request as json_base64_file() markers in
	 * raw items, for json_write() to encode while it writes: a warm
	 * injection then holds no payload in memory. Only for a request that
	 * goes to json_write(), never one sent by troupe itself. */
	bool stream_base64;
};

struct injected_ref {
	int64_t asset_id;
	char *slug; /* the character it was chosen for, or NULL with --ref */
	char *tag;  /* the name it is mentioned by; "first_frame", "last_frame" */
	struct derivative derived;
	char *encoded; /* what went into the request (URL, base64, path, id) */
	bool numeric;  /* an upload id the service gave as a number */
	bool uploaded; /* sent to the upload endpoint by this injection */
	bool reused;   /* named by an id an earlier upload got */
	bool streamed; /* encoded is a json_base64_file() marker */
};

struct injection {
	cJSON *request;		   /* JSON profiles: the request to send */
	char *text;		   /* text profiles: the prompt text */
	char *prompt;		   /* the rewritten prompt */
	struct injected_ref *refs; /* the references, then the frames */
	size_t nrefs;
	struct strlist characters;	/* slugs mentioned, in order */
	struct strlist multipart_files; /* multipart: paths of reference files */
};

/* The mentions in a prompt, as slugs (and looks, "" for none). Fails on
 * an unknown element or look, naming it. */
int inject_mentions(struct catalog *cat, const char *prompt, struct strlist *slugs,
		    struct strlist *looks);

/* A mention as written in a prompt: bytes [start, end) hold "@slug",
 * "@slug.look" or "@slug:look"; look is "" for none. */
struct inject_span {
	size_t start, end;
	char *slug, *look;
};
/* The mentions of prompt in order, by the rule injection uses, without
 * looking anything up; *out is freed with inject_spans_free. */
size_t inject_mention_spans(const char *prompt, struct inject_span **out);
void inject_spans_free(struct inject_span *spans, size_t n);

/* Injects into input: a JSON request (is_json) or a bare prompt. For an
 * upload profile this sends the references to the service's upload
 * endpoint (see http.c); nothing else goes over the network. */
int inject_run(struct catalog *cat, const struct profile *p, const char *input, bool is_json,
	       const struct inject_options *o, struct injection *out);
/* The request with every base64 payload replaced by "blob:HASH" of the
 * blob it carried, as text for the log; the caller frees it. */
char *inject_redacted(const struct injection *in);
void injection_clear(struct injection *in);

/* Records an injection in the log (kind "inject" or "generate", with
 * its status) with the references it used; returns the request id, or
 * -1 with an error. */
int64_t inject_log(struct catalog *cat, const struct profile *p, const struct injection *in,
		   const char *kind, const char *status);

#endif
