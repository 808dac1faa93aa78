#!/usr/bin/env python3
"""Hostile stand-ins for troupe generate: services that redirect a request
to another host, trickle an output, or echo the key back.

Listens on two loopback ports (the second is "another host" for the
redirect); https when given a certificate. Every request is appended to
the log file as a JSON line: port, method, path, headers, body length and
the body's first 200 bytes.

Paths (the first segment picks the behaviour; the rest is the profile's):
  /redirect/...   307 to the same path under /sink/ on the other port
  /same/...       307 to the same path under /ok/ on this port
  /sink/...       records and answers 200 {"urls": []}
  /ok/create      200 {"urls": [this port's /png]}
  /okhop/create   200 {"urls": [this port's /hop]}, which is a 307 to the
                  other port's /png
  /trickle/create 200 {"urls": [this port's /slow]}
  /slow           a PNG sent at 2 bytes a second
  /png            the PNG
  /reflect/...    401 echoing the credential headers, with 200 kB of text
  /deep/...       401 with 300 small items, then a 200 kB string
  /task/create    {"id": "tN"}, a new N each time; /task/poll/tN says 5
                  three times, then 1
  /bigid/create   the same with the id 1e300
  /failtask/...   the same, but the task ends in 8 with a 200 kB reason
"""
import json
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    ports = []
    png = b""
    log_file = None
    scheme = "http"
    lock = threading.Lock()
    polls = {}
    tasks = 0

    def log_message(self, fmt, *args):
        pass

    def url(self, port, path):
        return "%s://127.0.0.1:%d%s" % (self.scheme, port, path)

    def answer(self, status, body, ctype="application/json", headers=()):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        port = self.server.server_address[1]
        with self.lock, open(self.log_file, "a") as f:
            f.write(json.dumps({"port": port, "method": self.command, "path": self.path,
                                "headers": dict(self.headers.items()), "body_len": len(body),
                                "body": body[:200].decode("latin-1")}) + "\n")
        other = self.ports[1] if port == self.ports[0] else self.ports[0]
        mode, _, rest = self.path.lstrip("/").partition("/")
        if mode == "redirect":
            self.answer(307, {}, headers=[("Location", self.url(other, "/sink/" + rest))])
        elif mode == "same":
            self.answer(307, {}, headers=[("Location", self.url(port, "/ok/" + rest))])
        elif mode == "sink":
            self.answer(200, {"urls": []})
        elif mode == "ok":
            self.answer(200, {"urls": [self.url(port, "/png")]})
        elif mode == "busy":
            # Busy once, asking for a wait, then no answer at all: the wait
            # must count against the caller's deadline.
            with self.lock:
                Handler.busy = getattr(Handler, "busy", 0) + 1
                first = Handler.busy == 1
            if first:
                self.answer(503, {"error": "busy"}, headers=[("Retry-After", "3")])
            else:
                time.sleep(20)
                self.answer(200, {"urls": []})
        elif mode == "trickle":
            self.answer(200, {"urls": [self.url(port, "/slow")]})
        elif mode == "okhop":
            self.answer(200, {"urls": [self.url(port, "/hop")]})
        elif mode == "hop":
            self.answer(307, {}, headers=[("Location", self.url(other, "/png"))])
        elif mode == "png":
            self.answer(200, self.png, "image/png")
        elif mode == "slow":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(self.png)))
            self.end_headers()
            try:
                for i in range(0, len(self.png), 1):
                    self.wfile.write(self.png[i:i + 1])
                    self.wfile.flush()
                    time.sleep(0.5)
            except OSError:
                pass
        elif mode == "reflect":
            got = {k: v for k, v in self.headers.items()
                   if k.lower() in ("authorization", "api-key", "x-goog-api-key")}
            self.answer(401, {"error": "invalid credentials: %s" % json.dumps(got),
                              "echo": got, "detail": "x" * 200000})
        elif mode == "reflectpng":
            # The same echo, in a body that says it is a picture.
            got = {k: v for k, v in self.headers.items()
                   if k.lower() in ("authorization", "api-key", "x-goog-api-key")}
            self.answer(401, ("invalid credentials: %s" % json.dumps(got)).encode(), "image/png")
        elif mode == "deep":
            self.answer(401, {"error": list(range(300)) + ["y" * 200000]})
        elif mode in ("task", "bigid", "failtask") and rest == "create":
            with self.lock:
                Handler.tasks += 1
                task = "t%d" % Handler.tasks
                Handler.polls[task] = 0
            self.answer(200, {"id": task if mode != "bigid" else 1e300})
        elif mode in ("task", "bigid", "failtask"):
            task = rest.rpartition("/")[2]
            with self.lock:
                polls = Handler.polls[task] = Handler.polls.get(task, 0) + 1
            if polls <= 3:
                self.answer(200, {"status": 5})
            elif mode == "failtask":
                self.answer(200, {"status": 8, "error": "z" * 200000})
            else:
                self.answer(200, {"status": 1, "urls": [self.url(port, "/png")]})
        else:
            self.answer(404, {"error": "no such path"})

    do_GET = do_POST = do_PUT = handle_any


def main():
    portfile, logfile, pngfile = sys.argv[1:4]
    cert = sys.argv[4] if len(sys.argv) > 4 else None
    Handler.log_file = logfile
    Handler.png = open(pngfile, "rb").read()
    open(logfile, "a").close()
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), Handler) for _ in range(2)]
    if cert:
        Handler.scheme = "https"
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert)
        for s in servers:
            s.socket = ctx.wrap_socket(s.socket, server_side=True)
    Handler.ports = [s.server_address[1] for s in servers]
    for s in servers:
        s.daemon_threads = True
        threading.Thread(target=s.serve_forever, daemon=True).start()
    with open(portfile + ".tmp", "w") as f:
        f.write("%d %d\n" % tuple(Handler.ports))
    import os
    os.rename(portfile + ".tmp", portfile)
    time.sleep(600)


if __name__ == "__main__":
    main()
