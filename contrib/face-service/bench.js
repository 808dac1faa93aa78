#!/usr/bin/env node
'use strict';
/*
 * Measures the service: start-up (models loaded, port open), time per /embed
 * request for one image, and the server's memory (Linux /proc).
 *
 *   node bench.js [IMAGE] [--runs N] [--backend wasm|cpu]
 *
 * IMAGE defaults to troupe's tests/data/photos/astronaut.jpg (384x384).
 */

const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');

const args = process.argv.slice(2);
let image = path.resolve(__dirname, '..', '..', 'tests', 'data', 'photos', 'astronaut.jpg');
let runs = 20;
let backend = 'wasm';
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--runs') runs = Number(args[++i]);
  else if (args[i] === '--backend') backend = args[++i];
  else image = args[i];
}

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

  const body = fs.readFileSync(image);
  const times = [];
  let last;
  for (let i = 0; i < runs; i++) {
    const s = performance.now();
    const res = await fetch(`${base}/embed`, { method: 'POST', headers: { 'Content-Type': 'image/jpeg' }, body });
    last = await res.json();
    times.push(performance.now() - s);
    if (res.status !== 200) { console.log(`  status ${res.status}: ${JSON.stringify(last)}`); break; }
  }
  const first = times[0];
  const rest = times.slice(1).sort((a, b) => a - b);
  const median = rest[Math.floor(rest.length / 2)] || first;
  const mean = rest.reduce((a, b) => a + b, 0) / (rest.length || 1);
  console.log(`  ${path.basename(image)} (${body.length} B), ${runs} requests: first ${first.toFixed(0)} ms, ` +
    `then median ${median.toFixed(0)} ms, mean ${mean.toFixed(0)} ms, min ${rest[0].toFixed(0)} ms, ` +
    `max ${rest[rest.length - 1].toFixed(0)} ms; faces ${last.faces}`);
  console.log(`  after requests: ${memory(child.pid)}`);
  child.kill('SIGTERM');
})().catch((e) => { console.error(e); process.exit(1); });
