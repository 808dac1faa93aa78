#!/usr/bin/env node
'use strict';
/*
 * troupe face-service: a local face-embedding HTTP service.
 *
 * face-api (@vladmandic/face-api) on TensorFlow.js with the WASM backend (or the
 * plain CPU backend), pure-JS JPEG/PNG decoding, no native modules. Everything it
 * needs is read from node_modules: the model weights from
 * @vladmandic/face-api/model and the .wasm binaries from
 * @tensorflow/tfjs-backend-wasm/dist. Nothing is downloaded at run time.
 *
 *   node server.js [--port N] [--port-file FILE] [--backend wasm|cpu]
 *
 * The port is --port N, else $PORT, else 8765 (troupe's "face" profile); 0 picks
 * a free one.
 *
 * Listens on 127.0.0.1 only. Prints exactly one line to stdout,
 * "listening on http://127.0.0.1:PORT", once the models are loaded; every
 * other message goes to stderr.
 */

const fs = require('fs');
const http = require('http');
const path = require('path');

const MAX_BODY = 20 * 1024 * 1024;      /* bytes; larger bodies get 413 */
const MAX_DRAIN = 256 * 1024 * 1024;    /* bytes read and dropped after a 413 */
const MAX_PIXELS = 50 * 1000 * 1000;    /* decoded image size limit */
/* Larger images are shrunk (area average) before detection: the detector sees
 * 512x512 and the recogniser a 150x150 face chip anyway, and this keeps the
 * WebAssembly heap, which never shrinks, small. Boxes are still reported in
 * the coordinates of the image as sent. */
const MAX_SIDE = 2048;
const MIN_CONFIDENCE = 0.5;             /* ssdMobilenetv1 default */
const MAX_FACES = 20;                   /* faces described per image, at most */
/* The largest face wins, but among confident detections first: ssdMobilenetv1
 * sometimes reports a big low-score box on a torso or helmet beside a small,
 * sure face, and the sure face is the subject. */
const CONFIDENT = 0.8;
const DIMENSION = 128;
const DEFAULT_PORT = 8765;              /* the base_url of troupe's built-in "face" profile */

/* Everything but the one "listening on" line goes to stderr, including
 * whatever TensorFlow.js prints with console.log. */
const out = process.stdout;
console.log = console.error;
console.info = console.error;

function log(msg) { process.stderr.write(`face-service: ${msg}\n`); }

function usage(code) {
  process.stderr.write(
    'usage: node server.js [--port N] [--port-file FILE] [--backend wasm|cpu]\n' +
    `  --port N          TCP port on 127.0.0.1, 0 for any free one (default $PORT, else ${DEFAULT_PORT})\n` +
    '  --port-file FILE  write the port number to FILE once listening\n' +
    '  --backend NAME    TensorFlow.js backend: wasm (default, $FACE_BACKEND) or cpu\n');
  process.exit(code);
}

function parseArgs(argv) {
  const opt = {
    port: process.env.PORT !== undefined && process.env.PORT !== '' ? process.env.PORT : String(DEFAULT_PORT),
    portFile: null,
    backend: process.env.FACE_BACKEND || 'wasm',
  };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let v = null;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) { v = a.slice(eq + 1); a = a.slice(0, eq); }
    const val = () => {
      if (v !== null) return v;
      if (i + 1 >= argv.length) { log(`${a} needs a value`); usage(64); }
      return argv[++i];
    };
    if (a === '--port') opt.port = val();
    else if (a === '--port-file') opt.portFile = val();
    else if (a === '--backend') opt.backend = val();
    else if (a === '-h' || a === '--help') usage(0);
    else { log(`unknown argument: ${a}`); usage(64); }
  }
  if (!/^\d+$/.test(String(opt.port)) || Number(opt.port) > 65535) {
    log(`invalid port: ${opt.port}`);
    process.exit(64);
  }
  opt.port = Number(opt.port);
  if (opt.backend !== 'wasm' && opt.backend !== 'cpu') {
    log(`invalid backend: ${opt.backend} (wasm or cpu)`);
    process.exit(64);
  }
  return opt;
}

/* ---------------------------------------------------------------- models */

const tf = require('@tensorflow/tfjs');
const wasm = require('@tensorflow/tfjs-backend-wasm');
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
const jpeg = require('jpeg-js');
const { PNG } = require('pngjs');

const WASM_DIR = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep;
const MODEL_DIR = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');

async function loadModels(backend) {
  const t0 = process.hrtime.bigint();
  let used = backend;
  if (backend === 'wasm') {
    /* A directory prefix: the backend reads the .wasm file it picks from disk. */
    wasm.setWasmPaths(WASM_DIR);
    try {
      if (!(await tf.setBackend('wasm'))) throw new Error('setBackend returned false');
    } catch (e) {
      log(`wasm backend failed (${e.message || e}); falling back to cpu`);
      used = 'cpu';
    }
  }
  if (used === 'cpu') await tf.setBackend('cpu');
  await tf.ready();
  await faceapi.nets.ssdMobilenetv1.loadFromDisk(MODEL_DIR);
  await faceapi.nets.faceLandmark68Net.loadFromDisk(MODEL_DIR);
  await faceapi.nets.faceRecognitionNet.loadFromDisk(MODEL_DIR);
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  /* Warm up once so the first real request does not pay for kernel setup. */
  const t1 = process.hrtime.bigint();
  const warm = tf.zeros([64, 64, 3], 'int32');
  try {
    await faceapi.detectAllFaces(warm, detectorOptions()).withFaceLandmarks().withFaceDescriptors();
  } finally {
    warm.dispose();
  }
  const warmMs = Number(process.hrtime.bigint() - t1) / 1e6;
  let simd = '';
  if (tf.getBackend() === 'wasm') {
    try {
      simd = ` simd=${await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')}` +
        ` threads=${await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')}`;
    } catch (e) { /* flags are informational only */ }
  }
  log(`face-api ${faceapi.version} tfjs ${tf.version_core} backend=${tf.getBackend()}${simd}` +
    ` models loaded in ${loadMs.toFixed(0)} ms, warm-up ${warmMs.toFixed(0)} ms`);
}

function detectorOptions() {
  return new faceapi.SsdMobilenetv1Options({ minConfidence: MIN_CONFIDENCE, maxResults: MAX_FACES });
}

/* ---------------------------------------------------------------- images */

class HttpError extends Error {
  constructor(status, message, extra) {
    super(message);
    this.status = status;
    this.extra = extra || {};
  }
}

function isJpeg(b) { return b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff; }
function isPng(b) {
  return b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 &&
    b[4] === 0x0d && b[5] === 0x0a && b[6] === 0x1a && b[7] === 0x0a;
}

/* EXIF orientation (1..8) of a JPEG, or 1. Read from the APP1 "Exif" segment. */
function jpegOrientation(b) {
  let p = 2;
  while (p + 4 <= b.length && b[p] === 0xff) {
    const marker = b[p + 1];
    if (marker === 0xda || marker === 0xd9) break;            /* start of scan / end */
    const len = b.readUInt16BE(p + 2);
    if (len < 2) break;
    if (marker === 0xe1 && p + 4 + len - 2 <= b.length &&
        b.toString('latin1', p + 4, p + 10) === 'Exif\0\0') {
      const t = p + 10;                                       /* TIFF header */
      const end = p + 2 + len;
      if (t + 8 > end) return 1;
      const le = b.toString('latin1', t, t + 2) === 'II';
      const u16 = (o) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
      const u32 = (o) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
      const ifd = t + u32(t + 4);
      if (ifd + 2 > end) return 1;
      const n = u16(ifd);
      for (let i = 0; i < n; i++) {
        const e = ifd + 2 + i * 12;
        if (e + 12 > end) return 1;
        if (u16(e) === 0x0112) {
          const o = u16(e + 8);
          return o >= 1 && o <= 8 ? o : 1;
        }
      }
      return 1;
    }
    p += 2 + len;
  }
  return 1;
}

/* Shrink an RGB image so that its longer side is at most `side`, averaging
 * the source pixels that each output pixel covers. */
function shrink(rgb, width, height, side) {
  const f = side / Math.max(width, height);
  const w = Math.max(1, Math.round(width * f));
  const h = Math.max(1, Math.round(height * f));
  const out = new Uint8Array(w * h * 3);
  const xs = new Int32Array(w + 1);
  for (let x = 0; x <= w; x++) xs[x] = Math.min(width, Math.round((x * width) / w));
  for (let y = 0; y < h; y++) {
    const y0 = Math.round((y * height) / h);
    const y1 = Math.max(y0 + 1, Math.min(height, Math.round(((y + 1) * height) / h)));
    for (let x = 0; x < w; x++) {
      const x0 = xs[x];
      const x1 = Math.max(x0 + 1, xs[x + 1]);
      let r = 0, g = 0, b = 0;
      for (let yy = y0; yy < y1; yy++) {
        let i = (yy * width + x0) * 3;
        for (let xx = x0; xx < x1; xx++, i += 3) { r += rgb[i]; g += rgb[i + 1]; b += rgb[i + 2]; }
      }
      const n = (y1 - y0) * (x1 - x0);
      const o = (y * w + x) * 3;
      out[o] = (r + n / 2) / n; out[o + 1] = (g + n / 2) / n; out[o + 2] = (b + n / 2) / n;
    }
  }
  return { rgb: out, width: w, height: h };
}

/* Decode JPEG or PNG bytes into an int32 [height, width, 3] RGB tensor, upright
 * (EXIF orientation applied) and at most MAX_SIDE on its longer side. Returns
 * { tensor, width, height } with the upright size of the image as sent. */
function decodeImage(buf) {
  let width, height, rgb, orientation = 1;
  if (isJpeg(buf)) {
    let img;
    try {
      img = jpeg.decode(buf, {
        useTArray: true, formatAsRGBA: false, tolerantDecoding: true,
        maxResolutionInMP: MAX_PIXELS / 1e6, maxMemoryUsageInMB: 1024,
      });
    } catch (e) {
      throw new HttpError(400, `cannot decode JPEG: ${e.message || e}`);
    }
    ({ width, height } = img);
    rgb = img.data;
    try { orientation = jpegOrientation(buf); } catch (e) { orientation = 1; }
  } else if (isPng(buf)) {
    let img;
    try {
      img = PNG.sync.read(buf);
    } catch (e) {
      throw new HttpError(400, `cannot decode PNG: ${e.message || e}`);
    }
    ({ width, height } = img);
    if (width * height > MAX_PIXELS) throw new HttpError(400, `image too large: ${width}x${height}`);
    /* RGBA to RGB, compositing any transparency over white. */
    const src = img.data;
    rgb = new Uint8Array(width * height * 3);
    for (let i = 0, j = 0; i < src.length; i += 4, j += 3) {
      const a = src[i + 3];
      if (a === 255) {
        rgb[j] = src[i]; rgb[j + 1] = src[i + 1]; rgb[j + 2] = src[i + 2];
      } else {
        const k = 255 - a;
        rgb[j] = (src[i] * a + 255 * k + 127) / 255;
        rgb[j + 1] = (src[i + 1] * a + 255 * k + 127) / 255;
        rgb[j + 2] = (src[i + 2] * a + 255 * k + 127) / 255;
      }
    }
  } else if (buf.length === 0) {
    throw new HttpError(400, 'empty image');
  } else {
    throw new HttpError(400, 'unsupported image format: JPEG and PNG only');
  }
  if (!width || !height || rgb.length < width * height * 3) {
    throw new HttpError(400, 'cannot decode image: no pixels');
  }
  const upright = orientation >= 5 ? { width: height, height: width } : { width, height };
  if (Math.max(width, height) > MAX_SIDE) ({ rgb, width, height } = shrink(rgb, width, height, MAX_SIDE));
  const tensor = tf.tidy(() => {
    let t = tf.tensor3d(Int32Array.from(rgb.subarray(0, width * height * 3)), [height, width, 3], 'int32');
    if (orientation >= 5) t = tf.transpose(t, [1, 0, 2]);
    switch (orientation) {
      case 2: t = tf.reverse(t, 1); break;
      case 3: t = tf.reverse(t, [0, 1]); break;
      case 4: t = tf.reverse(t, 0); break;
      case 6: t = tf.reverse(t, 1); break;
      case 7: t = tf.reverse(t, [0, 1]); break;
      case 8: t = tf.reverse(t, 0); break;
      default: break;
    }
    return t;
  });
  return { tensor, ...upright };
}

/* Image bytes from a request: raw bytes, or JSON {"image": "<base64 or data URI>"}. */
function imageBytes(req, body) {
  const type = String(req.headers['content-type'] || '').toLowerCase();
  const looksJson = type.includes('json') ||
    (!type.startsWith('image/') && body.length > 0 && body[0] === 0x7b /* { */);
  if (!looksJson) return body;
  let doc;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw new HttpError(400, `invalid JSON: ${e.message}`);
  }
  if (!doc || typeof doc.image !== 'string') {
    throw new HttpError(400, 'JSON body needs "image": a base64 string or data URI');
  }
  let s = doc.image.trim();
  const m = /^data:([^,]*?),/i.exec(s);
  if (m) {
    if (!/;base64$/i.test(m[1])) throw new HttpError(400, 'data URI must be base64-encoded');
    s = s.slice(m[0].length);
  }
  s = s.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(s)) throw new HttpError(400, 'image is not valid base64');
  return Buffer.from(s, 'base64');
}

/* ---------------------------------------------------------------- embedding */

function round(x, digits) { const f = 10 ** digits; return Math.round(x * f) / f; }

async function embed(buf) {
  const { tensor: input, width, height } = decodeImage(buf);
  const sx = width / input.shape[1];
  const sy = height / input.shape[0];
  let results;
  try {
    results = await faceapi.detectAllFaces(input, detectorOptions())
      .withFaceLandmarks()
      .withFaceDescriptors();
  } finally {
    input.dispose();
  }
  if (!results || results.length === 0) {
    throw new HttpError(422, 'no face', { faces: 0 });
  }
  const confident = results.filter((r) => r.detection.score >= CONFIDENT);
  const pool = confident.length > 0 ? confident : results;
  let best = pool[0];
  for (const r of pool) {
    if (r.detection.box.area > best.detection.box.area) best = r;
  }
  const box = best.detection.box;
  return {
    model: 'face',
    dimension: DIMENSION,
    /* float32 values: 9 significant digits round-trip exactly */
    embedding: Array.from(best.descriptor, (v) => Number(v.toPrecision(9))),
    box: {
      x: round(box.x * sx, 2), y: round(box.y * sy, 2),
      width: round(box.width * sx, 2), height: round(box.height * sy, 2),
    },
    score: round(best.detection.score, 6),
    faces: results.length,
  };
}

/* One image at a time: bounds memory, and the backend is single-threaded anyway. */
let queue = Promise.resolve();
function serialized(fn) {
  const p = queue.then(fn, fn);
  queue = p.catch(() => {});
  return p;
}

/* ---------------------------------------------------------------- HTTP */

function send(res, status, obj, headers) {
  const body = JSON.stringify(obj) + '\n';
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    ...(headers || {}),
  });
  res.end(body);
}

/* Answer 413 at once, then read and discard the rest of the body (up to
 * MAX_DRAIN) so that a client still sending gets the answer instead of a
 * connection reset; past that the connection is cut. */
function tooLarge(req, res) {
  send(res, 413, { error: `body over ${MAX_BODY} bytes` });
  let drained = 0;
  req.on('data', (c) => {
    drained += c.length;
    if (drained > MAX_DRAIN) req.socket.destroy();
  });
  req.resume();
}

function readBody(req, res) {
  return new Promise((resolve) => {
    const len = req.headers['content-length'];
    if (len !== undefined && Number(len) > MAX_BODY) { tooLarge(req, res); resolve(null); return; }
    const chunks = [];
    let size = 0;
    let done = false;
    const onData = (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        done = true;
        chunks.length = 0;
        req.off('data', onData);
        tooLarge(req, res);
        resolve(null);
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.on('end', () => { if (!done) { done = true; resolve(Buffer.concat(chunks, size)); } });
    req.on('error', () => { if (!done) { done = true; resolve(null); } });
  });
}

async function handle(req, res) {
  const url = (req.url || '/').split('?')[0];
  if (url === '/health') {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, { error: 'method not allowed' }, { Allow: 'GET, HEAD' });
      return;
    }
    send(res, 200, { ok: true, model: 'face', dimension: DIMENSION });
    return;
  }
  if (url === '/embed') {
    if (req.method !== 'POST') {
      send(res, 405, { error: 'method not allowed' }, { Allow: 'POST' });
      return;
    }
    const body = await readBody(req, res);
    if (body === null) return;
    const t0 = process.hrtime.bigint();
    try {
      const result = await serialized(() => embed(imageBytes(req, body)));
      send(res, 200, result);
      log(`embed ${body.length} B: ${result.faces} face(s), ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(0)} ms`);
    } catch (e) {
      if (e instanceof HttpError) {
        send(res, e.status, { error: e.message, ...e.extra });
      } else {
        log(`embed failed: ${e.stack || e}`);
        send(res, 500, { error: `internal error: ${e.message || e}` });
      }
    }
    return;
  }
  send(res, 404, { error: 'not found' });
}

async function main() {
  const opt = parseArgs(process.argv.slice(2));
  await loadModels(opt.backend);
  const server = http.createServer((req, res) => {
    handle(req, res).catch((e) => {
      log(`request failed: ${e.stack || e}`);
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
    });
  });
  server.on('error', (e) => { log(`cannot listen: ${e.message}`); process.exit(69); });
  server.listen(opt.port, '127.0.0.1', () => {
    const { port } = server.address();
    if (opt.portFile) {
      const tmp = `${opt.portFile}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, `${port}\n`);
      fs.renameSync(tmp, opt.portFile);
    }
    out.write(`listening on http://127.0.0.1:${port}\n`);
  });
  const stop = (sig) => {
    log(`${sig}: shutting down`);
    server.close(() => process.exit(0));
    if (server.closeIdleConnections) server.closeIdleConnections();
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((e) => {
  log(`cannot start: ${e.stack || e}`);
  process.exit(70);
});
