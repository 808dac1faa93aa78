#!/usr/bin/env node
'use strict';
/*
 * troupe face-service: a local face-embedding HTTP service with two models.
 *
 *   face      @vladmandic/human (BlazeFace detector, FaceMesh, faceres descriptor,
 *             1024 numbers); the default.
 *   face-api  @vladmandic/face-api (SSD MobileNet v1, 68 landmarks, ResNet-34
 *             descriptor, 128 numbers).
 *
 * Both run on one TensorFlow.js engine with the WASM backend (or the plain CPU
 * backend), with pure-JS JPEG/PNG decoding and no native modules. Everything is
 * read from node_modules by file path: the weights, and the .wasm binaries from
 * @tensorflow/tfjs-backend-wasm/dist. Nothing is downloaded at run time: the
 * global fetch, through which human loads its weights, is replaced by one that
 * reads file:// URLs inside human's models directory and refuses everything else.
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
const { pathToFileURL, fileURLToPath } = require('url');

const MAX_BODY = 20 * 1024 * 1024;      /* bytes; larger bodies get 413 */
const MAX_DRAIN = 256 * 1024 * 1024;    /* bytes read and dropped after a 413 */
const MAX_PIXELS = 50 * 1000 * 1000;    /* decoded image size limit */
/* Larger images are shrunk (area average) before detection: the detectors see
 * 256x256 or 512x512 and the recognisers a small face chip anyway, and this
 * keeps the WebAssembly heap, which never shrinks, small. Boxes are still
 * reported in the coordinates of the image as sent. */
const MAX_SIDE = 2048;
const MAX_FACES = 20;                   /* faces described per image, at most */
/* Preparation. A picture whose shorter side is under MIN_SIDE is upscaled to
 * it first. When nothing is found, the picture is tried once more on a
 * neutral grey canvas PAD times its size (upscaled again if that canvas is
 * still under MIN_SIDE): a 150-px crop that is all face leaves the detectors
 * no forehead, chin or background, and face-api misses most of those. */
const MIN_SIDE = 320;
const PAD = 2;
const PAD_GREY = 128;
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
/* human's package "exports" do not map its dist/ files, so it is loaded by path.
 * It requires @tensorflow/tfjs-core itself, the same copy as @tensorflow/tfjs
 * above, so both models share one engine and one WASM backend. */
const HUMAN_DIST = path.dirname(require.resolve('@vladmandic/human'));
const { Human } = require(path.join(HUMAN_DIST, 'human.node-wasm.js'));
const jpeg = require('jpeg-js');
const { PNG } = require('pngjs');

const WASM_DIR = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep;
const FACEAPI_DIR = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
const HUMAN_DIR = path.join(path.dirname(HUMAN_DIST), 'models');

/* The only fetch in this process: human's weights from HUMAN_DIR, as file://
 * URLs. Any other URL, or a file outside that directory, is refused, so no
 * code path can reach the network. */
async function localFetch(input) {
  const url = String(input && typeof input === 'object' && 'url' in input ? input.url : input);
  let file = null;
  if (url.startsWith('file:')) {
    try { file = path.resolve(fileURLToPath(url)); } catch (e) { file = null; }
  }
  if (file === null || !file.startsWith(HUMAN_DIR + path.sep)) {
    throw new Error(`refused to fetch ${url}: the face service reads only its model files`);
  }
  return new Response(await fs.promises.readFile(file));
}
globalThis.fetch = localFetch;

function humanConfig() {
  const off = { enabled: false };
  return {
    backend: 'wasm',
    wasmPath: WASM_DIR,
    modelBasePath: pathToFileURL(HUMAN_DIR).href + '/',
    debug: false,
    warmup: 'none',
    /* Every picture is new: no result is reused from a "previous frame". */
    cacheSensitivity: 0,
    skipAllowed: false,
    face: {
      enabled: true,
      /* A low floor: the service applies the model's own threshold below. */
      detector: { rotation: true, maxDetected: MAX_FACES, minConfidence: 0.2, return: false, skipFrames: 0, skipTime: 0 },
      mesh: { enabled: true },
      iris: off,
      description: { enabled: true, skipFrames: 0, skipTime: 0 },
      emotion: off,
      antispoof: off,
      liveness: off,
    },
    body: off, hand: off, object: off, gesture: off, segmentation: off, filter: off,
  };
}

/* Each model: its identity, how it loads, and detect(tensor), which returns the
 * faces in the tensor's pixel coordinates as {box: [x, y, w, h], score,
 * embedding}. minConfidence is the detector score a face needs to be reported
 * at all; confident the score that puts it ahead of larger, unsure boxes. */
const MODELS = {
  face: {
    network: 'human-faceres',
    version: '3.3.6',
    dimension: 1024,
    /* BlazeFace box scores, measured: a false face on rocket.jpg 0.51 and on
     * a dog 0.60; real faces 0.65 and up but for a few half-hidden ones. */
    minConfidence: 0.62,
    confident: 0.62,
    human: null,
    async load(backend) {
      this.human = new Human({ ...humanConfig(), backend });
      await this.human.load();
      if (this.human.tf.engine() !== tf.engine()) throw new Error('human uses another TensorFlow.js engine');
      this.label = `human ${this.human.version}`;
    },
    async detect(tensor) {
      const r = await this.human.detect(tensor);
      if (r.error) throw new Error(`human: ${r.error}`);
      return r.face.filter((f) => f.embedding && f.embedding.length === this.dimension)
        .map((f) => ({ box: f.box, score: f.boxScore, embedding: f.embedding }));
    },
  },
  'face-api': {
    network: 'face-api-resnet34',
    version: '1.7.15',
    dimension: 128,
    minConfidence: 0.5,                 /* ssdMobilenetv1 default */
    /* ssdMobilenetv1 sometimes reports a big low-score box on a torso or
     * helmet beside a small, sure face, and the sure face is the subject. */
    confident: 0.8,
    async load() {
      await faceapi.nets.ssdMobilenetv1.loadFromDisk(FACEAPI_DIR);
      await faceapi.nets.faceLandmark68Net.loadFromDisk(FACEAPI_DIR);
      await faceapi.nets.faceRecognitionNet.loadFromDisk(FACEAPI_DIR);
      this.label = `face-api ${faceapi.version}`;
    },
    async detect(tensor) {
      const options = new faceapi.SsdMobilenetv1Options({ minConfidence: this.minConfidence, maxResults: MAX_FACES });
      const results = await faceapi.detectAllFaces(tensor, options).withFaceLandmarks().withFaceDescriptors();
      return results.map((r) => {
        const b = r.detection.box;
        return { box: [b.x, b.y, b.width, b.height], score: r.detection.score, embedding: r.descriptor };
      });
    },
  },
};
const DEFAULT_MODEL = 'face';

async function loadModels(backend) {
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
  const times = [];
  for (const [name, m] of Object.entries(MODELS)) {
    const t0 = process.hrtime.bigint();
    await m.load(tf.getBackend());
    const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
    /* Warm up once so the first real request does not pay for kernel setup. */
    const t1 = process.hrtime.bigint();
    const warm = tf.zeros([64, 64, 3], 'int32');
    try { await m.detect(warm); } finally { warm.dispose(); }
    const warmMs = Number(process.hrtime.bigint() - t1) / 1e6;
    times.push(`${name} (${m.label}, ${m.dimension}-d) loaded in ${loadMs.toFixed(0)} ms, warm-up ${warmMs.toFixed(0)} ms`);
  }
  let simd = '';
  if (tf.getBackend() === 'wasm') {
    try {
      simd = ` simd=${await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')}` +
        ` threads=${await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')}`;
    } catch (e) { /* flags are informational only */ }
  }
  log(`tfjs ${tf.version_core} backend=${tf.getBackend()}${simd}; ${times.join('; ')}`);
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

/* The picture for one detection pass: `input` padded onto a grey canvas `pad`
 * times its size, then upscaled so that its shorter side is at least MIN_SIDE.
 * Returns { tensor, scale, offX, offY, padded, upscaled }, where a point p of
 * `input` is at p * scale + off in `tensor`. The tensor is the caller's. */
function prepare(input, pad) {
  const [h, w] = input.shape;
  const offY0 = pad ? Math.round(((pad - 1) * h) / 2) : 0;
  const offX0 = pad ? Math.round(((pad - 1) * w) / 2) : 0;
  const ph = h + 2 * offY0;
  const pw = w + 2 * offX0;
  const scale = Math.min(ph, pw) < MIN_SIDE ? MIN_SIDE / Math.min(ph, pw) : 1;
  const tensor = tf.tidy(() => {
    let t = input;
    if (pad) t = tf.pad(t, [[offY0, offY0], [offX0, offX0], [0, 0]], PAD_GREY);
    if (scale !== 1) {
      const size = [Math.round(ph * scale), Math.round(pw * scale)];
      t = tf.cast(tf.clipByValue(tf.round(tf.image.resizeBilinear(t, size)), 0, 255), 'int32');
    }
    return t === input ? tf.clone(t) : t;
  });
  return { tensor, scale, offX: offX0 * scale, offY: offY0 * scale, padded: Boolean(pad), upscaled: scale !== 1 };
}

/* The faces of one pass that the model is sure enough of, with boxes in the
 * coordinates of the image as sent (clamped to it). */
async function detectPass(model, input, pad, geometry) {
  const p = prepare(input, pad);
  let found;
  try {
    found = await model.detect(p.tensor);
  } finally {
    p.tensor.dispose();
  }
  const { sx, sy, width, height } = geometry;
  const faces = [];
  for (const f of found) {
    if (!(f.score >= model.minConfidence)) continue;
    const [bx, by, bw, bh] = f.box;
    const x0 = Math.min(width, Math.max(0, ((bx - p.offX) / p.scale) * sx));
    const y0 = Math.min(height, Math.max(0, ((by - p.offY) / p.scale) * sy));
    const x1 = Math.min(width, Math.max(0, ((bx + bw - p.offX) / p.scale) * sx));
    const y1 = Math.min(height, Math.max(0, ((by + bh - p.offY) / p.scale) * sy));
    if (x1 - x0 < 1 || y1 - y0 < 1) continue;
    faces.push({ x: x0, y: y0, width: x1 - x0, height: y1 - y0, score: f.score, embedding: f.embedding });
  }
  const prepared = [p.padded && 'padded', p.upscaled && 'upscaled'].filter(Boolean).join('+') || 'none';
  return { faces, prepared };
}

function identity(name) {
  const m = MODELS[name];
  return { model: name, network: m.network, version: m.version, dimension: m.dimension };
}

async function embed(name, buf) {
  const model = MODELS[name];
  const { tensor: input, width, height } = decodeImage(buf);
  const geometry = { sx: width / input.shape[1], sy: height / input.shape[0], width, height };
  let pass;
  try {
    pass = await detectPass(model, input, 0, geometry);
    if (pass.faces.length === 0) pass = await detectPass(model, input, PAD, geometry);
  } finally {
    input.dispose();
  }
  if (pass.faces.length === 0) {
    const { network, version } = model;
    throw new HttpError(422, 'no face', { faces: [], model: name, network, version });
  }
  /* Every confident face, largest first; the first is the chosen one. When
   * none is confident, every face found counts. */
  const confident = pass.faces.filter((f) => f.score >= model.confident);
  const faces = (confident.length > 0 ? confident : pass.faces)
    .sort((a, b) => b.width * b.height - a.width * a.height)
    .map((f) => ({
      box: { x: round(f.x, 2), y: round(f.y, 2), width: round(f.width, 2), height: round(f.height, 2) },
      score: round(f.score, 6),
      /* float32 values: 9 significant digits round-trip exactly */
      embedding: Array.from(f.embedding, (v) => Number(v.toPrecision(9))),
    }));
  return {
    ...identity(name),
    embedding: faces[0].embedding,
    box: faces[0].box,
    score: faces[0].score,
    faces,
    prepared: pass.prepared,
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
    send(res, 200, {
      ok: true, model: DEFAULT_MODEL, dimension: MODELS[DEFAULT_MODEL].dimension,
      models: Object.keys(MODELS).map(identity),
    });
    return;
  }
  const m = /^\/embed(?:\/([^/]*))?$/.exec(url);
  if (!m) { send(res, 404, { error: 'not found' }); return; }
  let name = DEFAULT_MODEL;
  if (m[1] !== undefined) {
    try { name = decodeURIComponent(m[1]); } catch (e) { name = m[1]; }
  }
  if (!Object.prototype.hasOwnProperty.call(MODELS, name)) {
    send(res, 404, { error: `unknown model ${name}` });
    return;
  }
  if (req.method !== 'POST') {
    send(res, 405, { error: 'method not allowed' }, { Allow: 'POST' });
    return;
  }
  const body = await readBody(req, res);
  if (body === null) return;
  const t0 = process.hrtime.bigint();
  try {
    const result = await serialized(() => embed(name, imageBytes(req, body)));
    send(res, 200, result);
    log(`embed ${name} ${body.length} B: ${result.faces.length} face(s), prepared ${result.prepared}, ` +
      `${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(0)} ms`);
  } catch (e) {
    if (e instanceof HttpError) {
      send(res, e.status, { error: e.message, ...e.extra });
    } else {
      log(`embed ${name} failed: ${e.stack || e}`);
      send(res, 500, { error: `internal error: ${e.message || e}` });
    }
  }
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

/* Run as a program it serves; required (by the tests) it only exports. */
if (require.main === module) {
  main().catch((e) => {
    log(`cannot start: ${e.stack || e}`);
    process.exit(70);
  });
}

module.exports = { localFetch, MODELS, HUMAN_DIR };
