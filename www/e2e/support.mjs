// Helpers shared by the browser end-to-end tests (run.mjs: the demo page; store.mjs: the
// IndexedDB store across browser restarts, tabs and failures): a static server on 127.0.0.1,
// Debian's chromium through playwright-core with a persistent profile, and failure reporting.
import http from 'node:http';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.SELECTA_CHROMIUM || '/usr/bin/chromium';

/** A logger that prefixes each line with `name` and the seconds since `t0`. */
export function makeLog(name, t0) {
  return (...a) => console.log(`[${name} ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s]`, ...a);
}

export class TestFailure extends Error {}

export function check(cond, msg) {
  if (!cond) throw new TestFailure(msg);
}

/**
 * Run `test` to its end and exit: 0 when it passed, 1 when it failed or ran past `watchdogMs`
 * (printed as "`name` PASSED" / "`name` FAILED: why").
 */
export function runTest(name, test, watchdogMs, log) {
  const watchdog = setTimeout(() => {
    console.error(`${name} FAILED: the test did not finish within ${watchdogMs / 60000} minutes`);
    process.exit(1);
  }, watchdogMs);
  watchdog.unref();
  test().then(() => {
    log(`${name} PASSED`);
    process.exit(0);
  }, (e) => {
    console.error(`${name} FAILED: ${e instanceof TestFailure ? e.message : e.stack || e}`);
    process.exit(1);
  });
}

/** Close the browser, stop the server and remove the profile folder, whatever state they are in. */
export async function tearDown(context, server, profile) {
  if (context) await context.close().catch(() => {});
  server.closeAllConnections?.();
  await new Promise((resolve) => server.close(resolve));
  await fsp.rm(profile, { recursive: true, force: true }).catch(() => {});
}

/** Headless chromium with the profile folder `profile` (IndexedDB lives there). */
export function launch(profile, options = {}) {
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    ...options,
  });
}

// ---- static server ---------------------------------------------------------------------------

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
};

export function startServer(root) {
  const server = http.createServer(async (req, res) => {
    const send = (code, text) => {
      res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(text);
    };
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed');
      const url = new URL(req.url, 'http://localhost');
      let rel = decodeURIComponent(url.pathname);
      if (rel.endsWith('/')) rel += 'index.html';
      const file = path.resolve(root, `.${rel}`);
      if (file !== root && !file.startsWith(root + path.sep)) return send(403, 'forbidden');
      const st = await fsp.stat(file).catch(() => null);
      if (!st || !st.isFile()) return send(404, 'not found');
      res.writeHead(200, {
        'Content-Type': TYPES[path.extname(file).toLowerCase()] || 'application/octet-stream',
        'Content-Length': st.size,
        'Cache-Control': 'no-store',
      });
      if (req.method === 'HEAD') return res.end();
      fs.createReadStream(file).on('error', () => res.destroy()).pipe(res);
    } catch (e) {
      send(500, String(e));
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

