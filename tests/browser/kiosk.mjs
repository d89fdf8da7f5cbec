// kiosk.mjs -- the store tablet page: the key moves from the URL fragment into
// localStorage, the touchpoint's name is shown, a tap (and a reason) is sent;
// offline, two taps stay queued (queued=2) and are sent when the network
// returns, each stored exactly once.
import path from 'node:path';
import { env, fail, check, launch, watch, responsesOf, until, api, done } from './lib.mjs';

const TP = 'store';
const browser = await launch();
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, hasTouch: true });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  const log = await watch(page);
  const sentIds = [];
  page.on('request', (r) => {
    if (r.url().endsWith('/v1/responses') && r.method() === 'POST') {
      try { for (const x of [].concat(JSON.parse(r.postData()))) sentIds.push(x); } catch (e) { /* not ours */ }
    }
  });
  const queued = async () => Number(await page.getAttribute('#k-queue', 'data-queued'));

  await check('kiosk takes the key from the fragment and removes it from the URL', async () => {
    await page.goto(`${env.base}/kiosk/${TP}?reset=1#key=${env.ingest}`);
    await page.waitForSelector('body[data-screen="ask"]');
    const url = page.url();
    if (url.includes('key=') || url.includes(env.ingest)) throw new Error(`key still in ${url}`);
    const stored = await page.evaluate((tp) => localStorage.getItem(`tp.kiosk.key.${tp}`), TP);
    if (stored !== env.ingest) throw new Error('key not kept for the touchpoint');
  });
  await check('kiosk shows the touchpoint name and five faces', async () => {
    await until(async () => (await page.textContent('#k-place')) !== TP, 5000);
    const name = await page.textContent('#k-place');
    if (!/Cửa hàng/.test(name)) throw new Error(`name ${name}`);
    const faces = await page.$$eval('.k-face', (e) => e.map((b) => b.getAttribute('aria-label')));
    if (faces.length !== 5 || faces.some((l) => !l)) throw new Error(`faces ${faces}`);
    await page.screenshot({ path: path.join(env.shots, 'kiosk.png') });
  });
  await check('kiosk answer with a reason is sent (online)', async () => {
    await page.click('.k-face[data-score="5"]');
    await page.waitForSelector('body[data-screen="reason"]');
    await page.screenshot({ path: path.join(env.shots, 'kiosk-reason.png') });
    await page.click('.k-reason[data-reason="1"]'); // Nhân viên
    await page.waitForSelector('body[data-screen="thanks"]');
    await page.screenshot({ path: path.join(env.shots, 'kiosk-thanks.png') });
    if (!(await until(async () => (await queued()) === 0, 10000))) throw new Error(`queued=${await queued()}`);
    const x = sentIds[0];
    if (!x || x.score !== 5 || x.comment !== 'Nhân viên' || x.channel !== 'store' || x.metric !== 'csat' || x.touchpoint !== TP) throw new Error(JSON.stringify(x));
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(x.time) || !x.id) throw new Error(`time/id ${x.time} ${x.id}`);
  });
  await check('kiosk resets for the next customer', async () => {
    await page.waitForSelector('body[data-screen="ask"]', { timeout: 8000 });
  });

  const before = sentIds.length;
  await check('offline: two taps stay queued (queued=2)', async () => {
    await context.setOffline(true);
    await page.click('.k-face[data-score="2"]');
    await page.click('#k-skip');
    await page.waitForSelector('body[data-screen="ask"]', { timeout: 8000 });
    await page.click('.k-face[data-score="4"]');
    await page.click('.k-reason[data-reason="2"]'); // Giá
    await page.waitForSelector('body[data-screen="thanks"]');
    await page.waitForTimeout(500);
    const n = await queued();
    const text = await page.textContent('#k-queue');
    await page.screenshot({ path: path.join(env.shots, 'kiosk-offline.png') });
    if (n !== 2) throw new Error(`queued=${n}`);
    if (!/2/.test(text)) throw new Error(`indicator text ${text}`);
  });
  let queue = [];
  await check('the queue is kept in localStorage, one id per answer', async () => {
    queue = await page.evaluate((tp) => JSON.parse(localStorage.getItem(`tp.kiosk.queue.${tp}`) || '[]'), TP);
    if (queue.length !== 2) throw new Error(`${queue.length} in localStorage`);
    if (queue[0].id === queue[1].id) throw new Error('same id twice');
  });
  await check('back online: both sent and the queue is empty', async () => {
    await context.setOffline(false);
    if (!(await until(async () => (await queued()) === 0, 20000))) throw new Error(`queued=${await queued()}`);
    const ids = sentIds.slice(before).map((x) => x.id);
    for (const q of queue) if (!ids.includes(q.id)) throw new Error(`${q.id} not sent`);
  });
  await check('each kiosk answer stored exactly once, also after a resend', async () => {
    // A resend of the same answers (say after a lost 200) is a duplicate.
    const body = queue.map((a) => ({ id: a.id, touchpoint: TP, channel: 'store', metric: 'csat', score: a.score, time: a.time, language: a.language, ...(a.comment ? { comment: a.comment } : {}) }));
    const r = await api('POST', '/v1/responses', body, env.ingest);
    if (r.status !== 200 || r.body.duplicates !== 2) throw new Error(`resend: ${r.status} ${JSON.stringify(r.body)}`);
    const stored = await responsesOf({ touchpoint: TP, metric: 'csat' });
    const want = [sentIds[0].id, ...queue.map((q) => q.id)];
    for (const id of want) {
      const n = stored.filter((x) => x.id === id).length;
      if (n !== 1) throw new Error(`${id} stored ${n} times`);
    }
    const g = stored.find((x) => x.id === queue[1].id);
    if (g.score !== 4 || g.comment !== 'Giá' || g.channel !== 'store') throw new Error(JSON.stringify(g));
  });
  await check('kiosk: no console errors or CSP violations', async () => {
    const errs = log.errors.filter((e) => !/ERR_INTERNET_DISCONNECTED|Failed to fetch|net::/.test(e));
    if (errs.length) throw new Error(errs.join(' | '));
  });
  await check('kiosk without a key asks to be set up', async () => {
    const p = await browser.newPage();
    await p.goto(`${env.base}/kiosk/pos`);
    await p.waitForSelector('body[data-screen="setup"]');
    await p.close();
  });
  await context.close();
} catch (e) {
  fail('kiosk run', e.message);
} finally {
  await browser.close();
}
done();
