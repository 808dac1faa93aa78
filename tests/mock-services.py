#!/usr/bin/env python3
"""Loopback stand-ins for the generation services troupe's profiles talk to.

Each service lives under a path prefix (http://127.0.0.1:PORT/runway/...,
/kling/, /pixverse/, /openai/, /gemini/, /replicate/, /fal/, /luma/,
/minimax/, /comfyui/, /vidu/), so a profile's base_url_env can point at it. Every
request is checked against the shape the service's API reference
documents (method, path, authentication, required fields and their types,
how reference images are encoded); a wrong shape gets a 400 (401 for
authentication) with a JSON error, in the service's own error format,
naming the problem. A right one is answered as the service answers: a task
is created, polling goes through intermediate statuses before the terminal
one, and results are URLs served by this server (real PNG bytes; MP4 bytes
for videos) or base64 in the answer.

Failure modes are chosen by writing JSON to the control file given with
--control (it is read, then removed, at the next request) or by POSTing the
same JSON to /_control:
    {"mode": "500" | "429" | "garbage" | "hang" | "not-image" | "task-fails"
              | "stuck" | "forget", "times": 1, "service": "runway", "seconds": 30}
500, 429 (with Retry-After: 1), garbage (200 with HTML) and hang (sleep
"seconds", default 30, then close the connection unanswered) apply to the next "times" requests
that create a task (or, for a synchronous service, that generate);
not-image to the next outputs served; task-fails and stuck to the next
tasks created ("stuck": never leaves its running status). "service", when
given, limits the mode to that service. forget makes PixVerse drop every
image uploaded so far at its next request, as when the service deletes
them: a later request naming one is refused as PixVerse refuses an
unknown img_id (ErrCode 400017, invalid parameter); upload-no-id makes
the next PixVerse upload answer success without an img_id. {"mode": "ok"}
clears it.

Every request (method, path, headers, body, the status answered) is
appended as a JSON line to the log file, so tests can see what troupe
sent. The expected keys are read from the same environment variables the
profiles name (RUNWAYML_API_SECRET, KLING_ACCESS_KEY, ...); an unset one
means any non-empty key is accepted.

The reference-to-video and multi-reference endpoints (Kling's multi-image
ones, PixVerse Fusion, Veo 3.1, Vidu) are in mock_refs.py, beside this file.

Usage: mock-services.py PORTFILE LOGFILE [--control FILE] [--lifetime S]
Python 3 standard library only.
"""

import argparse
import base64
import binascii
import email.parser
import email.policy
import hashlib
import hmac
import json
import os
import re
import struct
import sys
import threading
import time
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import mock_refs


class Reject(Exception):
    """A request the service would refuse: answered with status and why."""

    def __init__(self, why, status=400):
        super().__init__(why)
        self.why = why
        self.status = status


# ---- media the mock serves ----

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def make_png(seed, width=64, height=48):
    """A real, small RGB PNG whose pixels (and so bytes) depend on seed."""

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    rows = bytearray()
    for y in range(height):
        rows.append(0)
        for x in range(width):
            rows += bytes(((x * 4 + seed * 37) & 255, (y * 5 + seed * 11) & 255,
                           ((x ^ y) * 3 + seed * 101) & 255))
    return (PNG_SIGNATURE +
            chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) +
            chunk(b"tEXt", b"Comment\x00troupe mock output %d" % seed) +
            chunk(b"IDAT", zlib.compress(bytes(rows), 9)) + chunk(b"IEND", b""))


CLIP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "video", "clip.mp4")


def make_mp4(seed):
    """A real one-second H.264 MP4 (tests/data/video/clip.mp4), made
    distinct by a free box naming the seed after its last box."""
    with open(CLIP, "rb") as f:
        clip = f.read()
    note = b"troupe mock video %d" % seed
    return clip + struct.pack(">I", 8 + len(note)) + b"free" + note


NOT_AN_IMAGE = b"<html><body>This is not an image: the CDN says 403.</body></html>\n"


def image_info(data):
    """(format, width, height) of PNG, JPEG or WebP bytes, or None."""
    if data[:8] == PNG_SIGNATURE and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return "png", width, height
    if data[:3] == b"\xff\xd8\xff":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                return None
            marker = data[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            length = struct.unpack(">H", data[i + 2:i + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[i + 5:i + 9])
                return "jpeg", width, height
            i += 2 + length
        return None
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp", None, None
    return None


MIME_OF = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


def strict_base64(text, what):
    if not isinstance(text, str) or not text:
        raise Reject("%s: expected a base64 string" % what)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Reject("%s: not valid base64" % what)


def decode_image_base64(text, what):
    """Raw base64 of an image (no data: prefix); returns (bytes, info)."""
    if isinstance(text, str) and text.startswith("data:"):
        raise Reject("%s: give the Base64 string only, without a data: prefix" % what)
    data = strict_base64(text, what)
    info = image_info(data)
    if not info:
        raise Reject("%s: the base64 does not decode to a JPEG, PNG or WebP image" % what)
    return data, info


DATA_URI = re.compile(r"^data:(image/[a-z+.-]+);base64,(.*)$", re.S)


def decode_data_uri(text, what):
    """A data:image/...;base64,... URI whose type matches its bytes."""
    m = DATA_URI.match(text) if isinstance(text, str) else None
    if not m:
        raise Reject("%s: expected a data:image/...;base64, URI" % what)
    data = strict_base64(m.group(2), what)
    info = image_info(data)
    if not info:
        raise Reject("%s: the data URI does not hold a JPEG, PNG or WebP image" % what)
    if MIME_OF[info[0]] != m.group(1):
        raise Reject("%s: the data URI says %s but holds %s" % (what, m.group(1), info[0]))
    return data, info


def is_https_url(text):
    return isinstance(text, str) and re.match(r"^https://[A-Za-z0-9.-]+(:[0-9]+)?/\S*$", text)


def url_or_data_uri(text, what):
    if is_https_url(text):
        return
    if isinstance(text, str) and text.startswith("data:"):
        decode_data_uri(text, what)
        return
    raise Reject("%s: expected an https URL or a data: URI" % what)


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def want_string(obj, key, what, required=True, max_len=None):
    v = obj.get(key)
    if v is None:
        if required:
            raise Reject("%s: missing" % what)
        return None
    if not isinstance(v, str):
        raise Reject("%s: must be a string" % what)
    if required and not v.strip():
        raise Reject("%s: must not be empty" % what)
    if max_len and len(v) > max_len:
        raise Reject("%s: longer than %d characters" % (what, max_len))
    return v


def want_int(obj, key, what, lo, hi, required=False):
    v = obj.get(key)
    if v is None:
        if required:
            raise Reject("%s: missing" % what)
        return None
    if not is_int(v):
        raise Reject("%s: must be an integer, not %s" % (what, type(v).__name__))
    if not lo <= v <= hi:
        raise Reject("%s: must be from %d to %d" % (what, lo, hi))
    return v


def want_enum(obj, key, what, allowed, required=False):
    v = obj.get(key)
    if v is None:
        if required:
            raise Reject("%s: missing" % what)
        return None
    if v not in allowed:
        raise Reject("%s: %r is not one of %s" % (what, v, ", ".join(map(str, allowed))))
    return v


def parse_multipart(content_type, body):
    """The parts of a multipart/form-data body: name, filename, type, data."""
    if not content_type.startswith("multipart/form-data"):
        raise Reject("expected a multipart/form-data body, got %r" % content_type)
    head = b"Content-Type: " + content_type.encode() + b"\r\nMIME-Version: 1.0\r\n\r\n"
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not msg.is_multipart():
        raise Reject("the multipart body could not be parsed")
    parts = []
    for part in msg.iter_parts():
        parts.append({
            "name": part.get_param("name", header="content-disposition"),
            "filename": part.get_filename(),
            "type": part.get("Content-Type"),
            "data": part.get_payload(decode=True) or b"",
        })
    return parts


def form_text(parts, name):
    for p in parts:
        if p["name"] == name and p["filename"] is None:
            return p["data"].decode("utf-8", "replace")
    return None


# ---- state shared by the handler threads ----


class Task:
    def __init__(self, service, task_id, statuses, fail, stuck, outputs):
        self.service = service
        self.id = task_id
        self.statuses = statuses  # the running statuses, in order
        self.fail = fail
        self.stuck = stuck
        self.outputs = outputs  # URLs, or ComfyUI image objects
        self.polls = 0
        self.extra = {}

    def advance(self):
        """The status this poll reports: each running one, then the end."""
        i = self.polls
        self.polls += 1
        if self.stuck:
            return self.statuses[min(i, len(self.statuses) - 1)], False
        if i < len(self.statuses):
            return self.statuses[i], False
        return None, True


class State:
    def __init__(self, control_file):
        self.lock = threading.Lock()
        self.control_file = control_file
        self.control = {}
        self.tasks = {}
        self.files = {}  # token -> (kind, seed)
        self.comfy_files = {}  # (filename, subfolder, type) -> seed
        self.uploads = {}  # service -> {id: info}
        self.trace_ids = set()
        self.counter = 0

    def next_seed(self):
        with self.lock:
            self.counter += 1
            return self.counter

    def load_control(self):
        if not self.control_file:
            return
        try:
            with open(self.control_file, "rb") as f:
                text = f.read()
            os.unlink(self.control_file)
        except FileNotFoundError:
            return
        self.set_control(json.loads(text or b"{}"))

    def set_control(self, spec):
        with self.lock:
            mode = spec.get("mode", "ok")
            self.control = {} if mode == "ok" else {
                "mode": mode,
                "times": int(spec.get("times", 1)),
                "service": spec.get("service"),
                "seconds": float(spec.get("seconds", 30)),
            }

    def take(self, modes, service):
        """Consumes one use of the control mode if it is one of modes."""
        with self.lock:
            c = self.control
            if not c or c["mode"] not in modes or c["times"] <= 0:
                return None
            if c["service"] and c["service"] != service:
                return None
            c["times"] -= 1
            return dict(c)


# ---- the handler ----

SERVICES = ("runway", "kling", "pixverse", "openai", "gemini", "replicate", "fal", "luma",
            "minimax", "comfyui", "vidu")

ENV_KEYS = {
    "runway": "RUNWAYML_API_SECRET",
    "pixverse": "PIXVERSE_API_KEY",
    "openai": "OPENAI_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "replicate": "REPLICATE_API_TOKEN",
    "fal": "FAL_KEY",
    "luma": "LUMAAI_API_KEY",
    "minimax": "MINIMAX_API_KEY",
    "vidu": "VIDU_API_KEY",
}

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                     r"[0-9a-fA-F]{12}$")


def b64url_decode(text):
    if "=" in text:
        raise Reject("JWT: base64url segments carry no '=' padding", 401)
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise Reject("JWT: a segment is not base64url", 401)


def check_kling_jwt(header):
    """Kling's scheme: Bearer <HS256 JWT>, iss = access key, exp, nbf."""
    if not header or not header.startswith("Bearer "):
        raise Reject("Authorization must be 'Bearer <JWT>'", 401)
    token = header[len("Bearer "):]
    parts = token.split(".")
    if len(parts) != 3:
        raise Reject("JWT: expected three dot-separated segments", 401)
    try:
        head = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
    except ValueError:
        raise Reject("JWT: header or claims are not JSON", 401)
    if head.get("alg") != "HS256":
        raise Reject("JWT: alg must be HS256, not %r" % head.get("alg"), 401)
    if head.get("typ", "JWT") != "JWT":
        raise Reject("JWT: typ must be JWT", 401)
    secret = os.environ.get("KLING_SECRET_KEY")
    signature = b64url_decode(parts[2])
    if secret:
        want = hmac.new(secret.encode(), (parts[0] + "." + parts[1]).encode(),
                        hashlib.sha256).digest()
        if not hmac.compare_digest(want, signature):
            raise Reject("JWT: the HS256 signature does not match the secret key", 401)
    elif len(signature) != 32:
        raise Reject("JWT: not an HS256 signature", 401)
    access = os.environ.get("KLING_ACCESS_KEY")
    if not isinstance(claims.get("iss"), str) or (access and claims["iss"] != access):
        raise Reject("JWT: iss must be the access key", 401)
    now = time.time()
    if not is_int(claims.get("exp")) or claims["exp"] <= now:
        raise Reject("JWT: exp missing or in the past", 401)
    if not is_int(claims.get("nbf")) or claims["nbf"] > now + 1:
        raise Reject("JWT: nbf missing or in the future", 401)


class Handler(mock_refs.RefServices, BaseHTTPRequestHandler):
    server_version = "troupe-mock/1"
    state = None  # set in main
    log_file = None
    log_lock = threading.Lock()

    # -- plumbing --

    def log_message(self, fmt, *args):  # keep stderr quiet
        pass

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = bytearray()
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return bytes(body)
                body += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def base(self):
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    def answer(self, status, body, content_type="application/json", headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.status_sent = status
        # Logged before the answer goes out: once the client has it, it may
        # send the next request, which must come later in the log.
        self.record()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def record(self):
        if getattr(self, "recorded", True):
            return
        self.recorded = True
        body = self.body
        entry = {
            "time": time.time(),
            "method": self.command,
            "path": self.path,
            "service": self.service,
            "headers": {k: ", ".join(self.headers.get_all(k)) for k in self.headers.keys()},
            "body": body.decode("utf-8", "backslashreplace"),
            "status": getattr(self, "status_sent", None),
        }
        with self.log_lock, open(self.log_file, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def json_body(self, body):
        ctype = self.headers.get("Content-Type", "")
        if not ctype.startswith("application/json"):
            raise Reject("Content-Type must be application/json, not %r" % ctype)
        try:
            doc = json.loads(body)
        except ValueError:
            raise Reject("the body is not valid JSON")
        if not isinstance(doc, dict):
            raise Reject("the body must be a JSON object")
        return doc

    def want_key(self, service, header, prefix):
        value = self.headers.get(header)
        expected = os.environ.get(ENV_KEYS[service])
        if not value or not value.startswith(prefix) or not value[len(prefix):]:
            raise Reject("%s header must be '%s<key>'" % (header, prefix), 401)
        if expected and value[len(prefix):] != expected:
            raise Reject("%s: the key is not valid" % header, 401)

    def error_body(self, service, why, status):
        if service == "kling":
            return {"code": 1000 if status == 401 else 1201, "message": why,
                    "request_id": str(uuid.uuid4())}
        if service == "pixverse":
            return {"ErrCode": 10002 if status == 401 else 400017, "ErrMsg": why}
        if service == "openai":
            return {"error": {"message": why, "type": "invalid_request_error",
                              "param": None, "code": None}}
        if service == "gemini":
            return {"error": {"code": status, "message": why,
                              "status": "UNAUTHENTICATED" if status == 401
                              else "INVALID_ARGUMENT"}}
        if service in ("replicate", "fal", "luma"):
            return {"detail": why}
        if service == "minimax":
            return {"base_resp": {"status_code": 1004 if status == 401 else 2013,
                                  "status_msg": why}}
        if service == "vidu":
            return {"err_code": "InvalidParameter" if status != 401 else "Unauthorized",
                    "message": why}
        if service == "comfyui":
            return {"error": {"type": "invalid_prompt", "message": why, "details": why,
                              "extra_info": {}}, "node_errors": {}}
        return {"error": why}

    # -- failure modes --

    def fault_on_create(self):
        """Applies a 500/429/garbage/hang mode to a request that creates."""
        c = self.state.take(("500", "429", "garbage", "hang"), self.service)
        if not c:
            return False
        if c["mode"] == "500":
            self.answer(500, {"error": "internal server error (mock, on purpose)"})
        elif c["mode"] == "429":
            self.answer(429, {"error": "rate limited (mock, on purpose)"},
                        headers={"Retry-After": "1"})
        elif c["mode"] == "garbage":
            self.answer(200, "<html><body><h1>502 Bad Gateway</h1>nginx</body></html>\n",
                        "text/html")
        elif c["mode"] == "hang":
            time.sleep(c["seconds"])
            # Then hang up without an answer (and without a log line, which
            # would land among a later test's requests).
            self.recorded = True
            self.close_connection = True
        return True

    def new_task(self, service, statuses, kind, task_id=None, count=1):
        fail = self.state.take(("task-fails",), service) is not None
        stuck = self.state.take(("stuck",), service) is not None
        outputs = [self.new_output(kind) for _ in range(count)]
        task = Task(service, task_id or str(uuid.uuid4()), statuses, fail, stuck, outputs)
        with self.state.lock:
            self.state.tasks[(service, str(task.id))] = task
        return task

    def new_output(self, kind):
        seed = self.state.next_seed()
        token = "%s-%d" % (uuid.uuid4().hex[:12], seed)
        with self.state.lock:
            self.state.files[token] = (kind, seed, self.service)
        return "%s/files/%s.%s" % (self.base(), token, "mp4" if kind == "video" else "png")

    def output_bytes(self, kind, seed, service):
        if self.state.take(("not-image",), service):
            return NOT_AN_IMAGE, "image/png"  # the header lies, as CDNs do
        if kind == "video":
            return make_mp4(seed), "video/mp4"
        return make_png(seed), "image/png"

    def task(self, service, task_id):
        with self.state.lock:
            t = self.state.tasks.get((service, task_id))
        if not t:
            raise Reject("no such task: %s" % task_id, 404)
        return t

    # -- dispatch --

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    def dispatch(self):
        body = self.body = self.read_body()
        self.recorded = False
        url = urlsplit(self.path)
        segments = url.path.split("/")
        self.service = segments[1] if len(segments) > 1 else ""
        if url.path == "/_control" and self.command == "POST":
            self.recorded = True  # not a service request
            self.state.set_control(json.loads(body or b"{}"))
            self.answer(200, {"ok": True})
            return
        self.state.load_control()
        rest = "/" + "/".join(segments[2:])
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        try:
            names = [k.lower() for k in self.headers.keys()]
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                # Servers join repeated headers with commas ("2024-11-06,
                # 2024-11-06"), which no service accepts.
                raise Reject("header %s sent more than once" % ", ".join(twice))
            if self.service == "files":
                self.serve_file(rest)
            elif self.service in SERVICES:
                getattr(self, "svc_" + self.service)(self.command, rest, query, body)
            else:
                raise Reject("no service at %s" % url.path, 404)
        except Reject as r:
            self.answer(r.status, self.error_body(self.service, r.why, r.status))
        except Exception as e:  # a bug in the mock: say so loudly
            self.answer(599, {"error": "mock failure: %r" % e})
            raise
        finally:
            self.record()

    def route(self, method, rest, table):
        for want_method, pattern, fn in table:
            m = re.fullmatch(pattern, rest)
            if m:
                if method != want_method:
                    raise Reject("%s %s: method not allowed (use %s)" % (method, rest, want_method),
                                 405)
                return fn, m.groups()
        raise Reject("no such endpoint: %s %s" % (method, rest), 404)

    def serve_file(self, rest):
        m = re.fullmatch(r"/([0-9a-f]+-([0-9]+))\.(png|mp4)", rest)
        with self.state.lock:
            entry = self.state.files.get(m.group(1)) if m else None
        if not entry:
            raise Reject("no such file", 404)
        data, ctype = self.output_bytes(*entry)
        self.answer(200, data, ctype)

    # ---- Runway ----

    RUNWAY_RATIOS = {"1920:1080", "1080:1920", "1024:1024", "1360:768", "1080:1080",
                     "1168:880", "1440:1080", "1080:1440", "1808:768", "2112:912",
                     "1280:720", "720:1280", "720:720", "960:720", "720:960", "1680:720"}
    RUNWAY_TAG = re.compile(r"^[A-Za-z][A-Za-z0-9_]{2,15}$")

    def svc_runway(self, method, rest, query, body):
        self.want_key("runway", "Authorization", "Bearer ")
        if self.headers.get("X-Runway-Version") != "2024-11-06":
            raise Reject("X-Runway-Version header must be 2024-11-06 (got %r)"
                         % self.headers.get("X-Runway-Version"))
        fn, args = self.route(method, rest, [
            ("POST", r"/v1/text_to_image", self.runway_create),
            ("GET", r"/v1/tasks/([^/]+)", self.runway_poll),
        ])
        fn(body, *args)

    def runway_create(self, body):
        if self.fault_on_create():
            return
        doc = self.json_body(body)
        want_enum(doc, "model", "model", ("gen4_image", "gen4_image_turbo"), True)
        want_string(doc, "promptText", "promptText", max_len=1000)
        want_enum(doc, "ratio", "ratio", sorted(self.RUNWAY_RATIOS), True)
        want_int(doc, "seed", "seed", 0, 4294967295)
        refs = doc.get("referenceImages", [])
        if not isinstance(refs, list):
            raise Reject("referenceImages: must be an array")
        if len(refs) > 3:
            raise Reject("referenceImages: at most 3 (got %d)" % len(refs))
        if doc["model"] == "gen4_image_turbo" and not refs:
            raise Reject("referenceImages: gen4_image_turbo needs at least one")
        for i, ref in enumerate(refs):
            what = "referenceImages[%d]" % i
            if not isinstance(ref, dict) or set(ref) - {"uri", "tag"}:
                raise Reject("%s: must be an object with uri and tag" % what)
            uri = ref.get("uri")
            if isinstance(uri, str) and uri.startswith("data:") and len(uri) > 5 * 1024 * 1024:
                raise Reject("%s.uri: a data URI may be at most 5 MB" % what)
            url_or_data_uri(uri, what + ".uri")
            tag = ref.get("tag")
            if tag is not None and (not isinstance(tag, str) or not self.RUNWAY_TAG.match(tag)):
                raise Reject("%s.tag: %r must be 3 to 16 letters, digits or _, starting "
                             "with a letter" % (what, tag))
        task = self.new_task("runway", ["PENDING", "RUNNING"], "image")
        self.answer(200, {"id": task.id})

    def runway_poll(self, body, task_id):
        t = self.task("runway", task_id)
        status, ended = t.advance()
        doc = {"id": t.id, "createdAt": "2026-01-01T00:00:00.000Z"}
        if not ended:
            doc["status"] = status
            if status == "RUNNING":
                doc["progress"] = 0.5
        elif t.fail:
            doc.update(status="FAILED", failure="The content was flagged by moderation (mock)",
                       failureCode="SAFETY.INPUT.TEXT")
        else:
            doc.update(status="SUCCEEDED", output=t.outputs)
        self.answer(200, doc)

    # ---- Kling ----

    KLING_IMAGE_MODELS = ("kling-v1", "kling-v1-5", "kling-v2", "kling-v2-new", "kling-v2-1",
                          "kling-v3")
    KLING_VIDEO_MODELS = ("kling-v1", "kling-v1-5", "kling-v1-6", "kling-v2-master",
                          "kling-v2-1", "kling-v2-1-master", "kling-v2-5-turbo", "kling-v2-6",
                          "kling-v3")
    KLING_RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3", "21:9")

    def svc_kling(self, method, rest, query, body):
        check_kling_jwt(self.headers.get("Authorization"))
        fn, args = self.route(method, rest, [
            ("POST", r"/v1/images/generations", self.kling_create_image),
            ("GET", r"/v1/images/generations/([^/]+)", self.kling_poll),
            ("POST", r"/v1/videos/image2video", self.kling_create_video),
            ("GET", r"/v1/videos/image2video/([^/]+)", self.kling_poll),
            ("POST", r"/v1/videos/multi-image2video", self.kling_multi_video),
            ("GET", r"/v1/videos/multi-image2video/([^/]+)", self.kling_poll),
            ("POST", r"/v1/images/multi-image2image", self.kling_multi_image),
            ("GET", r"/v1/images/multi-image2image/([^/]+)", self.kling_poll),
        ])
        fn(body, *args)

    def kling_image(self, value, what):
        if is_https_url(value):
            return
        data, info = decode_image_base64(value, what)
        if len(data) > 10 * 1024 * 1024:
            raise Reject("%s: larger than 10 MB" % what)
        if info[0] not in ("jpeg", "png"):
            raise Reject("%s: must be a JPG or PNG" % what)
        width, height = info[1], info[2]
        if min(width, height) < 300:
            raise Reject("%s: %dx%d is smaller than 300 px" % (what, width, height))
        if not 1 / 2.5 <= width / height <= 2.5:
            raise Reject("%s: aspect ratio %dx%d is outside 1:2.5 to 2.5:1"
                         % (what, width, height))

    def kling_created(self, task):
        now = int(time.time() * 1000)
        self.answer(200, {"code": 0, "message": "SUCCEED", "request_id": str(uuid.uuid4()),
                          "data": {"task_id": task.id, "task_status": "submitted",
                                   "created_at": now, "updated_at": now}})

    def kling_create_image(self, body):
        if self.fault_on_create():
            return
        doc = self.json_body(body)
        model = want_enum(doc, "model_name", "model_name", self.KLING_IMAGE_MODELS) or "kling-v1"
        want_string(doc, "prompt", "prompt", max_len=2500)
        image = doc.get("image")
        if image is not None:
            self.kling_image(image, "image")
            if doc.get("negative_prompt"):
                raise Reject("negative_prompt is not supported when image is given")
            if model == "kling-v1-5" and doc.get("image_reference") is None:
                raise Reject("image_reference: required with kling-v1-5 and an image")
        else:
            want_string(doc, "negative_prompt", "negative_prompt", False, 2500)
        want_enum(doc, "image_reference", "image_reference", ("subject", "face"))
        for key in ("image_fidelity", "human_fidelity"):
            v = doc.get(key)
            if v is not None and (not isinstance(v, (int, float)) or isinstance(v, bool)
                                  or not 0 <= v <= 1):
                raise Reject("%s: must be a number from 0 to 1" % key)
        n = want_int(doc, "n", "n", 1, 9) or 1
        want_enum(doc, "aspect_ratio", "aspect_ratio", self.KLING_RATIOS)
        want_enum(doc, "resolution", "resolution", ("1k", "2k"))
        task = self.new_task("kling", ["submitted", "processing"], "image",
                             "Cj" + uuid.uuid4().hex[:20], n)
        task.extra["kind"] = "images"
        self.kling_created(task)

    def kling_create_video(self, body):
        if self.fault_on_create():
            return
        doc = self.json_body(body)
        want_enum(doc, "model_name", "model_name", self.KLING_VIDEO_MODELS)
        if doc.get("image") is None and doc.get("image_tail") is None:
            raise Reject("image: missing (image or image_tail is required)")
        for key in ("image", "image_tail"):
            if doc.get(key) is not None:
                self.kling_image(doc[key], key)
        self.kling_frames_check(doc)
        want_string(doc, "prompt", "prompt", False, 2500)
        want_string(doc, "negative_prompt", "negative_prompt", False, 2500)
        v = doc.get("cfg_scale")
        if v is not None and (not isinstance(v, (int, float)) or not 0 <= v <= 1):
            raise Reject("cfg_scale: must be a number from 0 to 1")
        want_enum(doc, "mode", "mode", ("std", "pro"))
        want_enum(doc, "duration", "duration", ("5", "10"))
        task = self.new_task("kling", ["submitted", "processing"], "video",
                             "Cv" + uuid.uuid4().hex[:20])
        task.extra["kind"] = "videos"
        self.kling_created(task)

    def kling_poll(self, body, task_id):
        t = self.task("kling", task_id)
        status, ended = t.advance()
        now = int(time.time() * 1000)
        data = {"task_id": t.id, "task_status": status, "task_status_msg": "",
                "created_at": now, "updated_at": now}
        if ended and t.fail:
            data.update(task_status="failed",
                        task_status_msg="Failure to pass the risk control system (mock)")
        elif ended:
            data["task_status"] = "succeed"
            if t.extra["kind"] == "images":
                data["task_result"] = {"images": [{"index": i, "url": u}
                                                  for i, u in enumerate(t.outputs)]}
            else:
                data["task_result"] = {"videos": [{"id": str(uuid.uuid4()), "url": u,
                                                   "duration": "5.1"} for u in t.outputs]}
        self.answer(200, {"code": 0, "message": "SUCCEED", "request_id": str(uuid.uuid4()),
                          "data": data})

    # ---- PixVerse ----

    PIXVERSE_MODELS = ("v3.5", "v4", "v4.5", "v5", "v5.5", "v6")

    def svc_pixverse(self, method, rest, query, body):
        self.want_key("pixverse", "API-KEY", "")
        trace = self.headers.get("Ai-trace-id")
        if not trace or not UUID_RE.match(trace):
            raise Reject("Ai-trace-id header must be a UUID (got %r)" % trace)
        with self.state.lock:
            seen = trace in self.state.trace_ids
            self.state.trace_ids.add(trace)
        if seen:
            raise Reject("Ai-trace-id %s was used before: it must be unique per request" % trace)
        if self.state.take(("forget",), "pixverse"):
            with self.state.lock:
                self.state.uploads["pixverse"] = {}
        fn, args = self.route(method, rest, [
            ("POST", r"/openapi/v2/image/upload", self.pixverse_upload),
            ("POST", r"/openapi/v2/video/img/generate", self.pixverse_create),
            ("POST", r"/openapi/v2/video/fusion/generate", self.pixverse_fusion),
            ("GET", r"/openapi/v2/video/result/([0-9]+)", self.pixverse_poll),
        ])
        fn(body, *args)

    def pixverse_upload(self, body):
        parts = parse_multipart(self.headers.get("Content-Type", ""), body)
        files = [p for p in parts if p["name"] == "image" and p["filename"] is not None]
        if len(files) != 1:
            raise Reject("image: expected one file part named image")
        info = image_info(files[0]["data"])
        if not info:
            raise Reject("image: not a png, webp, jpeg or jpg file")
        if len(files[0]["data"]) >= 20 * 1024 * 1024:
            raise Reject("image: 20 MB or larger")
        if info[1] and max(info[1], info[2]) > 4000:
            raise Reject("image: larger than 4000x4000")
        if self.state.take(("upload-no-id",), "pixverse"):
            self.answer(200, {"ErrCode": 0, "ErrMsg": "success", "Resp": {}})
            return
        img_id = 20000000 + self.state.next_seed()
        # An img_id belongs to the account that uploaded it.
        with self.state.lock:
            self.state.uploads.setdefault("pixverse", {})[img_id] = (info,
                                                                     self.headers.get("API-KEY"))
        self.answer(200, {"ErrCode": 0, "ErrMsg": "success",
                          "Resp": {"img_id": img_id,
                                   "img_url": "%s/files/upload-%d.png" % (self.base(), img_id)}})

    def pixverse_create(self, body):
        if self.fault_on_create():
            return
        doc = self.json_body(body)
        want_enum(doc, "model", "model", self.PIXVERSE_MODELS, True)
        want_string(doc, "prompt", "prompt", max_len=2048)
        want_string(doc, "negative_prompt", "negative_prompt", False, 2048)
        img_id = doc.get("img_id")
        if img_id is None:
            raise Reject("img_id: missing")
        if not is_int(img_id):
            raise Reject("img_id: must be an integer, not %s %s"
                         % (type(img_id).__name__, json.dumps(img_id)))
        with self.state.lock:
            owner = self.state.uploads.get("pixverse", {}).get(img_id, (None, None))[1]
        if owner != self.headers.get("API-KEY"):
            raise Reject("Invalid parameter: img_id %d is not an image this account uploaded"
                         % img_id)
        want_enum(doc, "duration", "duration", (5, 8), True)
        if not is_int(doc["duration"]):
            raise Reject("duration: must be an integer")
        want_enum(doc, "quality", "quality", ("360p", "540p", "720p", "1080p"), True)
        want_int(doc, "seed", "seed", 0, 2147483647)
        want_enum(doc, "motion_mode", "motion_mode", ("normal", "fast"))
        # Real video ids are large numbers, past what a float prints exactly with %g.
        video_id = 315472036507328 + self.state.next_seed()
        self.new_task("pixverse", [5, 5], "video", str(video_id))
        self.answer(200, {"ErrCode": 0, "ErrMsg": "success", "Resp": {"video_id": video_id}})

    def pixverse_poll(self, body, video_id):
        t = self.task("pixverse", video_id)
        status, ended = t.advance()
        resp = {"id": int(video_id), "create_time": "2026-01-01 00:00:00",
                "modify_time": "2026-01-01 00:00:00", "prompt": "", "negative_prompt": "",
                "outputWidth": 960, "outputHeight": 540, "resolution_ratio": 540, "seed": 1,
                "size": 0, "style": "", "status": status, "url": ""}
        msg = "success"
        if ended and t.fail:
            resp["status"] = 8
            msg = "Generation failed (mock)"
        elif ended:
            resp["status"] = 1
            resp["url"] = t.outputs[0]
        self.answer(200, {"ErrCode": 0, "ErrMsg": msg, "Resp": resp})

    # ---- OpenAI ----

    def svc_openai(self, method, rest, query, body):
        self.want_key("openai", "Authorization", "Bearer ")
        fn, args = self.route(method, rest, [("POST", r"/v1/images/edits", self.openai_edit)])
        fn(body, *args)

    def openai_edit(self, body):
        if self.fault_on_create():
            return
        parts = parse_multipart(self.headers.get("Content-Type", ""), body)
        model = form_text(parts, "model") or "dall-e-2"
        if model not in ("gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5", "dall-e-2"):
            raise Reject("model: %r is not an image editing model" % model)
        prompt = form_text(parts, "prompt")
        if not prompt or not prompt.strip():
            raise Reject("prompt: missing")
        if len(prompt) > 32000:
            raise Reject("prompt: longer than 32000 characters")
        images = [p for p in parts if p["name"] in ("image", "image[]")]
        if not images:
            raise Reject("image: missing (send one or more image[] file parts)")
        if len(images) > 16:
            raise Reject("image[]: at most 16 images")
        for p in images:
            if p["filename"] is None:
                raise Reject("Invalid file '%s': expected a file part" % p["name"])
            ctype = (p["type"] or "").split(";")[0].strip()
            if ctype not in ("image/png", "image/jpeg", "image/webp"):
                raise Reject("Invalid file '%s': unsupported mimetype ('%s'). Supported file "
                             "formats are 'image/jpeg', 'image/png', and 'image/webp'."
                             % (p["name"], ctype or "none"))
            info = image_info(p["data"])
            if not info or MIME_OF[info[0]] != ctype:
                raise Reject("Invalid file '%s': the bytes are not a %s image"
                             % (p["name"], ctype))
            if len(p["data"]) > 50 * 1024 * 1024:
                raise Reject("Invalid file '%s': larger than 50 MB" % p["name"])
        n = int(form_text(parts, "n") or 1)
        data = []
        for _ in range(n):
            seed = self.state.next_seed()
            raw = NOT_AN_IMAGE if self.state.take(("not-image",), "openai") else make_png(seed)
            data.append({"b64_json": base64.b64encode(raw).decode()})
        self.answer(200, {"created": int(time.time()), "background": "opaque", "data": data,
                          "output_format": "png", "quality": "high", "size": "1024x1024",
                          "usage": {"input_tokens": 50, "output_tokens": 1056,
                                    "total_tokens": 1106}})

    # ---- Gemini ----

    def svc_gemini(self, method, rest, query, body):
        key = self.headers.get("x-goog-api-key") or query.get("key")
        expected = os.environ.get(ENV_KEYS["gemini"])
        if not key or (expected and key != expected):
            raise Reject("API key not valid. Please pass a valid API key.", 401)
        fn, args = self.route(method, rest, [
            ("POST", r"/v1beta/models/([A-Za-z0-9.-]+):generateContent", self.gemini_generate),
            ("POST", r"/v1beta/models/([A-Za-z0-9.-]+):predictLongRunning", self.veo_create),
            ("GET", r"/v1beta/models/([A-Za-z0-9.-]+)/operations/([0-9a-f]+)", self.veo_poll),
            ("GET", r"/v1beta/files/([0-9a-f]+-[0-9]+):download", self.veo_download),
        ])
        fn(body, *args)

    def gemini_generate(self, body, model):
        if self.fault_on_create():
            return
        if "image" not in model:
            raise Reject("model %s does not make images" % model)
        doc = self.json_body(body)
        contents = doc.get("contents")
        if not isinstance(contents, list) or not contents:
            raise Reject("contents: must be a non-empty array")
        texts = 0
        for ci, content in enumerate(contents):
            parts = content.get("parts") if isinstance(content, dict) else None
            if not isinstance(parts, list) or not parts:
                raise Reject("contents[%d].parts: must be a non-empty array" % ci)
            for pi, part in enumerate(parts):
                what = "contents[%d].parts[%d]" % (ci, pi)
                if not isinstance(part, dict):
                    raise Reject("%s: must be an object" % what)
                kinds = [k for k in part if k in ("text", "inline_data", "inlineData",
                                                  "file_data", "fileData")]
                if len(kinds) != 1:
                    raise Reject("%s: must hold exactly one of text, inline_data, file_data"
                                 % what)
                if kinds[0] == "text":
                    if not isinstance(part["text"], str):
                        raise Reject("%s.text: must be a string" % what)
                    texts += bool(part["text"].strip())
                elif kinds[0] in ("inline_data", "inlineData"):
                    blob = part[kinds[0]]
                    mime = blob.get("mime_type", blob.get("mimeType")) \
                        if isinstance(blob, dict) else None
                    if mime not in ("image/png", "image/jpeg", "image/webp", "image/heic",
                                    "image/heif"):
                        raise Reject("%s.inline_data.mime_type: %r is not an image type"
                                     % (what, mime))
                    data = strict_base64(blob.get("data"), what + ".inline_data.data")
                    info = image_info(data)
                    if not info or MIME_OF[info[0]] != mime:
                        raise Reject("%s.inline_data: the data is not a %s image" % (what, mime))
        if not texts:
            raise Reject("contents: no text part with the prompt")
        seed = self.state.next_seed()
        raw = NOT_AN_IMAGE if self.state.take(("not-image",), "gemini") else make_png(seed)
        self.answer(200, {
            "candidates": [{
                "content": {"parts": [
                    {"text": "Here is the picture you asked for."},
                    {"inlineData": {"mimeType": "image/png",
                                    "data": base64.b64encode(raw).decode()}},
                ], "role": "model"},
                "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 20, "candidatesTokenCount": 1290,
                              "totalTokenCount": 1310},
            "modelVersion": model, "responseId": uuid.uuid4().hex[:22]})

    # ---- Replicate ----

    IDEOGRAM_RATIOS = ("1:3", "3:1", "1:2", "2:1", "9:16", "16:9", "10:16", "16:10", "2:3",
                       "3:2", "3:4", "4:3", "4:5", "5:4", "1:1")

    def svc_replicate(self, method, rest, query, body):
        self.want_key("replicate", "Authorization", "Bearer ")
        fn, args = self.route(method, rest, [
            ("POST", r"/v1/models/ideogram-ai/ideogram-character/predictions",
             self.replicate_create),
            ("GET", r"/v1/predictions/([a-z0-9]+)", self.replicate_poll),
        ])
        fn(body, *args)

    def replicate_prediction(self, t, status):
        return {"id": t.id, "model": "ideogram-ai/ideogram-character", "version": "hidden",
                "input": t.extra["input"], "logs": "", "output": None, "error": None,
                "status": status, "data_removed": False,
                "created_at": "2026-01-01T00:00:00.000Z",
                "urls": {"get": "%s/replicate/v1/predictions/%s" % (self.base(), t.id),
                         "cancel": "%s/replicate/v1/predictions/%s/cancel"
                                   % (self.base(), t.id)}}

    def replicate_create(self, body):
        if self.fault_on_create():
            return
        doc = self.json_body(body)
        inp = doc.get("input")
        if not isinstance(inp, dict):
            raise Reject("input: missing (the model's inputs go in an \"input\" object)")
        want_string(inp, "prompt", "input.prompt")
        ref = inp.get("character_reference_image")
        if ref is None:
            raise Reject("input.character_reference_image: missing")
        url_or_data_uri(ref, "input.character_reference_image")
        want_int(inp, "seed", "input.seed", 0, 2147483647)
        want_enum(inp, "aspect_ratio", "input.aspect_ratio", self.IDEOGRAM_RATIOS)
        want_enum(inp, "rendering_speed", "input.rendering_speed", ("Default", "Turbo", "Quality"))
        want_enum(inp, "style_type", "input.style_type", ("Auto", "Fiction", "Realistic"))
        want_enum(inp, "magic_prompt_option", "input.magic_prompt_option", ("Auto", "On", "Off"))
        t = self.new_task("replicate", ["starting", "processing"], "image",
                          uuid.uuid4().hex[:26])
        t.extra["input"] = {k: (v[:40] + "..." if isinstance(v, str) and len(v) > 40 else v)
                            for k, v in inp.items()}
        self.answer(201, self.replicate_prediction(t, "starting"))

    def replicate_poll(self, body, pid):
        t = self.task("replicate", pid)
        status, ended = t.advance()
        doc = self.replicate_prediction(t, status)
        if ended and t.fail:
            doc.update(status="failed", error="NSFW content detected (mock)")
        elif ended:
            doc.update(status="succeeded", output=t.outputs[0])
        self.answer(200, doc)

    # ---- fal ----

    FAL_RATIOS = ("21:9", "16:9", "4:3", "3:2", "1:1", "2:3", "3:4", "9:16", "9:21")

    def svc_fal(self, method, rest, query, body):
        self.want_key("fal", "Authorization", "Key ")
        fn, args = self.route(method, rest, [
            ("POST", r"/fal-ai/flux-pro/kontext", self.fal_submit),
            # Status and result use the model id without its subpath (fal's
            # queue docs): /fal-ai/flux-pro/requests/..., not .../kontext/...
            ("GET", r"/fal-ai/flux-pro/requests/([0-9a-f-]+)/status", self.fal_status),
            ("GET", r"/fal-ai/flux-pro/requests/([0-9a-f-]+)", self.fal_result),
        ])
        fn(body, *args)

    def fal_submit(self, body):
        if self.fault_on_create():
            return
        doc = self.json_body(body)
        want_string(doc, "prompt", "prompt")
        if doc.get("image_url") is None:
            raise Reject("image_url: field required")
        url_or_data_uri(doc["image_url"], "image_url")
        want_int(doc, "seed", "seed", 0, 2 ** 53)
        want_int(doc, "num_images", "num_images", 1, 4)
        want_enum(doc, "output_format", "output_format", ("jpeg", "png"))
        want_enum(doc, "aspect_ratio", "aspect_ratio", self.FAL_RATIOS)
        want_enum(doc, "safety_tolerance", "safety_tolerance", ("1", "2", "3", "4", "5", "6"))
        t = self.new_task("fal", ["IN_QUEUE", "IN_PROGRESS"], "image", None,
                          doc.get("num_images") or 1)
        t.extra["seed"] = doc.get("seed", 42)
        t.extra["prompt"] = doc["prompt"]
        root = "%s/fal/fal-ai/flux-pro/requests/%s" % (self.base(), t.id)
        self.answer(200, {"status": "IN_QUEUE", "request_id": t.id, "response_url": root,
                          "status_url": root + "/status", "cancel_url": root + "/cancel",
                          "queue_position": 0})

    def fal_status(self, body, rid):
        t = self.task("fal", rid)
        status, ended = t.advance()
        doc = {"status": status or "COMPLETED",
               "response_url": "%s/fal/fal-ai/flux-pro/requests/%s" % (self.base(), rid)}
        if status == "IN_QUEUE":
            doc["queue_position"] = 0
        self.answer(200, doc)

    def fal_result(self, body, rid):
        t = self.task("fal", rid)
        if t.polls <= len(t.statuses) or t.stuck:
            raise Reject("Request is still in progress", 400)
        if t.fail:
            raise Reject("The image could not be generated: content policy (mock)", 422)
        self.answer(200, {"images": [{"url": u, "width": 1024, "height": 768,
                                      "content_type": "image/png"} for u in t.outputs],
                          "seed": t.extra["seed"], "has_nsfw_concepts": [False],
                          "prompt": t.extra["prompt"], "timings": {}})

    # ---- Luma ----

    LUMA_RATIOS = ("1:1", "3:4", "4:3", "9:16", "16:9", "9:21", "21:9")

    def svc_luma(self, method, rest, query, body):
        self.want_key("luma", "Authorization", "Bearer ")
        fn, args = self.route(method, rest, [
            ("POST", r"/dream-machine/v1/generations/image", self.luma_create),
            ("GET", r"/dream-machine/v1/generations/([0-9a-f-]+)", self.luma_poll),
        ])
        fn(body, *args)

    def luma_generation(self, t, state):
        return {"id": t.id, "generation_type": "image", "state": state, "failure_reason": None,
                "created_at": "2026-01-01T00:00:00.000Z", "assets": None,
                "model": t.extra["model"], "request": t.extra["request"]}

    def luma_create(self, body):
        if self.fault_on_create():
            return
        doc = self.json_body(body)
        want_string(doc, "prompt", "prompt")
        model = want_enum(doc, "model", "model", ("photon-1", "photon-flash-1")) or "photon-1"
        want_enum(doc, "aspect_ratio", "aspect_ratio", self.LUMA_RATIOS)
        cref = doc.get("character_ref")
        if cref is not None:
            if not isinstance(cref, dict) or not cref:
                raise Reject("character_ref: must be an object of identities")
            for name, ident in cref.items():
                if not re.fullmatch(r"identity[0-9]", name):
                    raise Reject("character_ref.%s: identities are named identity0, identity1, "
                                 "..." % name)
                images = ident.get("images") if isinstance(ident, dict) else None
                if not isinstance(images, list) or not 1 <= len(images) <= 4:
                    raise Reject("character_ref.%s.images: 1 to 4 image URLs" % name)
                for i, u in enumerate(images):
                    if not is_https_url(u):
                        raise Reject("character_ref.%s.images[%d]: must be an https URL "
                                     "(got %.40r)" % (name, i, u))
        for key in ("image_ref", "style_ref"):
            if doc.get(key) is not None and not isinstance(doc[key], list):
                raise Reject("%s: must be an array" % key)
        t = self.new_task("luma", ["queued", "dreaming"], "image")
        t.extra.update(model=model, request={"prompt": doc["prompt"], "model": model})
        self.answer(201, self.luma_generation(t, "queued"))

    def luma_poll(self, body, gid):
        t = self.task("luma", gid)
        state, ended = t.advance()
        doc = self.luma_generation(t, state)
        if ended and t.fail:
            doc.update(state="failed", failure_reason="400: prompt not allowed (mock)")
        elif ended:
            doc.update(state="completed", assets={"image": t.outputs[0]})
        self.answer(200, doc)

    # ---- MiniMax ----

    def svc_minimax(self, method, rest, query, body):
        self.want_key("minimax", "Authorization", "Bearer ")
        fn, args = self.route(method, rest, [
            ("POST", r"/v1/video_generation", self.minimax_create),
            ("GET", r"/v1/query/video_generation", self.minimax_query),
            ("GET", r"/v1/files/retrieve", self.minimax_file),
        ])
        fn(body, query, *args)

    def minimax_create(self, body, query):
        if self.fault_on_create():
            return
        doc = self.json_body(body)
        want_enum(doc, "model", "model", ("S2V-01",), True)
        want_string(doc, "prompt", "prompt", False, 2000)
        if "prompt_optimizer" in doc and not isinstance(doc["prompt_optimizer"], bool):
            raise Reject("prompt_optimizer: must be true or false")
        refs = doc.get("subject_reference")
        if not isinstance(refs, list) or len(refs) != 1:
            raise Reject("subject_reference: must be an array of exactly one subject")
        ref = refs[0]
        if not isinstance(ref, dict) or ref.get("type") != "character":
            raise Reject("subject_reference[0].type: must be \"character\"")
        images = ref.get("image")
        if not isinstance(images, list) or len(images) != 1:
            raise Reject("subject_reference[0].image: must be an array of one image")
        url_or_data_uri(images[0], "subject_reference[0].image[0]")
        task_id = str(106916112212032 + self.state.next_seed())
        t = self.new_task("minimax", ["Queueing", "Processing"], "video", task_id)
        t.extra["file_id"] = str(176844028768320 + self.state.next_seed())
        with self.state.lock:
            self.state.tasks[("minimax-file", t.extra["file_id"])] = t
        self.answer(200, {"task_id": task_id,
                          "base_resp": {"status_code": 0, "status_msg": "success"}})

    def minimax_query(self, body, query):
        t = self.task("minimax", query.get("task_id", ""))
        status, ended = t.advance()
        doc = {"task_id": t.id, "status": status,
               "base_resp": {"status_code": 0, "status_msg": "success"}}
        if ended and t.fail:
            doc["status"] = "Fail"
            doc["base_resp"] = {"status_code": 1026, "status_msg": "video generation failed: "
                                                                   "sensitive content (mock)"}
        elif ended:
            doc.update(status="Success", file_id=t.extra["file_id"], video_width=1280,
                       video_height=720)
        self.answer(200, doc)

    def minimax_file(self, body, query):
        t = self.task("minimax-file", query.get("file_id", ""))
        self.answer(200, {"file": {"file_id": int(t.extra["file_id"]), "bytes": 0,
                                   "created_at": int(time.time()), "filename": "output.mp4",
                                   "purpose": "video_generation",
                                   "download_url": t.outputs[0]},
                          "base_resp": {"status_code": 0, "status_msg": "success"}})

    # ---- ComfyUI ----

    def svc_comfyui(self, method, rest, query, body):
        fn, args = self.route(method, rest, [
            ("POST", r"/upload/image", self.comfy_upload),
            ("POST", r"/prompt", self.comfy_prompt),
            ("GET", r"/history/([0-9a-f-]+)", self.comfy_history),
            ("GET", r"/view", self.comfy_view),
        ])
        fn(body, query, *args)

    def comfy_upload(self, body, query):
        parts = parse_multipart(self.headers.get("Content-Type", ""), body)
        files = [p for p in parts if p["name"] == "image" and p["filename"] is not None]
        if len(files) != 1:
            raise Reject("upload: expected one file part named image")
        if not image_info(files[0]["data"]):
            raise Reject("upload: the file is not an image")
        kind = form_text(parts, "type") or "input"
        if kind not in ("input", "temp", "output"):
            raise Reject("upload: type must be input, temp or output")
        name = os.path.basename(files[0]["filename"])
        with self.state.lock:
            uploaded = self.state.uploads.setdefault("comfyui", {})
            if name in uploaded and form_text(parts, "overwrite") != "true":
                base, ext = os.path.splitext(name)
                n = 1
                while "%s (%d)%s" % (base, n, ext) in uploaded:
                    n += 1
                name = "%s (%d)%s" % (base, n, ext)
            uploaded[name] = True
        self.answer(200, {"name": name, "subfolder": "", "type": kind})

    def comfy_prompt(self, body, query):
        if self.fault_on_create():
            return
        doc = self.json_body(body)
        prompt = doc.get("prompt")
        if not isinstance(prompt, dict) or not prompt:
            raise Reject("prompt: must be the workflow in API format (an object of nodes)")
        outputs = []
        node_errors = {}
        with self.state.lock:
            uploaded = dict(self.state.uploads.get("comfyui", {}))
        for node_id, node in prompt.items():
            if not isinstance(node, dict) or not isinstance(node.get("class_type"), str) \
                    or not isinstance(node.get("inputs"), dict):
                raise Reject("node %s: needs class_type and inputs" % node_id)
            cls, inputs = node["class_type"], node["inputs"]
            if cls == "LoadImage" and inputs.get("image") not in uploaded:
                node_errors[node_id] = "Invalid image file: %s" % inputs.get("image")
            if cls == "KSampler" and not is_int(inputs.get("seed")):
                node_errors[node_id] = "seed: must be an integer"
            if cls == "CLIPTextEncode" and not isinstance(inputs.get("text"), str):
                node_errors[node_id] = "text: must be a string"
            if cls in ("SaveImage", "PreviewImage"):
                outputs.append(node_id)
        if node_errors:
            self.answer(400, {"error": {"type": "prompt_outputs_failed_validation",
                                        "message": "Prompt outputs failed validation: "
                                                   + "; ".join(node_errors.values()),
                                        "details": "", "extra_info": {}},
                              "node_errors": node_errors})
            return
        if not outputs:
            raise Reject("Prompt has no outputs")
        images = {}
        for node_id in outputs:
            seed = self.state.next_seed()
            entry = {"filename": "ComfyUI_%05d_.png" % seed, "subfolder": "", "type": "output"}
            with self.state.lock:
                self.state.comfy_files[(entry["filename"], "", "output")] = seed
            images[node_id] = entry
        # ComfyUI's history says nothing about a prompt until it has run.
        t = self.new_task("comfyui", [None, None], "image")
        t.outputs = images
        t.extra["prompt"] = prompt
        self.answer(200, {"prompt_id": t.id, "number": self.state.counter, "node_errors": {}})

    def comfy_history(self, body, query, pid):
        with self.state.lock:
            t = self.state.tasks.get(("comfyui", pid))
        if not t:
            self.answer(200, {})
            return
        status, ended = t.advance()
        if not ended:
            self.answer(200, {})
            return
        if t.fail:
            entry = {"prompt": [0, pid, t.extra["prompt"], {}, []], "outputs": {},
                     "status": {"status_str": "error", "completed": False, "messages": [
                         ["execution_error", {"prompt_id": pid, "node_type": "KSampler",
                                              "exception_message": "CUDA out of memory (mock)"}]
                     ]}, "meta": {}}
        else:
            entry = {"prompt": [0, pid, t.extra["prompt"], {}, list(t.outputs)],
                     "outputs": {n: {"images": [img]} for n, img in t.outputs.items()},
                     "status": {"status_str": "success", "completed": True, "messages": [
                         ["execution_start", {"prompt_id": pid}],
                         ["execution_success", {"prompt_id": pid}]]},
                     "meta": {n: {"node_id": n} for n in t.outputs}}
        self.answer(200, {pid: entry})

    def comfy_view(self, body, query):
        key = (query.get("filename"), query.get("subfolder", ""), query.get("type", "output"))
        with self.state.lock:
            seed = self.state.comfy_files.get(key)
        if seed is None:
            raise Reject("no such file: %r" % (key,), 404)
        data, ctype = self.output_bytes("image", seed, "comfyui")
        self.answer(200, data, ctype)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("portfile")
    ap.add_argument("logfile")
    ap.add_argument("--control", help="a file whose JSON sets the failure mode")
    ap.add_argument("--lifetime", type=float, default=1800,
                    help="exit after this many seconds, in case nobody stops us")
    args = ap.parse_args()
    mock_refs.bind(sys.modules[__name__])
    Handler.state = State(args.control)
    Handler.log_file = args.logfile
    open(args.logfile, "a").close()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tmp = args.portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(tmp, args.portfile)
    timer = threading.Timer(args.lifetime, lambda: os._exit(0))
    timer.daemon = True
    timer.start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
