#!/usr/bin/env python3
"""A loopback stand-in for a multimodal embedding API (Jina AI's
/v1/embeddings) for the troupe tests. It checks the request has the shape
the API documents and answers with a deterministic vector derived from the
image bytes. Usage: mock-embeddings.py PORT_FILE LOG_FILE"""
import base64
import hashlib
import json
import random
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

DIMENSIONS = 1024


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        raw = self.rfile.read(length)
        with open(sys.argv[2], "a") as log:
            log.write(json.dumps({"path": self.path,
                                  "authorization": self.headers.get("Authorization"),
                                  "content_type": self.headers.get("Content-Type")}) + "\n")
        if self.path != "/v1/embeddings":
            return self.answer(404, {"detail": "no such endpoint"})
        if not (self.headers.get("Authorization") or "").startswith("Bearer "):
            return self.answer(401, {"detail": "missing bearer token"})
        if self.headers.get("Content-Type") != "application/json":
            return self.answer(400, {"detail": "expected application/json"})
        try:
            req = json.loads(raw)
        except ValueError:
            return self.answer(400, {"detail": "body is not JSON"})
        if req.get("model") != "jina-clip-v2":
            return self.answer(400, {"detail": "model must be jina-clip-v2"})
        items = req.get("input")
        if not isinstance(items, list) or len(items) != 1 or not isinstance(items[0], dict):
            return self.answer(400, {"detail": "input must be a list of one {image} object"})
        image = items[0].get("image", "")
        try:
            data = base64.b64decode(image, validate=True)
        except ValueError:
            return self.answer(400, {"detail": "image is not base64"})
        if not (data.startswith(b"\xff\xd8") or data.startswith(b"\x89PNG")):
            return self.answer(400, {"detail": "image is not a JPEG or PNG"})
        seed = int.from_bytes(hashlib.sha256(data).digest()[:8], "big")
        rng = random.Random(seed)
        dims = int(req.get("dimensions", DIMENSIONS))
        vector = [rng.gauss(0, 1) for _ in range(dims)]
        self.answer(200, {"model": "jina-clip-v2", "object": "list",
                          "usage": {"total_tokens": 1, "prompt_tokens": 1},
                          "data": [{"object": "embedding", "index": 0, "embedding": vector}]})


server = HTTPServer(("127.0.0.1", 0), Handler)
# Written whole, then renamed: the test never reads half a port number.
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(server.server_port))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
server.serve_forever()
