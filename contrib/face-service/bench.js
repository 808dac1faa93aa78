#!/usr/bin/env node
'use strict';
/*
 * Measures the service: start-up (both models loaded, port open), time per
 * /embed/MODEL request for each model and each image, and the server's memory
 * (Linux /proc).
 *
 *   node bench.js [IMAGE...] [--runs N] [--backend wasm|cpu]
 *
 * IMAGE defaults to troupe's tests/data/photos/astronaut.jpg (384x384).
 */

const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');

const args = process.argv.slice(2);
const images = [];
let runs = 20;
let backend = 'wasm';
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--runs') runs = Number(args[++i]);
  else if (args[i] === '--backend') backend = args[++i];
  else images.push(args[i]);
}
if (images.length === 0) images.push(path.resolve(__dirname, '..', '..', 'tests', 'data', 'photos', 'astronaut.jpg'));
const MODELS = ['face', 'face-api'];

function memory(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number((new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s) || [0, 0])[1]);
    return `RSS ${(kb('VmRSS') / 1024).toFixed(0)} MiB, peak ${(kb('VmHWM') / 1024).toFixed(0)} MiB`;
  } catch (e) {
    return 'memory: n/a';
  }
}

(async () => {
  const t0 = performance.now();
  const child = spawn(process.execPath, [path.join(__dirname, 'server.js'), '--port', '0', '--backend', backend],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const base = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${err}`)));
  });
  const ready = performance.now() - t0;
  console.log(`backend ${backend}: ready (process start to "listening") in ${ready.toFixed(0)} ms`);
  console.log(`  server says: ${err.trim().split('\n').pop()}`);
  console.log(`  idle after load: ${memory(child.pid)}`);

  for (const image of images) {
    const body = fs.readFileSync(image);
    for (const model of MODELS) {
      const times = [];
      let last;
      let status;
      for (let i = 0; i < runs; i++) {
        const s = performance.now();
        const res = await fetch(`${base}/embed/${model}`, { method: 'POST', body });
        last = await res.json();
        status = res.status;
        times.push(performance.now() - s);
        if (status !== 200 && status !== 422) { console.log(`  status ${status}: ${JSON.stringify(last)}`); break; }
      }
      const first = times[0];
      const rest = times.slice(1).sort((a, b) => a - b);
      if (rest.length === 0) rest.push(first);
      const median = rest[Math.floor(rest.length / 2)];
      const mean = rest.reduce((a, b) => a + b, 0) / rest.length;
      const found = status === 200 ? `${last.faces.length} face(s), prepared ${last.prepared}` : 'no face';
      console.log(`  ${model}: ${path.basename(image)} (${body.length} B), ${times.length} requests: ` +
        `first ${first.toFixed(0)} ms, then median ${median.toFixed(0)} ms, mean ${mean.toFixed(0)} ms, ` +
        `min ${rest[0].toFixed(0)} ms, max ${rest[rest.length - 1].toFixed(0)} ms; ${found}`);
    }
  }
  console.log(`  after requests: ${memory(child.pid)}`);
  child.kill('SIGTERM');
})().catch((e) => { console.error(e); process.exit(1); });
