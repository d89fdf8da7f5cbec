// survey.mjs -- the survey link page /s/{token}: a link made with the admin key
// (POST /v1/links) opens its question, an answer shows thanks and is stored,
// opening it again shows the "already answered" page, a tampered token the
// "invalid" page; an expired link (the server's 410 link_expired, stubbed
// here) its own page.
import path from 'node:path';
import { env, fail, check, launch, watch, api, responsesOf, until, done } from './lib.mjs';

const TP = 'invoice';
const customer = `cs-${Date.now()}`;

async function makeLink() {
  if (env.linkToken) return { token: env.linkToken, url: env.linkUrl };
  const r = await api('POST', '/v1/links', { touchpoint: TP, metric: 'nps', lang: 'vi', customer });
  if (r.status !== 200 && r.status !== 201) throw new Error(`POST /v1/links: ${r.status} ${JSON.stringify(r.body)}`);
  const b = r.body || {};
  const url = b.url || (b.link && b.link.url) || '';
  const token = b.token || (b.link && b.link.token) || (url ? decodeURIComponent(new URL(url).pathname.replace(/^\/s\//, '')) : '');
  if (!token) throw new Error(`no token in ${JSON.stringify(b)}`);
  return { token, url };
}

function tamper(token) {
  const i = Math.floor(token.length / 2);
  const c = token[i] === 'A' ? 'B' : 'A';
  return token.slice(0, i) + c + token.slice(i + 1);
}

const browser = await launch();
try {
  const context = await browser.newContext({ viewport: { width: 390, height: 800 }, isMobile: true, hasTouch: true, locale: 'vi-VN' });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  const log = await watch(page);
  let link = null;
  await check('survey link created with the admin key', async () => { link = await makeLink(); });

  if (link) {
    const url = `${env.base}/s/${encodeURIComponent(link.token)}`;
    await check('survey link opens its question', async () => {
      await page.goto(url);
      await page.waitForSelector('body[data-state="question"]');
      const n = await page.$$eval('[role="radio"]', (e) => e.length);
      const h1 = await page.textContent('h1');
      await page.screenshot({ path: path.join(env.shots, 'survey.png'), fullPage: true });
      if (n !== 11) throw new Error(`${n} choices for NPS`);
      if (!/giới thiệu/.test(h1)) throw new Error(`question not in Vietnamese: ${h1}`);
    });
    await check('survey answer shows thanks and is stored', async () => {
      await page.click('[data-score="8"]');
      await page.fill('#sv-comment', 'Hoá đơn rõ ràng');
      await page.click('button[type="submit"]');
      await page.waitForSelector('body[data-state="thanks"]');
      await page.screenshot({ path: path.join(env.shots, 'survey-thanks.png'), fullPage: true });
      const got = await until(async () => (await responsesOf({ touchpoint: TP })).find((x) => x.comment === 'Hoá đơn rõ ràng' && x.score === 8), 10000);
      if (!got) throw new Error('not stored');
    });
    await check('reusing the link shows the used page', async () => {
      await page.goto(url);
      await page.waitForSelector('body[data-state="used"]');
      await page.screenshot({ path: path.join(env.shots, 'survey-used.png'), fullPage: true });
    });
    await check('a second submit is refused with 410 link_used', async () => {
      const r = await fetch(`${env.base}/v1/survey/${encodeURIComponent(link.token)}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ score: 1 }), signal: AbortSignal.timeout(10000) });
      const j = await r.json().catch(() => null);
      if (r.status !== 410 || !j || j.error.code !== 'link_used') throw new Error(`${r.status} ${JSON.stringify(j)}`);
    });
    await check('a tampered token shows the invalid page', async () => {
      await page.goto(`${env.base}/s/${encodeURIComponent(tamper(link.token))}`);
      await page.waitForSelector('body[data-state="invalid"]');
      await page.screenshot({ path: path.join(env.shots, 'survey-invalid.png'), fullPage: true });
    });
  }
  await check('an expired link shows the expired page', async () => {
    const p = await context.newPage();
    await p.route('**/v1/survey/**', (route) => route.fulfill({ status: 410, contentType: 'application/json', body: JSON.stringify({ error: { code: 'link_expired', message: 'expired' } }) }));
    await p.goto(`${env.base}/s/expired-token-for-the-test`);
    await p.waitForSelector('body[data-state="expired"]');
    await p.screenshot({ path: path.join(env.shots, 'survey-expired.png'), fullPage: true });
    await p.close();
  });
  await check('survey page: no console errors or CSP violations', async () => {
    const errs = log.errors.filter((e) => !/status of (403|410)/.test(e));
    if (errs.length) throw new Error(errs.join(' | '));
  });
  await context.close();
} catch (e) {
  fail('survey run', e.message);
} finally {
  await browser.close();
}
done();
