'use strict';
/*
 * End-to-end test of server.js: starts it on a free port on 127.0.0.1 and sends
 * it the photos in troupe's tests/data/photos. Run with `npm test`.
 * The re-encoded / resized / cropped / brightened variants are made with the
 * `vips` CLI (libvips-tools); those cases are skipped when it is missing.
 */

const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const jpeg = require('jpeg-js');
const { PNG } = require('pngjs');

const SERVER = path.join(__dirname, '..', 'server.js');
const PHOTOS = process.env.TROUPE_TEST_PHOTOS ||
  path.resolve(__dirname, '..', '..', '..', 'tests', 'data', 'photos');
const photo = (name) => path.join(PHOTOS, name);

const SAME = 0.4;        /* same photo, re-encoded or re-framed */
const DIFFERENT = 0.6;   /* face-api's usual same-person threshold */

let child;
let base;
let tmp;
let stdout = '';
let stderr = '';

function hasVips() {
  try { execFileSync('vips', ['--version'], { stdio: 'ignore' }); return true; } catch (e) { return false; }
}
const VIPS = hasVips();

function distance(a, b) {
  assert.equal(a.length, b.length);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

async function post(body, type) {
  const headers = type ? { 'Content-Type': type } : {};
  const res = await fetch(`${base}/embed`, { method: 'POST', headers, body });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch (e) { json = { raw: text }; }
  return { status: res.status, json };
}

async function embedFile(file) {
  const type = file.endsWith('.png') ? 'image/png' : 'image/jpeg';
  const r = await post(fs.readFileSync(file), type);
  assert.equal(r.status, 200, `${path.basename(file)}: ${JSON.stringify(r.json)}`);
  return r.json;
}

test.before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'face-service-test-'));
  const portFile = path.join(tmp, 'port');
  child = spawn(process.execPath, [SERVER, '--port', '0', '--port-file', portFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PORT: '' },
  });
  child.stderr.on('data', (d) => { stderr += d; });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${stderr}`)), 60000);
    child.stdout.on('data', (d) => {
      stdout += d;
      if (stdout.includes('\n')) { clearTimeout(timer); resolve(); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}:\n${stderr}`)); });
  });
  const m = /^listening on (http:\/\/127\.0\.0\.1:(\d+))\n$/.exec(stdout);
  assert.ok(m, `unexpected stdout: ${JSON.stringify(stdout)}`);
  base = m[1];
  assert.equal(fs.readFileSync(portFile, 'utf8').trim(), m[2]);
});

test.after(() => {
  if (child && child.exitCode === null) child.kill('SIGTERM');
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('GET /health', async () => {
  const res = await fetch(`${base}/health`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { ok: true, model: 'face', dimension: 128 });
});

test('unknown path and wrong method', async () => {
  assert.equal((await fetch(`${base}/nope`)).status, 404);
  assert.equal((await fetch(`${base}/embed`)).status, 405);
});

test('astronaut.jpg: one face, 128 floats, box inside the image', async () => {
  const r = await embedFile(photo('astronaut.jpg'));
  assert.equal(r.model, 'face');
  assert.equal(r.dimension, 128);
  assert.equal(r.faces, 1);
  assert.equal(r.embedding.length, 128);
  assert.ok(r.embedding.every((v) => typeof v === 'number' && Number.isFinite(v)));
  assert.ok(r.score > 0.5 && r.score <= 1, `score ${r.score}`);
  const { x, y, width, height } = r.box;
  assert.ok(x >= 0 && y >= 0 && width > 20 && height > 20 && x + width <= 385 && y + height <= 385,
    JSON.stringify(r.box));
});

test('JSON body: base64 and data URI give the same embedding as raw bytes', async () => {
  const bytes = fs.readFileSync(photo('astronaut.jpg'));
  const raw = await embedFile(photo('astronaut.jpg'));
  const b64 = await post(JSON.stringify({ image: bytes.toString('base64') }), 'application/json');
  assert.equal(b64.status, 200);
  assert.equal(distance(raw.embedding, b64.json.embedding), 0);
  const uri = await post(JSON.stringify({ image: `data:image/jpeg;base64,${bytes.toString('base64')}` }),
    'application/json');
  assert.equal(uri.status, 200);
  assert.equal(distance(raw.embedding, uri.json.embedding), 0);
});

test('PNG input, and a JPEG with EXIF orientation 8 (stored rotated)', async () => {
  const ref = await embedFile(photo('astronaut.jpg'));
  const img = jpeg.decode(fs.readFileSync(photo('astronaut.jpg')), { useTArray: true });
  const { width: w, height: h } = img;

  const png = new PNG({ width: w, height: h });
  png.data = Buffer.from(img.data);
  const pngFile = path.join(tmp, 'astronaut.png');
  fs.writeFileSync(pngFile, PNG.sync.write(png));
  const p = await embedFile(pngFile);
  assert.ok(distance(ref.embedding, p.embedding) < SAME);

  /* Pixels stored rotated 90 degrees clockwise; orientation 8 says "rotate back". */
  const rot = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const nx = h - 1 - y;
      const ny = x;
      for (let c = 0; c < 4; c++) rot[(ny * h + nx) * 4 + c] = img.data[(y * w + x) * 4 + c];
    }
  }
  const enc = jpeg.encode({ data: rot, width: h, height: w }, 90).data;
  const tiff = Buffer.from([0x4d, 0x4d, 0, 42, 0, 0, 0, 8, 0, 1,
    0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 8, 0, 0, 0, 0, 0, 0]);
  const app1 = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const seg = Buffer.concat([Buffer.from([0xff, 0xe1, (app1.length + 2) >> 8, (app1.length + 2) & 0xff]), app1]);
  const exifFile = path.join(tmp, 'rotated-exif8.jpg');
  fs.writeFileSync(exifFile, Buffer.concat([enc.subarray(0, 2), seg, enc.subarray(2)]));
  const e = await embedFile(exifFile);
  assert.equal(e.faces, 1);
  assert.ok(distance(ref.embedding, e.embedding) < SAME, `distance ${distance(ref.embedding, e.embedding)}`);
});

test('same photo re-encoded, resized, cropped, brightened: distance under 0.4',
  { skip: VIPS ? false : 'vips CLI not installed' }, async (t) => {
    const src = photo('astronaut.jpg');
    const ref = await embedFile(src);
    const variants = {
      'quality 40': ['copy', src, 'q40.jpg[Q=40]'],
      'resized to 60%': ['resize', src, 'r60.jpg', '0.6'],
      cropped: ['crop', src, 'crop.jpg', '20', '10', '340', '360'],
      brightened: ['linear', src, 'bright.jpg', '1.2', '10'],
    };
    for (const [name, args] of Object.entries(variants)) {
      await t.test(name, async () => {
        const out = path.join(tmp, args[2]);
        execFileSync('vips', [args[0], args[1], out, ...args.slice(3)]);
        const r = await embedFile(out.replace(/\[.*\]$/, ''));
        const d = distance(ref.embedding, r.embedding);
        t.diagnostic(`${name}: distance ${d.toFixed(3)}`);
        assert.equal(r.faces, 1);
        assert.ok(d < SAME, `${name}: distance ${d}`);
      });
    }
  });

test('a different person: distance over 0.6', async (t) => {
  const a = await embedFile(photo('astronaut.jpg'));
  const c = await embedFile(photo('camera.jpg'));
  const d = distance(a.embedding, c.embedding);
  t.diagnostic(`astronaut vs camera: distance ${d.toFixed(3)}`);
  assert.ok(d > DIFFERENT, `distance ${d}`);
});

test('no face: 422', async () => {
  for (const name of ['coffee.jpg', 'rocket.jpg']) {
    const r = await post(fs.readFileSync(photo(name)), 'image/jpeg');
    assert.equal(r.status, 422, name);
    assert.deepEqual(r.json, { error: 'no face', faces: 0 });
  }
});

test('undecodable input: 400', async () => {
  const cases = [
    [Buffer.from('this is not an image'), 'image/jpeg'],
    [Buffer.alloc(0), 'image/png'],
    [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]), 'image/png'],
    [Buffer.from('{"image": "***"}'), 'application/json'],
    [Buffer.from('{"picture": "abc"}'), 'application/json'],
    [Buffer.from('{not json'), 'application/json'],
    [Buffer.from(JSON.stringify({ image: Buffer.from('GIF89a....').toString('base64') })), 'application/json'],
  ];
  for (const [body, type] of cases) {
    const r = await post(body, type);
    assert.equal(r.status, 400, `${type} ${body.subarray(0, 20)}: ${JSON.stringify(r.json)}`);
    assert.equal(typeof r.json.error, 'string');
  }
});

test('body over 20 MB: 413', async () => {
  const r = await post(Buffer.alloc(20 * 1024 * 1024 + 1, 0xff), 'image/jpeg');
  assert.equal(r.status, 413);
});

test('the server printed exactly one line to stdout', () => {
  assert.match(stdout, /^listening on http:\/\/127\.0\.0\.1:\d+\n$/);
});
