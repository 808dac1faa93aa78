#!/usr/bin/env python3
"""A loopback stand-in for troupe's face service (contrib/face-service),
for tests of what troupe does with its answers: every face with its box
and score, the network's name and version, "no face", and failures. Who
is in a picture is told by the control file, keyed by the picture's size
as the JPEG header gives it ("WIDTHxHEIGHT"), since troupe sends its own
re-encoded copy, not the file's bytes. The control file is read on every
request, so a test can change the network under troupe's feet.

  mock-faces.py PORT_FILE LOG_FILE CONTROL_FILE

CONTROL_FILE: {"network": "mock-net", "version": "1", "dimension": 16,
               "people": {"300x200": ["mei"], "400x300": ["kai", "mei"]},
               "fail_after": 3}
A person's vector is the same in every picture but for a little noise
seeded by the picture's size, so one person's faces are alike and two
people's are not. "fail_after": N answers 500 from the N+1th request on.
"""
import json
import os
import random
import struct
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

requests = 0


def jpeg_size(data):
    """(width, height) from a baseline or progressive JPEG's SOF."""
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        i += 2 + length
    return None


def vector(person, key, dim):
    base = random.Random("person:" + person)
    noise = random.Random("picture:" + key + ":" + person)
    return [base.gauss(0, 1) + 0.25 * noise.gauss(0, 1) for _ in range(dim)]


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
        global requests
        length = int(self.headers.get("Content-Length", 0))
        data = self.rfile.read(length)
        with open(sys.argv[3]) as f:
            control = json.load(f)
        requests += 1
        size = jpeg_size(data)
        key = "%dx%d" % size if size else "?"
        with open(sys.argv[2], "a") as log:
            log.write(json.dumps({"path": self.path, "size": key}) + "\n")
        if "fail_after" in control and requests > control["fail_after"]:
            return self.answer(500, {"error": "the model crashed"})
        if self.path != "/embed/face":
            return self.answer(404, {"error": "unknown model"})
        if size is None:
            return self.answer(400, {"error": "cannot decode JPEG"})
        who = control["people"].get(key, [])
        ident = {"model": "face", "network": control["network"],
                 "version": control["version"], "dimension": control["dimension"]}
        if not who:
            return self.answer(422, dict(ident, error="no face", faces=[]))
        width, height = size
        faces = []
        for i, person in enumerate(who):
            side = max(4, min(width, height) // (2 + i))
            faces.append({"box": {"x": i * width / 4, "y": height / 8,
                                  "width": side, "height": side},
                          "score": round(0.99 - 0.1 * i, 2),
                          "embedding": vector(person, key, control["dimension"])})
        self.answer(200, dict(ident, embedding=faces[0]["embedding"], box=faces[0]["box"],
                              score=faces[0]["score"], faces=faces, prepared="none"))


server = HTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(server.server_port))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
server.serve_forever()
