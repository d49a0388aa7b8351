// End-to-end test of the wasm library's IndexedDB store in Chromium (playwright-core, Debian's
// chromium, a persistent profile): a labelled, trained library survives closing and relaunching
// the browser — songs, labels, the model and its score cache — and retraining purges the old
// revision's cache; a second tab opens the same library; an IndexedDB write refused part-way
// leaves nothing on disk and memory as it was (the call rejects with `db_error`); an abort that
// arrives while the analysis is being written is too late and the song is kept.
//
// Usage: cd www/e2e && npm install && node store.mjs

import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { wav } from '../../tests/support/wav.mjs';
import { check, launch, makeLog, runTest, startServer, tearDown } from './support.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const NAME = 'store-test';
const TRACKS = 110;
const LIKED = 21;
const DISLIKED = 84;
const WATCHDOG = 8 * 60_000;
const log = makeLog('store', Date.now());

/** Open the library `name` in `page` (wasm, IndexedDB) as `window.lib`. */
async function openIn(page, base) {
  await page.goto(`${base}/www/e2e/blank.html`);
  await page.evaluate(async (name) => {
    const { openLibrary } = await import('/pkg/index.js');
    const { backend, library } = await openLibrary(name, { backend: 'wasm', profile: 'fast' });
    if (backend !== 'wasm') throw new Error(`backend ${backend}`);
    window.lib = library;
  }, NAME);
}

/** The keys of the library's IndexedDB object store, read directly. */
function idbKeys(page) {
  return page.evaluate((name) => new Promise((resolve, reject) => {
    const open = indexedDB.open(`selecta:${name}`);
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const req = db.transaction('kv').objectStore('kv').getAllKeys();
      req.onsuccess = () => { db.close(); resolve(req.result.map(String)); };
      req.onerror = () => reject(req.error);
    };
  }), NAME);
}

/** What a reload must show again: songs, labels, the scores and their model revision. */
function state(page, ids) {
  return page.evaluate(async (ids) => {
    const songs = (await window.lib.listSongs()).map((s) => `${s.path}=${s.songId}`).sort();
    const labels = await window.lib.getSelectionLabelSnapshot();
    const scores = await window.lib.predictSelectionCandidates(ids, 0);
    return { songs, labels, scores };
  }, ids);
}

const cacheOf = (keys, revision) => keys.filter((k) => k.startsWith(`cache:${String(revision).padStart(20, '0')}:`));

async function run() {
  const server = await startServer(REPO);
  const base = `http://127.0.0.1:${server.address().port}`;
  const profile = await fsp.mkdtemp(path.join(os.tmpdir(), 'selecta-store-'));
  let context;
  try {
    // 1. A library of 110 tracks, 21 liked and 84 disliked, trained twice.
    context = await launch(profile);
    const page = context.pages()[0] || (await context.newPage());
    page.on('pageerror', (e) => log(`page error: ${e.message}`));
    await openIn(page, base);
    const audio = Array.from({ length: TRACKS }, (_, i) =>
      (i < 22 ? wav(880 + 7 * i, 170, i + 1, 2) : wav(110 + 3 * i, 70 + (i % 20), i + 1, 2)).toString('base64'));
    log(`analysing ${TRACKS} tracks`);
    const ids = await page.evaluate(async ({ audio, LIKED, DISLIKED }) => {
      const ids = [];
      for (const [i, b64] of audio.entries()) {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        ids.push((await window.lib.analyzeFile(bytes, `gen/t${String(i).padStart(3, '0')}.wav`, {})).songId);
      }
      await window.lib.setSelectionLabels(ids.slice(0, LIKED), 'liked');
      await window.lib.setSelectionLabels(ids.slice(22, 22 + DISLIKED), 'disliked');
      return ids;
    }, { audio, LIKED, DISLIKED });
    const train = () => page.evaluate(async ({ ids, LIKED, DISLIKED }) => {
      const t = await window.lib.trainSelectionGbdt(ids.slice(0, LIKED), ids.slice(22, 22 + DISLIKED), {});
      await window.lib.predictSelectionCandidates(ids, 0); // fills the score cache
      return t.modelRevision;
    }, { ids, LIKED, DISLIKED });
    check(await train() === 1, 'first training is not revision 1');
    check(cacheOf(await idbKeys(page), 1).length === TRACKS, 'revision 1 cached no scores');
    check(await train() === 2, 'second training is not revision 2');
    let keys = await idbKeys(page);
    check(cacheOf(keys, 1).length === 0, `revision 1's cache was not purged: ${cacheOf(keys, 1).length} keys left`);
    check(cacheOf(keys, 2).length === TRACKS, `revision 2 cached ${cacheOf(keys, 2).length} scores`);
    check(keys.includes('model:bin') && keys.includes('model:manifest'), 'the model is not stored');
    const before = await state(page, ids);
    check(before.songs.length === TRACKS && before.scores.status === 'ok' && before.scores.modelRevision === 2,
      `before the restart: ${before.songs.length} songs, scores ${before.scores.status} r${before.scores.modelRevision}`);

    // 2. Close the browser and start a new one on the same profile.
    await context.close();
    log('relaunching chromium on the same profile');
    context = await launch(profile);
    const first = context.pages()[0] || (await context.newPage());
    await openIn(first, base);
    keys = await idbKeys(first);
    log(`${keys.length} IndexedDB keys read back`);
    check(cacheOf(keys, 2).length === TRACKS, `after the restart the cache holds ${cacheOf(keys, 2).length} scores`);
    const after = await state(first, ids);
    check(JSON.stringify(after) === JSON.stringify(before), 'after the restart the library differs');

    // 3. A second tab opens the same library and sees the same.
    const second = await context.newPage();
    await openIn(second, base);
    check(JSON.stringify(await state(second, ids)) === JSON.stringify(before), 'the second tab sees another library');
    await second.close();

    // 4. IndexedDB refuses the second request of a write: the call rejects with db_error, the
    // first request does not commit alone, and memory shows the library as it was.
    const failed = await first.evaluate(async ({ ids }) => {
      const put = IDBObjectStore.prototype.put;
      let calls = 0;
      IDBObjectStore.prototype.put = function (...args) {
        calls += 1;
        if (calls === 2) throw new DOMException('injected failure', 'QuotaExceededError');
        return put.apply(this, args);
      };
      try {
        await window.lib.setSelectionLabels(ids.slice(100, 110), 'liked');
        return { code: 'none' };
      } catch (e) {
        return { code: e.code, message: e.message, calls };
      } finally {
        IDBObjectStore.prototype.put = put;
      }
    }, { ids });
    check(failed.code === 'db_error' && /injected failure/.test(failed.message),
      `the refused write answered ${JSON.stringify(failed)}`);
    check(JSON.stringify(await state(first, ids)) === JSON.stringify(before), 'memory kept the refused change');
    await first.reload();
    await openIn(first, base);
    check(JSON.stringify(await state(first, ids)) === JSON.stringify(before), 'the disk kept part of the refused change');
    // An abort that fires while the analysis is being written (inside IndexedDB's put) is too
    // late: the write completes, the call answers `analyzed`, and a reload shows the song.
    const late = wav(440, 128, 4242, 2).toString('base64');
    const persisted = await first.evaluate(async (b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const controller = new AbortController();
      const put = IDBObjectStore.prototype.put;
      IDBObjectStore.prototype.put = function (...args) {
        controller.abort();
        return put.apply(this, args);
      };
      try {
        return (await window.lib.analyzeFile(bytes, 'late/abort.wav', { signal: controller.signal })).status;
      } catch (e) {
        return e.code;
      } finally {
        IDBObjectStore.prototype.put = put;
      }
    }, late);
    check(persisted === 'analyzed', `an abort during the write answered ${persisted}`);
    await first.reload();
    await openIn(first, base);
    const songs = await first.evaluate(async () => (await window.lib.listSongs()).map((s) => s.path));
    check(songs.includes('late/abort.wav') && songs.length === TRACKS + 1, `after the late abort: ${songs.length} songs`);
    // The library still takes writes once IndexedDB does.
    const ok = await first.evaluate(async (ids) => (await window.lib.setSelectionLabels(ids.slice(100, 102), 'liked')).changed, ids);
    check(ok === 2, `after the failure a write changed ${ok} labels`);
    log(`${TRACKS} tracks, revisions 1 → 2 purged, restart, second tab and a refused write: all as expected`);
  } finally {
    await tearDown(context, server, profile);
  }
}

runTest('STORE E2E', run, WATCHDOG, log);
