// lib.mjs -- shared helpers of the browser checks (tests/e2e/browser.sh runs
// every other tests/browser/*.mjs).  Each check prints "ok NAME" or
// "FAIL NAME: why"; the shell counts the lines.  playwright-core comes from
// web/node_modules; the browser is Debian's /usr/bin/chromium, headless.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(path.join(ROOT, 'web/package.json'));
const { chromium } = require('playwright-core');

export const env = {
  base: process.env.TP_BASE,
  admin: process.env.TP_ADMIN,
  ingest: process.env.TP_INGEST,
  host: process.env.TP_HOST,
  badHost: process.env.TP_BAD_HOST,
  shots: process.env.TP_SHOTS || '/tmp',
  tmp: process.env.TP_TMP || '/tmp',
  linkToken: process.env.TP_LINK_TOKEN || '',
  linkUrl: process.env.TP_LINK_URL || '',
};

let failures = 0;
export function ok(name) { console.log(`ok ${name}`); }
export function fail(name, why) { failures += 1; console.log(`FAIL ${name}: ${String(why).replace(/\s+/g, ' ').slice(0, 400)}`); }
export function expect(name, cond, why) { if (cond) ok(name); else fail(name, why || 'condition false'); return !!cond; }
// check(NAME, async fn): ok unless fn throws.
export async function check(name, fn) {
  try {
    const r = await fn();
    if (r === false) fail(name, 'returned false'); else ok(name);
  } catch (e) {
    fail(name, e && e.message ? e.message.split('\n')[0] : e);
  }
}

export async function launch() {
  return chromium.launch({ executablePath: process.env.TP_CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'], headless: true, timeout: 30000 });
}

// Record console errors, page errors and CSP violations of a page.
export async function watch(page) {
  const log = { errors: [], csp: [] };
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = m.text();
    // Expected failed loads: the session probe before sign-in (401) and
    // /v1/segments on a server without segments (404).
    if (/^Failed to load resource: the server responded with a status of (401|404)/.test(text)) return;
    if (/Content Security Policy/i.test(text)) log.csp.push(text);
    log.errors.push(text);
  });
  page.on('pageerror', (e) => log.errors.push(`pageerror: ${e.message}`));
  return log;
}
export async function cspOf(page, log) {
  const inPage = await page.evaluate(() => window.__csp || []).catch(() => []);
  return log.csp.concat(inPage);
}

// The admin API from node (for seeding and for checking what was stored).
export async function api(method, p, body, key) {
  const r = await fetch(env.base + p, {
    method,
    headers: { Authorization: `Bearer ${key || env.admin}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(15000),
  });
  let j = null;
  try { j = await r.json(); } catch (e) { j = null; }
  return { status: r.status, body: j, headers: r.headers };
}
export async function responsesOf(query) {
  const r = await api('GET', `/v1/responses?${new URLSearchParams({ limit: '200', ...query })}`);
  if (r.status !== 200) throw new Error(`GET /v1/responses ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.responses;
}
export async function until(fn, ms = 10000, step = 200) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, step));
  }
  return last;
}
export function done() { process.exitCode = failures ? 1 : 0; }
