// kiosk.js -- the store tablet page at /kiosk/{touchpoint}#key=tpk_...
// A five-face CSAT question, an optional one-tap reason, a thanks screen and an
// automatic reset.  Answers go into a queue in localStorage first (each with a
// random id and the time of the tap) and leave it only after the server said
// 200, so an offline tablet loses nothing and a resend counts as a duplicate.

const SVG = 'http://www.w3.org/2000/svg';
const TEXT = {
  vi: {
    question: 'Bạn hài lòng với trải nghiệm hôm nay đến mức nào?',
    faces: ['Rất không hài lòng', 'Không hài lòng', 'Bình thường', 'Hài lòng', 'Rất hài lòng'],
    reason: 'Điều gì ảnh hưởng nhiều nhất? (không bắt buộc)',
    reasons: ['Thời gian chờ', 'Nhân viên', 'Giá', 'Sạch sẽ', 'Sản phẩm'],
    skip: 'Bỏ qua',
    thanks: 'Cảm ơn quý khách!',
    queued: 'Đang chờ gửi: {n}',
    sent: 'Đã gửi hết',
    other: 'English',
    setup: 'Chưa cấu hình kiosk',
    setup_text: 'Mở trang này một lần với địa chỉ /kiosk/{tp}#key=tpk_... (khoá quyền ingest).',
    bad_key: 'Khoá kiosk bị từ chối ({code}). Hãy cấu hình lại.',
  },
  en: {
    question: 'How satisfied are you with your visit today?',
    faces: ['Very dissatisfied', 'Dissatisfied', 'Neutral', 'Satisfied', 'Very satisfied'],
    reason: 'What mattered most? (optional)',
    reasons: ['Waiting time', 'Staff', 'Price', 'Cleanliness', 'Product'],
    skip: 'Skip',
    thanks: 'Thank you!',
    queued: 'Waiting to send: {n}',
    sent: 'All sent',
    other: 'Tiếng Việt',
    setup: 'Kiosk not set up',
    setup_text: 'Open this page once as /kiosk/{tp}#key=tpk_... (an ingest-scope key).',
    bad_key: 'The kiosk key was refused ({code}). Please set it up again.',
  },
};
const COLORS = ['#d64541', '#f0803c', '#f4c542', '#8cc152', '#2ea865'];

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const tp = decodeURIComponent(location.pathname.replace(/^\/kiosk\/?/, '').split('/')[0] || '');
const K_KEY = `tp.kiosk.key.${tp}`;
const K_QUEUE = `tp.kiosk.queue.${tp}`;
const K_NAME = `tp.kiosk.name.${tp}`;
const RESET_MS = Math.max(1, Math.min(60, Number(params.get('reset')) || 5)) * 1000;
const REASON_MS = 10000;
const RETRY_MS = Math.max(2, Math.min(300, Number(params.get('retry')) || 15)) * 1000;

let lang = params.get('lang') === 'en' ? 'en' : 'vi';
let key = null;
let name = null;
let pending = null; // the answer being completed (score tapped, reason not yet)
let timer = null;
let flushing = false;
let keyRefused = null;

// ---- the key: from the fragment into localStorage, out of the URL ------------------
function takeKey() {
  const m = /(?:^#|&)key=([^&]+)/.exec(location.hash);
  if (m) {
    try { localStorage.setItem(K_KEY, decodeURIComponent(m[1])); } catch (e) { /* private mode */ }
    history.replaceState(null, '', location.pathname + location.search);
  }
  try { key = localStorage.getItem(K_KEY); } catch (e) { key = null; }
}

// ---- queue ---------------------------------------------------------------------------
function loadQueue() {
  try { return JSON.parse(localStorage.getItem(K_QUEUE) || '[]'); } catch (e) { return []; }
}
function saveQueue(q) { localStorage.setItem(K_QUEUE, JSON.stringify(q)); }
function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
  const x = [...b].map((v) => v.toString(16).padStart(2, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
function enqueue(item) {
  const q = loadQueue();
  q.push(item);
  saveQueue(q);
  showQueue();
  flush();
}
function showQueue() {
  const n = loadQueue().length;
  const e = $('k-queue');
  e.dataset.queued = String(n);
  e.textContent = n ? `⟳ ${TEXT[lang].queued.replace('{n}', new Intl.NumberFormat(lang === 'vi' ? 'vi-VN' : 'en-GB').format(n))}` : `✓ ${TEXT[lang].sent}`;
  e.classList.toggle('k-pending', n > 0);
}

async function flush() {
  if (flushing || !key || keyRefused) return;
  if (navigator.onLine === false) return;
  flushing = true;
  try {
    for (;;) {
      const q = loadQueue();
      if (!q.length) break;
      const batch = q.slice(0, 100);
      const body = batch.map((a) => {
        const r = { id: a.id, touchpoint: tp, channel: 'store', metric: 'csat', score: a.score, language: a.language, time: a.time };
        if (a.comment) r.comment = a.comment;
        return r;
      });
      let res;
      try {
        res = await fetch('/v1/responses', {
          method: 'POST',
          headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
          credentials: 'omit',
          cache: 'no-store',
        });
      } catch (e) {
        break; // offline: keep the queue, try again later
      }
      if (res.status === 200) {
        // Stored, duplicates (already stored) or rejected for good: all leave the queue.
        const sent = new Set(batch.map((a) => a.id));
        saveQueue(loadQueue().filter((a) => !sent.has(a.id)));
        showQueue();
        continue;
      }
      if (res.status === 401 || res.status === 403) {
        let code = String(res.status);
        try { code = (await res.json()).error.code || code; } catch (e) { /* keep status */ }
        keyRefused = code;
        showSetup(TEXT[lang].bad_key.replace('{code}', code));
      }
      break; // 429, 503, ...: later
    }
  } finally {
    flushing = false;
  }
}

// ---- screens ---------------------------------------------------------------------------
function show(screen) {
  for (const s of ['k-ask', 'k-reason', 'k-thanks', 'k-setup']) $(s).hidden = s !== screen;
  document.body.dataset.screen = screen.slice(2);
}

function face(i) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 100 100');
  svg.setAttribute('aria-hidden', 'true');
  const add = (tag, attrs) => {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    svg.appendChild(e);
  };
  add('circle', { cx: 50, cy: 50, r: 46, fill: COLORS[i], stroke: 'rgba(0,0,0,.25)', 'stroke-width': 2 });
  add('circle', { cx: 35, cy: 40, r: 6, fill: '#222' });
  add('circle', { cx: 65, cy: 40, r: 6, fill: '#222' });
  const curve = [-18, -9, 0, 10, 20][i]; // mouth: frown .. smile
  add('path', { d: `M28 ${68 - curve / 3} Q50 ${68 + curve} 72 ${68 - curve / 3}`, fill: 'none', stroke: '#222', 'stroke-width': 5, 'stroke-linecap': 'round' });
  return svg;
}

function render() {
  const L = TEXT[lang];
  document.documentElement.lang = lang;
  $('k-place').textContent = name || tp;
  $('k-lang').textContent = L.other;
  $('k-lang').setAttribute('lang', lang === 'vi' ? 'en' : 'vi');
  $('k-question').textContent = L.question;
  const faces = $('k-faces');
  faces.replaceChildren();
  for (let i = 0; i < 5; i++) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'k-face';
    b.dataset.score = String(i + 1);
    b.setAttribute('aria-label', `${i + 1} / 5 — ${L.faces[i]}`);
    b.appendChild(face(i));
    const cap = document.createElement('span');
    cap.textContent = L.faces[i];
    b.appendChild(cap);
    b.addEventListener('click', () => onFace(i + 1));
    faces.appendChild(b);
  }
  $('k-reason-title').textContent = L.reason;
  const rs = $('k-reasons');
  rs.replaceChildren();
  L.reasons.forEach((r, i) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'k-reason';
    b.dataset.reason = String(i);
    b.textContent = r;
    b.addEventListener('click', () => finish(r));
    rs.appendChild(b);
  });
  $('k-skip').textContent = L.skip;
  $('k-thanks-text').textContent = L.thanks;
  $('k-setup-title').textContent = L.setup;
  if (!$('k-setup').hidden && !keyRefused) $('k-setup-text').textContent = L.setup_text.replace('{tp}', tp || '…');
  showQueue();
}

function onFace(score) {
  pending = { id: uuid(), time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'), score, language: lang };
  show('k-reason');
  clearTimeout(timer);
  timer = setTimeout(() => finish(null), REASON_MS);
  const first = document.querySelector('.k-reason');
  if (first) first.focus();
}

function finish(reason) {
  clearTimeout(timer);
  if (!pending) return;
  if (reason) pending.comment = reason;
  enqueue(pending);
  pending = null;
  show('k-thanks');
  $('k-thanks-text').focus();
  timer = setTimeout(reset, RESET_MS);
}

function reset() {
  clearTimeout(timer);
  pending = null;
  show('k-ask');
}

function showSetup(text) {
  show('k-setup');
  $('k-setup-title').textContent = TEXT[lang].setup;
  $('k-setup-text').textContent = text;
}

async function loadName() {
  try { name = localStorage.getItem(K_NAME); } catch (e) { name = null; }
  if (!key || navigator.onLine === false) return;
  try {
    const r = await fetch(`/v1/touchpoints/${encodeURIComponent(tp)}`, { headers: { Authorization: `Bearer ${key}` }, credentials: 'omit' });
    if (r.ok) {
      const j = await r.json();
      const v = j.name_vi || (j.name && j.name.vi);
      const e = j.name_en || (j.name && j.name.en);
      name = lang === 'en' ? (e || v || tp) : (v || e || tp);
      localStorage.setItem(K_NAME, JSON.stringify({ vi: v, en: e }));
    }
  } catch (e) { /* offline: keep the cached name */ }
  render();
}

function cachedName() {
  try {
    const n = JSON.parse(localStorage.getItem(K_NAME) || 'null');
    if (n) name = lang === 'en' ? (n.en || n.vi) : (n.vi || n.en);
  } catch (e) { /* old format */ }
}

function start() {
  takeKey();
  cachedName();
  render();
  $('k-skip').addEventListener('click', () => finish(null));
  $('k-lang').addEventListener('click', () => {
    lang = lang === 'vi' ? 'en' : 'vi';
    cachedName();
    render();
  });
  if (!tp || !key) {
    show('k-setup');
    $('k-setup-text').textContent = TEXT[lang].setup_text.replace('{tp}', tp || '…');
    return;
  }
  show('k-ask');
  loadName().then(() => { cachedName(); render(); });
  window.addEventListener('online', () => flush());
  window.addEventListener('storage', (e) => { if (e.key === K_QUEUE) showQueue(); });
  setInterval(flush, RETRY_MS);
  flush();
}

start();
