// End-to-end test of the Selecta browser demo (www/).
//
// Serves the repository root on 127.0.0.1 (a random free port), opens /www/index.html in Debian's
// chromium through playwright-core with a persistent profile (so IndexedDB survives a reload),
// analyses three fixture files, marks one liked and one disliked, reloads, and checks that the
// rows, their BPM cells and their labels are still there; then cancels a long file while its
// embedding runs and checks that nothing of it was stored. Saves a full-page screenshot to
// $SELECTA_ARTIFACT_DIR/www-e2e.png (default: www/e2e/artifacts/).
//
// Usage: cd www/e2e && npm install && node run.mjs

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM, TestFailure, check, launch, makeLog, runTest, startServer, tearDown } from './support.mjs';
import { cutWav, wav } from '../../tests/support/wav.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const ARTIFACTS = path.resolve(process.env.SELECTA_ARTIFACT_DIR || path.join(HERE, 'artifacts'));
const FIXTURES = ['groove.wav', 'groove.flac', 'groove.mp3'].map((f) => path.join(REPO, 'tests', 'fixtures', 'audio', f));
const NO_MODEL_TIP = 'Not enough samples: mark what you like and dislike';
const EXPECTED_BPM = 124; // the fixtures are synthesised at 124 BPM

const READY_TIMEOUT = 120_000;
const ANALYSIS_TIMEOUT = 180_000;
const ACTION_TIMEOUT = 30_000;
const WATCHDOG = 10 * 60_000;

const t0 = Date.now();
const log = makeLog('e2e', t0);

// ---- page helpers ----------------------------------------------------------------------------

async function waitReady(page, what) {
  log(`waiting for the page to be ready (${what})`);
  await page.waitForSelector('body[data-ready="true"], body[data-error]', { state: 'attached', timeout: READY_TIMEOUT });
  const err = await page.evaluate(() => document.body.dataset.error || null);
  if (err) {
    const status = await page.textContent('#status');
    throw new TestFailure(`the page reported a startup error (${err}): ${status}`);
  }
  const engine = await page.evaluate(() => {
    const el = document.querySelector('#engine');
    return { state: el.dataset.state, text: el.textContent, title: el.title };
  });
  log(`ready; engine: ${engine.text}${engine.state !== 'ok' ? ` (${engine.title})` : ''}`);
  // The page serves the bundled model: the embedding must be on, not degraded.
  check(engine.state === 'ok' && /^musicnn-msd-\d+$/.test(engine.text),
    `the engine is ${engine.state} (${engine.text}: ${engine.title}), expected the bundled model`);
}

async function readRows(page) {
  return page.$$eval('#track-table tbody tr[data-song-id]', (rows) => rows.map((r) => ({
    songId: r.dataset.songId,
    path: r.dataset.path,
    label: r.dataset.label,
    bpm: r.querySelector('[data-testid="bpm"]')?.textContent.trim() ?? null,
    title: r.querySelector('.c-title')?.textContent.trim() ?? null,
    key: [...(r.querySelector('.c-key')?.children || [])].map((c) => c.textContent.trim()).filter(Boolean).join(' ') || null,
    score: r.querySelector('[data-testid="score"]')?.textContent.trim() ?? null,
    scoreTip: r.querySelector('[data-testid="score"] [title]')?.getAttribute('title') ?? null,
  })));
}

function printRows(rows) {
  for (const r of rows) {
    log(`  ${r.path.padEnd(12)} "${r.title}"  song ${r.songId.slice(0, 16)}…  bpm ${r.bpm || '-'}  key ${r.key || '-'}  label ${r.label}  score ${r.score}`);
  }
}

const rowSel = (p) => `#track-table tbody tr[data-path="${p.replace(/["\\]/g, '\\$&')}"]`;

async function waitLabels(page, expected) {
  // expected: Map songId -> label; every row of that song must show it.
  await page.waitForFunction((exp) => {
    const rows = [...document.querySelectorAll('#track-table tbody tr[data-song-id]')];
    return rows.every((r) => (exp[r.dataset.songId] || 'neutral') === r.dataset.label);
  }, Object.fromEntries(expected), { timeout: ACTION_TIMEOUT });
}

// ---- the test --------------------------------------------------------------------------------

async function run() {
  for (const f of FIXTURES) check(fs.existsSync(f), `missing fixture ${path.relative(REPO, f)}`);
  check(fs.existsSync(path.join(REPO, 'pkg', 'selecta_wasm.js')) && fs.existsSync(path.join(REPO, 'pkg', 'selecta_wasm_bg.wasm')),
    'pkg/selecta_wasm.js or pkg/selecta_wasm_bg.wasm is missing: build it first with scripts/build_pkg.sh');
  check(fs.existsSync(CHROMIUM), `chromium not found at ${CHROMIUM} (Debian: apt-get install chromium)`);
  await fsp.mkdir(ARTIFACTS, { recursive: true });

  const server = await startServer(REPO);
  const base = `http://127.0.0.1:${server.address().port}`;
  log(`serving the repository root at ${base}`);
  const profile = await fsp.mkdtemp(path.join(os.tmpdir(), 'selecta-e2e-'));

  const problems = []; // uncaught page errors: fatal at the end
  let context;
  let page;
  try {
    context = await launch(profile, { viewport: { width: 1440, height: 900 }, acceptDownloads: true });
    page = context.pages()[0] || (await context.newPage());
    page.on('console', (msg) => {
      const type = msg.type();
      if (type !== 'error' && type !== 'warning') return;
      const from = msg.worker() ? 'worker' : 'page';
      log(`${from} console.${type}: ${msg.text()}`);
    });
    page.on('pageerror', (err) => {
      log(`page error: ${err.stack || err.message}`);
      problems.push(`uncaught page error: ${err.message}`);
    });
    page.on('worker', (w) => log(`worker started: ${new URL(w.url()).pathname}`));
    page.on('requestfailed', (r) => log(`request failed: ${r.url()} (${r.failure()?.errorText})`));
    page.on('response', (r) => { if (r.status() >= 400) log(`HTTP ${r.status()}: ${r.url()}`); });
    page.on('crash', () => problems.push('the page crashed'));

    // 1. Open the empty library.
    await page.goto(`${base}/www/index.html`);
    await waitReady(page, 'first load');
    const initial = await readRows(page);
    check(initial.length === 0, `expected an empty library in a fresh profile, found ${initial.length} rows`);

    // 2. Analyse the three fixtures.
    log(`adding ${FIXTURES.length} files: ${FIXTURES.map((f) => path.basename(f)).join(', ')}`);
    await page.setInputFiles('#file-input', FIXTURES);
    await page.waitForFunction((n) => document.querySelectorAll('#track-table tbody tr[data-song-id]').length >= n,
      FIXTURES.length, { timeout: ANALYSIS_TIMEOUT, polling: 250 });
    await page.waitForSelector('#progress[data-state="idle"]', { state: 'attached', timeout: ANALYSIS_TIMEOUT });
    const progress = await page.$eval('#progress', (el) => ({ ...el.dataset, text: el.textContent.replace(/\s+/g, ' ').trim() }));
    log(`analysis finished: ${progress.text}`);
    check(progress.failed === '0', `analysis reported ${progress.failed} failed file(s): ${progress.text}`);

    const before = await readRows(page);
    log('rows after analysis:');
    printRows(before);
    check(before.length === FIXTURES.length, `expected ${FIXTURES.length} rows, got ${before.length}`);
    const paths = before.map((r) => r.path).sort();
    check(JSON.stringify(paths) === JSON.stringify(FIXTURES.map((f) => path.basename(f)).sort()),
      `row paths ${JSON.stringify(paths)} do not match the fixture names`);
    for (const r of before) {
      check(r.songId, `row ${r.path} has no data-song-id`);
      check(r.label === 'neutral', `row ${r.path} starts with label ${r.label}, expected neutral`);
      const bpm = Number.parseFloat(r.bpm);
      check(Number.isFinite(bpm), `row ${r.path} has no BPM (cell: "${r.bpm}")`);
      check(/^\d+\.\d$/.test(r.bpm), `BPM cell of ${r.path} is "${r.bpm}", expected one decimal`);
      check(Math.abs(bpm - EXPECTED_BPM) <= 1.5, `BPM of ${r.path} is ${r.bpm}, expected about ${EXPECTED_BPM}`);
      check(r.score === '*' && r.scoreTip === NO_MODEL_TIP,
        `score cell of ${r.path} is "${r.score}" (title "${r.scoreTip}"), expected "*" with the no-model tooltip`);
    }
    const distinct = new Set(before.map((r) => r.songId)).size;
    log(`${distinct} distinct song id(s) among ${before.length} rows`);

    // 3. Like one row, dislike another (of a different song when there is one).
    const likeRow = before[0];
    const dislikeRow = before.find((r) => r.songId !== likeRow.songId) || before[1];
    const expected = new Map();
    log(`like ${likeRow.path}`);
    await page.click(`${rowSel(likeRow.path)} [data-action="like"]`);
    expected.set(likeRow.songId, 'liked');
    await waitLabels(page, expected);
    log(`dislike ${dislikeRow.path}`);
    await page.click(`${rowSel(dislikeRow.path)} [data-action="dislike"]`);
    expected.set(dislikeRow.songId, 'disliked');
    await waitLabels(page, expected);
    const status = await page.$eval('#status', (el) => ({ liked: el.dataset.liked, disliked: el.dataset.disliked, text: el.textContent }));
    log(`status: ${status.text}`);
    const wantLiked = [...expected.values()].filter((l) => l === 'liked').length;
    const wantDisliked = [...expected.values()].filter((l) => l === 'disliked').length;
    check(status.liked === String(wantLiked) && status.disliked === String(wantDisliked),
      `status shows ${status.liked} liked / ${status.disliked} disliked, expected ${wantLiked} / ${wantDisliked}`);
    // The threshold and key compatibility come from the engine (libraryRules, compatibleKeys),
    // not from the page: the status must show the engine's threshold, and the wheel must
    // filter 8A tracks by the Camelot rule (7A is a neighbour, 10A is not, 8B is the relative).
    check(/≥ 20 liked, 4× as many disliked/.test(status.text), `status lacks the engine's training threshold: ${status.text}`);
    for (const [key, want] of [['7A', before.length], ['8B', before.length], ['10A', 0]]) {
      await page.click(`#wheel g[data-key="${key}"]`);
      const shown = (await readRows(page)).length;
      check(shown === want, `key filter ${key}: ${shown} rows shown, expected ${want}`);
      log(`key filter ${key}: ${shown} rows`);
      await page.click(`#wheel g[data-key="${key}"]`);
    }
    check((await readRows(page)).length === before.length, 'the key filter was not cleared');
    // Similar tracks (the engine's exact search): the other distinct song of the fixtures, with
    // its score parts; never the query itself.
    const mp3 = before.find((r) => r.path === 'groove.mp3');
    await page.click(`${rowSel(mp3.path)} [data-action="similar"]`);
    await page.waitForFunction(() => document.querySelector('#similar-list li[data-song-id]'), null, { timeout: 30000 });
    const similar = await page.$$eval('#similar-list li[data-song-id]', (lis) => lis.map((li) => ({ id: li.dataset.songId, text: li.textContent })));
    log(`similar to groove.mp3: ${JSON.stringify(similar)}`);
    const others = new Set(before.map((r) => r.songId).filter((id) => id !== mp3.songId));
    check(similar.length === others.size && similar.every((s) => others.has(s.id)),
      `similar lists ${similar.length} tracks, expected the ${others.size} other song(s)`);
    check(similar.every((s) => /embedding -?\d/.test(s.text)), 'similar results lack their score parts');
    // Identify a snippet: 5 s cut from 3 s into groove.wav, dropped on the identify panel. The
    // fixtures are one recording in three files, so any of them is the right answer, at ≈3 s.
    const snippet = path.join(profile, 'snippet from the groove.wav');
    await fsp.writeFile(snippet, cutWav(await fsp.readFile(FIXTURES[0]), 3, 5));
    await page.setInputFiles('#snippet-input', [snippet]);
    await page.waitForFunction(() => document.querySelector('#identify-result b[data-song-id], #identify-result .muted:not(:empty)')
      && !/listening/.test(document.querySelector('#identify-result').textContent), null, { timeout: 60000 });
    const identified = await page.$eval('#identify-result', (el) => ({
      id: el.querySelector('b[data-song-id]')?.dataset.songId, text: el.textContent,
    }));
    log(`identified: ${JSON.stringify(identified)}`);
    check(before.some((r) => r.songId === identified.id), `the snippet was not identified as a fixture: ${identified.text}`);
    check(/from 0:03/.test(identified.text), `the snippet's offset is not 0:03: ${identified.text}`);
    const alike = await page.$$eval('#identify-similar li[data-song-id]', (lis) => lis.map((li) => li.dataset.songId));
    check(alike.length > 0 && !alike.includes(identified.id), `similar-to-snippet list: ${JSON.stringify(alike)}`);
    // Next track (the engine's ranking): after groove.mp3 the other distinct song is the only
    // mixable candidate, with its score parts; "played" moves the session on and leaves both out;
    // undo brings the mp3 back as the playing track; a planned set draws the arc.
    await page.click(`${rowSel(mp3.path)} [data-action="next"]`);
    // Done when the list holds suggestions or says why it holds none.
    await page.waitForFunction(() => {
      const list = document.querySelector('#next-list');
      return !/ranking/.test(list.textContent) && list.querySelector('li') !== null;
    }, null, { timeout: 30000 });
    const nextItems = await page.$$eval('#next-list li[data-song-id]', (lis) => lis.map((li) => ({ id: li.dataset.songId, text: li.textContent })));
    log(`next after groove.mp3: ${JSON.stringify(nextItems)}`);
    check(nextItems.length === others.size && nextItems.every((s) => others.has(s.id)),
      `next lists ${nextItems.length} tracks, expected the ${others.size} other song(s)`);
    check(nextItems.every((s) => /similarity -?\d/.test(s.text) && /mixability \d/.test(s.text)), 'next results lack their score parts');
    await page.click('#next-list li[data-song-id] button.played');
    await page.waitForFunction(() => /2 played/.test(document.querySelector('#next-session').textContent), null, { timeout: 30000 });
    const sessions = await page.$$eval('#next-session-name option', (os) => os.map((o) => ({ name: o.value, selected: o.selected })));
    check(sessions.some((o) => o.name === 'page' && o.selected), `the session list does not hold the page's session: ${JSON.stringify(sessions)}`);
    await page.waitForFunction(() => !/ranking/.test(document.querySelector('#next-list').textContent), null, { timeout: 30000 });
    const afterPlayed = await page.$$eval('#next-list li[data-song-id]', (lis) => lis.map((li) => li.dataset.songId));
    check(afterPlayed.length === 0, `played tracks came back as suggestions: ${JSON.stringify(afterPlayed)}`);
    await page.click('#undo-played');
    await page.waitForFunction(() => /1 played/.test(document.querySelector('#next-session').textContent), null, { timeout: 30000 });
    await page.click('#plan-set');
    await page.waitForFunction(() => !/planning/.test(document.querySelector('#plan-list').textContent), null, { timeout: 30000 });
    const planned = await page.$$eval('#plan-list li[data-song-id]', (lis) => lis.map((li) => li.dataset.songId));
    const chart = await page.$eval('#plan-chart', (el) => ({ hidden: el.hidden, path: el.querySelector('[data-testid="plan-measured"]')?.getAttribute('d') || '' }));
    log(`planned set: ${JSON.stringify(planned)}`);
    check(planned.length === 1 + others.size && new Set(planned).size === planned.length, `planned set ${JSON.stringify(planned)}`);
    check(!chart.hidden && chart.path.startsWith('M'), 'the set plan draws no energy curve');
    // rekordbox XML: the page asks for the folder, downloads the collection with every track
    // and the session as a playlist.
    page.once('dialog', (d) => d.accept('/Users/dj/Music'));
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 30000 }), page.click('#export-rekordbox')]);
    const xml = await fsp.readFile(await download.path(), 'utf8');
    const rows = await readRows(page);
    const entries = Number(/<COLLECTION Entries="(\d+)"/.exec(xml)?.[1]);
    log(`rekordbox export: ${download.suggestedFilename()}, ${entries} tracks`);
    check(download.suggestedFilename() === 'selecta-rekordbox.xml', `download named ${download.suggestedFilename()}`);
    check(entries === rows.length, `the rekordbox XML holds ${entries} tracks, the page ${rows.length}`);
    check(xml.includes('Location="file://localhost/Users/dj/Music/') && xml.includes('Name="Session page"'),
      'the rekordbox XML lacks the folder or the session playlist');
    const labelled = await readRows(page);
    log('rows after labelling:');
    printRows(labelled);

    // 4. Reload: everything must come back from IndexedDB.
    log('reloading');
    await page.reload();
    await waitReady(page, 'after reload');
    const after = await readRows(page);
    log('rows after reload:');
    printRows(after);
    check(after.length === labelled.length, `after reload: ${after.length} rows, expected ${labelled.length}`);
    const byPath = new Map(after.map((r) => [r.path, r]));
    for (const r of labelled) {
      const a = byPath.get(r.path);
      check(a, `after reload: row ${r.path} is missing`);
      check(a.songId === r.songId, `after reload: ${r.path} has song id ${a.songId}, was ${r.songId}`);
      check(a.bpm === r.bpm, `after reload: ${r.path} has BPM "${a.bpm}", was "${r.bpm}"`);
      check(a.label === r.label, `after reload: ${r.path} is ${a.label}, was ${r.label}`);
      check(a.label === (expected.get(a.songId) || 'neutral'), `after reload: ${r.path} is ${a.label}, expected ${expected.get(a.songId) || 'neutral'}`);
    }

    // 5. Screenshot.
    const shot = path.join(ARTIFACTS, 'www-e2e.png');
    await page.screenshot({ path: shot, fullPage: true });
    log(`screenshot: ${path.relative(process.cwd(), shot) || shot}`);

    // 6. Cancel part-way: a two-minute file is stopped while its embedding runs, and nothing
    // of it is stored (the worker sees the cancel because the analysis yields between steps).
    const long = path.join(profile, 'long-take.wav');
    await fsp.writeFile(long, wav(220, 120, 7, 120));
    await page.setInputFiles('#file-input', [long]);
    await page.waitForFunction(() => /^embed \d+%/.test(document.querySelector('#progress .progress-phase')?.textContent || ''),
      null, { timeout: ANALYSIS_TIMEOUT, polling: 50 });
    const phaseAtCancel = await page.textContent('#progress .progress-phase');
    const clicked = Date.now();
    await page.click('#cancel');
    await page.waitForSelector('#progress[data-state="idle"]', { state: 'attached', timeout: ACTION_TIMEOUT });
    const stopMs = Date.now() - clicked;
    const cancelled = await page.textContent('#progress .progress-file');
    log(`cancelled at "${phaseAtCancel.trim()}"; idle ${stopMs} ms after the click: ${cancelled.trim()}`);
    check(/cancelled/i.test(cancelled), `progress after cancel says "${cancelled}"`);
    check(stopMs < 5000, `the analysis took ${stopMs} ms to stop after Cancel`);
    const afterCancel = await readRows(page);
    check(afterCancel.length === labelled.length && !afterCancel.some((r) => r.path === 'long-take.wav'),
      `after cancel: ${afterCancel.length} rows (${afterCancel.map((r) => r.path).join(', ')})`);
    await page.reload();
    await waitReady(page, 'after the cancelled analysis');
    const stored = await readRows(page);
    check(stored.length === labelled.length, `after cancel and reload: ${stored.length} rows, expected ${labelled.length}`);

    check(problems.length === 0, problems.join('; '));
  } catch (e) {
    if (page) {
      const shot = path.join(ARTIFACTS, 'www-e2e-failure.png');
      await page.screenshot({ path: shot, fullPage: true }).then(() => log(`failure screenshot: ${shot}`), () => {});
    }
    throw e;
  } finally {
    await tearDown(context, server, profile);
  }
}

runTest('E2E', run, WATCHDOG, log);
