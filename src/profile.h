/* profile: what one generation service wants, read from a JSON file and
 * checked when loaded. The format is in troupe-profile(5); nothing about a
 * particular service is written in C. */
#ifndef TROUPE_PROFILE_H
#define TROUPE_PROFILE_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "image.h"
#include "util.h"

enum profile_output { PROFILE_JSON, PROFILE_TEXT, PROFILE_EMBEDDING };
enum ref_encoding { ENC_URL, ENC_BASE64, ENC_DATA_URI, ENC_MULTIPART, ENC_PATH, ENC_UPLOAD };
enum mention_style { MENTION_TAG, MENTION_NAME, MENTION_DESCRIPTION };
/* What a reference is called in the request: the character's slug, a
 * word made from it (3 to 16 letters, digits and '_'), or ref1, ref2... */
enum tag_style { TAG_SLUG, TAG_WORD, TAG_REF_N };
enum auth_scheme { AUTH_NONE, AUTH_BEARER, AUTH_HEADER, AUTH_KLING_JWT };
/* Where a profile was found: who put it there decides what it may do. */
enum profile_origin { PROFILE_FROM_FILE, PROFILE_FROM_PATH, PROFILE_BUILTIN, PROFILE_FROM_STORE };

/* Text profiles: how the references are written into the prompt. */
struct profile_text {
	const char *refs_prefix; /* before the list of reference URLs */
	const char *refs_separator;
	const char *refs_suffix;
	const char *seed;     /* with {seed} */
	const char *negative; /* with {negative} */
};

/* JSON profiles: where the request goes and where things go in it. */
struct profile_request {
	const char *base_url;
	const char *base_url_env;
	const char *method;
	const char *path;
	bool multipart;
	cJSON *template;    /* the body a bare prompt starts from */
	const char *wrap;   /* pointer in template where the user's request goes */
	const char *prompt; /* pointer (a field name when multipart) */
	enum mention_style mention;
	bool describe;	      /* append each character's description to the prompt */
	const char *negative; /* pointer */
	const char *seed;     /* pointer */
	const char *aspect;   /* pointer */
	/* Where a clip's length goes, and the lengths the service offers, as
	 * it wants them written (strings or numbers of seconds). */
	const char *duration; /* pointer */
	cJSON *durations;     /* borrowed from raw */
};

/* Graph requests (a ComfyUI workflow): the prompt, negative prompt and
 * seed are found from the sampler nodes instead of fixed pointers. */
struct profile_sampler {
	bool has;
	const char *type;     /* pointer in a node to its type */
	struct strlist types; /* the types that are samplers */
	const char *positive; /* pointer in a sampler to its positive link */
	const char *negative; /* ... and its negative one */
	const char *text;     /* pointer in a text node to its text */
	cJSON *seeds;	      /* node type -> pointer to its seed */
};

/* Per-model rules: what a model needs when references are sent. */
struct profile_models {
	const char *pointer;
	/* name -> {"with_references" | "with_first_frame" | "with_last_frame":
	 * {pointer: value}} */
	cJSON *rules;
};

/* How a profile carries a mention of each kind of element. */
enum kind_carry {
	KIND_REFUSED, /* not at all: a mention is an error */
	KIND_TEXT,    /* its description in the prompt, no references */
	KIND_REFS,    /* references in roles, and its description */
};
struct profile_kind {
	enum kind_carry carry;
	struct strlist roles; /* KIND_REFS: the roles, best first */
	/* Where this kind's references go, for a service with a field per
	 * kind (Kling's subject, scene and style images); NULL: the
	 * references' own pointer, array and item. max: how many references
	 * of this kind a request takes; with a pointer of its own, how many
	 * that pointer takes (0: the references' max, or 1 when not an
	 * array). */
	const char *pointer;
	bool array;
	cJSON *item;
	int max;
};

/* References: which images are sent, how many, and how. */
struct profile_refs {
	struct strlist roles;
	/* By element_kinds (role.h) index; without "kinds" in the file, only
	 * characters are carried, by the roles above. */
	struct profile_kind kinds[4];
	int per_character;
	int max;
	int min;
	const char *pointer;
	bool array;
	bool spread; /* reference i goes to the i-th selector match */
	cJSON *item; /* a template with {ref}, {tag}, {name}, ... */
	enum ref_encoding encoding;
	const char *url_base_env;
	struct image_recipe limits;
	enum tag_style tag_style;
	/* A tag mention is always followed by a space (PixVerse's @ref_name
	 * must be), even before punctuation or at the end of the prompt. */
	bool tag_space;
};

/* Image-to-video: where the clip's first and last frames go. A frame is
 * fitted and encoded as the references are (their limits, encoding and
 * upload); a NULL pointer means the service takes no such frame. */
struct profile_frame {
	const char *pointer;
	cJSON *item;   /* a template with {ref}; NULL: the frame itself */
	bool required; /* a request without this frame is refused */
	/* The service takes this frame or reference images, never both
	 * (Veo 3.1): a request with the two is refused. */
	bool excludes_references;
};
struct profile_frames {
	struct profile_frame first, last;
	const char *doc; /* the page that says where the frames go */
};

/* The key sent with each request. */
struct profile_auth {
	enum auth_scheme scheme;
	const char *env;
	const char *secret_env;
	const char *header;
	const char *prefix;
};

/* Sending: fixed headers, and where reference uploads go. */
struct profile_send {
	cJSON *headers;
	const char *trace_header;
	/* How many requests the service runs at once for one account, as it
	 * documents (shot render --parallel stays within it); 1 unless the
	 * profile says. */
	int concurrency;
	const char *upload_path;
	const char *upload_field;
	cJSON *upload_form;
	const char *upload_id;
	/* Seconds an uploaded id lasts, as the service documents it; 0 when
	 * the documentation gives no lifetime (the id is kept until the
	 * service says it does not know it). */
	int upload_expires;
	/* How the service says a request named an id it does not know (or no
	 * longer keeps): the value at this pointer of its answer is one of
	 * these. NULL: the profile does not say, and nothing is retried. */
	const char *upload_unknown;
	struct strlist upload_unknown_values;
};

/* A service that answers with a task id, then is polled. */
struct profile_task {
	const char *id;
	const char *poll_path;
	const char *poll_status;
	struct strlist done;
	struct strlist failed;
	const char *error;
	struct strlist status_names; /* pairs: a status as sent, its name */
	int interval_ms;
	int timeout_s;
	const char *result_path;  /* one more GET after done, with {id}, {value} */
	const char *result_value; /* pointer to {value} in the last poll answer */
	/* Anything at this pointer of a poll's answer means the task failed,
	 * whatever its status (a Google operation is "done" either way). */
	const char *failed_if;
	/* The id is a path of segments ("models/m/operations/o"): '/' stays
	 * in the poll path, each segment is escaped. */
	bool id_path;
};

/* Where the results are in the answer. */
struct profile_outputs {
	const char *urls;
	const char *base64;
	const char *items; /* objects to build URLs from */
	const char *url;   /* template filled from each item's members */
	bool video;
	/* The key and headers go with a download from the service's own base
	 * URL (Gemini's files), and never to another address. */
	bool auth;
};

/* Embedding profiles. */
struct profile_embedding {
	const char *model;	   /* the model name vectors are stored under */
	const char *vector;	   /* pointer to the vector in the answer */
	bool image_body;	   /* the image bytes are the request body */
	int nothing_status;	   /* HTTP status meaning "nothing to embed" */
	const char *nothing_error; /* what to call that, e.g. "no face" */
	/* Optional, where the answer says more: every face as an array of
	 * objects, each with the vector, box and score at the same pointers
	 * as the answer's own; the box {x, y, width, height} in pixels of
	 * the picture as sent; the detector's score; the network's name and
	 * version (the model's identity). */
	const char *faces;
	const char *box;
	const char *score;
	const char *network;
	const char *version;
	/* The threshold check uses until the store is calibrated, measured
	 * for the model by its maker; has_threshold false when none. */
	bool has_threshold;
	double threshold;
};

struct profile {
	char *name;
	char *file; /* where it was loaded from */
	enum profile_origin origin;
	char sha256[65]; /* of the file's bytes, lower-case hex */
	cJSON *raw;	 /* the whole document; the pointers below borrow from it */
	const char *service;
	const char *doc;
	enum profile_output output;
	struct profile_text text;
	struct profile_request request;
	struct profile_sampler sampler;
	struct profile_models models;
	struct profile_refs refs;
	struct profile_frames frames;
	struct profile_auth auth;
	struct profile_send send;
	struct profile_task task;
	struct profile_outputs outputs;
	struct profile_embedding embedding;
};

/* Where profiles are looked for, first match wins: $TROUPE_PROFILE_PATH
 * (colon-separated), then the built-in ones (profile_builtin_dir), then
 * profiles/ in the store (when store_root is not NULL), which can add
 * profiles but not replace a built-in one. A store's profile that sends a
 * key is refused (EX_NOPERM) until the user trusts it (profile_trust). */
struct profile *profile_load(const char *name, const char *store_root);
/* The same file, without the trust check: for showing and trusting it,
 * never for sending. */
struct profile *profile_find(const char *name, const char *store_root);
/* The directories searched, in order (the caller clears the list). */
void profile_dirs(const char *store_root, struct strlist *dirs);
/* Loads and checks one file; errors name the file and the field. */
struct profile *profile_load_file(const char *path);
void profile_free(struct profile *p);
/* The profile's fixed headers, and a fresh trace id when it asks for
 * one, pushed as "Name: value" lines. */
void profile_headers(const struct profile *p, struct strlist *headers);
/* Where a json or embedding profile's requests go: $base_url_env when the
 * profile names one and it is set and not empty, else base_url; trailing
 * slashes removed, so a path starting with '/' can follow. The caller
 * frees it. */
char *profile_base_url(const struct profile *p);
/* The value to write at request.duration for a clip of seconds: a copy
 * of the offered one equal to it (the caller owns it). NULL with an
 * EX_DATAERR error naming the lengths offered when none is. */
cJSON *profile_duration_value(const struct profile *p, double seconds);
/* The built-in profiles' directory: the source tree's profiles/ for a
 * program run from its build tree, else the installed data directory.
 * Borrowed. */
const char *profile_builtin_dir(void);
/* Whether the user has trusted this profile file (its SHA-256), and
 * recording that they do, in $XDG_CONFIG_HOME/troupe/trusted-profiles
 * (or ~/.config/troupe/...), outside every store. */
bool profile_trusted(const struct profile *p);
int profile_trust(const struct profile *p);
/* The names of every profile found, sorted, each with the file that wins. */
int profile_list(const char *store_root, struct strlist *names, struct strlist *files);

#endif
