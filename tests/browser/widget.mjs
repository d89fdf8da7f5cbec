// widget.mjs -- the embeddable widget on another origin: renders in a shadow
// DOM, keyboard radio group with labels, posts through CORS with the ingest key
// and shows thanks; the answer is stored once.  On an origin that is not on
// the key the server refuses it: the widget says so and nothing is stored.
import path from 'node:path';
import { env, fail, check, launch, watch, responsesOf, until, done } from './lib.mjs';

function hostUrl(origin, q) {
  return `${origin}/?${new URLSearchParams({ server: env.base, key: env.ingest, tp: 'website', lang: 'vi', metric: 'nps', ...q })}`;
}

const browser = await launch();
try {
  const context = await browser.newContext({ viewport: { width: 900, height: 700 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  const log = await watch(page);
  const customer = `cw-${Date.now()}`;
  const posts = [];
  page.on('request', (r) => { if (r.url().endsWith('/v1/responses') && r.method() === 'POST') posts.push(r); });

  await check('widget renders in a shadow root on the host page', async () => {
    await page.goto(hostUrl(env.host, { customer }));
    await page.waitForSelector('.touchpoint-widget');
    const info = await page.evaluate(() => {
      const host = document.querySelector('.touchpoint-widget');
      const root = host.shadowRoot;
      return { shadow: !!root, radios: root ? root.querySelectorAll('[role="radio"]').length : 0, group: root ? !!root.querySelector('[role="radiogroup"][aria-labelledby]') : false, leaked: document.querySelectorAll('body > style, head style').length };
    });
    if (!info.shadow) throw new Error('no shadow root');
    if (info.radios !== 11) throw new Error(`${info.radios} NPS buttons, want 11`);
    if (!info.group) throw new Error('no labelled radiogroup');
    if (info.leaked) throw new Error('styles leaked into the host page');
  });
  await check('widget radios have aria-labels and move with the arrow keys', async () => {
    const label = await page.getAttribute('.touchpoint-widget [data-score="0"]', 'aria-label');
    if (!label || !/0/.test(label)) throw new Error(`aria-label ${label}`);
    await page.focus('.touchpoint-widget [data-score="0"]');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    const checked = await page.getAttribute('.touchpoint-widget [data-score="2"]', 'aria-checked');
    const focused = await page.evaluate(() => document.querySelector('.touchpoint-widget').shadowRoot.activeElement?.dataset.score);
    if (checked !== 'true' || focused !== '2') throw new Error(`checked=${checked} focused=${focused}`);
  });
  await check('widget answer on an allowed origin is sent and thanked', async () => {
    await page.click('.touchpoint-widget [data-score="9"]');
    await page.fill('.touchpoint-widget textarea', 'Trang web dễ dùng <b>lắm</b>');
    await page.click('.touchpoint-widget button[type="submit"]');
    await page.waitForSelector('.touchpoint-widget[data-state="thanks"]', { timeout: 15000 });
    await page.screenshot({ path: path.join(env.shots, 'widget.png') });
  });
  await check('widget request: bearer key, JSON body with uuid id, channel web', async () => {
    const r = posts[0];
    if (!r) throw new Error('no POST seen');
    const hd = await r.allHeaders();
    if (hd.authorization !== `Bearer ${env.ingest}`) throw new Error('no bearer key');
    if (!/^application\/json/.test(hd['content-type'] || '')) throw new Error(`content-type ${hd['content-type']}`);
    const b = JSON.parse(r.postData());
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(b.id)) throw new Error(`id ${b.id}`);
    const want = { touchpoint: 'website', customer, channel: 'web', metric: 'nps', score: 9, language: 'vi' };
    for (const [k, v] of Object.entries(want)) if (b[k] !== v) throw new Error(`${k}=${b[k]}, want ${v}`);
  });
  await check('widget answer is stored once', async () => {
    const got = await until(async () => {
      const rs = (await responsesOf({ touchpoint: 'website' })).filter((x) => x.customer === customer);
      return rs.length ? rs : null;
    }, 10000);
    if (!got || got.length !== 1) throw new Error(`stored ${got ? got.length : 0} times`);
    const x = got[0];
    if (x.score !== 9 || x.channel !== 'web' || x.comment !== 'Trang web dễ dùng <b>lắm</b>') throw new Error(JSON.stringify(x));
  });
  await check('widget: no console errors or CSP violations on the allowed origin', async () => {
    if (log.errors.length) throw new Error(log.errors.join(' | '));
  });

  // CSAT in English.
  await check('widget CSAT in English has 5 labelled choices', async () => {
    const p = await context.newPage();
    await p.goto(hostUrl(env.host, { metric: 'csat', lang: 'en' }));
    await p.waitForSelector('.touchpoint-widget [data-score="5"]');
    const n = await p.$$eval('.touchpoint-widget [role="radio"]', (e) => e.length);
    const q = await p.textContent('.touchpoint-widget .q');
    const l = await p.getAttribute('.touchpoint-widget [data-score="4"]', 'aria-label');
    await p.close();
    if (n !== 5 || !/satisfied/i.test(q) || l !== '4 out of 5') throw new Error(`${n} / ${q} / ${l}`);
  });

  // An origin that is not on the key.
  const bad = `cw-bad-${Date.now()}`;
  await check('widget on an origin not on the key shows an error', async () => {
    const p = await context.newPage();
    await p.goto(hostUrl(env.badHost, { customer: bad }));
    await p.click('.touchpoint-widget [data-score="3"]');
    await p.click('.touchpoint-widget button[type="submit"]');
    await p.waitForSelector('.touchpoint-widget[data-state="error"]', { timeout: 15000 });
    const msg = await p.textContent('.touchpoint-widget [role="alert"]');
    await p.screenshot({ path: path.join(env.shots, 'widget-refused.png') });
    await p.close();
    if (!msg || msg.length < 5) throw new Error(`no visible message: ${msg}`);
  });
  await check('nothing stored from the refused origin', async () => {
    await new Promise((r) => setTimeout(r, 300));
    const rs = (await responsesOf({ touchpoint: 'website' })).filter((x) => x.customer === bad);
    if (rs.length) throw new Error(`${rs.length} stored`);
  });
  await check('preflight from the refused origin gets no CORS headers', async () => {
    const r = await fetch(`${env.base}/v1/responses`, {
      method: 'OPTIONS',
      headers: { Origin: env.badHost, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type' },
      signal: AbortSignal.timeout(10000),
    });
    const a = r.headers.get('access-control-allow-origin');
    if (a === env.badHost || a === '*') throw new Error(`allow-origin ${a}`);
  });
  await context.close();
} catch (e) {
  fail('widget run', e.message);
} finally {
  await browser.close();
}
done();
