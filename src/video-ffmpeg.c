/* video-ffmpeg: the video room's FFmpeg half, built as troupe-video.so.
 * Every file is hostile until proven otherwise: it is opened through the
 * file protocol only, its container structure is checked against its
 * size before FFmpeg reads it, only the demuxers and decoders listed here
 * run, its header is held to the limits in video.h before a frame is
 * decoded, and a deadline interrupts any call that takes too long.
 * FFmpeg's own log goes nowhere: errors reach the user as troupe's. It
 * is over 800 lines because it is the module's whole table (probe, the
 * container checks, frames at times, at a rate, first, last, poster),
 * and the checks must sit beside the decoding they guard. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

#include "video.h"

#include "module-ext.h"

/* The demuxers that may read a file, by FFmpeg's names for them. */
static const char demuxer_whitelist[] = "mov,matroska";
static const char *const demuxer_names[] = {"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"};

/* The decoders that may run, by codec; FFmpeg 5.1's own AV1 decoder
 * needs a hardware accelerator, so AV1 goes to libdav1d. */
static const struct {
	enum AVCodecID id;
	const char *name;    /* what troupe records */
	const char *decoder; /* the FFmpeg decoder */
} decoders[] = {
    {AV_CODEC_ID_H264, "h264", "h264"},	  {AV_CODEC_ID_HEVC, "hevc", "hevc"},
    {AV_CODEC_ID_VP8, "vp8", "vp8"},	  {AV_CODEC_ID_VP9, "vp9", "vp9"},
    {AV_CODEC_ID_AV1, "av1", "libdav1d"},
};

/* Packets read beyond the header to learn a frame rate the container
 * does not state (no decoding). */
enum { RATE_PACKETS = 48 };
/* A later time asked for this much ahead of the decoder's position is
 * reached by a seek instead of decoding every frame up to it. */
#define SEEK_AHEAD 4.0
/* A frame whose luma standard deviation is under this is flat (black,
 * a fade, a title card) and no poster. */
#define FLAT_STDDEV 12.0
/* Bytes past a scaled frame that sws_scale may write (see deliver). */
#define SCALED_PADDING 64

struct source {
	const char *path;
	AVFormatContext *fmt;
	AVCodecContext *dec;
	AVStream *st;
	AVPacket *pkt;
	AVFrame *frame;
	struct SwsContext *sws;
	uint8_t *scaled, *upright;
	size_t scaled_size;
	struct video_info info;
	int rotation;	/* degrees clockwise that make a frame upright */
	AVRational sar; /* the pixels' aspect */
	double start;	/* the stream's first presentation time */
	struct timespec deadline;
	int64_t decoded;
	bool flushing;
	bool seeked; /* frame numbers come from times after a seek */
};

static void quiet_log(void *avcl, int level, const char *fmt, va_list vl)
{
	(void)avcl;
	(void)level;
	(void)fmt;
	(void)vl;
}

static bool past_deadline(const struct source *s)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > s->deadline.tv_sec ||
	       (now.tv_sec == s->deadline.tv_sec && now.tv_nsec > s->deadline.tv_nsec);
}

/* FFmpeg's interrupt callback: a non-zero return aborts the blocking
 * read or open in progress. */
static int interrupt_cb(void *opaque)
{
	return past_deadline(opaque);
}

static int av_failure(int err, const char *what)
{
	if (err == AVERROR_EXIT)
		return error_set(EX_DATAERR, "%s: gave up after %d seconds", what,
				 VIDEO_DEADLINE_SECONDS);
	char why[AV_ERROR_MAX_STRING_SIZE];
	av_strerror(err, why, sizeof(why));
	return error_set(EX_DATAERR, "%s (%s)", what, why);
}

static uint64_t be(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* The top-level boxes of an MP4 or QuickTime file must tile it exactly
 * and include a moov box: a truncated file, one whose box sizes lie and
 * an unfinished recording (no moov) are refused before FFmpeg sees them. */
static int check_mp4_boxes(FILE *f, uint64_t size)
{
	uint64_t off = 0;
	bool moov = false;
	for (int boxes = 0; off < size; boxes++) {
		unsigned char h[16];
		if (boxes > 100000)
			return error_set(EX_DATAERR, "not a video: too many top-level boxes");
		if (size - off < 8 || fseeko(f, (off_t)off, SEEK_SET) != 0 ||
		    fread(h, 1, 8, f) != 8)
			return error_set(EX_DATAERR, "truncated: %llu bytes after the last box",
					 (unsigned long long)(size - off));
		uint64_t len = be(h, 4), header = 8;
		char type[5] = {0};
		for (int i = 0; i < 4; i++)
			type[i] = h[4 + i] >= 0x20 && h[4 + i] < 0x7f ? (char)h[4 + i] : '?';
		if (len == 1) {
			if (size - off < 16 || fread(h + 8, 1, 8, f) != 8)
				return error_set(EX_DATAERR, "truncated in the %s box's header",
						 type);
			len = be(h + 8, 8);
			header = 16;
		} else if (len == 0) {
			len = size - off; /* "to the end of the file" */
		}
		if (len < header)
			return error_set(EX_DATAERR, "the %s box says it is %llu bytes long", type,
					 (unsigned long long)len);
		if (len > size - off)
			return error_set(EX_DATAERR,
					 "truncated: the %s box runs %llu bytes past the end of "
					 "the file",
					 type, (unsigned long long)(len - (size - off)));
		if (!memcmp(h + 4, "moov", 4))
			moov = true;
		off += len;
	}
	if (!moov)
		return error_set(EX_DATAERR, "no moov box (an unfinished or damaged MP4)");
	return 0;
}

/* An EBML variable-length number at p (at most end): its length in
 * bytes, or 0 when it is not one; *unknown when every value bit is set. */
static int ebml_vint(const unsigned char *p, const unsigned char *end, bool keep_marker,
		     uint64_t *v, bool *unknown)
{
	if (p >= end || !*p)
		return 0;
	int len = 1;
	while (!(*p & (0x80 >> (len - 1))))
		len++;
	if (end - p < len)
		return 0;
	uint64_t value = keep_marker ? *p : *p & (0xFFu >> len);
	bool ones = (*p & (0xFFu >> len)) == (0xFFu >> len);
	for (int i = 1; i < len; i++) {
		value = value << 8 | p[i];
		ones = ones && p[i] == 0xFF;
	}
	*v = value;
	if (unknown)
		*unknown = ones;
	return len;
}

/* A Matroska or WebM file: its EBML header names the document type, and
 * a Segment of known size must fit in the file. */
static int check_matroska(FILE *f, uint64_t size, char container[16])
{
	unsigned char buf[256];
	size_t got = fread(buf, 1, sizeof(buf), f);
	const unsigned char *p = buf, *end = buf + got;
	uint64_t id, len;
	bool unknown;
	int n = ebml_vint(p, end, true, &id, NULL);
	int m = n ? ebml_vint(p + n, end, false, &len, &unknown) : 0;
	if (!m || id != 0x1A45DFA3 || unknown || len > (uint64_t)(end - p - n - m))
		return error_set(EX_DATAERR, "not a video: a damaged EBML header");
	const unsigned char *h = p + n + m, *hend = h + len;
	snprintf(container, 16, "mkv");
	while (h < hend) {
		uint64_t eid, elen;
		int a = ebml_vint(h, hend, true, &eid, NULL);
		int b = a ? ebml_vint(h + a, hend, false, &elen, NULL) : 0;
		if (!b || elen > (uint64_t)(hend - h - a - b))
			return error_set(EX_DATAERR, "not a video: a damaged EBML header");
		if (eid == 0x4282 && elen == 4 && !memcmp(h + a + b, "webm", 4))
			snprintf(container, 16, "webm");
		h += a + b + elen;
	}
	int c = ebml_vint(hend, end, true, &id, NULL);
	int d = c ? ebml_vint(hend + c, end, false, &len, &unknown) : 0;
	if (!d || id != 0x18538067)
		return error_set(EX_DATAERR, "not a video: no Matroska segment");
	uint64_t start = (uint64_t)(hend - buf) + (uint64_t)(c + d);
	if (!unknown && (start > size || len > size - start))
		return error_set(EX_DATAERR,
				 "truncated: the segment runs %llu bytes past the end of the file",
				 (unsigned long long)(len - (size - start)));
	return 0;
}

/* The container's structure against the file's size, before FFmpeg. */
static int check_structure(const char *path, char container[16])
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return error_set(errno == ENOENT ? EX_NOINPUT : EX_IOERR, "%s", strerror(errno));
	struct stat st;
	unsigned char head[12];
	int rc = -1;
	if (fstat(fileno(f), &st) < 0) {
		rc = error_set(EX_IOERR, "%s", strerror(errno));
		goto out;
	}
	if (st.st_size == 0) {
		rc = error_set(EX_DATAERR, "an empty file, not a video");
		goto out;
	}
	size_t got = fread(head, 1, sizeof(head), f);
	const char *format;
	if (!video_sniff(head, got, &format)) {
		rc = error_set(EX_DATAERR, "not a video (MP4, QuickTime or WebM)");
		goto out;
	}
	rewind(f);
	if (!strcmp(format, "webm")) {
		rc = check_matroska(f, (uint64_t)st.st_size, container);
	} else {
		snprintf(container, 16, "mp4");
		rc = check_mp4_boxes(f, (uint64_t)st.st_size);
	}
out:
	fclose(f);
	return rc;
}

static void source_close(struct source *s)
{
	avcodec_free_context(&s->dec);
	avformat_close_input(&s->fmt);
	av_packet_free(&s->pkt);
	av_frame_free(&s->frame);
	sws_freeContext(s->sws);
	av_free(s->scaled);
	av_free(s->upright);
	memset(s, 0, sizeof(*s));
}

static const char *codec_name(enum AVCodecID id, const char **decoder)
{
	for (size_t i = 0; i < sizeof(decoders) / sizeof(*decoders); i++)
		if (decoders[i].id == id) {
			*decoder = decoders[i].decoder;
			return decoders[i].name;
		}
	return NULL;
}

/* The rotation a display matrix asks for, as degrees clockwise: 0, 90,
 * 180 or 270 (a matrix of any other angle is taken to the nearest). */
static int stream_rotation(const AVStream *st)
{
	size_t size = 0;
	const uint8_t *m = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &size);
	if (!m || size < 9 * sizeof(int32_t))
		return 0;
	double ccw = av_display_rotation_get((const int32_t *)m);
	if (isnan(ccw))
		return 0;
	long cw = lround(-ccw / 90.0) * 90 % 360;
	return (int)(cw < 0 ? cw + 360 : cw);
}

/* A frame rate from the timestamps of the first packets, for a container
 * that does not state one; the reading position is rewound after. */
static double rate_from_packets(struct source *s)
{
	int64_t first = AV_NOPTS_VALUE, last = AV_NOPTS_VALUE;
	int seen = 0;
	while (seen < RATE_PACKETS && av_read_frame(s->fmt, s->pkt) >= 0) {
		if (s->pkt->stream_index == s->st->index && s->pkt->pts != AV_NOPTS_VALUE) {
			if (first == AV_NOPTS_VALUE || s->pkt->pts < first)
				first = s->pkt->pts;
			if (last == AV_NOPTS_VALUE || s->pkt->pts > last)
				last = s->pkt->pts;
			seen++;
		}
		av_packet_unref(s->pkt);
	}
	av_seek_frame(s->fmt, s->st->index,
		      s->st->start_time != AV_NOPTS_VALUE ? s->st->start_time : 0,
		      AVSEEK_FLAG_BACKWARD);
	if (seen < 2 || last <= first)
		return 0;
	return (seen - 1) / ((double)(last - first) * av_q2d(s->st->time_base));
}

static int limits_check(const struct source *s)
{
	const struct video_info *v = &s->info;
	if (v->duration > VIDEO_MAX_SECONDS)
		return error_set(EX_DATAERR, "%.0f seconds long; troupe takes videos of up to %d",
				 v->duration, VIDEO_MAX_SECONDS);
	if (v->width > VIDEO_MAX_SIDE || v->height > VIDEO_MAX_SIDE)
		return error_set(EX_DATAERR, "frames of %d x %d pixels; at most %d a side",
				 v->width, v->height, VIDEO_MAX_SIDE);
	int64_t max = image_max_pixels();
	if (max < 0)
		return -1;
	if ((int64_t)v->width * v->height > max)
		return error_set(EX_DATAERR,
				 "frames of %d x %d pixels, over the limit of %.1f megapixels "
				 "(TROUPE_MAX_MEGAPIXELS)",
				 v->width, v->height, (double)max / 1e6);
	return 0;
}

/* Opens path, checks it and fills s->info; with decode, opens the
 * decoder too. One cleanup path: source_close() on any failure. */
static int source_open(struct source *s, const char *path, bool decode)
{
	memset(s, 0, sizeof(*s));
	s->path = path;
	clock_gettime(CLOCK_MONOTONIC, &s->deadline);
	s->deadline.tv_sec += VIDEO_DEADLINE_SECONDS;
	AVDictionary *opts = NULL;
	char *url = NULL;
	int rc = -1, err;
	if (check_structure(path, s->info.container) < 0)
		goto out;
	s->fmt = avformat_alloc_context();
	s->pkt = av_packet_alloc();
	s->frame = av_frame_alloc();
	if (!s->fmt || !s->pkt || !s->frame) {
		error_set(EX_OSERR, "out of memory");
		goto out;
	}
	s->fmt->interrupt_callback.callback = interrupt_cb;
	s->fmt->interrupt_callback.opaque = s;
	/* Nothing but this local file is ever opened: no network, no pipes,
	 * no references to other files (mov's drefs stay off). */
	av_dict_set(&opts, "protocol_whitelist", "file", 0);
	av_dict_set(&opts, "format_whitelist", demuxer_whitelist, 0);
	av_dict_set(&opts, "enable_drefs", "0", 0);
	size_t url_len = strlen(path) + sizeof("file:");
	url = xcalloc(1, url_len);
	snprintf(url, url_len, "file:%s", path);
	err = avformat_open_input(&s->fmt, url, NULL, &opts);
	if (err < 0) {
		s->fmt = NULL; /* freed by the failed open */
		av_failure(err, "not a video troupe can read");
		goto out;
	}
	bool listed = false;
	for (size_t i = 0; i < sizeof(demuxer_names) / sizeof(*demuxer_names); i++)
		listed = listed || !strcmp(s->fmt->iformat->name, demuxer_names[i]);
	if (!listed) {
		error_set(EX_DATAERR, "a %s file, not MP4, QuickTime or WebM",
			  s->fmt->iformat->name);
		goto out;
	}
	int best = av_find_best_stream(s->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	if (best < 0) {
		error_set(EX_DATAERR, "no video stream");
		goto out;
	}
	s->st = s->fmt->streams[best];
	for (unsigned i = 0; i < s->fmt->nb_streams; i++) {
		if (s->fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO)
			s->info.has_audio = true;
		if ((int)i != best)
			s->fmt->streams[i]->discard = AVDISCARD_ALL;
	}
	const AVCodecParameters *par = s->st->codecpar;
	const char *decoder_name = NULL;
	const char *codec = codec_name(par->codec_id, &decoder_name);
	if (!codec) {
		error_set(EX_DATAERR,
			  "the codec %s is not one troupe decodes (h264, hevc, vp8, "
			  "vp9, av1)",
			  avcodec_get_name(par->codec_id));
		goto out;
	}
	snprintf(s->info.codec, sizeof(s->info.codec), "%s", codec);
	if (par->width <= 0 || par->height <= 0) {
		error_set(EX_DATAERR, "no frame size in the header");
		goto out;
	}
	int shown_width = par->width;
	s->sar = par->sample_aspect_ratio;
	if (s->sar.num > 0 && s->sar.den > 0 && s->sar.num != s->sar.den) {
		double wide = (double)par->width * s->sar.num / s->sar.den;
		if (wide >= 1 && wide <= VIDEO_MAX_SIDE)
			shown_width = (int)lround(wide);
	}
	s->rotation = stream_rotation(s->st);
	bool turned = s->rotation == 90 || s->rotation == 270;
	s->info.width = turned ? par->height : shown_width;
	s->info.height = turned ? shown_width : par->height;
	double tb = av_q2d(s->st->time_base);
	s->start = s->st->start_time != AV_NOPTS_VALUE ? s->st->start_time * tb : 0;
	if (s->fmt->duration != AV_NOPTS_VALUE && s->fmt->duration > 0)
		s->info.duration = s->fmt->duration / (double)AV_TIME_BASE;
	else if (s->st->duration != AV_NOPTS_VALUE && s->st->duration > 0)
		s->info.duration = s->st->duration * tb;
	if (!(s->info.duration > 0)) {
		error_set(EX_DATAERR, "no duration in the header");
		goto out;
	}
	if (limits_check(s) < 0)
		goto out;
	AVRational rate = s->st->avg_frame_rate;
	if (rate.num <= 0 || rate.den <= 0)
		rate = s->st->r_frame_rate;
	s->info.fps = rate.num > 0 && rate.den > 0 ? av_q2d(rate) : rate_from_packets(s);
	if (!(s->info.fps > 0) || s->info.fps > 1000) {
		error_set(EX_DATAERR, "no frame rate troupe can tell");
		goto out;
	}
	s->info.frames =
	    s->st->nb_frames > 0 ? s->st->nb_frames : llround(s->info.duration * s->info.fps);
	if (s->info.frames > VIDEO_MAX_DECODED) {
		error_set(EX_DATAERR, "%lld frames; troupe takes videos of up to %d",
			  (long long)s->info.frames, VIDEO_MAX_DECODED);
		goto out;
	}
	/* Every sample the index names must lie inside the file. */
	int64_t size = avio_size(s->fmt->pb);
	int entries = avformat_index_get_entries_count(s->st);
	for (int i = 0; size > 0 && i < entries; i++) {
		const AVIndexEntry *e = avformat_index_get_entry(s->st, i);
		if (e && (e->pos < 0 || e->pos > size || e->size > size - e->pos)) {
			error_set(EX_DATAERR, "truncated: frame %d lies past the end of the file",
				  i);
			goto out;
		}
	}
	if (decode) {
		const AVCodec *c = avcodec_find_decoder_by_name(decoder_name);
		if (!c) {
			error_set(EX_DATAERR, "this FFmpeg has no %s decoder", decoder_name);
			goto out;
		}
		s->dec = avcodec_alloc_context3(c);
		if (!s->dec || avcodec_parameters_to_context(s->dec, par) < 0) {
			error_set(EX_OSERR, "out of memory");
			goto out;
		}
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		s->dec->thread_count = cpus > 1 ? (int)(cpus < 8 ? cpus : 8) : 1;
		s->dec->pkt_timebase = s->st->time_base;
		err = avcodec_open2(s->dec, c, NULL);
		if (err < 0) {
			av_failure(err, "cannot start the decoder");
			goto out;
		}
	}
	rc = 0;
out:
	av_dict_free(&opts);
	free(url);
	if (rc < 0)
		source_close(s);
	return rc;
}

/* The next decoded frame into s->frame: 1, 0 at the end, -1 on error. */
static int next_frame(struct source *s)
{
	for (;;) {
		int err = avcodec_receive_frame(s->dec, s->frame);
		if (err == 0) {
			if (++s->decoded > VIDEO_MAX_DECODED)
				return error_set(EX_DATAERR, "more than %d frames decoded",
						 VIDEO_MAX_DECODED);
			if (past_deadline(s))
				return av_failure(AVERROR_EXIT, "decoding");
			if (s->frame->width <= 0 || s->frame->height <= 0 ||
			    s->frame->width > VIDEO_MAX_SIDE || s->frame->height > VIDEO_MAX_SIDE)
				return error_set(
				    EX_DATAERR, "a frame of %d x %d pixels, not as the header said",
				    s->frame->width, s->frame->height);
			return 1;
		}
		if (err == AVERROR_EOF)
			return 0;
		if (err != AVERROR(EAGAIN))
			return av_failure(err, "corrupt video data");
		if (s->flushing)
			return 0;
		err = av_read_frame(s->fmt, s->pkt);
		if (err == AVERROR_EOF) {
			s->flushing = true;
			avcodec_send_packet(s->dec, NULL);
			continue;
		}
		if (err < 0)
			return av_failure(err, "cannot read the video");
		if (s->pkt->stream_index == s->st->index)
			err = avcodec_send_packet(s->dec, s->pkt);
		av_packet_unref(s->pkt);
		if (err < 0 && err != AVERROR(EAGAIN))
			return av_failure(err, "corrupt video data");
	}
}

static double frame_time(const struct source *s, const AVFrame *f)
{
	int64_t ts = f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : f->pts;
	if (ts == AV_NOPTS_VALUE)
		return 0;
	double t = ts * av_q2d(s->st->time_base) - s->start;
	return t > 0 ? t : 0;
}

/* Seeks to the keyframe at or before t, ready to decode from it. */
static int seek_to(struct source *s, double t)
{
	int64_t ts = (int64_t)((t + s->start) / av_q2d(s->st->time_base));
	int err = av_seek_frame(s->fmt, s->st->index, ts, AVSEEK_FLAG_BACKWARD);
	if (err < 0)
		return av_failure(err, "cannot seek in the video");
	avcodec_flush_buffers(s->dec);
	s->flushing = false;
	s->seeked = true;
	return 0;
}

static void turn(const uint8_t *in, int w, int h, int degrees, uint8_t *out)
{
	/* out is h x w for 90 and 270, w x h for 180. */
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			const uint8_t *p = in + ((size_t)y * w + x) * 3;
			size_t at;
			if (degrees == 90)
				at = (size_t)x * h + (h - 1 - y);
			else if (degrees == 180)
				at = (size_t)(h - 1 - y) * w + (w - 1 - x);
			else
				at = (size_t)(w - 1 - x) * h + y;
			memcpy(out + at * 3, p, 3);
		}
}

/* Converts f to upright RGB24 no larger than max_side and hands it on. */
static int deliver(struct source *s, const AVFrame *f, int max_side, video_frame_fn *each,
		   void *ctx, int *stop)
{
	/* The picture as displayed: non-square pixels widened or narrowed. */
	int w = f->width, h = f->height;
	if (s->sar.num > 0 && s->sar.den > 0 && s->sar.num != s->sar.den) {
		double wide = (double)w * s->sar.num / s->sar.den;
		if (wide >= 1 && wide <= VIDEO_MAX_SIDE)
			w = (int)lround(wide);
	}
	int longest = w > h ? w : h;
	if (max_side > 0 && longest > max_side) {
		w = (int)lround((double)w * max_side / longest);
		h = (int)lround((double)h * max_side / longest);
		w = w < 1 ? 1 : w;
		h = h < 1 ? 1 : h;
	}
	s->sws = sws_getCachedContext(s->sws, f->width, f->height, (enum AVPixelFormat)f->format, w,
				      h, AV_PIX_FMT_RGB24, SWS_BILINEAR, NULL, NULL, NULL);
	if (!s->sws)
		return error_set(EX_DATAERR, "cannot convert frames of pixel format %s",
				 av_get_pix_fmt_name((enum AVPixelFormat)f->format)
				     ? av_get_pix_fmt_name((enum AVPixelFormat)f->format)
				     : "unknown");
	size_t need = (size_t)w * h * 3;
	if (need > s->scaled_size) {
		av_free(s->scaled);
		av_free(s->upright);
		/* swscale's packed-RGB writers store whole groups of pixels,
		 * past the end of the last row when the width is not a
		 * multiple of the group (a 360-wide frame overran by 16 bytes):
		 * the padding is theirs to spill into. */
		s->scaled = av_malloc(need + SCALED_PADDING);
		s->upright = av_malloc(need);
		s->scaled_size = s->scaled && s->upright ? need : 0;
		if (!s->scaled_size)
			return error_set(EX_OSERR, "out of memory");
	}
	uint8_t *dst[4] = {s->scaled, NULL, NULL, NULL};
	int stride[4] = {w * 3, 0, 0, 0};
	if (sws_scale(s->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst,
		      stride) != h)
		return error_set(EX_DATAERR, "cannot convert a frame to RGB");
	struct video_frame out = {s->scaled, w, h, frame_time(s, f), 0};
	if (s->rotation) {
		turn(s->scaled, w, h, s->rotation, s->upright);
		out.rgb = s->upright;
		if (s->rotation != 180) {
			out.width = h;
			out.height = w;
		}
	}
	out.index = s->seeked ? llround(out.t * s->info.fps) : s->decoded - 1;
	*stop = each(&out, ctx);
	return 0;
}

static int ff_probe(const char *path, struct video_info *out)
{
	struct source s;
	if (source_open(&s, path, false) < 0)
		return -1;
	*out = s.info;
	source_close(&s);
	return 0;
}

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* frames_at on an open source: the frame nearest each sorted time. */
static int nearest_frames(struct source *s, const double *sorted, size_t n, int max_side,
			  video_frame_fn *each, void *ctx)
{
	AVFrame *prev = av_frame_alloc();
	if (!prev)
		return error_set(EX_OSERR, "out of memory");
	bool have_prev = false, sought = false;
	double pos = -1, prev_t = 0;
	int rc = -1, stop = 0;
	size_t i = 0;
	while (i < n && !stop) {
		if (!sought && sorted[i] - pos > SEEK_AHEAD) {
			if (seek_to(s, sorted[i]) < 0)
				goto out;
			have_prev = false;
			sought = true;
		}
		int got = next_frame(s);
		if (got < 0)
			goto out;
		if (got == 0) {
			if (!have_prev) {
				error_set(EX_DATAERR, "no frame decoded");
				goto out;
			}
			for (; i < n && !stop; i++)
				if (deliver(s, prev, max_side, each, ctx, &stop) < 0)
					goto out;
			break;
		}
		double t = frame_time(s, s->frame);
		pos = t;
		for (; i < n && !stop && sorted[i] <= t; i++) {
			bool earlier = have_prev && sorted[i] - prev_t < t - sorted[i];
			if (deliver(s, earlier ? prev : s->frame, max_side, each, ctx, &stop) < 0)
				goto out;
			sought = false;
		}
		av_frame_unref(prev);
		av_frame_move_ref(prev, s->frame);
		prev_t = t;
		have_prev = true;
	}
	rc = 0;
out:
	av_frame_free(&prev);
	return rc;
}

static int ff_frames_at(const char *path, const double *times, size_t n, int max_side,
			video_frame_fn *each, void *ctx)
{
	for (size_t i = 0; i < n; i++)
		if (!isfinite(times[i]) || times[i] < 0)
			return error_set(EX_USAGE, "%g: not a time in the video", times[i]);
	struct source s;
	if (source_open(&s, path, true) < 0)
		return -1;
	double *sorted = xcalloc(n ? n : 1, sizeof(*sorted));
	memcpy(sorted, times, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), compare_double);
	int rc = nearest_frames(&s, sorted, n, max_side, each, ctx);
	free(sorted);
	source_close(&s);
	return rc;
}

static int ff_frames_every(const char *path, double interval, int max_side, video_frame_fn *each,
			   void *ctx)
{
	struct source s;
	if (source_open(&s, path, true) < 0)
		return -1;
	/* Sample k is the first frame within half a frame of k * interval. */
	double slack = 0.5 / s.info.fps, next = 0;
	int rc = -1, stop = 0, got;
	bool any = false;
	while (!stop && (got = next_frame(&s)) > 0) {
		double t = frame_time(&s, s.frame);
		if (interval > 0 && t + slack < next)
			continue;
		if (deliver(&s, s.frame, max_side, each, ctx, &stop) < 0)
			goto out;
		any = true;
		if (interval > 0)
			next = (floor((t + slack) / interval) + 1) * interval;
	}
	if (!stop && got < 0)
		goto out;
	if (!any && !stop) {
		error_set(EX_DATAERR, "no frame decoded");
		goto out;
	}
	rc = 0;
out:
	source_close(&s);
	return rc;
}

static int ff_frame_first(const char *path, int max_side, video_frame_fn *each, void *ctx)
{
	struct source s;
	if (source_open(&s, path, true) < 0)
		return -1;
	int stop = 0, rc = next_frame(&s);
	if (rc == 0)
		rc = error_set(EX_DATAERR, "no frame decoded");
	if (rc > 0)
		rc = deliver(&s, s.frame, max_side, each, ctx, &stop);
	source_close(&s);
	return rc;
}

/* Decodes from the current position to the end; the last frame is left
 * in last. 1 when a frame was decoded, 0 when none, -1 on error. */
static int decode_to_end(struct source *s, AVFrame *last)
{
	int got, any = 0;
	while ((got = next_frame(s)) > 0) {
		av_frame_unref(last);
		av_frame_move_ref(last, s->frame);
		any = 1;
	}
	return got < 0 ? -1 : any;
}

static int ff_frame_last(const char *path, int max_side, video_frame_fn *each, void *ctx)
{
	struct source s;
	if (source_open(&s, path, true) < 0)
		return -1;
	AVFrame *last = av_frame_alloc();
	int rc = -1, stop = 0, got = 0;
	if (!last) {
		error_set(EX_OSERR, "out of memory");
		goto out;
	}
	/* From the keyframe before the last second, to the end; a container
	 * that cannot seek there is decoded whole. */
	if (s.info.duration > 1 && seek_to(&s, s.info.duration - 1) == 0)
		got = decode_to_end(&s, last);
	if (got <= 0) {
		if (seek_to(&s, 0) < 0)
			goto out;
		s.seeked = false;
		s.decoded = 0;
		got = decode_to_end(&s, last);
	}
	if (got < 0)
		goto out;
	if (!got) {
		error_set(EX_DATAERR, "no frame decoded");
		goto out;
	}
	rc = deliver(&s, last, max_side, each, ctx, &stop);
out:
	av_frame_free(&last);
	source_close(&s);
	return rc;
}

/* The poster's candidates: their luma spread, and a copy of the best. */
struct poster_pick {
	double best_spread;
	uint8_t *rgb;
	struct video_frame frame;
};

static double luma_stddev(const struct video_frame *f)
{
	double sum = 0, sq = 0;
	size_t n = (size_t)f->width * f->height, step = n > 65536 ? n / 65536 : 1, count = 0;
	for (size_t i = 0; i < n; i += step) {
		const uint8_t *p = f->rgb + i * 3;
		double y = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
		sum += y;
		sq += y * y;
		count++;
	}
	double mean = sum / (double)count, var = sq / (double)count - mean * mean;
	return var > 0 ? sqrt(var) : 0;
}

static int poster_keep(const struct video_frame *f, void *ctx)
{
	struct poster_pick *p = ctx;
	double spread = luma_stddev(f);
	if (p->rgb && spread <= p->best_spread)
		return 0;
	size_t len = (size_t)f->width * f->height * 3;
	uint8_t *copy = realloc(p->rgb, len);
	if (!copy)
		return 0;
	memcpy(copy, f->rgb, len);
	p->rgb = copy;
	p->best_spread = spread;
	p->frame = *f;
	p->frame.rgb = copy;
	return 0;
}

enum { POSTER_CANDIDATES = 5 };

static int ff_poster(const char *path, int max_side, video_frame_fn *each, void *ctx)
{
	struct source s;
	if (source_open(&s, path, true) < 0)
		return -1;
	struct poster_pick pick = {0};
	double times[POSTER_CANDIDATES], last_t = -1;
	for (int i = 0; i < POSTER_CANDIDATES; i++)
		times[i] = s.info.duration * (0.1 + 0.8 * i / (POSTER_CANDIDATES - 1));
	int rc = -1, stop = 0;
	/* Keyframes first: one decode each, and sharp. A clip whose
	 * keyframes are all flat (a fade in) is searched frame by frame. */
	for (int i = 0; i < POSTER_CANDIDATES; i++) {
		if (seek_to(&s, times[i]) < 0)
			break;
		int got = next_frame(&s);
		if (got < 0)
			goto out;
		if (got == 0)
			continue;
		double t = frame_time(&s, s.frame);
		if (t == last_t)
			continue;
		last_t = t;
		if (deliver(&s, s.frame, max_side, poster_keep, &pick, &stop) < 0)
			goto out;
	}
	if (!pick.rgb || pick.best_spread < FLAT_STDDEV) {
		if (seek_to(&s, 0) < 0)
			goto out;
		if (nearest_frames(&s, times, POSTER_CANDIDATES, max_side, poster_keep, &pick) < 0)
			goto out;
	}
	if (!pick.rgb) {
		error_set(EX_DATAERR, "no frame decoded");
		goto out;
	}
	each(&pick.frame, ctx);
	rc = 0;
out:
	free(pick.rgb);
	source_close(&s);
	return rc;
}

/* FFmpeg keeps no state between calls that needs stopping. */
static void ff_shutdown(void)
{
}

static const struct video_ops ffmpeg_ops = {
    .version = VIDEO_OPS_VERSION,
    .probe = ff_probe,
    .frames_at = ff_frames_at,
    .frames_every = ff_frames_every,
    .frame_first = ff_frame_first,
    .frame_last = ff_frame_last,
    .poster = ff_poster,
    .shutdown = ff_shutdown,
};

/* The module's one exported symbol (see module.h). */
const void *troupe_module_init(const struct module_host *host)
{
	if (!module_host_accept(host) || !host->image_max_pixels)
		return NULL;
	av_log_set_level(AV_LOG_QUIET);
	av_log_set_callback(quiet_log);
	return &ffmpeg_ops;
}
