// Selecta demo page (main thread). All engine work runs in worker.js; this file only renders.

const NO_MODEL_TIP = 'Not enough samples: mark what you like and dislike';
// The engine's rules (training threshold, audio extensions, key compatibility), filled from the
// worker's 'ready' message: the page never re-codes them.
const rules = { minPositives: 0, negativesPerPositive: 0, audioExtensions: new Set(), compatibleKeys: {} };

const $ = (sel, root = document) => root.querySelector(sel);

// ---------------------------------------------------------------------------------------------
// Worker RPC

const worker = new Worker('./worker.js', { type: 'module' });
let nextId = 1;
const pending = new Map(); // id -> { resolve, reject, onProgress }
let onWorkerReady = null;
const workerReady = new Promise((resolve, reject) => { onWorkerReady = { resolve, reject }; });

function call(op, args, { onProgress, transfer } = {}) {
  const id = nextId++;
  const promise = new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject, onProgress });
  });
  worker.postMessage({ id, op, args }, transfer || []);
  promise.id = id;
  return promise;
}

function cancel(id) {
  if (id != null) worker.postMessage({ op: 'cancel', target: id });
}

function engineError(err) {
  const e = new Error((err && err.message) || 'engine error');
  e.code = (err && err.code) || 'internal_error';
  return e;
}

worker.onmessage = (ev) => {
  const msg = ev.data || {};
  switch (msg.type) {
    case 'ready':
      rules.minPositives = msg.rules.minPositives;
      rules.negativesPerPositive = msg.rules.negativesPerPositive;
      rules.audioExtensions = new Set(msg.rules.audioExtensions);
      rules.compatibleKeys = msg.compatibleKeys;
      onWorkerReady.resolve(msg);
      break;
    case 'fatal':
      onWorkerReady.reject(engineError(msg.error));
      break;
    case 'log':
      (msg.level === 'error' ? console.error : console.warn)(`[worker] ${msg.message}`);
      break;
    case 'progress': {
      const p = pending.get(msg.id);
      if (p && p.onProgress) p.onProgress(msg.progress);
      break;
    }
    case 'result':
    case 'error': {
      const p = pending.get(msg.id);
      if (!p) break;
      pending.delete(msg.id);
      if (msg.type === 'result') p.resolve(msg.result);
      else p.reject(engineError(msg.error));
      break;
    }
    default:
      break;
  }
};

worker.onerror = (ev) => {
  const text = ev.message || 'the engine worker failed to load';
  console.error(`[worker] ${text}${ev.filename ? ` (${ev.filename}:${ev.lineno})` : ''}`);
  onWorkerReady.reject(Object.assign(new Error(text), { code: 'runtime_unavailable' }));
};
worker.onmessageerror = () => console.error('[worker] a message could not be deserialised');

// ---------------------------------------------------------------------------------------------
// State

const state = {
  tracks: new Map(),      // path -> { path, songId, features }
  labels: new Map(),      // songId -> 'liked' | 'disliked'
  likedCount: 0,
  dislikedCount: 0,
  predictions: null,      // { status, modelRevision, scores: Map songId -> score, error }
  sort: { key: 'title', dir: 1 },
  filter: '',
  keyFilter: null,        // Camelot code, e.g. "8A"
  selected: new Set(),    // paths
  anchor: null,           // last clicked path (for shift-selection)
  training: null,         // request promise while training
};

// ---------------------------------------------------------------------------------------------
// Formatting helpers

function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  }[c]));
}

const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
const baseName = (p) => String(p || '').split(/[\\/]/).pop();

function fileTitle(path) {
  return baseName(path).replace(/\.[^.]+$/, '');
}

function fmtTime(sec) {
  if (!isNum(sec)) return '';
  const s = Math.round(sec);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function camelotParts(code) {
  const m = /^(\d{1,2})([AB])$/i.exec(String(code || '').trim());
  if (!m) return null;
  const n = Number(m[1]);
  if (n < 1 || n > 12) return null;
  return { n, letter: m[2].toUpperCase() };
}

function camelotHue(n) {
  return Math.round(((n - 1) * 30 + 160) % 360);
}

function compatibleKeys(code) {
  return new Set(rules.compatibleKeys[String(code || '').trim().toUpperCase()] || []);
}

function labelOf(songId) {
  return state.labels.get(songId) || 'neutral';
}

function trackTitle(t) {
  const m = t.features?.metadata;
  return (m && m.title) || fileTitle(t.path);
}

function trackArtist(t) {
  return t.features?.metadata?.artist || '';
}

function scoreOf(songId) {
  const p = state.predictions;
  if (!p || p.status !== 'ok') return null;
  const s = p.scores.get(songId);
  return isNum(s) ? s : null;
}

// ---------------------------------------------------------------------------------------------
// Messages and status

let messageTimer = null;
function message(text, kind = 'info', sticky = false) {
  const el = $('#message');
  el.textContent = text;
  el.dataset.kind = kind;
  clearTimeout(messageTimer);
  if (!sticky) messageTimer = setTimeout(() => { el.textContent = ''; }, 8000);
}

function describeError(e) {
  const code = e && e.code ? e.code : 'error';
  const text = {
    unsupported_format: 'unsupported format',
    empty_file: 'empty file',
    too_large: 'file too large',
    invalid_input: 'invalid input',
    db_error: 'storage error',
    runtime_unavailable: 'engine unavailable',
    cancelled: 'cancelled',
  }[code];
  const detail = e && e.message && e.message !== code ? e.message : '';
  return text ? (detail ? `${text} (${detail})` : text) : (detail || code);
}

function renderStatus() {
  const el = $('#status');
  const L = state.likedCount;
  const D = state.dislikedCount;
  const needL = Math.max(0, rules.minPositives - L);
  const needD = Math.max(0, rules.negativesPerPositive * Math.max(L, rules.minPositives) - D);
  const p = state.predictions;
  const parts = [];
  parts.push(`<b>${state.tracks.size}</b> track${state.tracks.size === 1 ? '' : 's'}`);
  parts.push(`<span class="st-liked"><b>${L}</b> liked</span>`);
  parts.push(`<span class="st-disliked"><b>${D}</b> disliked</span>`);
  if (!rules.minPositives) {
    // The engine has not answered yet: say nothing about training.
  } else if (needL || needD) {
    const need = [];
    if (needL) need.push(`${needL} more liked`);
    if (needD) need.push(`${needD} more disliked`);
    parts.push(`<span class="st-need">to train: ${need.join(', ')} (≥ ${rules.minPositives} liked, ${rules.negativesPerPositive}× as many disliked)</span>`);
  } else {
    parts.push('<span class="st-ok">enough samples to train</span>');
  }
  if (p && p.modelRevision != null && p.status === 'ok') {
    parts.push(`<span class="st-model">model rev <b>${esc(p.modelRevision)}</b></span>`);
  } else if (p && p.status === 'failed') {
    parts.push(`<span class="st-bad" title="${esc(p.error || '')}">prediction failed</span>`);
  } else {
    parts.push('<span class="muted">no trained model</span>');
  }
  el.innerHTML = parts.join('<span class="dotsep">·</span>');
  el.dataset.liked = String(L);
  el.dataset.disliked = String(D);
  el.dataset.modelRevision = p && p.modelRevision != null ? String(p.modelRevision) : '';
  $('#train').classList.toggle('not-ready', Boolean(needL || needD));
}

// ---------------------------------------------------------------------------------------------
// Track table

const SORTERS = {
  label: (t) => ({ liked: 0, neutral: 1, disliked: 2 }[labelOf(t.songId)]),
  title: (t) => trackTitle(t).toLowerCase(),
  artist: (t) => trackArtist(t).toLowerCase() || null,
  bpm: (t) => (isNum(t.features?.bpm) ? t.features.bpm : null),
  key: (t) => {
    const c = camelotParts(t.features?.camelot);
    return c ? c.n * 2 + (c.letter === 'B' ? 1 : 0) : null;
  },
  lufs: (t) => (isNum(t.features?.loudnessLufs) ? t.features.loudnessLufs : null),
  time: (t) => (isNum(t.features?.durationSec) ? t.features.durationSec : null),
  tags: (t) => t.features?.topTags?.[0]?.name?.toLowerCase() ?? null,
  score: (t) => scoreOf(t.songId),
  path: (t) => t.path.toLowerCase(),
};

function visibleTracks() {
  const q = state.filter.trim().toLowerCase();
  const keys = state.keyFilter ? compatibleKeys(state.keyFilter) : null;
  let list = [...state.tracks.values()];
  if (q) {
    list = list.filter((t) => {
      const f = t.features || {};
      const m = f.metadata || {};
      const hay = [trackTitle(t), m.artist, m.album, m.genre, t.path, f.key, f.camelot,
        ...(f.topTags || []).map((x) => x.name)].join(' ').toLowerCase();
      return hay.includes(q);
    });
  }
  if (keys) list = list.filter((t) => keys.has(String(t.features?.camelot || '').toUpperCase()));
  const get = SORTERS[state.sort.key] || SORTERS.title;
  const dir = state.sort.dir;
  const tieTitle = SORTERS.title;
  list.sort((a, b) => {
    const va = get(a);
    const vb = get(b);
    if (va == null && vb != null) return 1; // missing values last, whatever the direction
    if (vb == null && va != null) return -1;
    if (va != null && vb != null && va !== vb) return (va < vb ? -1 : 1) * dir;
    const ta = tieTitle(a);
    const tb = tieTitle(b);
    if (ta !== tb) return ta < tb ? -1 : 1;
    return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
  });
  return list;
}

function scoreCell(t) {
  const p = state.predictions;
  if (!p || p.status === 'not_trained' || p.status === 'insufficient_samples') {
    return `<td class="c-num c-score" data-testid="score"><span class="no-score" title="${esc(NO_MODEL_TIP)}">*</span></td>`;
  }
  if (p.status === 'failed') {
    return `<td class="c-num c-score" data-testid="score"><span class="no-score bad" title="${esc(`Prediction failed: ${p.error || 'unknown error'}`)}">!</span></td>`;
  }
  if (p.status === 'pending') {
    return '<td class="c-num c-score" data-testid="score"><span class="muted">…</span></td>';
  }
  const s = scoreOf(t.songId);
  if (s == null) {
    return '<td class="c-num c-score" data-testid="score"><span class="muted" title="No prediction for this track yet">–</span></td>';
  }
  const v = Math.max(0, Math.min(100, Math.round(s)));
  return `<td class="c-num c-score" data-testid="score" data-score="${v}">`
    + `<span class="score" style="--s:${v}"><span class="score-bar"></span><span class="score-num">${v}</span></span></td>`;
}

function rowHtml(t) {
  const f = t.features || {};
  const label = labelOf(t.songId);
  const bpm = isNum(f.bpm) ? f.bpm.toFixed(1) : '';
  const alternatives = Array.isArray(f.bpmAlternatives) ? f.bpmAlternatives.filter((a) => isNum(a.bpm)) : [];
  const bpmTip = isNum(f.bpmConfidence)
    ? ` title="${esc(`confidence ${f.bpmConfidence.toFixed(2)}${alternatives.map((a) => ` · or ${a.bpm.toFixed(1)} (${a.confidence.toFixed(2)})`).join('')}`)}"`
    : '';
  const damaged = f.damage
    ? ` <span class="damaged" title="${esc(`damaged file: ${f.damage.skippedSec.toFixed(1)} s could not be decoded, from ${f.damage.firstAtSec.toFixed(1)} s`)}">⚠</span>`
    : '';
  const cam = camelotParts(f.camelot);
  const keyCell = f.key || cam
    ? `${cam ? `<span class="camelot" style="--h:${camelotHue(cam.n)}" data-camelot="${esc(f.camelot)}">${esc(f.camelot)}</span>` : ''}<span class="keyname">${esc(f.key || '')}</span>`
    : '';
  const lufs = isNum(f.loudnessLufs) ? f.loudnessLufs.toFixed(1) : '';
  const tags = Array.isArray(f.topTags) && f.topTags.length
    ? f.topTags.slice(0, 3).map((x) => `<span class="tag" title="${esc(`${x.name}: ${isNum(x.p) ? x.p.toFixed(2) : '?'}`)}">${esc(x.name)}</span>`).join('')
    : '';
  const title = trackTitle(t);
  const m = f.metadata || {};
  const titleTip = [m.album, m.genre, m.year].filter((x) => x != null && x !== '').join(' · ');
  const sel = state.selected.has(t.path) ? ' selected' : '';
  const pressed = (l) => (label === l ? 'true' : 'false');
  return `<tr data-song-id="${esc(t.songId)}" data-path="${esc(t.path)}" data-label="${label}" class="row-${label}${sel}">`
    + '<td class="c-label"><span class="marks">'
    + `<button type="button" class="mark like" data-action="like" aria-pressed="${pressed('liked')}" title="Like">▲</button>`
    + `<button type="button" class="mark dislike" data-action="dislike" aria-pressed="${pressed('disliked')}" title="Dislike">▼</button>`
    + `<button type="button" class="mark clear" data-action="clear" aria-pressed="${pressed('neutral')}" title="Clear mark">○</button>`
    + '<button type="button" class="mark similar" data-action="similar" title="Similar tracks">≈</button>'
    + '<button type="button" class="mark next" data-action="next" title="What to play next">▶</button>'
    + '</span></td>'
    + `<td class="c-title" title="${esc(titleTip || title)}">${esc(title)}${damaged}</td>`
    + `<td class="c-artist">${esc(trackArtist(t))}</td>`
    + `<td class="c-num c-bpm" data-testid="bpm"${bpmTip}>${bpm}</td>`
    + `<td class="c-key">${keyCell}</td>`
    + `<td class="c-num c-lufs">${lufs}</td>`
    + `<td class="c-num c-time">${fmtTime(f.durationSec)}</td>`
    + `<td class="c-tags">${tags}</td>`
    + scoreCell(t)
    + `<td class="c-file" title="${esc(t.path)}"><bdi>${esc(t.path)}</bdi></td>`
    + '</tr>';
}

function renderTable() {
  const list = visibleTracks();
  const tbody = $('#track-table tbody');
  tbody.innerHTML = list.map(rowHtml).join('');
  for (const th of document.querySelectorAll('#track-table th[data-sort]')) {
    const active = th.dataset.sort === state.sort.key;
    th.setAttribute('aria-sort', active ? (state.sort.dir > 0 ? 'ascending' : 'descending') : 'none');
  }
  $('#empty').hidden = state.tracks.size > 0;
  const n = state.tracks.size;
  $('#track-count').textContent = list.length === n ? `${n} track${n === 1 ? '' : 's'}` : `${list.length} of ${n}`;
  const kf = $('#key-filter');
  if (state.keyFilter) {
    kf.hidden = false;
    kf.innerHTML = `Key ${esc(state.keyFilter)} + compatible <button type="button" title="Clear key filter">✕</button>`;
  } else {
    kf.hidden = true;
  }
}

let renderQueued = false;
function render() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    renderNow();
  });
}

function renderNow() {
  renderTable();
  renderStatus();
  drawScatter();
  drawWheel();
}

// ---------------------------------------------------------------------------------------------
// Scatter plot: BPM x loudness

const scatter = { points: [], hover: null };

function plotColors() {
  const cs = getComputedStyle(document.body);
  const v = (n) => cs.getPropertyValue(n).trim();
  return {
    grid: v('--grid'), axis: v('--muted'), liked: v('--liked'), disliked: v('--disliked'),
    neutral: v('--neutral'), hot: v('--accent'), text: v('--text'),
  };
}

function drawScatter() {
  const canvas = $('#scatter');
  const cssW = canvas.clientWidth || 320;
  const cssH = Math.round(cssW * 0.72);
  const dpr = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(cssW * dpr) || canvas.height !== Math.round(cssH * dpr)) {
    canvas.width = Math.round(cssW * dpr);
    canvas.height = Math.round(cssH * dpr);
    canvas.style.height = `${cssH}px`;
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, cssW, cssH);
  const col = plotColors();

  const data = [...state.tracks.values()].filter((t) => isNum(t.features?.bpm) && isNum(t.features?.loudnessLufs));
  let bMin = 60; let bMax = 180; let lMin = -24; let lMax = -4;
  for (const t of data) {
    bMin = Math.min(bMin, t.features.bpm); bMax = Math.max(bMax, t.features.bpm);
    lMin = Math.min(lMin, t.features.loudnessLufs); lMax = Math.max(lMax, t.features.loudnessLufs);
  }
  bMin = Math.floor(bMin / 10) * 10; bMax = Math.ceil(bMax / 10) * 10;
  lMin = Math.floor(lMin / 2) * 2; lMax = Math.ceil(lMax / 2) * 2;
  const pad = { l: 40, r: 14, t: 8, b: 22 };
  const w = cssW - pad.l - pad.r;
  const h = cssH - pad.t - pad.b;
  const x = (b) => pad.l + ((b - bMin) / (bMax - bMin || 1)) * w;
  const y = (l) => pad.t + (1 - (l - lMin) / (lMax - lMin || 1)) * h;

  ctx.font = '10px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';
  ctx.lineWidth = 1;
  ctx.strokeStyle = col.grid;
  ctx.fillStyle = col.axis;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  const bStep = bMax - bMin > 100 ? 20 : 10;
  for (let b = bMin; b <= bMax; b += bStep) {
    ctx.beginPath(); ctx.moveTo(Math.round(x(b)) + 0.5, pad.t); ctx.lineTo(Math.round(x(b)) + 0.5, pad.t + h); ctx.stroke();
    ctx.fillText(String(b), x(b), pad.t + h + 5);
  }
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  const lStep = lMax - lMin > 24 ? 6 : lMax - lMin > 12 ? 4 : 2;
  for (let l = lMin; l <= lMax; l += lStep) {
    ctx.beginPath(); ctx.moveTo(pad.l, Math.round(y(l)) + 0.5); ctx.lineTo(pad.l + w, Math.round(y(l)) + 0.5); ctx.stroke();
    ctx.fillText(String(l), pad.l - 4, y(l));
  }

  // Neutral first, then disliked, then liked on top.
  const order = { neutral: 0, disliked: 1, liked: 2 };
  const pts = data.map((t) => ({ t, label: labelOf(t.songId), px: x(t.features.bpm), py: y(t.features.loudnessLufs) }));
  pts.sort((a, b) => order[a.label] - order[b.label]);
  for (const p of pts) {
    const s = scoreOf(p.t.songId);
    ctx.beginPath();
    ctx.arc(p.px, p.py, p.label === 'neutral' ? 3 : 3.6, 0, Math.PI * 2);
    if (p.label === 'liked') { ctx.fillStyle = col.liked; ctx.globalAlpha = 0.95; }
    else if (p.label === 'disliked') { ctx.fillStyle = col.disliked; ctx.globalAlpha = 0.9; }
    else if (s != null) { ctx.fillStyle = col.hot; ctx.globalAlpha = 0.15 + 0.8 * (s / 100); }
    else { ctx.fillStyle = col.neutral; ctx.globalAlpha = 0.7; }
    ctx.fill();
    if (state.selected.has(p.t.path)) {
      ctx.globalAlpha = 1; ctx.strokeStyle = col.text; ctx.lineWidth = 1.5; ctx.stroke(); ctx.lineWidth = 1;
    }
  }
  ctx.globalAlpha = 1;
  scatter.points = pts;
  const missing = state.tracks.size - data.length;
  ctx.textAlign = 'right'; ctx.textBaseline = 'top'; ctx.fillStyle = col.axis;
  ctx.fillText(`BPM →${missing ? `   (${missing} without tempo/loudness)` : ''}`, pad.l + w, pad.t + 2);
  ctx.save();
  ctx.translate(9, pad.t + h / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textAlign = 'center'; ctx.textBaseline = 'middle';
  ctx.fillText('LUFS', 0, -2);
  ctx.restore();
}

function nearestPoint(ev) {
  const canvas = $('#scatter');
  const r = canvas.getBoundingClientRect();
  const mx = ev.clientX - r.left;
  const my = ev.clientY - r.top;
  let best = null;
  let bestD = 64; // 8 px radius
  for (const p of scatter.points) {
    const d = (p.px - mx) ** 2 + (p.py - my) ** 2;
    if (d < bestD) { bestD = d; best = p; }
  }
  return { best, mx, my };
}

function setupScatter() {
  const canvas = $('#scatter');
  const tip = $('#scatter-tip');
  canvas.addEventListener('mousemove', (ev) => {
    const { best, mx, my } = nearestPoint(ev);
    if (!best) { tip.hidden = true; canvas.style.cursor = ''; return; }
    const f = best.t.features;
    const s = scoreOf(best.t.songId);
    tip.innerHTML = `<b>${esc(trackTitle(best.t))}</b>${trackArtist(best.t) ? ` — ${esc(trackArtist(best.t))}` : ''}<br>`
      + `${f.bpm.toFixed(1)} BPM · ${f.loudnessLufs.toFixed(1)} LUFS${f.camelot ? ` · ${esc(f.camelot)}` : ''}${s != null ? ` · score ${Math.round(s)}` : ''}`;
    tip.hidden = false;
    tip.style.left = `${Math.min(mx + 12, canvas.clientWidth - 180)}px`;
    tip.style.top = `${my + 12}px`;
    canvas.style.cursor = 'pointer';
  });
  canvas.addEventListener('mouseleave', () => { tip.hidden = true; });
  canvas.addEventListener('click', (ev) => {
    const { best } = nearestPoint(ev);
    if (!best) return;
    state.selected = new Set([best.t.path]);
    state.anchor = best.t.path;
    renderNow();
    const row = [...document.querySelectorAll('#track-table tr[data-path]')].find((r) => r.dataset.path === best.t.path);
    if (row) row.scrollIntoView({ block: 'center', behavior: 'smooth' });
  });
  new ResizeObserver(() => drawScatter()).observe(canvas);
}

// ---------------------------------------------------------------------------------------------
// Camelot wheel

const SVG = 'http://www.w3.org/2000/svg';
const CAMELOT_KEYS = {
  '1A': 'A♭ minor', '1B': 'B major', '2A': 'E♭ minor', '2B': 'F♯ major', '3A': 'B♭ minor', '3B': 'D♭ major',
  '4A': 'F minor', '4B': 'A♭ major', '5A': 'C minor', '5B': 'E♭ major', '6A': 'G minor', '6B': 'B♭ major',
  '7A': 'D minor', '7B': 'F major', '8A': 'A minor', '8B': 'C major', '9A': 'E minor', '9B': 'G major',
  '10A': 'B minor', '10B': 'D major', '11A': 'F♯ minor', '11B': 'A major', '12A': 'D♭ minor', '12B': 'E major',
};

function arcPath(r0, r1, a0, a1) {
  const p = (r, a) => `${(r * Math.sin(a)).toFixed(2)} ${(-r * Math.cos(a)).toFixed(2)}`;
  return `M${p(r1, a0)} A${r1} ${r1} 0 0 1 ${p(r1, a1)} L${p(r0, a1)} A${r0} ${r0} 0 0 0 ${p(r0, a0)} Z`;
}

function drawWheel() {
  const svg = $('#wheel');
  const counts = new Map();
  let max = 0;
  for (const t of state.tracks.values()) {
    const c = camelotParts(t.features?.camelot);
    if (!c) continue;
    const k = `${c.n}${c.letter}`;
    const e = counts.get(k) || { n: 0, liked: 0, disliked: 0 };
    e.n += 1;
    const l = labelOf(t.songId);
    if (l === 'liked') e.liked += 1;
    if (l === 'disliked') e.disliked += 1;
    counts.set(k, e);
    max = Math.max(max, e.n);
  }
  const compat = state.keyFilter ? compatibleKeys(state.keyFilter) : null;
  const parts = [];
  const step = (Math.PI * 2) / 12;
  for (let n = 1; n <= 12; n += 1) {
    const a0 = (n - 0.5) * step; // 12 at the top, clockwise like a clock face
    const a1 = a0 + step;
    for (const [letter, r0, r1] of [['B', 66, 100], ['A', 32, 65]]) {
      const k = `${n}${letter}`;
      const e = counts.get(k) || { n: 0, liked: 0, disliked: 0 };
      const fill = e.n ? 0.18 + 0.72 * (e.n / max) : 0.06;
      const am = (a0 + a1) / 2;
      const rm = (r0 + r1) / 2;
      const cls = ['seg', compat && compat.has(k) ? 'compat' : '', state.keyFilter === k ? 'active' : ''].join(' ');
      const tip = `${k} · ${CAMELOT_KEYS[k]} · ${e.n} track${e.n === 1 ? '' : 's'}${e.liked ? ` · ${e.liked} liked` : ''}${e.disliked ? ` · ${e.disliked} disliked` : ''}`;
      parts.push(`<g class="${cls}" data-key="${k}"><title>${esc(tip)}</title>`
        + `<path d="${arcPath(r0, r1, a0, a1)}" style="fill:hsl(${camelotHue(n)} 70% 52% / ${fill.toFixed(2)})"></path>`
        + `<text x="${(rm * Math.sin(am)).toFixed(1)}" y="${(-rm * Math.cos(am) - (e.n ? 3 : 0)).toFixed(1)}">${k}</text>`
        + (e.n ? `<text class="cnt" x="${(rm * Math.sin(am)).toFixed(1)}" y="${(-rm * Math.cos(am) + 7).toFixed(1)}">${e.n}</text>` : '')
        + '</g>');
    }
  }
  const withKey = [...counts.values()].reduce((s, e) => s + e.n, 0);
  parts.push(`<text class="center" x="0" y="-3">${withKey}</text><text class="center sub" x="0" y="9">keyed</text>`);
  svg.innerHTML = parts.join('');
}

function setupWheel() {
  $('#wheel').addEventListener('click', (ev) => {
    const g = ev.target.closest('g[data-key]');
    if (!g) return;
    state.keyFilter = state.keyFilter === g.dataset.key ? null : g.dataset.key;
    renderNow();
  });
  $('#key-filter').addEventListener('click', (ev) => {
    if (ev.target.closest('button')) { state.keyFilter = null; renderNow(); }
  });
}

// ---------------------------------------------------------------------------------------------
// Labels, predictions, training

async function refreshLabels() {
  const snap = await call('snapshot');
  state.labels = new Map();
  for (const id of snap.positiveIds || []) state.labels.set(id, 'liked');
  for (const id of snap.negativeIds || []) state.labels.set(id, 'disliked');
  state.likedCount = (snap.positiveIds || []).length;
  state.dislikedCount = (snap.negativeIds || []).length;
  return snap;
}

async function refreshPredictions() {
  const ids = [...new Set([...state.tracks.values()].map((t) => t.songId))];
  try {
    const r = await call('predict', { ids, topK: 0 });
    const scores = new Map();
    for (const it of r.items || []) scores.set(it.id, it.score);
    state.predictions = { status: r.status, modelRevision: r.modelRevision ?? null, scores, error: r.error || r.errorCode || null };
  } catch (e) {
    state.predictions = { status: 'failed', modelRevision: null, scores: new Map(), error: describeError(e) };
    console.error(`[selecta] prediction failed: ${describeError(e)}`);
  }
  render();
}

let predictTimer = null;
function schedulePredictions() {
  clearTimeout(predictTimer);
  predictTimer = setTimeout(() => { refreshPredictions(); }, 250);
}

// Similar tracks: the engine's exact search; each result shows its score and the parts of it
// (standard deviations closer than a typical pair of the library).
async function showSimilar(songId, path) {
  const panel = $('#similar-panel');
  const list = $('#similar-list');
  panel.hidden = false;
  $('#similar-title').textContent = `Similar to ${path}`;
  list.innerHTML = '<li class="muted">searching…</li>';
  try {
    const r = await call('similar', { songId, k: 10 });
    const part = (name, v) => (isNum(v) ? `${name} ${v.toFixed(2)}` : '');
    list.innerHTML = r.items.length
      ? r.items.map((it) => `<li data-song-id="${esc(it.id)}"><b>${it.score.toFixed(2)}</b> ${esc(it.path || it.id)}`
        + `<span class="muted small"> ${[part('embedding', it.parts.embedding), part('timbre', it.parts.timbre), part('tags', it.parts.tags)].filter(Boolean).join(' · ')}</span></li>`).join('')
      : '<li class="muted">no other analysed track</li>';
  } catch (e) {
    list.innerHTML = `<li class="muted">${esc(describeError(e))}</li>`;
  }
}

// Next track: the engine's suggestions after the selected row (or after the last track marked
// played in the chosen session, kept in the library), with every part of each score; "played"
// adds a suggestion to the session. Sessions started elsewhere (the CLI, an imported library) are
// offered in the session list; choosing one goes on from its last played track. The set plan
// draws the arc against the measured energies.
const DEFAULT_SESSION = 'page';
const nextState = { songId: null, path: '', goal: 'maintain', session: DEFAULT_SESSION };

async function loadSessionNames() {
  const names = await call('sessionNames', {}).catch(() => []);
  const all = [...new Set([DEFAULT_SESSION, ...names, nextState.session])];
  $('#next-session-name').innerHTML = all
    .map((n) => `<option value="${esc(n)}"${n === nextState.session ? ' selected' : ''}>${esc(n)}</option>`).join('');
}

async function chooseSession(name) {
  nextState.session = name;
  const session = await call('sessionShow', { session: name }).catch(() => null);
  if (session && session.current) {
    nextState.songId = session.current;
    nextState.path = session.played[session.played.length - 1].path || session.current;
  }
  if (nextState.songId) await refreshNext();
}

async function showNext(songId, path) {
  nextState.songId = songId;
  nextState.path = path;
  $('#next-panel').hidden = false;
  // The list says it is busy at once, not only after the session names arrive.
  $('#next-list').innerHTML = '<li class="muted">ranking…</li>';
  await loadSessionNames();
  await refreshNext();
}

async function refreshNext() {
  const list = $('#next-list');
  $('#next-title').textContent = `Next after ${nextState.path}`;
  for (const b of document.querySelectorAll('#next-panel [data-goal]')) {
    b.setAttribute('aria-pressed', String(b.dataset.goal === nextState.goal));
  }
  list.innerHTML = '<li class="muted">ranking…</li>';
  try {
    const session = await call('sessionShow', { session: nextState.session }).catch(() => null);
    $('#next-session').textContent = session && session.played.length
      ? `session: ${session.played.length} played` : 'session: nothing played yet';
    const r = await call('next', { songId: nextState.songId, session: nextState.session, goal: nextState.goal, k: 10 });
    const p = (name, v) => `${name} ${v.toFixed(2)}`;
    list.innerHTML = r.items.length
      ? r.items.map((it) => `<li data-song-id="${esc(it.id)}" data-path="${esc(it.path || it.id)}"><b>${it.score.toFixed(2)}</b> `
        + `${esc(it.path || it.id)} <button type="button" class="played" data-testid="played">played</button>`
        + `<span class="muted small"> energy ${isNum(it.energy) ? it.energy.toFixed(1) : '–'} · ${isNum(it.bpm) ? it.bpm.toFixed(1) : '–'} BPM`
        + `${it.tempoFactor !== 1 ? ` (×${it.tempoFactor})` : ''} · ${esc(it.camelot || '–')}<br>`
        + `${[p('similarity', it.parts.similarity), p('goal', it.parts.energy), p('low end', it.parts.lowEnd),
          p('mixability', it.parts.mixability), p('key', it.parts.key), p('tempo', it.parts.tempo), p('hype', it.parts.hype),
          p('diversity', it.parts.diversity)].join(' · ')}</span></li>`).join('')
      : '<li class="muted">no track passes the mixing rules</li>';
  } catch (e) {
    list.innerHTML = `<li class="muted">${esc(describeError(e))}</li>`;
  }
}

async function markPlayed(songId, path) {
  try {
    // The playing track first, when the session does not have it yet.
    const session = await call('sessionShow', { session: nextState.session }).catch(() => null);
    if (!session || session.current !== nextState.songId) await call('played', { session: nextState.session, songId: nextState.songId });
    await call('played', { session: nextState.session, songId });
    nextState.songId = songId;
    nextState.path = path;
    await refreshNext();
  } catch (e) {
    $('#next-session').textContent = describeError(e);
  }
}

async function undoPlayed() {
  try {
    const r = await call('undoPlayed', { session: nextState.session });
    const session = await call('sessionShow', { session: nextState.session });
    if (session.current) {
      nextState.songId = session.current;
      nextState.path = session.played[session.played.length - 1].path || session.current;
    }
    await refreshNext();
    if (!r.id) $('#next-session').textContent = 'session: nothing to undo';
  } catch (e) {
    $('#next-session').textContent = describeError(e);
  }
}

function drawPlan(items) {
  const svg = $('#plan-chart');
  const w = 320; const h = 120; const pad = 12;
  const x = (i) => pad + (i * (w - 2 * pad)) / Math.max(items.length - 1, 1);
  const y = (e) => h - pad - ((e - 1) * (h - 2 * pad)) / 9;
  const line = (vals) => vals.map((v, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join('');
  svg.innerHTML = `<path class="arc" d="${line(items.map((it) => it.targetEnergy))}" fill="none" stroke="currentColor" stroke-dasharray="4 3" opacity="0.6"/>`
    + `<path class="measured" data-testid="plan-measured" d="${line(items.map((it) => (isNum(it.energy) ? it.energy : 1)))}" fill="none" stroke="#e0609a" stroke-width="2"/>`
    + items.map((it, i) => `<circle cx="${x(i).toFixed(1)}" cy="${y(isNum(it.energy) ? it.energy : 1).toFixed(1)}" r="2.5" fill="#e0609a"><title>${esc(it.path || it.id)}</title></circle>`).join('');
  svg.hidden = false;
}

async function planSet() {
  const list = $('#plan-list');
  list.innerHTML = '<li class="muted">planning…</li>';
  try {
    const length = Math.max(2, Math.min(60, Number($('#plan-length').value) || 12));
    const r = await call('plan', { songId: nextState.songId, length, arc: $('#plan-arc').value });
    drawPlan(r.items);
    list.innerHTML = r.items.map((it) => `<li data-song-id="${esc(it.id)}">${esc(it.path || it.id)}`
      + `<span class="muted small"> energy ${isNum(it.energy) ? it.energy.toFixed(1) : '–'} (arc ${it.targetEnergy.toFixed(1)})`
      + ` · ${isNum(it.bpm) ? it.bpm.toFixed(1) : '–'} BPM · ${esc(it.camelot || '–')}</span></li>`).join('')
      + `<li class="muted small">${r.complete ? '' : `only ${r.items.length} of ${r.requested} tracks pass the rules · `}`
      + `rank correlation with the arc ${isNum(r.energyRankCorrelation) ? r.energyRankCorrelation.toFixed(2) : '–'}</li>`;
  } catch (e) {
    list.innerHTML = `<li class="muted">${esc(describeError(e))}</li>`;
  }
}

// Snippet identification: which library track a recording is (matched at any offset, after
// re-encoding, noise or a pitch-fader speed change), and what else sounds like it.
async function identifySnippet(file) {
  const result = $('#identify-result');
  const list = $('#identify-similar');
  result.textContent = `listening to ${file.name}…`;
  list.innerHTML = '';
  try {
    const r = await call('searchByAudio', { file, k: 5 });
    const t = r.identified;
    if (t) {
      const speed = Math.abs(t.speed * t.stretch - 1) > 0.001
        ? ` · played at ${(t.speed * t.stretch * 100).toFixed(0)} %` : '';
      result.innerHTML = `<b data-song-id="${esc(t.id)}">${esc(t.path || t.id)}</b>`
        + `<span class="muted small"> from ${fmtTime(t.offsetSec)}${speed}`
        + ` · fingerprint ${t.parts.fingerprint.toFixed(2)}</span>`;
    } else {
      result.innerHTML = '<span class="muted">not in this library</span>';
    }
    const part = (name, v) => (isNum(v) ? `${name} ${v.toFixed(2)}` : '');
    list.innerHTML = r.items.map((it) => `<li data-song-id="${esc(it.id)}"><b>${it.score.toFixed(2)}</b> ${esc(it.path || it.id)}`
      + `<span class="muted small"> ${[part('embedding', it.parts.embedding), part('timbre', it.parts.timbre), part('tags', it.parts.tags)].filter(Boolean).join(' · ')}</span></li>`).join('');
  } catch (e) {
    result.innerHTML = `<span class="muted">${esc(describeError(e))}</span>`;
  }
}

async function applyLabel(songIds, label) {
  const ids = [...new Set(songIds.filter(Boolean))];
  if (!ids.length) return;
  try {
    await call('setLabels', { ids, label });
    await refreshLabels();
    render();
    schedulePredictions();
  } catch (e) {
    message(`Could not save the mark: ${describeError(e)}`, 'error');
    console.error(`[selecta] setSelectionLabels failed: ${describeError(e)}`);
  }
}

function setTrainButton(text, percent) {
  const btn = $('#train');
  $('.btn-label', btn).textContent = text;
  $('.btn-fill', btn).style.width = percent == null ? '0' : `${Math.max(0, Math.min(100, percent))}%`;
}

async function train() {
  if (state.training) { cancel(state.training.id); return; }
  const btn = $('#train');
  btn.classList.add('busy');
  btn.title = 'Training — click to cancel';
  setTrainButton('Preparing…', 0);
  try {
    const snap = await refreshLabels();
    const req = call('train', { positiveIds: snap.positiveIds || [], negativeIds: snap.negativeIds || [] }, {
      onProgress: (p) => {
        const { phase, percent } = normProgress(p);
        setTrainButton(`${phase ? phase[0].toUpperCase() + phase.slice(1) : 'Training'} ${percent != null ? `${Math.round(percent)}%` : '…'}`, percent);
      },
    });
    state.training = req;
    const r = await req;
    if (r.status === 'trained') {
      const m = r.metrics || {};
      const extra = [
        isNum(m.positives) && isNum(m.negatives) ? `${m.positives} liked / ${m.negatives} disliked` : '',
        isNum(m.trees) ? `${m.trees} trees` : '',
        isNum(m.trainAuc) ? `train AUC ${m.trainAuc.toFixed(3)}` : '',
        isNum(m.skippedWithoutFeatures) && m.skippedWithoutFeatures ? `${m.skippedWithoutFeatures} skipped (not analysed)` : '',
      ].filter(Boolean).join(', ');
      message(`Model trained (revision ${r.modelRevision ?? '?'})${extra ? ` — ${extra}` : ''}`, 'ok');
    } else if (r.status === 'insufficient_samples') {
      message(`Not enough samples to train: need ≥ ${rules.minPositives} liked and ${rules.negativesPerPositive}× as many disliked.`, 'warn');
    } else if (r.status === 'cancelled') {
      message('Training cancelled.', 'warn');
    } else {
      message(`Training failed: ${r.error || r.errorCode || 'unknown error'}`, 'error');
      console.error(`[selecta] training failed: ${r.errorCode || ''} ${r.error || ''}`);
    }
  } catch (e) {
    if (e.code === 'cancelled') message('Training cancelled.', 'warn');
    else { message(`Training failed: ${describeError(e)}`, 'error'); console.error(`[selecta] training failed: ${describeError(e)}`); }
  } finally {
    state.training = null;
    btn.classList.remove('busy');
    btn.title = 'Train the taste model on your liked and disliked tracks';
    setTrainButton('Train', null);
    await refreshPredictions();
  }
}

function normProgress(p) {
  if (isNum(p)) return { phase: null, percent: p <= 1 ? p * 100 : p };
  if (p && typeof p === 'object') {
    let percent = null;
    if (isNum(p.percent)) percent = p.percent;
    else if (isNum(p.fraction)) percent = p.fraction * 100;
    else if (isNum(p.progress)) percent = p.progress <= 1 ? p.progress * 100 : p.progress;
    else if (isNum(p.done) && isNum(p.total) && p.total > 0) percent = (100 * p.done) / p.total;
    return { phase: typeof p.phase === 'string' ? p.phase : (typeof p.stage === 'string' ? p.stage : null), percent };
  }
  return { phase: null, percent: null };
}

// ---------------------------------------------------------------------------------------------
// Analysis queue

const job = {
  queue: [],        // { file, path }
  total: 0,
  done: 0,
  analysed: 0,
  unchanged: 0,
  failed: [],       // { path, error }
  running: false,
  current: null,    // { path, req }
  cancelled: false,
};

function isAudio(name) {
  const m = /\.([^.\\/]+)$/.exec(name || '');
  return Boolean(m && rules.audioExtensions.has(m[1].toLowerCase()));
}

function enqueue(entries) {
  const audio = entries.filter((e) => isAudio(e.path));
  const skipped = entries.length - audio.length;
  if (skipped) message(`Skipped ${skipped} non-audio file${skipped === 1 ? '' : 's'}.`, 'info');
  if (!audio.length) return;
  if (!job.running) {
    Object.assign(job, { total: 0, done: 0, analysed: 0, unchanged: 0, failed: [], cancelled: false, embeddingWarned: false });
  }
  audio.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  job.queue.push(...audio);
  job.total += audio.length;
  renderProgress();
  if (!job.running) runQueue();
}

function renderProgress(phaseText = '', filePercent = null) {
  const el = $('#progress');
  el.hidden = !job.running && !job.total;
  el.dataset.state = job.running ? 'running' : 'idle';
  el.dataset.done = String(job.done);
  el.dataset.total = String(job.total);
  el.dataset.failed = String(job.failed.length);
  const frac = job.total ? (job.done + (filePercent != null ? filePercent / 100 : 0)) / job.total : 0;
  $('.progress-bar', el).style.width = `${(frac * 100).toFixed(1)}%`;
  if (job.running) {
    $('.progress-count', el).textContent = `${Math.min(job.done + 1, job.total)}/${job.total}`;
    $('.progress-file', el).textContent = job.current ? job.current.path : '';
    $('.progress-file', el).title = job.current ? job.current.path : '';
    $('.progress-phase', el).textContent = phaseText;
    $('#cancel').hidden = false;
  } else {
    const bits = [`${job.analysed} analysed`, `${job.unchanged} unchanged`];
    if (job.failed.length) bits.push(`${job.failed.length} failed`);
    $('.progress-count', el).textContent = `${job.done}/${job.total}`;
    $('.progress-file', el).textContent = `${job.cancelled ? 'Cancelled' : 'Done'} — ${bits.join(', ')}`;
    $('.progress-file', el).title = job.failed.map((f) => `${f.path}: ${f.error}`).join('\n');
    $('.progress-phase', el).textContent = '';
    $('#cancel').hidden = true;
  }
}

async function runQueue() {
  job.running = true;
  let sinceRender = 0;
  while (job.queue.length && !job.cancelled) {
    const item = job.queue.shift();
    const req = call('analyze', { file: item.file, path: item.path }, {
      onProgress: (p) => {
        const { phase, percent } = normProgress(p);
        renderProgress([phase, percent != null ? `${Math.round(percent)}%` : ''].filter(Boolean).join(' '), percent);
      },
    });
    job.current = { path: item.path, req };
    renderProgress();
    try {
      const r = await req;
      if (r.status === 'unchanged') job.unchanged += 1;
      else job.analysed += 1;
      if (r.embeddingError && !job.embeddingWarned) {
        job.embeddingWarned = true;
        console.warn(`[selecta] ${item.path}: no embedding (${r.embeddingError})`);
        message(`Some tracks have no embedding or tags: ${r.embeddingError}`, 'warn');
      }
      const features = r.features || (await call('getSongFeatures', { songId: r.songId }));
      state.tracks.set(item.path, { path: item.path, songId: r.songId, features });
      // Features belong to the song, not the path: other paths of the same song see the update.
      if (features) for (const t of state.tracks.values()) if (t.songId === r.songId) t.features = features;
      sinceRender += 1;
    } catch (e) {
      if (e.code === 'cancelled') { job.cancelled = true; break; }
      job.failed.push({ path: item.path, error: describeError(e) });
      console.warn(`[selecta] ${item.path}: ${describeError(e)}`);
    }
    job.done += 1;
    render();
    if (sinceRender >= 25) { sinceRender = 0; schedulePredictions(); }
  }
  job.running = false;
  job.current = null;
  job.queue = [];
  renderProgress();
  const failed = job.failed.length;
  if (job.cancelled) message('Analysis cancelled.', 'warn');
  else if (failed) message(`${failed} file${failed === 1 ? '' : 's'} could not be analysed: ${job.failed.slice(0, 3).map((f) => `${baseName(f.path)} (${f.error})`).join(', ')}${failed > 3 ? '…' : ''}`, 'error', true);
  await refreshPredictions();
}

function cancelAnalysis() {
  job.cancelled = true;
  if (job.current) cancel(job.current.req.id);
}

// Files from inputs: folder input gives webkitRelativePath, plain input only the name.
function entriesFromFileList(list) {
  return [...list].map((file) => ({ file, path: file.webkitRelativePath || file.name }));
}

// Dropped items: walk directories recursively.
async function entriesFromDrop(dt) {
  const out = [];
  const roots = [];
  for (const item of dt.items || []) {
    if (item.kind !== 'file') continue;
    const entry = item.webkitGetAsEntry ? item.webkitGetAsEntry() : null;
    if (entry) roots.push(entry);
    else { const f = item.getAsFile(); if (f) out.push({ file: f, path: f.name }); }
  }
  if (!roots.length && !out.length) {
    for (const f of dt.files || []) out.push({ file: f, path: f.name });
  }
  const readAll = (dir) => new Promise((resolve) => {
    const reader = dir.createReader();
    const acc = [];
    const next = () => reader.readEntries((batch) => {
      if (!batch.length) resolve(acc);
      else { acc.push(...batch); next(); }
    }, () => resolve(acc));
    next();
  });
  const walk = async (entry) => {
    if (entry.isFile) {
      if (!isAudio(entry.name)) { out.push({ file: null, path: entry.fullPath.replace(/^\//, '') }); return; }
      const file = await new Promise((resolve) => entry.file(resolve, () => resolve(null)));
      if (file) out.push({ file, path: entry.fullPath.replace(/^\//, '') });
    } else if (entry.isDirectory) {
      for (const child of await readAll(entry)) await walk(child);
    }
  };
  for (const r of roots) await walk(r);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Export / import

/** Hand a blob to the browser as a download named `name`. */
function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

async function exportLibrary() {
  const btn = $('#export');
  btn.disabled = true;
  try {
    const bytes = await call('exportLibrary');
    download(new Blob([bytes], { type: 'application/octet-stream' }), 'selecta-library.bin');
    message(`Exported ${(bytes.byteLength / 1024).toFixed(0)} KiB as selecta-library.bin`, 'ok');
  } catch (e) {
    message(`Export failed: ${describeError(e)}`, 'error');
    console.error(`[selecta] export failed: ${describeError(e)}`);
  } finally {
    btn.disabled = false;
  }
}

// rekordbox finds tracks by absolute path, which a page cannot see: the user names the folder
// they picked once (kept in localStorage); left empty, locations stay relative to it.
const ROOT_KEY = 'selecta.libraryRoot';

async function exportRekordbox() {
  const btn = $('#export-rekordbox');
  const libraryRoot = window.prompt('Where is this music folder on your disk? (rekordbox finds the tracks there)',
    localStorage.getItem(ROOT_KEY) || '');
  if (libraryRoot === null) return;
  localStorage.setItem(ROOT_KEY, libraryRoot.trim());
  btn.disabled = true;
  try {
    const out = await call('exportRekordbox', { libraryRoot: libraryRoot.trim(), picks: 50 });
    download(new Blob([out.xml], { type: 'application/xml' }), 'selecta-rekordbox.xml');
    const lists = out.playlists.map((p) => `${p.name} (${p.tracks})`).join(', ') || 'no playlists';
    message(`Exported ${out.tracks} tracks as selecta-rekordbox.xml; playlists: ${lists}`, 'ok');
  } catch (e) {
    message(`Rekordbox export failed: ${describeError(e)}`, 'error');
    console.error(`[selecta] rekordbox export failed: ${describeError(e)}`);
  } finally {
    btn.disabled = false;
  }
}

async function importLibrary(file) {
  if (!file) return;
  message(`Importing ${file.name}…`, 'info', true);
  try {
    const r = await call('importLibrary', { file });
    await loadLibrary();
    await loadSessionNames();
    message(`Imported ${r.songs} songs, ${r.paths} paths, ${r.labels} labels${r.model ? ', a trained model' : ''}`
      + `${r.sessions ? `, ${r.sessions} DJ session${r.sessions === 1 ? '' : 's'}` : ''}.`, 'ok');
  } catch (e) {
    message(`Import failed: ${describeError(e)}`, 'error');
    console.error(`[selecta] import failed: ${describeError(e)}`);
  }
}

async function resetLabels() {
  if (!state.likedCount && !state.dislikedCount) { message('No marks to reset.', 'info'); return; }
  // eslint-disable-next-line no-alert
  if (!window.confirm(`Forget ${state.likedCount} likes and ${state.dislikedCount} dislikes?`)) return;
  try {
    await call('resetLabels');
    await refreshLabels();
    render();
    await refreshPredictions();
    message('Labels reset.', 'ok');
  } catch (e) {
    message(`Reset failed: ${describeError(e)}`, 'error');
  }
}

// ---------------------------------------------------------------------------------------------
// Wiring

function selectedSongIds() {
  return [...state.selected].map((p) => state.tracks.get(p)?.songId).filter(Boolean);
}

function setupTable() {
  const table = $('#track-table');
  table.querySelector('thead').addEventListener('click', (ev) => {
    const th = ev.target.closest('th[data-sort]');
    if (!th) return;
    const key = th.dataset.sort;
    if (state.sort.key === key) state.sort.dir = -state.sort.dir;
    else state.sort = { key, dir: key === 'score' || key === 'label' ? (key === 'score' ? -1 : 1) : 1 };
    renderNow();
  });
  table.querySelector('tbody').addEventListener('click', (ev) => {
    const tr = ev.target.closest('tr[data-path]');
    if (!tr) return;
    const btn = ev.target.closest('button[data-action]');
    if (btn) {
      const action = btn.dataset.action;
      if (action === 'similar') {
        showSimilar(tr.dataset.songId, tr.dataset.path);
        return;
      }
      if (action === 'next') {
        showNext(tr.dataset.songId, tr.dataset.path);
        return;
      }
      const current = tr.dataset.label;
      let label = action === 'like' ? 'liked' : action === 'dislike' ? 'disliked' : 'neutral';
      if (label === current && label !== 'neutral') label = 'neutral'; // a second click clears
      applyLabel([tr.dataset.songId], label);
      return;
    }
    const path = tr.dataset.path;
    if (ev.shiftKey && state.anchor) {
      const paths = [...table.querySelectorAll('tbody tr[data-path]')].map((r) => r.dataset.path);
      const a = paths.indexOf(state.anchor);
      const b = paths.indexOf(path);
      if (a >= 0 && b >= 0) {
        if (!(ev.ctrlKey || ev.metaKey)) state.selected.clear();
        for (let i = Math.min(a, b); i <= Math.max(a, b); i += 1) state.selected.add(paths[i]);
      }
    } else if (ev.ctrlKey || ev.metaKey) {
      if (state.selected.has(path)) state.selected.delete(path); else state.selected.add(path);
      state.anchor = path;
    } else {
      state.selected = state.selected.size === 1 && state.selected.has(path) ? new Set() : new Set([path]);
      state.anchor = path;
    }
    renderNow();
  });
  document.addEventListener('keydown', (ev) => {
    if (ev.target.closest('input, textarea, select') || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const k = ev.key.toLowerCase();
    if (k === 'escape') { state.selected.clear(); renderNow(); return; }
    if (!state.selected.size) return;
    const label = { l: 'liked', d: 'disliked', c: 'neutral', 0: 'neutral' }[k];
    if (!label) return;
    ev.preventDefault();
    applyLabel(selectedSongIds(), label);
  });
}

function setupInputs() {
  for (const id of ['#file-input', '#folder-input']) {
    const input = $(id);
    input.addEventListener('change', () => {
      enqueue(entriesFromFileList(input.files));
      input.value = '';
    });
  }
  $('#import-input').addEventListener('change', (ev) => {
    const f = ev.target.files[0];
    ev.target.value = '';
    importLibrary(f);
  });
  $('#export').addEventListener('click', exportLibrary);
  $('#export-rekordbox').addEventListener('click', exportRekordbox);
  $('#train').addEventListener('click', train);
  $('#reset-labels').addEventListener('click', resetLabels);
  $('#cancel').addEventListener('click', cancelAnalysis);
  $('#filter').addEventListener('input', (ev) => { state.filter = ev.target.value; render(); });

  const zone = $('#dropzone');
  let depth = 0;
  const hasFiles = (ev) => [...(ev.dataTransfer?.types || [])].includes('Files');
  zone.addEventListener('dragenter', (ev) => { if (!hasFiles(ev)) return; ev.preventDefault(); depth += 1; zone.classList.add('dragging'); });
  zone.addEventListener('dragover', (ev) => { if (!hasFiles(ev)) return; ev.preventDefault(); ev.dataTransfer.dropEffect = 'copy'; });
  zone.addEventListener('dragleave', () => { depth = Math.max(0, depth - 1); if (!depth) zone.classList.remove('dragging'); });
  zone.addEventListener('drop', async (ev) => {
    ev.preventDefault();
    depth = 0;
    zone.classList.remove('dragging');
    const entries = await entriesFromDrop(ev.dataTransfer);
    enqueue(entries.filter((e) => e.file || !isAudio(e.path)));
  });
  for (const b of document.querySelectorAll('#next-panel [data-goal]')) {
    b.addEventListener('click', () => { nextState.goal = b.dataset.goal; refreshNext(); });
  }
  $('#next-list').addEventListener('click', (ev) => {
    const li = ev.target.closest('li[data-song-id]');
    if (li && ev.target.closest('button.played')) markPlayed(li.dataset.songId, li.dataset.path);
  });
  $('#undo-played').addEventListener('click', () => undoPlayed());
  $('#next-session-name').addEventListener('change', (e) => chooseSession(e.target.value));
  $('#plan-set').addEventListener('click', () => planSet());
  const snippetDrop = $('#snippet-drop');
  const snippetInput = $('#snippet-input');
  snippetDrop.addEventListener('click', () => snippetInput.click());
  snippetDrop.addEventListener('keydown', (ev) => { if (ev.key === 'Enter' || ev.key === ' ') snippetInput.click(); });
  snippetInput.addEventListener('change', (ev) => {
    const f = ev.target.files?.[0];
    ev.target.value = '';
    if (f) identifySnippet(f);
  });
  snippetDrop.addEventListener('dragover', (ev) => { if (!hasFiles(ev)) return; ev.preventDefault(); ev.stopPropagation(); snippetDrop.classList.add('dragging'); });
  snippetDrop.addEventListener('dragleave', () => snippetDrop.classList.remove('dragging'));
  snippetDrop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    ev.stopPropagation();
    snippetDrop.classList.remove('dragging');
    const f = ev.dataTransfer?.files?.[0];
    if (f) identifySnippet(f);
  });
  // A drop outside the zone must not navigate away from the page.
  window.addEventListener('dragover', (ev) => ev.preventDefault());
  window.addEventListener('drop', (ev) => ev.preventDefault());
}

async function loadLibrary() {
  const songs = await call('listSongs');
  state.tracks = new Map();
  for (const s of songs || []) state.tracks.set(s.path, { path: s.path, songId: s.songId, features: s.features });
  for (const p of [...state.selected]) if (!state.tracks.has(p)) state.selected.delete(p);
  await refreshLabels();
  await refreshPredictions();
  renderNow();
}

function showEngine(info) {
  const el = $('#engine');
  if (info.embedding) {
    el.dataset.state = 'ok';
    el.textContent = info.modelVersion || 'embedding on';
    el.title = 'Neural embedding and tags available';
  } else {
    el.dataset.state = 'degraded';
    el.textContent = 'embedding unavailable';
    el.title = `Tempo, key and loudness still work. ${info.embeddingError || ''}`.trim();
  }
}

async function main() {
  setupTable();
  setupInputs();
  setupScatter();
  setupWheel();
  renderNow();
  try {
    const info = await workerReady;
    showEngine(info);
    await loadLibrary();
    document.body.dataset.ready = 'true';
  } catch (e) {
    const el = $('#engine');
    el.dataset.state = 'error';
    el.textContent = 'engine failed';
    el.title = describeError(e);
    $('#status').textContent = `The engine could not start: ${describeError(e)}`;
    document.body.dataset.error = e.code || 'error';
    console.error(`[selecta] startup failed: ${e.code || ''} ${e.message}`);
  }
}

main();
