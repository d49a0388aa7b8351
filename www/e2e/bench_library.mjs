// Benchmark, not a test: a large library in the wasm module inside Chromium, kept in IndexedDB
// as a page keeps it. One page imports a library bundle into a persistent library and searches
// it (which builds the approximate similar-track index and keeps it); a second page load opens
// the library from IndexedDB and searches again. Prints each step's time and the module's
// linear memory (it only grows, so it is the peak so far).
//
// Usage: cd www/e2e && npm install && node bench_library.mjs BUNDLE_DIR
//   BUNDLE_DIR: a folder under the repository (e.g. a link target/wlib to the OUT_DIR of
//   `node scripts/bench_wasm_library.mjs prepare LIBRARY_DIR OUT_DIR`) holding library.bundle
//   and ids.json.

import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, makeLog, runTest, startServer, tearDown } from './support.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const NAME = 'bench-library';
const log = makeLog('bench', Date.now());

/** Load the module in `page` as `window.selecta` (with its exports, for the memory). */
async function load(page, base) {
  await page.goto(`${base}/www/e2e/blank.html`);
  await page.evaluate(async () => {
    const mod = await import('/pkg/selecta_wasm.js');
    const exports = await mod.default();
    window.selecta = { mod, exports };
  });
}

/** Run `body` in the page and log its time and the module's memory. */
async function step(page, what, body, arg) {
  const r = await page.evaluate(async ({ body, arg }) => {
    const f = new Function('arg', `return (async () => { ${body} })()`);
    const t = performance.now();
    const result = await f(arg);
    const ms = performance.now() - t;
    return { ms, result, mib: window.selecta.exports.memory.buffer.byteLength / 1048576 };
  }, { body, arg });
  log(`${what.padEnd(44)} ${(r.ms / 1000).toFixed(2).padStart(7)} s  wasm memory ${r.mib.toFixed(0).padStart(5)} MiB`);
  return r.result;
}

async function run() {
  const dir = path.resolve(process.argv[2] ?? '');
  const rel = path.relative(REPO, dir);
  if (!process.argv[2] || rel.startsWith('..')) throw new Error('usage: node bench_library.mjs BUNDLE_DIR (under the repository)');
  const ids = JSON.parse(await fsp.readFile(path.join(dir, 'ids.json'), 'utf8'));
  const server = await startServer(REPO);
  const base = `http://127.0.0.1:${server.address().port}`;
  const profile = await fsp.mkdtemp(path.join(os.tmpdir(), 'selecta-bench-'));
  let context;
  try {
    context = await launch(profile);
    const page = context.pages()[0] || (await context.newPage());
    page.on('pageerror', (e) => log(`page error: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') log(`page: ${m.text()}`); });
    await load(page, base);
    await step(page, 'open an empty library', `
      await window.selecta.mod.Library.deleteLibrary(arg);
      window.lib = await window.selecta.mod.Library.open(arg, {});`, NAME);
    const summary = await step(page, 'fetch and import the bundle (IndexedDB)', `
      const bytes = new Uint8Array(await (await fetch(arg)).arrayBuffer());
      return await window.lib.importLibrary(bytes);`, `/${rel}/library.bundle`);
    log(`  ${JSON.stringify(summary)}`);
    await step(page, 'similarTracks k=10 (indexes built, kept)', `
      return (await window.lib.similarTracks(arg, { k: 10 })).items.length;`, ids[0]);
    await step(page, 'similarTracks k=10 again', `
      return (await window.lib.similarTracks(arg, { k: 10 })).items.length;`, ids[1]);

    log('page load');
    await load(page, base);
    await step(page, 'open the library from IndexedDB', `
      window.lib = await window.selecta.mod.Library.open(arg, {});`, NAME);
    const approximate = await step(page, 'similarTracks k=10 (index read back)', `
      return (await window.lib.similarTracks(arg, { k: 10 })).approximate;`, ids[0]);
    log(`  approximate: ${approximate}`);
    await step(page, 'similarTracks k=10 again', `
      return (await window.lib.similarTracks(arg, { k: 10 })).items.length;`, ids[1]);
    await step(page, 'nextTracks k=10', `
      return (await window.lib.nextTracks(arg, { k: 10 })).items?.length;`, ids[0]);
  } finally {
    await tearDown(context, server, profile);
  }
}

runTest('bench_library', run, 60 * 60_000, log);
