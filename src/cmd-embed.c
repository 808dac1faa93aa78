/* troupe embed|nearest|check|calibrate: embeddings, and whether a shot
 * still shows the same character. The vectors come from an embedding
 * profile (a local face service or a remote API) or from a file. */
#include "config.h"

#include "commands.h"
#include "embed.h"
#include "phash.h"
#include "util.h"
#include "vector.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
	OPT_MODEL = 1,
	OPT_PROFILE,
	OPT_K,
	OPT_WHERE,
	OPT_CHARACTER,
	OPT_THRESHOLD,
	OPT_HASHES,
	OPT_RETRY
};

static const struct opt_spec embed_specs[] = {
    {"model", 'm', true, OPT_MODEL},
    {"profile", 'p', true, OPT_PROFILE},
    {"k", 'k', true, OPT_K},
    {"where", 'w', true, OPT_WHERE},
    {"character", 'c', true, OPT_CHARACTER},
    {"threshold", 't', true, OPT_THRESHOLD},
    {"hashes", 0, true, OPT_HASHES},
    {"retry", 0, false, OPT_RETRY},
    {NULL, 0, false, 0},
};

struct embed_args {
	const char *model;
	const char *profile;
	int64_t k;
	const char *where;
	const char *character;
	bool has_threshold;
	double threshold;
	const char *hashes;
	bool retry;
	struct strlist words;
};

static int parse_embed_args(struct cli *cli, const struct cmd_entry *entry, int argc, char **argv,
			    struct embed_args *a, bool *help)
{
	struct opts o;
	const char *arg;
	int id;
	*help = false;
	a->k = 5;
	if (entry == &cmd_check_entry)
		a->model = "face";
	/* One option table serves four commands; each takes only its own. */
	unsigned takes = 1u << OPT_MODEL;
	if (entry == &cmd_embed_entry)
		takes |= 1u << OPT_PROFILE | 1u << OPT_HASHES | 1u << OPT_RETRY;
	else if (entry == &cmd_nearest_entry)
		takes |= 1u << OPT_PROFILE | 1u << OPT_K | 1u << OPT_WHERE;
	else if (entry == &cmd_check_entry)
		takes |= 1u << OPT_PROFILE | 1u << OPT_CHARACTER | 1u << OPT_THRESHOLD;
	opts_init(&o, cli, argc, argv, embed_specs);
	o.dash_words = true;
	while ((id = opts_next(&o, &arg)) != OPT_END) {
		if (id > 0 && id < 32 && !(takes & 1u << id)) {
			const char *name = "?";
			for (const struct opt_spec *sp = embed_specs; sp->name; sp++)
				if (sp->id == id)
					name = sp->name;
			char *why = xasprintf("%s%s is not an option of this command",
					      strlen(name) == 1 ? "-" : "--", name);
			cli_usage_error(entry, why);
			free(why);
			return -1;
		}
		switch (id) {
		case OPT_ERROR:
			return -1;
		case OPT_HELP:
			cli_print_help(entry);
			*help = true;
			return 0;
		case OPT_MODEL:
			a->model = arg;
			break;
		case OPT_PROFILE:
			a->profile = arg;
			break;
		case OPT_K:
			if (cli_parse_int("-k", arg, 1, 100000, &a->k) < 0)
				return -1;
			break;
		case OPT_WHERE:
			a->where = arg;
			break;
		case OPT_CHARACTER:
			a->character = arg;
			break;
		case OPT_THRESHOLD: {
			char *end;
			errno = 0;
			a->threshold = strtod(arg, &end);
			if (*end || errno || !(a->threshold >= -1 && a->threshold <= 1))
				return error_set(EX_USAGE,
						 "--threshold %s: a cosine similarity from -1 to 1",
						 arg);
			a->has_threshold = true;
			break;
		}
		case OPT_HASHES:
			a->hashes = arg;
			break;
		case OPT_RETRY:
			a->retry = true;
			break;
		case OPT_POSITIONAL:
			strlist_push(&a->words, arg);
			break;
		}
	}
	if (!a->model)
		return cli_usage_error(entry, "which model? (--model NAME)");
	return 0;
}

/* The embedding profile for a model: --profile, else one named like it. */
static struct profile *model_profile(struct catalog *cat, const struct embed_args *a)
{
	struct profile *p = profile_load(a->profile ? a->profile : a->model, catalog_root(cat));
	if (!p) {
		if (!a->profile && error_code() == EX_NOINPUT)
			error_set(EX_NOINPUT,
				  "model %s: no embedding profile of that name (give "
				  "--profile, or import vectors with 'troupe embed import')",
				  a->model);
		return NULL;
	}
	if (p->output != PROFILE_EMBEDDING) {
		error_set(EX_USAGE, "profile %s is not an embedding profile", p->name);
		profile_free(p);
		return NULL;
	}
	if (strcmp(p->model, a->model) != 0) {
		error_set(EX_USAGE, "profile %s computes model %s, not %s", p->name, p->model,
			  a->model);
		profile_free(p);
		return NULL;
	}
	return p;
}

/* The vector of an image file. It goes through the profile's recipe,
 * as stored assets do, so a file and the same picture in the store are
 * sent as the same bytes; bad input gets troupe's own error before
 * anything is sent. */
static int file_vector(const struct profile *p, const char *path, float **v, uint32_t *dim)
{
	struct image_buffer buf;
	if (image_derive(path, &p->limits, &buf) < 0)
		return error_prefix("%s", path);
	char *tmp = temp_template("embed");
	int fd = mkstemp(tmp), rc = -1;
	if (fd < 0) {
		error_set(EX_CANTCREAT, "%s: %s", tmp, strerror(errno));
	} else if (write_all(fd, buf.data, buf.len) < 0) {
		error_set(EX_IOERR, "%s: %s", tmp, strerror(errno));
	} else {
		rc = embed_image(p, tmp, buf.format, v, dim);
	}
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(tmp);
	image_buffer_clear(&buf);
	return rc < 0 ? error_prefix("%s", path) : 0;
}

/* ---- embed ---- */

struct todo {
	struct catalog *cat;
	const char *model;
	bool retry;
	int64_t *ids;
	size_t n, skipped, missed_before;
};

static int collect_todo(const struct asset *a, void *ctx)
{
	struct todo *t = ctx;
	if (catalog_format_is_video(a->format))
		return 0;
	int has = catalog_embedding_has(t->cat, a->id, t->model);
	if (has < 0)
		return 1;
	if (has == 1) {
		t->skipped++;
		return 0;
	}
	if (has == 2 && !t->retry) {
		t->missed_before++;
		return 0;
	}
	t->ids = xrealloc(t->ids, (t->n + 1) * sizeof(*t->ids));
	t->ids[t->n++] = a->id;
	return 0;
}

static int embed_import(struct cli *cli, struct catalog *cat, struct embed_args *a);

static int cmd_embed(struct cli *cli, int argc, char **argv)
{
	struct embed_args a = {0};
	struct catalog *cat = NULL;
	struct profile *p = NULL;
	struct todo t = {0};
	struct progress *bar = NULL;
	bool help;
	int rc = -1;
	if (parse_embed_args(cli, &cmd_embed_entry, argc, argv, &a, &help) < 0 || help) {
		rc = help ? 0 : -1;
		goto out;
	}
	cat = catalog_open(cli->store_dir);
	if (!cat)
		goto out;
	if (a.words.n && !strcmp(a.words.items[0], "import")) {
		rc = embed_import(cli, cat, &a);
		goto out;
	}
	if (!(p = model_profile(cat, &a)))
		goto out;
	struct strbuf query = STRBUF_INIT;
	for (size_t i = 0; i < a.words.n; i++)
		sb_addf(&query, "%s%s", i ? " " : "", a.words.items[i]);
	t.cat = cat;
	t.model = a.model;
	t.retry = a.retry;
	struct query_options qo = {SORT_ID, false, 0};
	int qrc = catalog_query(cat, sb_str(&query), &qo, collect_todo, &t);
	sb_release(&query);
	if (qrc < 0)
		goto out;
	/* Each vector commits on its own, so an interrupted run resumes
	 * where it stopped: done assets are skipped next time. */
	size_t done = 0, nothing = 0;
	bar = cli->quiet ? NULL : progress_new("embedding", t.n);
	for (size_t i = 0; i < t.n; i++) {
		progress_step(bar, i);
		struct derivative d;
		float *v = NULL;
		uint32_t dim;
		if (catalog_derive(cat, t.ids[i], &p->limits, &d) < 0)
			goto out;
		int erc = embed_image(p, d.path, d.format, &v, &dim);
		derivative_clear(&d);
		if (erc == EMBED_NOTHING) {
			warn("asset %lld: %s", (long long)t.ids[i], error_message());
			/* Remembered, so the next run does not send it again. */
			if (catalog_embedding_missed(cat, t.ids[i], a.model, error_message()) < 0)
				goto out;
			nothing++;
			continue;
		}
		if (erc < 0)
			goto out;
		erc = catalog_embedding_put(cat, t.ids[i], a.model, v, dim);
		free(v);
		if (erc < 0)
			goto out;
		done++;
	}
	progress_step(bar, t.n);
	progress_free(bar);
	bar = NULL;
	if (cli->json) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "model", a.model);
		cJSON_AddNumberToObject(j, "embedded", (double)done);
		cJSON_AddNumberToObject(j, "already", (double)t.skipped);
		cJSON_AddNumberToObject(j, "nothing_to_embed", (double)nothing);
		cJSON_AddNumberToObject(j, "nothing_before", (double)t.missed_before);
		json_print(j);
	} else if (!cli->quiet) {
		printf("model %s: %zu embedded, %zu already had a vector, %zu with %s", a.model,
		       done, t.skipped, nothing, p->nothing_error);
		if (t.missed_before)
			printf(", %zu skipped as %s before (--retry asks again)", t.missed_before,
			       p->nothing_error);
		putchar('\n');
	}
	rc = 0;
out:
	progress_free(bar);
	free(t.ids);
	profile_free(p);
	catalog_close(cat);
	strlist_clear(&a.words);
	return rc;
}

/* ---- import: JSON Lines or a NumPy matrix with hashes beside it ---- */

struct pending {
	int64_t asset;
	float *v;
	uint32_t dim;
};

static int resolve_asset_text(struct catalog *cat, const char *text, int64_t *id)
{
	struct stat st;
	/* A path names the asset whose blob has the same bytes. */
	if (strchr(text, '/') && stat(text, &st) == 0) {
		char hex[STORE_HASH_HEX + 1];
		if (store_hash_file(text, hex) < 0)
			return -1;
		return catalog_asset_resolve(cat, hex, id);
	}
	return catalog_asset_resolve(cat, text, id);
}

static int import_jsonl(struct catalog *cat, const char *path, struct pending **out, size_t *n)
{
	struct strbuf text = STRBUF_INIT;
	if (file_read_all(path, &text) < 0)
		return -1;
	int rc = 0;
	size_t line_no = 0;
	char *save = NULL;
	for (char *line = strtok_r(text.buf ? text.buf : (char[]){0}, "\n", &save); line && rc == 0;
	     line = strtok_r(NULL, "\n", &save)) {
		line_no++;
		if (!*line || *line == '\r')
			continue;
		cJSON *doc = cJSON_Parse(line);
		cJSON *asset = cJSON_GetObjectItemCaseSensitive(doc, "asset");
		cJSON *vec = cJSON_GetObjectItemCaseSensitive(doc, "vector");
		int dim = cJSON_GetArraySize(vec);
		if (!doc || !cJSON_IsString(asset) || !cJSON_IsArray(vec) || dim < 1 ||
		    dim > 65536) {
			rc = error_set(EX_DATAERR,
				       "%s: line %zu: expected {\"asset\": \"...\", \"vector\": "
				       "[numbers]}",
				       path, line_no);
		} else {
			struct pending pd = {0, xmalloc((size_t)dim * sizeof(float)),
					     (uint32_t)dim};
			int i = 0;
			cJSON *e;
			cJSON_ArrayForEach(e, vec)
			{
				if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble)) {
					rc = error_set(
					    EX_DATAERR,
					    "%s: line %zu: element %d is not a finite number", path,
					    line_no, i);
					break;
				}
				pd.v[i++] = (float)e->valuedouble;
			}
			if (rc == 0 && resolve_asset_text(cat, asset->valuestring, &pd.asset) < 0)
				rc = error_prefix("%s: line %zu", path, line_no);
			if (rc == 0) {
				*out = xrealloc(*out, (*n + 1) * sizeof(**out));
				(*out)[(*n)++] = pd;
			} else {
				free(pd.v);
			}
		}
		cJSON_Delete(doc);
	}
	sb_release(&text);
	return rc;
}

/* A NumPy .npy file of little-endian float32 in C order, shape (N, D). */
static int import_npy(struct catalog *cat, const char *path, const char *hashes,
		      struct pending **out, size_t *n)
{
	struct strbuf data = STRBUF_INIT, names = STRBUF_INIT;
	int rc = -1;
	if (!hashes) {
		error_set(EX_USAGE, "%s: a .npy matrix needs --hashes FILE (one asset per row)",
			  path);
		goto out;
	}
	if (file_read_all(path, &data) < 0 || file_read_all(hashes, &names) < 0)
		goto out;
	const unsigned char *b = (const unsigned char *)data.buf;
	if (data.len < 10 || memcmp(b, "\x93NUMPY", 6) != 0) {
		error_set(EX_DATAERR, "%s: not a NumPy .npy file", path);
		goto out;
	}
	size_t header_len = b[6] == 1 ? (size_t)(b[8] | b[9] << 8)
			    : data.len >= 12
				? (size_t)(b[8] | b[9] << 8 | b[10] << 16 | (size_t)b[11] << 24)
				: 0;
	size_t start = b[6] == 1 ? 10 : 12;
	if (!header_len || start + header_len > data.len) {
		error_set(EX_DATAERR, "%s: damaged .npy header", path);
		goto out;
	}
	char *header = xstrndup(data.buf + start, header_len);
	bool f4 = strstr(header, "'descr': '<f4'") != NULL;
	bool fortran = strstr(header, "'fortran_order': True") != NULL;
	const char *shape = strstr(header, "'shape': (");
	long rows = -1, cols = -1;
	if (shape)
		sscanf(shape, "'shape': (%ld, %ld)", &rows, &cols);
	free(header);
	if (!f4 || fortran || rows < 1 || cols < 1 || cols > 65536) {
		error_set(EX_DATAERR,
			  "%s: expected a float32 ('<f4') C-order matrix of shape (N, D)", path);
		goto out;
	}
	size_t need = (size_t)rows * (size_t)cols * sizeof(float);
	if (data.len - start - header_len != need) {
		error_set(EX_DATAERR, "%s: %zu bytes of data for shape (%ld, %ld)", path,
			  data.len - start - header_len, rows, cols);
		goto out;
	}
	const float *m = (const float *)(data.buf + start + header_len);
	char *save = NULL;
	long row = 0;
	for (char *line = strtok_r(names.buf ? names.buf : (char[]){0}, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		size_t len = strlen(line);
		while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
			line[--len] = '\0';
		if (!len)
			continue;
		if (row >= rows) {
			error_set(EX_DATAERR, "%s: more names than the %ld rows of %s", hashes,
				  rows, path);
			goto out;
		}
		struct pending pd = {0, xmalloc((size_t)cols * sizeof(float)), (uint32_t)cols};
		memcpy(pd.v, m + row * cols, (size_t)cols * sizeof(float));
		for (long c = 0; c < cols; c++)
			if (!isfinite(pd.v[c])) {
				free(pd.v);
				error_set(EX_DATAERR,
					  "%s: row %ld, column %ld is not a finite number", path,
					  row, c);
				goto out;
			}
		if (resolve_asset_text(cat, line, &pd.asset) < 0) {
			free(pd.v);
			error_prefix("%s: line %ld", hashes, row + 1);
			goto out;
		}
		*out = xrealloc(*out, (*n + 1) * sizeof(**out));
		(*out)[(*n)++] = pd;
		row++;
	}
	if (row != rows) {
		error_set(EX_DATAERR, "%s names %ld assets for the %ld rows of %s", hashes, row,
			  rows, path);
		goto out;
	}
	rc = 0;
out:
	sb_release(&data);
	sb_release(&names);
	return rc;
}

static int embed_import(struct cli *cli, struct catalog *cat, struct embed_args *a)
{
	if (a->words.n != 2)
		return cli_usage_error(&cmd_embed_entry,
				       "embed import --model NAME FILE.jsonl|FILE.npy");
	const char *path = a->words.items[1];
	size_t len = strlen(path);
	struct pending *rows = NULL;
	size_t n = 0;
	int rc = len > 4 && !strcmp(path + len - 4, ".npy")
		     ? import_npy(cat, path, a->hashes, &rows, &n)
		     : import_jsonl(cat, path, &rows, &n);
	/* Everything is read and checked first; then all of it goes in one
	 * transaction, so a bad row leaves the store as it was. */
	if (rc == 0 && n == 0)
		rc = error_set(EX_DATAERR, "%s: no vectors", path);
	bool begun = rc == 0 && catalog_begin(cat) == 0;
	if (rc == 0 && !begun)
		rc = -1;
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = catalog_embedding_put(cat, rows[i].asset, a->model, rows[i].v, rows[i].dim);
	if (begun && catalog_end(cat, rc == 0) < 0)
		rc = -1;
	for (size_t i = 0; i < n; i++)
		free(rows[i].v);
	free(rows);
	if (rc == 0 && cli->json) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "model", a->model);
		cJSON_AddNumberToObject(j, "imported", (double)n);
		json_print(j);
	} else if (rc == 0 && !cli->quiet) {
		printf("model %s: %zu vector%s imported\n", a->model, n, n == 1 ? "" : "s");
	}
	return rc;
}

const struct cmd_entry cmd_embed_entry = {
    "embed",
    NULL,
    "embed --model NAME [--retry] [QUERY] | embed import --model NAME FILE",
    "Compute embeddings for matching assets, or import vectors computed elsewhere.",
    "  -m, --model NAME        the model (its embedding profile has the same name)\n"
    "  -p, --profile NAME      use this embedding profile instead\n"
    "  --retry                 ask again about assets the model found nothing in\n"
    "  QUERY                   which assets (a tag query; default: all)\n"
    "  import FILE.jsonl       lines of {\"asset\": HASH|ID|PATH, \"vector\": [...]}\n"
    "  import FILE.npy         a float32 (N, D) matrix, with --hashes FILE naming the\n"
    "                          asset of each row, one per line\n",
    cmd_embed,
};

/* ---- nearest ---- */

struct nearest_out {
	cJSON *json;
	struct table *table;
	int64_t skip;
	size_t shown;
	size_t k;
};

static int nearest_row(const struct asset *a, float score, void *ctx)
{
	struct nearest_out *o = ctx;
	if (a->id == o->skip || o->shown >= o->k)
		return 0;
	o->shown++;
	if (score > 1)
		score = 1;
	if (o->json) {
		cJSON *j = json_asset(a);
		cJSON_AddNumberToObject(j, "similarity", score);
		cJSON_AddItemToArray(o->json, j);
		return 0;
	}
	char s[16], id[24], hash[17];
	snprintf(s, sizeof(s), "%.4f", score);
	snprintf(id, sizeof(id), "%lld", (long long)a->id);
	snprintf(hash, sizeof(hash), "%.16s", a->hash);
	char *tags = tags_joined(&a->tags);
	const char *row[] = {s, id, hash, a->character ? a->character : "-", a->role, tags};
	table_add(o->table, row);
	free(tags);
	return 0;
}

static int cmd_nearest(struct cli *cli, int argc, char **argv)
{
	struct embed_args a = {0};
	struct catalog *cat = NULL;
	struct profile *p = NULL;
	float *q = NULL;
	uint32_t dim = 0;
	bool help;
	int rc = -1;
	struct nearest_out out = {0};
	if (parse_embed_args(cli, &cmd_nearest_entry, argc, argv, &a, &help) < 0 || help) {
		rc = help ? 0 : -1;
		goto out;
	}
	if (a.words.n != 1) {
		cli_usage_error(&cmd_nearest_entry, "one image or asset");
		goto out;
	}
	cat = catalog_open(cli->store_dir);
	if (!cat)
		goto out;
	struct model_info m;
	if (catalog_model_get(cat, a.model, &m) < 0)
		goto out;
	struct stat st;
	const char *target = a.words.items[0];
	if (stat(target, &st) == 0) {
		if (!(p = model_profile(cat, &a)) || file_vector(p, target, &q, &dim) < 0 ||
		    vector_normalise(q, dim) < 0)
			goto out;
	} else {
		if (catalog_asset_resolve(cat, target, &out.skip) < 0 ||
		    catalog_embedding_get(cat, out.skip, a.model, &q, &dim) < 0)
			goto out;
	}
	out.k = (size_t)a.k;
	static const char *const headers[] = {"SIMILARITY", "ID",   "HASH",
					      "CHARACTER",  "ROLE", "TAGS"};
	if (cli->json)
		out.json = cJSON_CreateArray();
	else
		out.table = table_new(6, headers);
	rc = catalog_nearest(cat, a.model, q, dim, (size_t)a.k + (out.skip != 0), a.where,
			     nearest_row, &out);
	cli_print_rows(rc, out.json, out.table, out.shown);
out:
	free(q);
	profile_free(p);
	catalog_close(cat);
	strlist_clear(&a.words);
	return rc;
}

const struct cmd_entry cmd_nearest_entry = {
    "nearest",
    NULL,
    "nearest FILE|ASSET --model NAME [-k N] [--where QUERY]",
    "The stored assets most like an image or an asset, by embedding (cosine similarity).",
    "  -m, --model NAME        the model whose vectors to compare\n"
    "  -k N                    how many (default 5)\n"
    "  -w, --where QUERY       only among the assets a tag query selects\n",
    cmd_nearest,
};

/* ---- check and calibrate ---- */

struct refs {
	int64_t *ids;
	float *rows;
	char **slugs;
	size_t n;
	uint32_t dim;
};

static int collect_ref(int64_t id, const char *slug, const float *v, void *ctx)
{
	struct refs *r = ctx;
	r->ids = xrealloc(r->ids, (r->n + 1) * sizeof(*r->ids));
	r->slugs = xrealloc(r->slugs, (r->n + 1) * sizeof(*r->slugs));
	r->rows = xrealloc(r->rows, (r->n + 1) * r->dim * sizeof(float));
	r->ids[r->n] = id;
	r->slugs[r->n] = slug ? xstrdup(slug) : NULL;
	memcpy(r->rows + r->n * r->dim, v, r->dim * sizeof(float));
	r->n++;
	return 0;
}

static void refs_free(struct refs *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->slugs[i]);
	free(r->slugs);
	free(r->ids);
	free(r->rows);
}

/* The pHashes and colour layouts of a character's pictures, for the
 * second opinions. */
struct phashes {
	struct catalog *cat;
	uint64_t *h;
	int64_t *ids;
	float *palettes; /* IMAGE_PALETTE_CELLS * 3 per picture */
	size_t n;
};

static int collect_phash(const struct asset *a, void *ctx)
{
	struct phashes *p = ctx;
	uint64_t h;
	if (catalog_format_is_video(a->format) || !strcmp(a->role, "generated") ||
	    catalog_asset_phash(p->cat, a->id, &h) < 0)
		return 0;
	/* The colours are read from the stored thumbnail: no full decode. */
	float lab[IMAGE_PALETTE_CELLS * 3];
	char *thumb = catalog_thumbnail(p->cat, a->id);
	int got = thumb ? image_palette(thumb, lab) : -1;
	free(thumb);
	if (got < 0)
		return 0;
	p->h = xrealloc(p->h, (p->n + 1) * sizeof(*p->h));
	p->ids = xrealloc(p->ids, (p->n + 1) * sizeof(*p->ids));
	p->palettes = xrealloc(p->palettes, (p->n + 1) * sizeof(lab));
	p->h[p->n] = h;
	memcpy(p->palettes + p->n * IMAGE_PALETTE_CELLS * 3, lab, sizeof(lab));
	p->ids[p->n++] = a->id;
	return 0;
}

static int push_shot(const char *path, bool named, void *ctx)
{
	(void)named;
	strlist_push(ctx, path);
	return 0;
}

static int cmd_check(struct cli *cli, int argc, char **argv)
{
	struct embed_args a = {0};
	struct catalog *cat = NULL;
	struct profile *p = NULL;
	struct refs refs = {0};
	struct phashes ph = {0};
	struct strlist shots = {0};
	char *slug = NULL;
	bool help;
	int rc = -1, drifted = 0;
	cJSON *json = NULL;
	struct table *table = NULL;
	if (parse_embed_args(cli, &cmd_check_entry, argc, argv, &a, &help) < 0 || help) {
		rc = help ? 0 : -1;
		goto out;
	}
	if (!a.character || !a.words.n) {
		cli_usage_error(&cmd_check_entry, "which shots, and --character SLUG");
		goto out;
	}
	/* Shots must be pictures: one named on the command line that is not
	 * is an error; in a directory, other files are skipped. */
	for (size_t i = 0; i < a.words.n; i++) {
		struct strlist found = {0};
		if (files_walk(a.words.items[i], push_shot, &found) < 0) {
			strlist_clear(&found);
			goto out;
		}
		for (size_t k = 0; k < found.n; k++) {
			struct image_info info;
			bool named = strcmp(found.items[k], a.words.items[i]) == 0;
			if (image_probe(found.items[k], &info) < 0) {
				if (named || error_code() != EX_DATAERR) {
					error_prefix("%s", found.items[k]);
					strlist_clear(&found);
					goto out;
				}
				warn("skipped %s: %s", found.items[k], error_message());
				continue;
			}
			strlist_push(&shots, found.items[k]);
		}
		strlist_clear(&found);
	}
	if (!shots.n) {
		error_set(EX_DATAERR, "no pictures to check");
		goto out;
	}
	cat = catalog_open(cli->store_dir);
	if (!cat || !(slug = catalog_character_slug(cat, a.character)))
		goto out;
	struct model_info m;
	if (catalog_model_get(cat, a.model, &m) < 0 || !(p = model_profile(cat, &a)))
		goto out;
	double threshold = a.has_threshold ? a.threshold : m.threshold;
	if (!a.has_threshold && !m.has_threshold) {
		error_set(EX_CONFIG,
			  "model %s has no threshold yet: run 'troupe calibrate --model %s' "
			  "or give --threshold",
			  a.model, a.model);
		goto out;
	}
	refs.dim = m.dimension;
	if (catalog_embeddings(cat, a.model, slug, collect_ref, &refs) < 0)
		goto out;
	if (!refs.n) {
		error_set(EX_DATAERR,
			  "@%s has no references with %s vectors (run 'troupe embed "
			  "--model %s character:%s')",
			  slug, a.model, a.model, slug);
		goto out;
	}
	ph.cat = cat;
	char *q = xasprintf("character:%s", slug);
	struct query_options qo = {SORT_ID, false, 0};
	int qrc = catalog_query(cat, q, &qo, collect_phash, &ph);
	free(q);
	if (qrc < 0)
		goto out;
	static const char *const headers[] = {"VERDICT", "SIMILARITY", "BEST-REF",
					      "PHASH",	 "PALETTE",    "SHOT"};
	if (cli->json)
		json = cJSON_CreateArray();
	else
		table = table_new(6, headers);
	for (size_t s = 0; s < shots.n; s++) {
		const char *shot = shots.items[s];
		float *v = NULL;
		uint32_t dim = 0;
		double best = -2;
		int64_t best_ref = 0;
		const char *verdict;
		char reason[160] = "";
		int shot_rc = file_vector(p, shot, &v, &dim);
		if (shot_rc == 0 && dim != refs.dim) {
			error_set(EX_DATAERR,
				  "%s: a %u-dimensional vector for model %s, which has %u", shot,
				  dim, a.model, refs.dim);
			free(v);
			goto out;
		}
		if (shot_rc < 0 && error_code() != EX_DATAERR)
			goto out;
		if (shot_rc == 0 && vector_normalise(v, dim) == 0) {
			for (size_t r = 0; r < refs.n; r++) {
				double sim = vector_dot(v, refs.rows + r * refs.dim, dim);
				if (sim > best) {
					best = sim;
					best_ref = refs.ids[r];
				}
			}
			if (best > 1)
				best = 1; /* rounding of unit vectors */
			verdict = best >= threshold ? "same" : "drifted";
		} else {
			/* No face (or nothing the model can embed): the character is not
			 * recognisably there. The message without the shot's name: */
			const char *msg = error_message();
			size_t len = strlen(shot);
			if (!strncmp(msg, shot, len) && !strncmp(msg + len, ": ", 2))
				msg += len + 2;
			snprintf(reason, sizeof(reason), "%s", msg);
			verdict = "drifted";
		}
		free(v);
		int pdist = -1;
		int64_t pref = 0;
		uint64_t h;
		error_clear();
		if (ph.n && catalog_file_phash(shot, &h) == 0)
			for (size_t i = 0; i < ph.n; i++) {
				int d = phash_distance(h, ph.h[i]);
				if (pdist < 0 || d < pdist) {
					pdist = d;
					pref = ph.ids[i];
				}
			}
		/* The colour layout: how far the shot's colours are from the
		 * nearest of the character's pictures (mean delta E). */
		double cdist = -1;
		int64_t cref = 0;
		float lab[IMAGE_PALETTE_CELLS * 3];
		if (ph.n && image_palette(shot, lab) == 0)
			for (size_t i = 0; i < ph.n; i++) {
				double d = image_palette_distance(
				    lab, ph.palettes + i * IMAGE_PALETTE_CELLS * 3);
				if (cdist < 0 || d < cdist) {
					cdist = d;
					cref = ph.ids[i];
				}
			}
		error_clear();
		drifted += strcmp(verdict, "same") != 0;
		if (json) {
			cJSON *j = cJSON_CreateObject();
			cJSON_AddStringToObject(j, "shot", shot);
			cJSON_AddStringToObject(j, "character", slug);
			cJSON_AddStringToObject(j, "model", a.model);
			cJSON_AddStringToObject(j, "verdict", verdict);
			cJSON_AddBoolToObject(j, "pass", !strcmp(verdict, "same"));
			if (best > -2) {
				cJSON_AddNumberToObject(j, "similarity", best);
				cJSON_AddNumberToObject(j, "best_reference", (double)best_ref);
			}
			cJSON_AddNumberToObject(j, "threshold", threshold);
			if (pdist >= 0) {
				cJSON_AddNumberToObject(j, "phash_distance", pdist);
				cJSON_AddNumberToObject(j, "phash_reference", (double)pref);
			}
			if (cdist >= 0) {
				cJSON_AddNumberToObject(j, "palette_distance",
							round(cdist * 100) / 100);
				cJSON_AddNumberToObject(j, "palette_reference", (double)cref);
			}
			if (*reason)
				cJSON_AddStringToObject(j, "reason", reason);
			cJSON_AddItemToArray(json, j);
		} else {
			char sim[24] = "-", bref[24] = "-", pd[24] = "-", cd[24] = "-";
			if (cdist >= 0)
				snprintf(cd, sizeof(cd), "%.1f", cdist);
			if (best > -2) {
				snprintf(sim, sizeof(sim), "%.4f", best);
				snprintf(bref, sizeof(bref), "#%lld", (long long)best_ref);
			}
			if (pdist >= 0)
				snprintf(pd, sizeof(pd), "%d", pdist);
			char *shot_text =
			    *reason ? xasprintf("%s (%s)", shot, reason) : xstrdup(shot);
			const char *row[] = {verdict, sim, bref, pd, cd, shot_text};
			table_add(table, row);
			free(shot_text);
		}
	}
	if (json)
		json_print(json);
	else
		table_print(table, stdout);
	json = NULL;
	rc = 0;
out:
	cJSON_Delete(json);
	table_free(table);
	refs_free(&refs);
	free(ph.h);
	free(ph.ids);
	free(ph.palettes);
	profile_free(p);
	catalog_close(cat);
	/* Exit 1 says some shot drifted; any other failure keeps its code. */
	if (rc == 0 && drifted) {
		error_set(1, "%d of %zu shot%s drifted from @%s", drifted, shots.n,
			  shots.n == 1 ? "" : "s", slug);
		rc = -1;
	}
	free(slug);
	strlist_clear(&shots);
	strlist_clear(&a.words);
	return rc;
}

const struct cmd_entry cmd_check_entry = {
    "check",
    NULL,
    "check SHOT... --character SLUG [--model NAME] [--threshold T]",
    "Score shots against a character's references; exit 1 if any drifted.",
    "  -c, --character SLUG    the character the shots should show\n"
    "  -m, --model NAME        the embedding model (default face)\n"
    "  -t, --threshold T       cosine similarity needed (default: the calibrated one)\n",
    cmd_check,
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int cmd_calibrate(struct cli *cli, int argc, char **argv)
{
	struct embed_args a = {0};
	struct catalog *cat = NULL;
	struct refs refs = {0};
	bool help;
	int rc = -1;
	double *same = NULL, *diff = NULL;
	size_t ns = 0, nd = 0;
	if (parse_embed_args(cli, &cmd_calibrate_entry, argc, argv, &a, &help) < 0 || help) {
		rc = help ? 0 : -1;
		goto out;
	}
	cat = catalog_open(cli->store_dir);
	struct model_info m;
	if (!cat || catalog_model_get(cat, a.model, &m) < 0)
		goto out;
	refs.dim = m.dimension;
	if (catalog_embeddings(cat, a.model, NULL, collect_ref, &refs) < 0)
		goto out;
	for (size_t i = 0; i < refs.n; i++)
		for (size_t j = i + 1; j < refs.n; j++) {
			if (!refs.slugs[i] || !refs.slugs[j])
				continue;
			double sim = vector_dot(refs.rows + i * refs.dim, refs.rows + j * refs.dim,
						refs.dim);
			if (!strcmp(refs.slugs[i], refs.slugs[j])) {
				same = xrealloc(same, (ns + 1) * sizeof(double));
				same[ns++] = sim;
			} else {
				diff = xrealloc(diff, (nd + 1) * sizeof(double));
				diff[nd++] = sim;
			}
		}
	if (!ns || !nd) {
		error_set(EX_DATAERR,
			  "model %s: calibrating needs at least two characters, one of them "
			  "with two references that have vectors (%zu same-character and "
			  "%zu other-character pairs now)",
			  a.model, ns, nd);
		goto out;
	}
	qsort(same, ns, sizeof(double), cmp_double);
	qsort(diff, nd, sizeof(double), cmp_double);
	/* The threshold that best separates the two groups: maximise the mean
	 * of the pass rate of same-character pairs and the fail rate of
	 * other-character pairs, placed halfway between neighbouring values.
	 * Both lists are sorted, so one sweep counts what lies below each
	 * candidate. */
	double best_t = same[0] - 0.01, best_acc = -1;
	size_t is = 0, id = 0;
	for (;;) {
		double t;
		if (is == 0 && id == 0)
			t = (same[0] < diff[0] ? same[0] : diff[0]) - 0.01;
		else {
			double lo = is && (!id || same[is - 1] >= diff[id - 1]) ? same[is - 1]
										: diff[id - 1];
			double hi = is < ns && (id >= nd || same[is] <= diff[id]) ? same[is]
				    : id < nd					  ? diff[id]
										  : lo + 0.02;
			t = (lo + hi) / 2;
		}
		/* pairs below t: is same ones fail, id other ones are rejected */
		double acc = ((double)(ns - is) / ns + (double)id / nd) / 2;
		if (acc > best_acc + 1e-12) {
			best_acc = acc;
			best_t = t;
		}
		if (is == ns && id == nd)
			break;
		if (id == nd || (is < ns && same[is] <= diff[id]))
			is++;
		else
			id++;
	}
	if (best_acc < 0.9)
		warn("model %s separates these characters poorly (balanced accuracy %.0f%%): add "
		     "more "
		     "references, or check them with 'troupe nearest'",
		     a.model, 100 * best_acc);
	if (catalog_model_set_threshold(cat, a.model, best_t) < 0)
		goto out;
	double mean_s = 0, mean_d = 0;
	for (size_t k = 0; k < ns; k++)
		mean_s += same[k] / ns;
	for (size_t k = 0; k < nd; k++)
		mean_d += diff[k] / nd;
	if (cli->json) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "model", a.model);
		cJSON_AddNumberToObject(j, "threshold", best_t);
		cJSON_AddNumberToObject(j, "balanced_accuracy", best_acc);
		cJSON_AddNumberToObject(j, "same_pairs", (double)ns);
		cJSON_AddNumberToObject(j, "other_pairs", (double)nd);
		cJSON_AddNumberToObject(j, "same_mean", mean_s);
		cJSON_AddNumberToObject(j, "same_min", same[0]);
		cJSON_AddNumberToObject(j, "other_mean", mean_d);
		cJSON_AddNumberToObject(j, "other_max", diff[nd - 1]);
		json_print(j);
	} else if (!cli->quiet) {
		printf("model %s: threshold %.4f (balanced accuracy %.1f%%)\n", a.model, best_t,
		       100 * best_acc);
		printf("  same character   %zu pairs, similarity mean %.4f, min %.4f\n", ns, mean_s,
		       same[0]);
		printf("  other characters %zu pairs, similarity mean %.4f, max %.4f\n", nd, mean_d,
		       diff[nd - 1]);
	}
	rc = 0;
out:
	free(same);
	free(diff);
	refs_free(&refs);
	catalog_close(cat);
	strlist_clear(&a.words);
	return rc;
}

const struct cmd_entry cmd_calibrate_entry = {
    "calibrate",
    NULL,
    "calibrate --model NAME",
    "Set a model's check threshold from the store's own references.",
    "  -m, --model NAME        the model to calibrate\n",
    cmd_calibrate,
};
