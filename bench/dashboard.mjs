// bench/dashboard.mjs -- how long the dashboard's Overview takes to load fully
// (issue #5: under one second on the benchmark data set).  Run by bench/run.sh
// against the server it starts on the imported bench store:
//
//   node bench/dashboard.mjs BASE ADMIN_KEY [LOADS]
//   (or TP_BASE, TP_ADMIN, TP_BENCH_LOADS; TP_CHROMIUM, default /usr/bin/chromium)
//
// Signs in through the page's own sign-in form (as tests/browser do), then opens
// /#/overview in a new tab LOADS times after one warm-up load, in the same
// browser context (the session cookie and the HTTP cache as a returning user
// has them: assets are max-age=300, index.html and the API are fetched every
// time).  One load is timed from navigation start (performance.timeOrigin) to
// "fully loaded": the page has set #view[data-ready="overview"] (app.js does so
// once every request of the page has been answered and every chart has been
// created; ECharts draws synchronously in setOption, animation off), the next
// frame has run, every chart card of the overview has a drawn canvas, and no
// request is in flight -- the later of that frame and the end of the last
// response (Resource Timing).  Then the same API requests are made straight from
// node with the admin key, to tell server time from browser time.
//
// Prints one line per load, the median, the slowest API request, then
// machine-readable lines (median_ms=, loads=, slowest_api=, ...) for run.sh.
// Exit status 0 when measured, 1 on failure, 3 when the browser is missing.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BASE = (process.argv[2] || process.env.TP_BASE || '').replace(/\/+$/, '');
const ADMIN = process.argv[3] || process.env.TP_ADMIN || '';
const LOADS = Number(process.argv[4] || process.env.TP_BENCH_LOADS || 5);
const CHROMIUM = process.env.TP_CHROMIUM || '/usr/bin/chromium';
const CHARTS = ['nps-gauge', 'trend', 'volume']; // the overview's charts (pages.js)
const DIRECT_RUNS = 5;
const LOAD_TIMEOUT = 60000;

if (!BASE || !ADMIN || !(LOADS >= 1)) {
  console.error('usage: node bench/dashboard.mjs BASE ADMIN_KEY [LOADS]  (or TP_BASE, TP_ADMIN, TP_BENCH_LOADS)');
  process.exit(2);
}
if (!fs.existsSync(CHROMIUM)) {
  console.log(`skip: no browser at ${CHROMIUM} (set TP_CHROMIUM)`);
  process.exit(3);
}
let chromium;
try {
  ({ chromium } = createRequire(path.join(ROOT, 'web/package.json'))('playwright-core'));
} catch (e) {
  console.log('skip: playwright-core is not in web/node_modules (make builds it: sh scripts/web.sh)');
  process.exit(3);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ms = (x) => (x === null || x === undefined ? 'n/a' : `${Math.round(x)}`);
const isApi = (u) => new URL(u).pathname.startsWith('/v1/');
const short = (u) => { const x = new URL(u); return decodeURIComponent(x.pathname + x.search); };

// Installed in every page before its scripts: note when the view says the
// overview is ready, and when the frame after that has run.
function readyProbe() {
  window.__tpBench = { ready: null, painted: null, error: null };
  const seen = () => {
    const v = document.getElementById('view');
    if (!v || v.dataset.ready !== 'overview' || window.__tpBench.ready !== null) return;
    window.__tpBench.ready = performance.now();
    const err = v.querySelector('.error');
    if (err) window.__tpBench.error = err.textContent;
    requestAnimationFrame(() => setTimeout(() => { window.__tpBench.painted = performance.now(); }, 0));
  };
  new MutationObserver(seen).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-ready'] });
}

async function oneLoad(context, n) {
  const page = await context.newPage();
  page.setDefaultTimeout(LOAD_TIMEOUT);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  let inflight = 0;
  const finished = []; // [url, method, status, ms from request start to response end]
  page.on('request', () => { inflight += 1; });
  page.on('requestfailed', (r) => { inflight -= 1; errors.push(`request failed: ${r.method()} ${short(r.url())} ${r.failure() && r.failure().errorText}`); });
  page.on('requestfinished', async (r) => {
    inflight -= 1;
    const tm = r.timing();
    let status = 0;
    try { status = (await r.response()).status(); } catch (e) { status = 0; }
    finished.push({ url: r.url(), method: r.method(), status, ms: tm.responseEnd >= 0 ? tm.responseEnd : null });
  });
  await page.addInitScript(readyProbe);
  await page.goto(`${BASE}/#/overview`, { waitUntil: 'commit' });
  await page.waitForFunction(() => window.__tpBench && window.__tpBench.painted !== null, null, { timeout: LOAD_TIMEOUT, polling: 50 });
  // No request in flight (Playwright's events may trail the page a little).
  const until = Date.now() + 10000;
  while (inflight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  const r = await page.evaluate((charts) => {
    const res = performance.getEntriesByType('resource').map((e) => ({ url: e.name, start: e.startTime, end: e.responseEnd, type: e.initiatorType }));
    const nav = performance.getEntriesByType('navigation')[0];
    const drawn = charts.map((c) => {
      const card = document.querySelector(`[data-chart="${c}"]`);
      const cv = card && card.querySelector('canvas');
      return { c, ok: !!(card && cv && card.dataset.rendered === '1' && cv.width > 0 && cv.height > 0) };
    });
    return { bench: window.__tpBench, res, navEnd: nav ? nav.responseEnd : null, drawn };
  }, CHARTS);
  await page.close();
  if (r.bench.error) throw new Error(`load ${n}: the overview shows an error: ${r.bench.error}`);
  const notDrawn = r.drawn.filter((d) => !d.ok).map((d) => d.c);
  if (notDrawn.length) throw new Error(`load ${n}: chart(s) not drawn: ${notDrawn.join(', ')}`);
  if (inflight > 0) throw new Error(`load ${n}: ${inflight} request(s) still in flight 10 s after the page was ready`);
  if (errors.length) throw new Error(`load ${n}: ${errors.slice(0, 3).join(' | ')}`);
  const bad = finished.filter((f) => isApi(f.url) && f.status >= 400 && !/\/v1\/(segments|session)/.test(f.url));
  if (bad.length) throw new Error(`load ${n}: ${bad.map((f) => `${f.status} ${short(f.url)}`).join(', ')}`);

  const api = r.res.filter((e) => isApi(e.url));
  const assets = r.res.filter((e) => !isApi(e.url));
  const lastEnd = Math.max(0, ...r.res.map((e) => e.end));
  const apiStart = api.length ? Math.min(...api.map((e) => e.start)) : null;
  const apiEnd = api.length ? Math.max(...api.map((e) => e.end)) : null;
  return {
    total: Math.max(r.bench.painted, lastEnd),
    ready: r.bench.ready,
    html: r.navEnd,
    assets: assets.length ? Math.max(...assets.map((e) => e.end)) : null,
    apiStart,
    apiEnd,
    render: apiEnd !== null ? r.bench.painted - apiEnd : null,
    api: api.map((e) => ({ url: e.url, start: e.start, ms: e.end - e.start })),
    requests: finished,
  };
}

async function direct(url) {
  const times = [];
  let status = 0;
  let bytes = 0;
  for (let i = 0; i < DIRECT_RUNS; i++) {
    const t0 = performance.now();
    const res = await fetch(url, { headers: { Authorization: `Bearer ${ADMIN}`, Accept: 'application/json' }, signal: AbortSignal.timeout(LOAD_TIMEOUT) });
    const body = await res.arrayBuffer();
    times.push(performance.now() - t0);
    status = res.status;
    bytes = body.byteLength;
  }
  return { status, bytes, ms: median(times), min: Math.min(...times) };
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  timeout: 30000,
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let rc = 0;
try {
  const context = await browser.newContext({ viewport: { width: 1300, height: 900 }, locale: 'vi-VN', timezoneId: 'Asia/Ho_Chi_Minh' });

  // Sign in through the page's own form (the key goes to POST /v1/session once).
  const page = await context.newPage();
  page.setDefaultTimeout(LOAD_TIMEOUT);
  const t0 = Date.now();
  await page.goto(`${BASE}/`);
  await page.waitForSelector('#signin:not([hidden]) #signin-key');
  await page.fill('#signin-key', ADMIN);
  await page.click('#signin-form button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#view[data-ready="overview"]') || document.getElementById('signin-error').textContent.trim());
  const refused = (await page.textContent('#signin-error')).trim();
  if (refused) throw new Error(`sign-in refused: ${refused}`);
  await page.waitForSelector('#view[data-ready="overview"]');
  const signinMs = Date.now() - t0;
  if (!(await context.cookies()).some((c) => c.name === 'tp_session')) throw new Error('signed in but no tp_session cookie');
  await page.close();
  console.log(`signed in through the form; first overview after sign-in: ${signinMs} ms (not counted)`);

  const runs = [];
  for (let i = 0; i <= LOADS; i++) {
    const x = await oneLoad(context, i);
    const apiSlow = x.api.reduce((a, b) => (b.ms > a.ms ? b : a), { ms: -1, url: '' });
    console.log(`${i === 0 ? 'warm-up' : `load ${i}`}: ${ms(x.total)} ms` +
      ` (html ${ms(x.html)}, assets done ${ms(x.assets)}, API ${ms(x.apiStart)}..${ms(x.apiEnd)}, ready ${ms(x.ready)},` +
      ` render after the last API answer ${ms(x.render)}; slowest API ${apiSlow.url ? short(apiSlow.url) : 'n/a'} ${ms(apiSlow.ms)} ms)`);
    if (i > 0) runs.push(x);
  }

  const totals = runs.map((x) => x.total);
  const med = median(totals);
  // The slowest API request seen (Playwright's timing: request start to response end).
  const byUrl = new Map();
  for (const x of runs) {
    for (const f of x.requests) {
      if (!isApi(f.url) || f.ms === null) continue;
      const k = `${f.method} ${short(f.url)}`;
      if (!byUrl.has(k)) byUrl.set(k, { k, url: f.url, method: f.method, ms: [] });
      byUrl.get(k).ms.push(f.ms);
    }
  }
  const apis = [...byUrl.values()].map((a) => ({ ...a, med: median(a.ms), max: Math.max(...a.ms) }));
  apis.sort((a, b) => b.med - a.med);
  console.log(`\noverview full load: median ${ms(med)} ms over ${runs.length} loads (min ${ms(Math.min(...totals))}, max ${ms(Math.max(...totals))}); target < 1000 ms`);
  console.log(`phases (median): html ${ms(median(runs.map((x) => x.html)))}, static assets done ${ms(median(runs.map((x) => x.assets)))},` +
    ` API ${ms(median(runs.map((x) => x.apiStart)))}..${ms(median(runs.map((x) => x.apiEnd)))}, charts drawn after the last API answer +${ms(median(runs.map((x) => x.render)))} ms`);
  console.log('\nAPI requests of the page: median (max) ms in the browser, request start to response end; then the same request from node (median of 5, min), Bearer key:');
  for (const a of apis) {
    const d = a.method === 'GET' ? await direct(a.url) : null;
    a.direct = d;
    console.log(`  ${a.k.padEnd(64)} browser ${ms(a.med).padStart(5)} (${ms(a.max)})   direct ${d ? `${ms(d.ms).padStart(5)} (${ms(d.min)}) ${d.status} ${d.bytes} B` : 'n/a'}`);
  }
  const slow = apis[0];
  console.log(`\nmedian_ms=${Math.round(med)}`);
  console.log(`loads=${runs.length}`);
  console.log(`runs_ms=${totals.map((x) => Math.round(x)).join(',')}`);
  if (slow) {
    console.log(`slowest_api=${slow.k}`);
    console.log(`slowest_api_ms=${Math.round(slow.med)}`);
    console.log(`slowest_api_direct_ms=${slow.direct ? Math.round(slow.direct.ms) : 'n/a'}`);
  }
  console.log(`render_ms=${Math.round(median(runs.map((x) => x.render)))}`);
} catch (e) {
  console.log(`error: ${e && e.message ? e.message.split('\n')[0] : e}`);
  rc = 1;
} finally {
  await browser.close();
}
process.exit(rc);
