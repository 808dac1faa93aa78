#!/usr/bin/env python3
"""bench/face-eval.py — the helpers of bench/face-eval.sh, standard library only.

  crops XML...          print the crops to make from dlib's face boxes: each
                        boxed face (an impostor) and corners with no box in
                        them (pictures without a face), one per line
  cache PORTFILE URL DIR
                        an HTTP cache in front of the face service, kept in
                        DIR: the same bytes to the same path get the answer
                        they got before, so checking every shot against every
                        character embeds each shot once (the service is
                        deterministic)
  report PREFIX RUN...  read the runs' `troupe check --json` answers, print
                        ROC AUC, EER, verdict accuracy, "no face" counts and
                        margins per model and variant group, and write them
                        to PREFIX.tsv, PREFIX.md, PREFIX-timing.tsv and
                        PREFIX-noface.tsv
"""

import hashlib
import http.client
import http.server
import json
import os
import sys
import threading
import urllib.parse
import xml.etree.ElementTree as ET

IDENTITY = ["jpeg30", "scale0.5", "scale2", "dark0.6", "bright1.4", "grey",
            "mirror", "rotate10", "tightcrop"]
STYLISED = ["posterise", "blur2", "warm", "tealorange"]
NO_FACE_SCORE = -1.0


def crops(paths):
    """Impostor crops are each box grown to 1.8x around its centre (a face
    with some head and background, as the johns' 150-px crops have); a
    no-face crop is a corner square that no grown box touches."""
    for path in paths:
        for image in ET.parse(path).getroot().iter("image"):
            name = image.get("file")
            w, h = int(image.get("width")), int(image.get("height"))
            grown = []
            for i, box in enumerate(image.iter("box")):
                bx, by = int(box.get("left")), int(box.get("top"))
                bw, bh = int(box.get("width")), int(box.get("height"))
                side = int(max(bw, bh) * 1.8)
                cx, cy = bx + bw // 2, by + bh // 2
                x0 = min(max(cx - side // 2, 0), max(w - side, 0))
                y0 = min(max(cy - side // 2, 0), max(h - side, 0))
                side = min(side, w - x0, h - y0)
                grown.append((x0, y0, side, side))
                stem = name.rsplit(".", 1)[0]
                print(f"impostor {name} {stem}-{i}.jpg {x0} {y0} {side} {side}")
            side = min(w, h) // 3
            for cx, cy in ((0, 0), (w - side, 0), (0, h - side), (w - side, h - side)):
                if not any(cx < x + s and x < cx + side and cy < y + s and y < cy + side
                           for x, y, s, _ in grown):
                    stem = name.rsplit(".", 1)[0]
                    print(f"noface {name} {stem}-corner{cx}x{cy}.jpg {cx} {cy} {side} {side}")


def cache(port_file, upstream, directory):
    target = urllib.parse.urlsplit(upstream)
    os.makedirs(directory, exist_ok=True)

    def load(key):
        try:
            with open(os.path.join(directory, key), "rb") as f:
                status, ctype, data = f.read().split(b"\n", 2)
            return int(status), ctype.decode(), data
        except FileNotFoundError:
            return None

    def save(key, hit):
        tmp = os.path.join(directory, key + f".{threading.get_ident()}")
        with open(tmp, "wb") as f:
            f.write(f"{hit[0]}\n{hit[1]}\n".encode() + hit[2])
        os.rename(tmp, os.path.join(directory, key))

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def forward(self, body):
            key = hashlib.sha256(self.command.encode() + self.path.encode() + b"\0" +
                                 (body or b"")).hexdigest()
            hit = load(key)
            if hit is None:
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=600)
                headers = {"Content-Type": self.headers.get("Content-Type",
                                                            "application/octet-stream")}
                conn.request(self.command, self.path, body=body, headers=headers)
                answer = conn.getresponse()
                hit = (answer.status, answer.getheader("Content-Type", "application/json"),
                       answer.read())
                conn.close()
                if answer.status < 500 and self.command == "POST":
                    save(key, hit)
            status, ctype, data = hit
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self.forward(None)

        def do_POST(self):
            self.forward(self.rfile.read(int(self.headers.get("Content-Length", "0"))))

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(port_file + ".tmp", "w") as f:
        f.write(f"{server.server_address[1]}\n")
    os.rename(port_file + ".tmp", port_file)
    server.serve_forever()


def auc(pos, neg):
    """Mann-Whitney: the chance that a genuine pair outscores an impostor
    pair, ties counting half."""
    if not pos or not neg:
        return None
    ranked = sorted([(s, 1) for s in pos] + [(s, 0) for s in neg])
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        mid = (i + j + 1) / 2.0
        rank_sum += mid * sum(1 for k in range(i, j) if ranked[k][1])
        i = j
    n1, n0 = len(pos), len(neg)
    return (rank_sum - n1 * (n1 + 1) / 2.0) / (n1 * n0)


def eer(pos, neg):
    """The error rate where false accepts (impostors at or over the
    threshold) equal false rejects (genuine under it), over every threshold
    the scores allow; the mean of the two where they cross."""
    if not pos or not neg:
        return None
    best = None
    for t in sorted(set(pos + neg + [max(pos + neg) + 1])):
        far = sum(1 for s in neg if s >= t) / len(neg)
        frr = sum(1 for s in pos if s < t) / len(pos)
        if best is None or abs(far - frr) < best[0]:
            best = (abs(far - frr), (far + frr) / 2)
    return best[1]


def verdict_of(row):
    """Today's troupe reports a shot without a face as drifted with a
    reason; the new one as "no face". Both are "no face" here."""
    v = row.get("verdict")
    if v == "no face":
        return v
    if "similarity" not in row and "no face" in (row.get("reason") or ""):
        return "no face"
    return v


def load_run(run):
    meta = {}
    with open(os.path.join(run, "meta.tsv")) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("\t")
            meta[k] = v
    slugs = dict(line.split("\t") for line in
                 open(os.path.join(run, "characters.tsv")).read().splitlines())
    pairs = []
    shots_dir = os.path.realpath(os.path.join(run, "shots"))
    for slug, person in slugs.items():
        with open(os.path.join(run, f"check-{slug}.json")) as f:
            rows = json.load(f)
        if os.path.exists(os.path.join(run, f"noref-{slug}")):
            # The model gave none of this person's references a vector:
            # every shot scores as nothing, and nothing passes.
            rows = [{"shot": os.path.join(root, name), "verdict": "no reference"}
                    for root, _, names in sorted(os.walk(shots_dir)) for name in sorted(names)]
        for row in rows:
            rel = os.path.relpath(os.path.realpath(row["shot"]), shots_dir).split(os.sep)
            group = rel[0]
            if group in ("impostor", "noface"):
                kind, shot_person = group, None
            else:
                shot_person = rel[1]
                kind = "genuine" if shot_person == person else "impostor"
            v = verdict_of(row)
            score = row["similarity"] if "similarity" in row else NO_FACE_SCORE
            pairs.append({"group": "strangers" if group in ("impostor", "noface") else group,
                          "kind": kind, "verdict": v, "score": score,
                          "threshold": row.get("threshold"), "shot": "/".join(rel),
                          "character": slug})
    return meta, pairs


def summarise(pairs):
    pos = [p["score"] for p in pairs if p["kind"] == "genuine"]
    neg = [p["score"] for p in pairs if p["kind"] != "genuine"]
    right = 0
    for p in pairs:
        if p["kind"] == "genuine":
            right += p["verdict"] == "same"
        elif p["kind"] == "impostor":
            right += p["verdict"] != "same"
        else:
            right += p["verdict"] == "no face"
    genuine_faces = [p["score"] for p in pairs if p["kind"] == "genuine" and p["verdict"] != "no face"]
    other_faces = [p["score"] for p in pairs if p["kind"] != "genuine" and p["verdict"] != "no face"]
    return {
        "shots": len({p["shot"] for p in pairs}),
        "noface_shots": len({p["shot"] for p in pairs if p["verdict"] == "no face"}),
        "genuine_same": (sum(1 for p in pairs if p["kind"] == "genuine" and p["verdict"] == "same") /
                         len(pos)) if pos else None,
        "noref": sum(1 for p in pairs if p["verdict"] == "no reference"),
        "genuine": len(pos), "negative": len(neg),
        "auc": auc(pos, neg), "eer": eer(pos, neg),
        "accuracy": right / len(pairs) if pairs else None,
        "noface_genuine": sum(1 for p in pairs if p["kind"] == "genuine" and p["verdict"] == "no face"),
        "noface_negative": sum(1 for p in pairs if p["kind"] != "genuine" and p["verdict"] == "no face"),
        "same_min": min(genuine_faces) if genuine_faces else None,
        "other_max": max(other_faces) if other_faces else None,
    }


def fmt(x, digits=3):
    return "-" if x is None else f"{x:.{digits}f}"


def report(prefix, runs):
    header = ["model", "refs", "threshold", "group", "shots", "noface_shots", "genuine",
              "negative", "auc", "eer", "accuracy", "genuine_same", "noface_genuine", "noface_negative", "noref", "same_min", "other_max"]
    table, timing, noface_lines = [], [], []
    for run in runs:
        meta, pairs = load_run(run)
        groups = [("clean", lambda p: p["group"] == "clean"),
                  ("strangers", lambda p: p["group"] == "strangers")]
        groups += [(g, lambda p, g=g: p["group"] == g) for g in IDENTITY + STYLISED]
        groups += [("identity (all)", lambda p: p["group"] in IDENTITY),
                   ("stylised (all)", lambda p: p["group"] in STYLISED),
                   ("all", lambda p: True)]
        for name, keep in groups:
            chosen = [p for p in pairs if keep(p)]
            if not chosen:
                continue
            s = summarise(chosen)
            table.append([meta["model"], meta["refs"], f'{float(meta["threshold"]):.4f}', name,
                          str(s["shots"]), str(s["noface_shots"]),
                          str(s["genuine"]), str(s["negative"]), fmt(s["auc"]), fmt(s["eer"]),
                          fmt(s["accuracy"]), fmt(s["genuine_same"]), str(s["noface_genuine"]), str(s["noface_negative"]), str(s["noref"]),
                          fmt(s["same_min"], 4), fmt(s["other_max"], 4)])
        seen = set()
        for p in pairs:
            if p["verdict"] == "no face" and p["kind"] != "noface" and p["shot"] not in seen:
                seen.add(p["shot"])
                noface_lines.append(f"{meta['model']}\tR={meta['refs']}\t{p['shot']}")
        if "check_shots" in meta:
            timing.append([meta["model"], meta["refs"], meta["check_shots"], meta["check_s"],
                           f"{int(meta['check_shots']) / float(meta['check_s']):.2f}",
                           meta["one_shot_s"], meta.get("calibrate", "")])
    widths = [max(len(r[i]) for r in table + [header]) for i in range(len(header))]
    for r in [header] + table:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
    print()
    theader = ["model", "refs", "shots", "check_s", "shots_per_s", "one_shot_s", "calibrate"]
    for r in [theader] + timing:
        print("  ".join(r))
    print(f"\nfaces not found (shot, once per run): {len(noface_lines)}")
    with open(prefix + ".tsv", "w") as f:
        for r in [header] + table:
            f.write("\t".join(r) + "\n")
    with open(prefix + "-timing.tsv", "w") as f:
        for r in [theader] + timing:
            f.write("\t".join(r) + "\n")
    with open(prefix + "-noface.tsv", "w") as f:
        f.write("".join(line + "\n" for line in noface_lines))
    with open(prefix + ".md", "w") as f:
        f.write("| " + " | ".join(header) + " |\n")
        f.write("| " + " | ".join("---" for _ in header) + " |\n")
        for r in table:
            f.write("| " + " | ".join(r) + " |\n")
        f.write("\n| " + " | ".join(theader) + " |\n")
        f.write("| " + " | ".join("---" for _ in theader) + " |\n")
        for r in timing:
            f.write("| " + " | ".join(r) + " |\n")


def main(argv):
    if len(argv) >= 2 and argv[1] == "crops":
        crops(argv[2:])
    elif len(argv) == 5 and argv[1] == "cache":
        cache(argv[2], argv[3], argv[4])
    elif len(argv) >= 4 and argv[1] == "report":
        report(argv[2], argv[3:])
    else:
        sys.stderr.write(__doc__)
        return 64
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
