// pages.js -- the dashboard's pages.  Each page gets {view, arg, params,
// filters, journeys} and fills `view` with chart cards (charts.js).  Every
// request carries the global filters (from, to, channel, stage, segment, attr);
// where a report is per touchpoint the stage filter is also applied here, and
// for scores it becomes the list of the stage's touchpoints.  Where the server
// does not honour channel / segment / attr, the page says so (ignoredNote).

import { t, h, getLang, fmtNum, fmtInt, fmtSigned, fmtPct, fmtMoney, fmtDateTime, fmtBucket, escapeHtml, downloadCsv } from './util.js';
import * as api from './api.js';
import { chartCard, scoreColor, PALETTE } from './charts.js';
import { hrefFor, setParams, attrText } from './app.js';

// ---- shared helpers -------------------------------------------------------------

async function catalogue() {
  const r = await api.cached('/v1/touchpoints');
  const m = new Map();
  for (const tp of (r && r.touchpoints) || []) m.set(tp.key, tp);
  return m;
}
function tpName(cat, key) {
  const tp = cat.get(key);
  if (!tp) return key;
  return (tp.name && (tp.name[getLang()] || tp.name.en)) || key;
}
function stageName(journeys, key) {
  for (const j of journeys) for (const s of j.stages) if (s.key === key) return s.name[getLang()] || s.name.en || key;
  return key;
}
function stageTouchpoints(journeys, stage) {
  for (const j of journeys) for (const s of j.stages) if (s.key === stage) return s.touchpoints.map((x) => x.key);
  return null;
}
// Report parameters for the global filters (plus extra).
function rq(filters, extra) {
  return { ...filters, ...(extra || {}) };
}
// Scores parameters: the stage filter becomes the stage's touchpoints.
function scoresParams(ctx, extra) {
  const p = rq(ctx.filters, extra);
  if (ctx.filters.stage && !p.touchpoint) {
    const tps = stageTouchpoints(ctx.journeys, ctx.filters.stage);
    if (tps && tps.length) p.touchpoint = tps.join(',');
  }
  return p;
}
function inStage(ctx, key) {
  if (!ctx.filters.stage) return true;
  const tps = stageTouchpoints(ctx.journeys, ctx.filters.stage);
  return !tps || tps.includes(key);
}
// The filters of customers.  The server (src/service/report.c,
// tp_report_parse) honours them on every report; GET /v1/responses (the
// comment list) does not: it answers for everyone.
const CUSTOMER_FILTERS = ['channel', 'segment', 'attr'];
// A visible note naming the set filters that a page (or part of it) does not
// apply; null when none of them is set.
function ignoredNote(ctx, key, params) {
  const set = CUSTOMER_FILTERS.filter((k) => ctx.filters[k]);
  if (!set.length) return null;
  return h('p', { class: 'warn filter-ignored', role: 'note', 'data-ignored': set.join(',') },
    t(key, { ...(params || {}), f: set.map((k) => `${t(k)} (${filterValue(ctx, k, ctx.filters[k])})`).join(', ') }));
}
function filterValue(ctx, k, v) {
  if (k === 'stage') return stageName(ctx.journeys, v);
  if (k === 'channel') return v.split(',').map((c) => t('ch_' + c)).join(', ');
  if (k === 'attr') return attrText(v);
  return v;
}
// Title, help and the filters in force.
function pageHead(ctx, title, help) {
  ctx.view.appendChild(h('h1', null, title));
  if (help) ctx.view.appendChild(h('p', { class: 'help' }, help));
  const f = Object.entries(ctx.filters).map(([k, v]) => `${t(k)}: ${filterValue(ctx, k, v)}`);
  ctx.view.appendChild(h('p', { class: 'filter-note muted' }, t('filter_note', { f: f.length ? f.join(' · ') : t('none') })));
}
function intervalPicker(ctx) {
  const cur = ctx.params.get('interval') || 'week';
  const sel = h('select', { id: 'interval', 'data-param': 'interval' },
    ['day', 'week', 'month'].map((v) => h('option', { value: v, selected: v === cur }, t('by_' + v))));
  sel.addEventListener('change', () => setParams({ interval: sel.value }));
  return { el: h('div', { class: 'inline-field' }, h('label', { for: 'interval' }, t('interval')), sel), value: cur };
}
function lowVolBadge(x) {
  return x && x.low_volume ? h('span', { class: 'badge warn', title: t('low_volume', { n: 30 }) }, '⚠ ', t('low_volume_short')) : null;
}
function tooltipBase() {
  return { confine: true, backgroundColor: '#fff', borderColor: '#ccd', textStyle: { color: '#222' } };
}
const NPS_RANGE = [-100, 100];

// Significance of the change between two NPS readings with 95% margins.
function npsChange(prev, cur) {
  if (!prev || !cur || prev.score === undefined || cur.score === undefined) return null;
  const d = cur.score - prev.score;
  const m = Math.sqrt((prev.margin || 0) ** 2 + (cur.margin || 0) ** 2);
  return { delta: d, significant: Math.abs(d) > m && !prev.low_volume && !cur.low_volume };
}

// ---- Overview -------------------------------------------------------------------------

async function overview(ctx) {
  const iv = intervalPicker(ctx);
  const [tot, trend, trans, stand] = await Promise.all([
    api.get('/v1/reports/scores', scoresParams(ctx)),
    api.get('/v1/reports/scores', scoresParams(ctx, { bucket: iv.value })),
    api.get('/v1/reports/transitions', rq(ctx.filters)).catch(() => null),
    api.get('/v1/reports/standing', rq(ctx.filters)).catch(() => null),
  ]);
  pageHead(ctx, t('overview_title'));
  ctx.view.appendChild(iv.el);
  const row = (tot.rows && tot.rows[0]) || {};
  const minN = tot.min_n || 30;
  const nps = row.nps || null;
  const brows = trend.rows || [];

  // Change of NPS between the last two buckets.
  const npsRows = brows.filter((r) => r.nps);
  const change = npsRows.length >= 2 ? npsChange(npsRows[npsRows.length - 2].nps, npsRows[npsRows.length - 1].nps) : null;

  const grid = h('div', { class: 'grid' });
  ctx.view.appendChild(grid);

  // NPS gauge with its margin of error.
  const gaugeWarn = [];
  if (nps && nps.low_volume) gaugeWarn.push(t('low_volume', { n: minN }));
  if (change && !change.significant) gaugeWarn.push(`${t('change_vs_prev', { d: fmtSigned(change.delta) })} — ${t('not_significant')}`);
  const gaugeRows = nps ? [{ metric: 'NPS', score: nps.score, margin: nps.margin, n: nps.n, promoters: nps.promoters, passives: nps.passives, detractors: nps.detractors, low_volume: nps.low_volume }] : [];
  chartCard(grid, {
    name: 'nps-gauge', title: t('nps_gauge'), height: 300, warnings: gaugeWarn,
    extra: change && change.significant ? h('p', { class: 'ok' }, `${t('change_vs_prev', { d: fmtSigned(change.delta) })} — ${t('significant')}`) : null,
    option: nps ? {
      series: [{
        type: 'gauge', min: NPS_RANGE[0], max: NPS_RANGE[1], startAngle: 200, endAngle: -20, splitNumber: 4, radius: '90%', center: ['50%', '58%'],
        axisLine: { lineStyle: { width: 18, color: [[0.5, '#c0392b'], [0.65, '#f1c40f'], [1, '#27ae60']] } },
        pointer: { width: 6 }, progress: { show: false },
        axisLabel: { distance: 24, fontSize: 11 },
        detail: { valueAnimation: false, fontSize: 26, offsetCenter: [0, '40%'], formatter: () => `${fmtNum(nps.score)} ±${fmtNum(nps.margin)}` },
        title: { offsetCenter: [0, '72%'], fontSize: 12 },
        data: [{ value: Math.round(nps.score * 10) / 10, name: `n = ${fmtInt(nps.n)}` }],
      }, {
        // the margin of error as a band on the dial
        type: 'gauge', min: NPS_RANGE[0], max: NPS_RANGE[1], startAngle: 200, endAngle: -20, radius: '58%', center: ['50%', '58%'],
        axisLine: { lineStyle: { width: 6, color: marginBand(nps.score, nps.margin) } },
        axisTick: { show: false }, splitLine: { show: false }, axisLabel: { show: false }, pointer: { show: false }, detail: { show: false },
        data: [{ value: nps.score }],
      }],
    } : null,
    columns: [
      { key: 'metric', label: t('metric') },
      { key: 'score', label: t('score'), fmt: (r) => fmtNum(r.score) },
      { key: 'margin', label: '±', fmt: (r) => fmtNum(r.margin) },
      { key: 'n', label: t('n'), fmt: (r) => fmtInt(r.n) },
      { key: 'promoters', label: t('promoters'), fmt: (r) => fmtInt(r.promoters) },
      { key: 'passives', label: t('passives'), fmt: (r) => fmtInt(r.passives) },
      { key: 'detractors', label: t('detractors'), fmt: (r) => fmtInt(r.detractors) },
      { key: 'low_volume', label: t('low_volume_short'), fmt: (r) => (r.low_volume ? '⚠' : '') },
    ],
    rows: gaugeRows,
  });

  // CSAT, CES, the three factors and volumes as tiles.
  const tiles = h('section', { class: 'card tiles', 'aria-label': t('cx_factors') });
  const tile = (label, main, sub, x, key) => h('div', { class: 'tile', 'data-tile': key },
    h('div', { class: 'tile-label' }, label),
    h('div', { class: 'tile-value' }, main),
    h('div', { class: 'tile-sub muted' }, sub),
    lowVolBadge(x));
  const csat = row.csat;
  const ces = row.ces;
  tiles.appendChild(h('h2', null, `${t('csat')} · ${t('ces')} · ${t('cx_factors')}`));
  const tg = h('div', { class: 'tile-grid' });
  tg.appendChild(tile(t('csat'), csat ? fmtNum(csat.pct) + ' %' : '–', csat ? `${t('mean')} ${fmtNum(csat.mean, 2)} · n ${fmtInt(csat.n)} · ${fmtNum(csat.lo)}–${fmtNum(csat.hi)} %` : '', csat, 'csat'));
  tg.appendChild(tile(t('ces'), ces ? fmtNum(ces.mean, 2) : '–', ces ? `${t('pct_easy')} ${fmtNum(ces.pct_easy)} % · n ${fmtInt(ces.n)}` : '', ces, 'ces'));
  for (const f of ['goal', 'ease', 'emotion']) {
    const x = row[f];
    tg.appendChild(tile(t(f), x ? fmtNum(x.pct_top) + ' %' : '–', x ? `${t('mean')} ${fmtNum(x.mean, 2)} · n ${fmtInt(x.n)}` : t('no_data'), x, f));
  }
  const nResp = ['nps', 'csat', 'ces', 'goal', 'ease', 'emotion'].reduce((s, k) => s + ((row[k] && row[k].n) || 0), 0);
  tg.appendChild(tile(t('responses'), fmtInt(nResp), '', null, 'responses'));
  const nEvents = trans && stand ? trans.total + stand.total : null;
  tg.appendChild(tile(t('events'), fmtInt(nEvents), stand ? `${t('customers')} ${fmtInt(stand.total)}` : '', null, 'events'));
  tiles.appendChild(tg);
  grid.appendChild(tiles);

  // Trend lines.
  const lbl = (r) => fmtBucket(r.bucket, iv.value);
  const low = brows.filter((r) => r.nps && r.nps.low_volume).length;
  const trendWarn = low ? [t('low_volume', { n: minN }) + ` (${low} / ${brows.length})`] : [];
  const mkPoint = (x, v) => ({ value: v, symbol: x && x.low_volume ? 'emptyCircle' : 'circle', symbolSize: x && x.low_volume ? 9 : 5 });
  chartCard(ctx.view, {
    name: 'trend', title: `${t('trend')} (${t('by_' + iv.value)})`, warnings: trendWarn, height: 340,
    option: {
      tooltip: { ...tooltipBase(), trigger: 'axis', valueFormatter: (v) => fmtNum(v) },
      legend: { top: 0 },
      grid: { left: 50, right: 50, top: 40, bottom: 40 },
      xAxis: { type: 'category', data: brows.map(lbl) },
      yAxis: [{ type: 'value', name: 'NPS', min: -100, max: 100 }, { type: 'value', name: '%', min: 0, max: 100 }],
      series: [
        { name: 'NPS', type: 'line', data: brows.map((r) => mkPoint(r.nps, r.nps ? +r.nps.score.toFixed(1) : null)), connectNulls: true },
        { name: `${t('csat')} %`, type: 'line', yAxisIndex: 1, data: brows.map((r) => mkPoint(r.csat, r.csat ? +r.csat.pct.toFixed(1) : null)), connectNulls: true },
        { name: `${t('ces')} %`, type: 'line', yAxisIndex: 1, data: brows.map((r) => mkPoint(r.ces, r.ces ? +r.ces.pct_easy.toFixed(1) : null)), connectNulls: true },
      ],
    },
    columns: [
      { key: 'bucket', label: t('period'), fmt: lbl },
      { key: 'nps', label: 'NPS', fmt: (r) => (r.nps ? `${fmtNum(r.nps.score)} ±${fmtNum(r.nps.margin)}` : '–'), csv: (r) => (r.nps ? r.nps.score : null) },
      { key: 'nps_margin', label: 'NPS ±', fmt: (r) => (r.nps ? fmtNum(r.nps.margin) : '–'), csv: (r) => (r.nps ? r.nps.margin : null) },
      { key: 'nps_n', label: 'NPS n', fmt: (r) => (r.nps ? fmtInt(r.nps.n) : '–'), csv: (r) => (r.nps ? r.nps.n : null) },
      { key: 'csat', label: `${t('csat')} %`, fmt: (r) => (r.csat ? fmtNum(r.csat.pct) : '–'), csv: (r) => (r.csat ? r.csat.pct : null) },
      { key: 'ces', label: `${t('ces')} %`, fmt: (r) => (r.ces ? fmtNum(r.ces.pct_easy) : '–'), csv: (r) => (r.ces ? r.ces.pct_easy : null) },
      { key: 'low', label: t('low_volume_short'), fmt: (r) => (r.nps && r.nps.low_volume ? '⚠' : ''), csv: (r) => (r.nps && r.nps.low_volume ? 'low_volume' : '') },
    ],
    rows: brows,
  });

  // Response volume per bucket.
  const vol = (r) => ['nps', 'csat', 'ces', 'goal', 'ease', 'emotion'].reduce((s, k) => s + ((r[k] && r[k].n) || 0), 0);
  chartCard(ctx.view, {
    name: 'volume', title: t('response_volume'), height: 240,
    option: {
      tooltip: { ...tooltipBase(), trigger: 'axis', valueFormatter: (v) => fmtNum(v) },
      grid: { left: 50, right: 20, top: 20, bottom: 40 },
      xAxis: { type: 'category', data: brows.map(lbl) },
      yAxis: { type: 'value' },
      series: [{ name: t('responses'), type: 'bar', data: brows.map(vol) }],
    },
    columns: [
      { key: 'bucket', label: t('period'), fmt: lbl },
      { key: 'n', label: t('responses'), fmt: (r) => fmtInt(vol(r)), csv: vol },
    ],
    rows: brows,
  });
}

function marginBand(score, margin) {
  const pos = (v) => Math.max(0, Math.min(1, (v - NPS_RANGE[0]) / (NPS_RANGE[1] - NPS_RANGE[0])));
  const a = pos(score - margin);
  const b = pos(score + margin);
  const stops = [];
  if (a > 0) stops.push([a, 'rgba(0,0,0,0.06)']);
  stops.push([Math.max(b, a + 0.001), 'rgba(47,111,222,0.85)']);
  if (b < 1) stops.push([1, 'rgba(0,0,0,0.06)']);
  return stops;
}

// ---- Journey map ------------------------------------------------------------------------

async function journeyMap(ctx) {
  const metric = ctx.params.get('metric') === 'csat' ? 'csat' : 'nps';
  const [cat, scores, exp] = await Promise.all([
    catalogue(),
    api.get('/v1/reports/scores', scoresParams(ctx, { group: 'touchpoint', metric })),
    api.get('/v1/reports/expectations', rq(ctx.filters)).catch(() => null),
  ]);
  pageHead(ctx, t('map_title'), t('map_help'));
  const msel = h('select', { id: 'map-metric' }, ['nps', 'csat'].map((m) => h('option', { value: m, selected: m === metric }, t(m))));
  msel.addEventListener('change', () => setParams({ metric: msel.value }));
  ctx.view.appendChild(h('div', { class: 'inline-field' }, h('label', { for: 'map-metric' }, t('metric')), msel));

  const byTp = new Map();
  for (const r of scores.rows || []) byTp.set(r.touchpoint, r[metric]);
  const expBy = new Map();
  for (const r of (exp && exp.touchpoints) || []) expBy.set(r.touchpoint, r[metric]);

  const journey = ctx.journeys[0];
  const stages = journey ? journey.stages.filter((s) => !ctx.filters.stage || s.key === ctx.filters.stage) : [];
  const xs = stages.map((s) => s.name[getLang()] || s.name.en || s.key);
  const maxRows = Math.max(1, ...stages.map((s) => s.touchpoints.length));
  const cells = [];
  const rows = [];
  stages.forEach((s, xi) => {
    s.touchpoints.forEach((tp, yi) => {
      const x = byTp.get(tp.key) || null;
      const e = expBy.get(tp.key) || null;
      const v = x ? (metric === 'nps' ? x.score : x.mean) : null;
      const row = {
        stage: xs[xi], key: tp.key, name: tpName(cat, tp.key), score: v, n: x ? x.n : 0, margin: x ? x.margin : null,
        low_volume: x ? x.low_volume : true, expected: e ? e.expected : (tp.expected ? tp.expected[metric] : null),
        actual: e ? e.actual : v, gap: e ? e.gap : null, status: e ? e.status : '',
      };
      rows.push(row);
      cells.push({ value: [xi, yi, v === null ? '-' : +v.toFixed(2)], row });
    });
  });
  const range = metric === 'nps' ? [-100, 100] : [1, 5];
  const fmtScore = (v) => (v === null || v === undefined ? '–' : fmtNum(v, metric === 'nps' ? 1 : 2));
  chartCard(ctx.view, {
    name: 'journey-map', title: `${t('map_title')} — ${t(metric)}`, height: Math.max(300, 60 * maxRows + 80),
    option: {
      tooltip: {
        ...tooltipBase(),
        formatter: (p) => {
          const r = p.data && p.data.row;
          if (!r) return '';
          return [
            `<b>${escapeHtml(r.name)}</b> (${escapeHtml(r.stage)})`,
            `${escapeHtml(t(metric))}: ${escapeHtml(fmtScore(r.score))}${r.margin !== null ? ' ±' + escapeHtml(fmtNum(r.margin)) : ''}`,
            `${escapeHtml(t('n'))}: ${escapeHtml(fmtInt(r.n))}${r.low_volume ? ' ⚠ ' + escapeHtml(t('low_volume_short')) : ''}`,
            `${escapeHtml(t('expected'))}: ${escapeHtml(fmtScore(r.expected))} · ${escapeHtml(t('actual'))}: ${escapeHtml(fmtScore(r.actual))}`,
            r.gap !== null ? `${escapeHtml(t('gap'))}: ${escapeHtml(fmtSigned(r.gap, 2))} (${escapeHtml(r.status)})` : '',
          ].join('<br>');
        },
      },
      grid: { left: 10, right: 10, top: 30, bottom: 60, containLabel: false },
      xAxis: { type: 'category', data: xs, position: 'top', splitArea: { show: true }, axisLabel: { fontWeight: 'bold' } },
      yAxis: { type: 'category', data: Array.from({ length: maxRows }, (_, i) => String(i)), inverse: true, show: false },
      visualMap: { min: range[0], max: range[1], calculable: true, orient: 'horizontal', left: 'center', bottom: 5, inRange: { color: ['#c0392b', '#f1c40f', '#27ae60'] } },
      series: [{
        type: 'heatmap', data: cells,
        label: { show: true, formatter: (p) => `${p.data.row.name}\n${fmtScore(p.data.row.score)}${p.data.row.low_volume ? ' ⚠' : ''}`, fontSize: 11, lineHeight: 16, color: '#111' },
        itemStyle: { borderColor: '#fff', borderWidth: 3 },
        emphasis: { itemStyle: { borderColor: '#333', borderWidth: 2 } },
        cursor: 'pointer',
      }],
    },
    onClick: (p) => { if (p.data && p.data.row) location.hash = hrefFor('touchpoint', p.data.row.key).slice(1); },
    columns: [
      { key: 'stage', label: t('stage') },
      { key: 'name', label: t('touchpoint'), fmt: (r) => h('a', { href: hrefFor('touchpoint', r.key) }, r.name) },
      { key: 'score', label: t(metric), fmt: (r) => fmtScore(r.score) },
      { key: 'n', label: t('n'), fmt: (r) => fmtInt(r.n) },
      { key: 'expected', label: t('expected'), fmt: (r) => fmtScore(r.expected) },
      { key: 'gap', label: t('gap'), fmt: (r) => (r.gap === null ? '–' : fmtSigned(r.gap, 2)) },
      { key: 'status', label: t('status') },
      { key: 'low_volume', label: t('low_volume_short'), fmt: (r) => (r.low_volume ? '⚠' : ''), csv: (r) => (r.low_volume ? 'low_volume' : '') },
    ],
    rows,
  });
}

// ---- Touchpoint -----------------------------------------------------------------------------

async function touchpoint(ctx) {
  const key = ctx.arg;
  const iv = intervalPicker(ctx);
  const [cat, tot, trend, why] = await Promise.all([
    catalogue(),
    api.get('/v1/reports/scores', rq(ctx.filters, { touchpoint: key })),
    api.get('/v1/reports/scores', rq(ctx.filters, { touchpoint: key, bucket: iv.value })),
    // What the unhappy answers' comments talk about (older servers: no themes report).
    api.get('/v1/reports/themes', rq(ctx.filters, { touchpoint: key, detractors: 1 })).catch(() => null),
  ]);
  const name = tpName(cat, key);
  pageHead(ctx, t('tp_title', { name }));
  const info = cat.get(key);
  if (info) {
    ctx.view.appendChild(h('p', { class: 'muted' }, `${t('stage')}: ${stageName(ctx.journeys, info.stage)} · ${t('channel')}: ${t('ch_' + info.channel)} · ${info.department || ''}`));
  }
  ctx.view.appendChild(iv.el);
  const brows = trend.rows || [];
  const lbl = (r) => fmtBucket(r.bucket, iv.value);
  const grid = h('div', { class: 'grid' });
  ctx.view.appendChild(grid);
  const low = brows.filter((r) => (r.nps && r.nps.low_volume) || (r.csat && r.csat.low_volume)).length;
  chartCard(grid, {
    name: 'tp-trend', title: t('score_trend'), warnings: low ? [t('low_volume', { n: trend.min_n || 30 }) + ` (${low} / ${brows.length})`] : [],
    option: {
      tooltip: { ...tooltipBase(), trigger: 'axis', valueFormatter: (v) => fmtNum(v) },
      legend: { top: 0 },
      grid: { left: 50, right: 50, top: 40, bottom: 40 },
      xAxis: { type: 'category', data: brows.map(lbl) },
      yAxis: [{ type: 'value', name: 'NPS', min: -100, max: 100 }, { type: 'value', name: '%', min: 0, max: 100 }],
      series: [
        { name: 'NPS', type: 'line', connectNulls: true, data: brows.map((r) => (r.nps ? { value: +r.nps.score.toFixed(1), symbol: r.nps.low_volume ? 'emptyCircle' : 'circle' } : null)) },
        { name: `${t('csat')} %`, type: 'line', yAxisIndex: 1, connectNulls: true, data: brows.map((r) => (r.csat ? { value: +r.csat.pct.toFixed(1), symbol: r.csat.low_volume ? 'emptyCircle' : 'circle' } : null)) },
        { name: `${t('ces')} %`, type: 'line', yAxisIndex: 1, connectNulls: true, data: brows.map((r) => (r.ces ? +r.ces.pct_easy.toFixed(1) : null)) },
      ],
    },
    columns: [
      { key: 'bucket', label: t('period'), fmt: lbl },
      { key: 'nps', label: 'NPS', fmt: (r) => (r.nps ? `${fmtNum(r.nps.score)} ±${fmtNum(r.nps.margin)} (n ${fmtInt(r.nps.n)})` : '–'), csv: (r) => (r.nps ? r.nps.score : null) },
      { key: 'csat', label: `${t('csat')} %`, fmt: (r) => (r.csat ? `${fmtNum(r.csat.pct)} (n ${fmtInt(r.csat.n)})` : '–'), csv: (r) => (r.csat ? r.csat.pct : null) },
      { key: 'ces', label: `${t('ces')} %`, fmt: (r) => (r.ces ? fmtNum(r.ces.pct_easy) : '–'), csv: (r) => (r.ces ? r.ces.pct_easy : null) },
    ],
    rows: brows,
  });

  // Distribution by answer group (exact counts from the scores report).
  const row = (tot.rows && tot.rows[0]) || {};
  const dist = [];
  if (row.nps) dist.push({ metric: 'NPS', group: t('detractors'), n: row.nps.detractors, c: '#c0392b' }, { metric: 'NPS', group: t('passives'), n: row.nps.passives, c: '#f1c40f' }, { metric: 'NPS', group: t('promoters'), n: row.nps.promoters, c: '#27ae60' });
  if (row.csat) dist.push({ metric: 'CSAT', group: t('csat_low'), n: row.csat.n - row.csat.top2, c: '#e67e22' }, { metric: 'CSAT', group: t('csat_top'), n: row.csat.top2, c: '#2ca58d' });
  if (row.ces) dist.push({ metric: 'CES', group: t('ces_hard'), n: row.ces.n - row.ces.easy, c: '#e67e22' }, { metric: 'CES', group: t('ces_easy'), n: row.ces.easy, c: '#2ca58d' });
  chartCard(grid, {
    name: 'tp-distribution', title: t('distribution'),
    option: {
      tooltip: { ...tooltipBase(), trigger: 'item' },
      grid: { left: 130, right: 30, top: 10, bottom: 30 },
      xAxis: { type: 'value' },
      yAxis: { type: 'category', inverse: true, data: dist.map((d) => d.group) },
      series: [{ type: 'bar', name: t('n'), data: dist.map((d) => ({ value: d.n, itemStyle: { color: d.c } })), label: { show: true, position: 'right' } }],
    },
    columns: [
      { key: 'metric', label: t('metric') },
      { key: 'group', label: t('score') },
      { key: 'n', label: t('n'), fmt: (r) => fmtInt(r.n) },
    ],
    rows: dist,
  });

  if (why) {
    const th = (why.themes || []).slice(0, 10);
    const themeName = (r) => (getLang() === 'en' ? r.name_en : r.name_vi) || r.theme;
    chartCard(grid, {
      name: 'tp-themes', title: t('detractor_themes'), help: t('detractor_themes_help', { n: fmtInt(why.commented || 0) }),
      option: {
        tooltip: { ...tooltipBase(), trigger: 'axis', axisPointer: { type: 'shadow' } },
        legend: { top: 0 },
        grid: { left: 160, right: 30, top: 30, bottom: 30 },
        xAxis: { type: 'value' },
        yAxis: { type: 'category', inverse: true, data: th.map(themeName) },
        series: [
          { name: t('negative'), type: 'bar', stack: 's', data: th.map((r) => r.negative), itemStyle: { color: '#c0392b' } },
          { name: t('neutral'), type: 'bar', stack: 's', data: th.map((r) => r.neutral), itemStyle: { color: '#95a5a6' } },
          { name: t('positive'), type: 'bar', stack: 's', data: th.map((r) => r.positive), itemStyle: { color: '#27ae60' } },
        ],
      },
      columns: [
        { key: 'theme', label: t('theme'), fmt: themeName },
        { key: 'mentions', label: t('n'), fmt: (r) => fmtInt(r.mentions) },
        { key: 'share', label: '%', fmt: (r) => fmtPct(r.share, 0), csv: (r) => r.share },
        { key: 'negative', label: t('negative'), fmt: (r) => fmtInt(r.negative) },
        { key: 'neutral', label: t('neutral'), fmt: (r) => fmtInt(r.neutral) },
        { key: 'positive', label: t('positive'), fmt: (r) => fmtInt(r.positive) },
      ],
      rows: th,
    });
  }

  await comments(ctx, key);
}

// Recent comments with filters.  Every piece of text goes in with textContent.
async function comments(ctx, key) {
  const sec = h('section', { class: 'card', 'data-chart': 'comments', 'aria-labelledby': 'comments-title' });
  sec.appendChild(h('h2', { id: 'comments-title' }, t('comments')));
  const ignored = ignoredNote(ctx, 'ignored_comments'); // GET /v1/responses
  if (ignored) sec.appendChild(ignored);
  const p = ctx.params;
  const field = (id, label, input) => h('div', { class: 'f' }, h('label', { for: id }, label), input);
  const cMetric = h('select', { id: 'c-metric', name: 'c_metric' }, h('option', { value: '' }, t('all')), ['nps', 'csat', 'ces', 'goal', 'ease', 'emotion'].map((m) => h('option', { value: m, selected: p.get('c_metric') === m }, t(m))));
  const cSent = h('select', { id: 'c-sentiment', name: 'c_sentiment' }, h('option', { value: '' }, t('all')), ['negative', 'neutral', 'positive'].map((m) => h('option', { value: m, selected: p.get('c_sentiment') === m }, t(m))));
  const cMin = h('input', { id: 'c-min', name: 'c_min', type: 'number', min: 0, max: 10, value: p.get('c_min') || '' });
  const cMax = h('input', { id: 'c-max', name: 'c_max', type: 'number', min: 0, max: 10, value: p.get('c_max') || '' });
  const cTheme = h('input', { id: 'c-theme', name: 'c_theme', type: 'text', value: p.get('c_theme') || '', size: 12 });
  const form = h('form', { class: 'filters inline', 'aria-label': t('comments') },
    field('c-metric', t('metric'), cMetric), field('c-sentiment', t('sentiment'), cSent),
    field('c-min', t('min_score'), cMin), field('c-max', t('max_score'), cMax), field('c-theme', t('theme'), cTheme),
    h('div', { class: 'f buttons' }, h('button', { type: 'submit', class: 'btn' }, t('apply'))));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    setParams({ c_metric: cMetric.value, c_sentiment: cSent.value, c_min: cMin.value, c_max: cMax.value, c_theme: cTheme.value.trim() });
  });
  sec.appendChild(form);
  const csvBtn = h('button', { type: 'button', class: 'btn small', 'data-action': 'csv' }, t('download_csv'));
  sec.appendChild(h('div', { class: 'card-tools' }, csvBtn));
  const list = h('ol', { class: 'comments', 'aria-live': 'polite' });
  sec.appendChild(list);
  const more = h('button', { type: 'button', class: 'btn', hidden: true }, t('more'));
  sec.appendChild(more);
  ctx.view.appendChild(sec);

  const all = [];
  const query = {
    touchpoint: key, has_comment: 1, limit: 20, from: ctx.filters.from, to: ctx.filters.to, channel: ctx.filters.channel, segment: ctx.filters.segment, attr: ctx.filters.attr,
    metric: p.get('c_metric'), sentiment: p.get('c_sentiment'), min_score: p.get('c_min'), max_score: p.get('c_max'), theme: p.get('c_theme'),
  };
  const cols = [
    { label: t('time'), csv: (r) => r.time },
    { label: t('customer'), csv: (r) => r.customer || '' },
    { label: t('metric'), csv: (r) => r.metric },
    { label: t('score'), csv: (r) => r.score },
    { label: t('comment'), csv: (r) => r.comment || '' },
    { label: t('sentiment'), csv: (r) => (r.sentiment ? r.sentiment.label : '') },
    { label: t('themes'), csv: (r) => (r.themes || []).join(' ') },
    { label: 'id', csv: (r) => r.id },
  ];
  csvBtn.addEventListener('click', () => downloadCsv(`comments-${key}.csv`, cols, all));

  let nextCursor = null;
  more.addEventListener('click', async () => {
    more.disabled = true;
    try { await page(nextCursor); } finally { more.disabled = false; }
  });
  async function page(cursor) {
    let r;
    try {
      r = await api.get('/v1/responses', { ...query, cursor });
    } catch (e) {
      if (e.status === 404 || e.status === 405) {
        list.appendChild(h('li', { class: 'muted' }, t('comments_unavailable')));
        return;
      }
      throw e;
    }
    for (const x of r.responses || []) {
      all.push(x);
      list.appendChild(commentItem(x));
    }
    if (!all.length) list.appendChild(h('li', { class: 'muted' }, t('no_comments')));
    nextCursor = r.next_cursor || null;
    more.hidden = !nextCursor;
  }
  await page(undefined);
}

function commentItem(x) {
  const li = h('li', { class: 'comment', 'data-id': x.id });
  const meta = h('div', { class: 'meta' });
  meta.appendChild(h('span', { class: 'score-badge ' + scoreClass(x) }, `${String(x.metric).toUpperCase()} ${x.score}`));
  meta.appendChild(h('span', { class: 'muted' }, fmtDateTime(x.time)));
  meta.appendChild(h('span', { class: 'muted' }, x.customer ? `${t('customer')}: ${x.customer}` : t('anonymous')));
  if (x.channel) meta.appendChild(h('span', { class: 'muted' }, t('ch_' + x.channel)));
  if (x.sentiment && x.sentiment.label) {
    meta.appendChild(h('span', { class: 'badge sent-' + x.sentiment.label, title: x.sentiment.confidence !== undefined ? fmtPct(x.sentiment.confidence, 0) : null }, t(x.sentiment.label) || x.sentiment.label));
  }
  for (const th of x.themes || []) meta.appendChild(h('span', { class: 'badge theme' }, th));
  li.appendChild(meta);
  const body = h('p', { class: 'comment-text' });
  if (x.language) body.setAttribute('lang', x.language);
  body.textContent = x.comment || '';
  li.appendChild(body);
  return li;
}
function scoreClass(x) {
  const s = Number(x.score);
  if (x.metric === 'nps') return s >= 9 ? 'good' : s >= 7 ? 'mid' : 'bad';
  if (x.metric === 'csat' || x.metric === 'emotion') return s >= 4 ? 'good' : s === 3 ? 'mid' : 'bad';
  if (x.metric === 'ces' || x.metric === 'ease') return s >= 5 ? 'good' : s === 4 ? 'mid' : 'bad';
  return 'mid';
}

// ---- Weakest touchpoints --------------------------------------------------------------------

async function weakest(ctx) {
  const metric = ctx.params.get('metric') === 'csat' ? 'csat' : 'nps';
  const [cat, w] = await Promise.all([catalogue(), api.get('/v1/reports/weakest', rq(ctx.filters, { metric, limit: 100 }))]);
  pageHead(ctx, t('weakest_title'), t('weakest_help'));
  const msel = h('select', { id: 'w-metric' }, ['nps', 'csat'].map((m) => h('option', { value: m, selected: m === metric }, t(m))));
  msel.addEventListener('change', () => setParams({ metric: msel.value }));
  ctx.view.appendChild(h('div', { class: 'inline-field' }, h('label', { for: 'w-metric' }, t('metric')), msel));
  const rows = (w.touchpoints || []).filter((r) => inStage(ctx, r.touchpoint)).map((r) => ({ ...r, name: tpName(cat, r.touchpoint) }));
  const warnings = [];
  const lowN = rows.filter((r) => r.low_volume).length;
  if (lowN) warnings.push(`${t('low_volume', { n: 30 })}: ${rows.filter((r) => r.low_volume).map((r) => r.name).join(', ')}`);
  const ns = rows.filter((r) => r.trend && !r.trend.significant).length;
  if (ns) warnings.push(`${t('trend_delta')}: ${t('not_significant')} (${ns} / ${rows.length})`);
  const names = rows.map((r) => `${r.rank}. ${r.name}${r.low_volume ? ' ⚠' : ''}`);
  chartCard(ctx.view, {
    name: 'weakest', title: `${t('weakest_title')} — ${t(metric)}`, warnings, height: Math.max(300, rows.length * 26 + 60),
    option: {
      tooltip: {
        ...tooltipBase(), trigger: 'item',
        formatter: (p) => {
          const r = rows[p.dataIndex];
          if (!r) return '';
          return `<b>${escapeHtml(r.name)}</b><br>${escapeHtml(t('score'))}: ${escapeHtml(fmtNum(r.score))} [${escapeHtml(fmtNum(r.lower))}; ${escapeHtml(fmtNum(r.upper))}]<br>n = ${escapeHtml(fmtInt(r.n))}${r.low_volume ? ' ⚠' : ''}`;
        },
      },
      grid: { left: 190, right: 30, top: 10, bottom: 30 },
      xAxis: { type: 'value', min: metric === 'nps' ? -100 : 0, max: 100 },
      yAxis: { type: 'category', inverse: true, data: names, axisLabel: { width: 180, overflow: 'truncate' } },
      series: [
        {
          type: 'custom', name: '95%',
          renderItem: (params, a) => {
            const y = a.value(0);
            const p0 = a.coord([a.value(1), y]);
            const p1 = a.coord([a.value(2), y]);
            const hgt = a.size([0, 1])[1] * 0.35;
            const style = { stroke: '#5b6b7b', lineWidth: 2 };
            return {
              type: 'group',
              children: [
                { type: 'line', shape: { x1: p0[0], y1: p0[1], x2: p1[0], y2: p1[1] }, style },
                { type: 'line', shape: { x1: p0[0], y1: p0[1] - hgt / 2, x2: p0[0], y2: p0[1] + hgt / 2 }, style },
                { type: 'line', shape: { x1: p1[0], y1: p1[1] - hgt / 2, x2: p1[0], y2: p1[1] + hgt / 2 }, style },
              ],
            };
          },
          encode: { x: [1, 2], y: 0 },
          data: rows.map((r, i) => [i, r.lower, r.upper]),
        },
        { type: 'scatter', name: t('score'), symbolSize: 11, data: rows.map((r, i) => ({ value: [r.score, i], itemStyle: { color: scoreColor(metric === 'nps' ? (r.score + 100) / 200 : r.score / 100) } })) },
      ],
    },
    onClick: (p) => { const r = rows[p.dataIndex]; if (r) location.hash = hrefFor('touchpoint', r.touchpoint).slice(1); },
    columns: [
      { key: 'rank', label: t('rank') },
      { key: 'name', label: t('touchpoint'), fmt: (r) => h('a', { href: hrefFor('touchpoint', r.touchpoint) }, r.name) },
      { key: 'stage', label: t('stage'), fmt: (r) => stageName(ctx.journeys, r.stage) },
      { key: 'n', label: t('n'), fmt: (r) => fmtInt(r.n) },
      { key: 'score', label: t('score'), fmt: (r) => fmtNum(r.score) },
      { key: 'lower', label: t('lower'), fmt: (r) => fmtNum(r.lower) },
      { key: 'upper', label: t('upper'), fmt: (r) => fmtNum(r.upper) },
      { key: 'shrunk', label: t('shrunk'), fmt: (r) => fmtNum(r.shrunk) },
      { key: 'trend', label: t('trend_delta'), fmt: (r) => (r.trend ? `${fmtSigned(r.trend.delta)}${r.trend.significant ? '' : ' ⚠ ' + t('not_significant')}` : '–'), csv: (r) => (r.trend ? r.trend.delta : null) },
      { key: 'significant', label: t('significant'), fmt: (r) => (r.trend && r.trend.significant ? '✓' : ''), csv: (r) => (r.trend ? r.trend.significant : '') },
      { key: 'low_volume', label: t('low_volume_short'), fmt: (r) => (r.low_volume ? '⚠' : ''), csv: (r) => (r.low_volume ? 'low_volume' : '') },
    ],
    rows,
  });
}

// ---- Priority matrix -----------------------------------------------------------------------

const QUADRANT_COLOR = { fix_first: '#c0392b', keep_up: '#27ae60', maintain: '#2f6fde', low_priority: '#95a5a6', possible_overkill: '#8e5bd1' };

async function matrix(ctx) {
  const metric = ['csat', 'nps', 'ces'].includes(ctx.params.get('metric')) ? ctx.params.get('metric') : 'csat';
  const outcome = ['nps', 'csat', 'purchase'].includes(ctx.params.get('outcome')) ? ctx.params.get('outcome') : 'nps';
  const extra = { metric, outcome };
  const tps = ctx.filters.stage ? stageTouchpoints(ctx.journeys, ctx.filters.stage) : null;
  if (tps) extra.touchpoint = tps.join(',');
  const [cat, d] = await Promise.all([catalogue(), api.get('/v1/reports/drivers', rq(ctx.filters, extra))]);
  pageHead(ctx, t('matrix_title'), t('matrix_help', { outcome: outcome === 'purchase' ? t('purchase') : t(outcome), metric: t(metric) }), );
  const msel = h('select', { id: 'm-metric' }, ['csat', 'nps', 'ces'].map((m) => h('option', { value: m, selected: m === metric }, t(m))));
  msel.addEventListener('change', () => setParams({ metric: msel.value }));
  const osel = h('select', { id: 'm-outcome' }, ['nps', 'csat', 'purchase'].map((m) => h('option', { value: m, selected: m === outcome }, m === 'purchase' ? t('purchase') : t(m))));
  osel.addEventListener('change', () => setParams({ outcome: osel.value }));
  ctx.view.appendChild(h('div', { class: 'inline-field' }, h('label', { for: 'm-metric' }, t('metric')), msel, h('label', { for: 'm-outcome' }, t('outcome')), osel));
  const rows = (d.touchpoints || []).map((r) => ({ ...r, name: tpName(cat, r.touchpoint) }));
  const quads = [...new Set(rows.map((r) => r.quadrant))];
  chartCard(ctx.view, {
    name: 'priority-matrix', title: t('matrix_title'), height: 440,
    warnings: (d.excluded || []).length ? [`${t('low_volume', { n: d.min_n || 30 })}: ${d.excluded.map((x) => tpName(cat, typeof x === 'string' ? x : x.touchpoint)).join(', ')}`] : [],
    option: {
      legend: { top: 0, data: quads.map((q) => t('q_' + q)) },
      tooltip: {
        ...tooltipBase(), trigger: 'item',
        formatter: (p) => {
          const r = p.data && p.data.row;
          if (!r) return '';
          return `<b>${escapeHtml(r.name)}</b><br>${escapeHtml(t('importance'))}: ${escapeHtml(fmtNum(r.weight_pct))}<br>${escapeHtml(t('performance'))}: ${escapeHtml(fmtNum(r.performance, 2))}<br>${escapeHtml(t('quadrant'))}: ${escapeHtml(t('q_' + r.quadrant))}<br>n = ${escapeHtml(fmtInt(r.n))}`;
        },
      },
      grid: { left: 60, right: 40, top: 40, bottom: 50 },
      xAxis: { type: 'value', name: t('performance'), nameLocation: 'middle', nameGap: 30, scale: true },
      yAxis: { type: 'value', name: t('importance'), scale: true },
      series: quads.map((q, i) => ({
        type: 'scatter', name: t('q_' + q), symbolSize: 14, itemStyle: { color: QUADRANT_COLOR[q] || PALETTE[i] },
        label: { show: true, position: 'right', formatter: (p) => p.data.row.name, fontSize: 11 },
        data: rows.filter((r) => r.quadrant === q).map((r) => ({ value: [r.performance, r.weight_pct], row: r })),
        markLine: i === 0 ? {
          silent: true, symbol: 'none', lineStyle: { type: 'dashed', color: '#888' }, label: { show: false },
          data: [{ xAxis: d.mean_performance }, { yAxis: d.mean_importance }],
        } : undefined,
      })),
    },
    onClick: (p) => { if (p.data && p.data.row) location.hash = hrefFor('touchpoint', p.data.row.touchpoint).slice(1); },
    columns: [
      { key: 'name', label: t('touchpoint'), fmt: (r) => h('a', { href: hrefFor('touchpoint', r.touchpoint) }, r.name) },
      { key: 'n', label: t('n'), fmt: (r) => fmtInt(r.n) },
      { key: 'weight_pct', label: t('importance'), fmt: (r) => fmtNum(r.weight_pct) },
      { key: 'performance', label: t('performance'), fmt: (r) => fmtNum(r.performance, 2) },
      { key: 'correlation', label: t('correlation'), fmt: (r) => fmtNum(r.correlation, 3) },
      { key: 'quadrant', label: t('quadrant'), fmt: (r) => t('q_' + r.quadrant) },
    ],
    rows,
  });
}

// ---- Journey flows -------------------------------------------------------------------------

async function flows(ctx) {
  const cat = await catalogue();
  const keys = [...cat.keys()].filter((k) => inStage(ctx, k));
  const start = ctx.params.get('start') && cat.has(ctx.params.get('start')) ? ctx.params.get('start') : keys[0];
  const depth = Math.max(1, Math.min(5, Number(ctx.params.get('depth')) || 3));
  const [ex, fun, nx] = await Promise.all([
    start ? api.get('/v1/reports/explorer', rq(ctx.filters, { start, depth })) : null,
    api.get('/v1/reports/funnel', rq(ctx.filters)),
    start ? api.get('/v1/reports/next', rq(ctx.filters, { touchpoint: start, top: 8 })) : null,
  ]);
  pageHead(ctx, t('flows_title'));
  const ssel = h('select', { id: 'fl-start' }, keys.map((k) => h('option', { value: k, selected: k === start }, tpName(cat, k))));
  ssel.addEventListener('change', () => setParams({ start: ssel.value }));
  const dsel = h('select', { id: 'fl-depth' }, [1, 2, 3, 4, 5].map((n) => h('option', { value: n, selected: n === depth }, String(n))));
  dsel.addEventListener('change', () => setParams({ depth: dsel.value }));
  ctx.view.appendChild(h('div', { class: 'inline-field' }, h('label', { for: 'fl-start' }, t('start_tp')), ssel, h('label', { for: 'fl-depth' }, t('depth')), dsel));

  // Sankey: node per (step, touchpoint).
  const nodes = ((ex && ex.nodes) || []).map((n) => ({ name: `${n.step}:${n.touchpoint}`, step: n.step, tp: n.touchpoint, customers: n.customers, ended: n.ended }));
  const links = ((ex && ex.links) || []).map((l) => ({ source: `${l.step}:${l.from}`, target: `${l.step + 1}:${l.to}`, value: l.customers, step: l.step, from: l.from, to: l.to }));
  chartCard(ctx.view, {
    name: 'sankey', title: t('sankey', { name: tpName(cat, start) }), height: 460,
    option: {
      tooltip: {
        ...tooltipBase(), trigger: 'item',
        formatter: (p) => {
          if (p.dataType === 'edge') return `${escapeHtml(tpName(cat, p.data.from))} → ${escapeHtml(tpName(cat, p.data.to))}: ${escapeHtml(fmtInt(p.data.value))}`;
          return `${escapeHtml(t('step'))} ${p.data.step}: <b>${escapeHtml(tpName(cat, p.data.tp))}</b><br>${escapeHtml(t('customers'))}: ${escapeHtml(fmtInt(p.data.customers))}`;
        },
      },
      series: [{
        type: 'sankey', left: 10, right: 120, top: 10, bottom: 10, nodeAlign: 'left', emphasis: { focus: 'adjacency' },
        data: nodes, links, lineStyle: { color: 'gradient', opacity: 0.35 },
        label: { formatter: (p) => tpName(cat, p.data.tp), fontSize: 11 },
      }],
    },
    columns: [
      { key: 'step', label: t('step') },
      { key: 'from', label: t('from'), fmt: (r) => tpName(cat, r.from) },
      { key: 'to', label: t('to'), fmt: (r) => tpName(cat, r.to) },
      { key: 'value', label: t('customers'), fmt: (r) => fmtInt(r.value) },
    ],
    rows: links,
  });

  const grid = h('div', { class: 'grid' });
  ctx.view.appendChild(grid);
  const stages = (fun.stages || []).map((s) => ({ ...s, name: s.key ? stageName(ctx.journeys, s.key) : t('stage_unstaged') }));
  chartCard(grid, {
    name: 'funnel', title: t('funnel'),
    option: {
      tooltip: { ...tooltipBase(), trigger: 'axis', valueFormatter: (v) => fmtNum(v) },
      legend: { top: 0 },
      grid: { left: 60, right: 20, top: 40, bottom: 40 },
      xAxis: { type: 'category', data: stages.map((s) => s.name) },
      yAxis: { type: 'value' },
      series: [
        { name: t('reached'), type: 'bar', data: stages.map((s) => s.reached), label: { show: true, position: 'top' } },
        { name: t('dropped'), type: 'bar', data: stages.map((s) => s.dropped), itemStyle: { color: '#c0392b' }, label: { show: true, position: 'top', formatter: (p) => (stages[p.dataIndex].drop_off === null ? '' : fmtPct(stages[p.dataIndex].drop_off)) } },
      ],
    },
    columns: [
      { key: 'name', label: t('stage') },
      { key: 'reached', label: t('reached'), fmt: (r) => fmtInt(r.reached) },
      { key: 'converted', label: t('converted'), fmt: (r) => fmtInt(r.converted) },
      { key: 'dropped', label: t('dropped'), fmt: (r) => fmtInt(r.dropped) },
      { key: 'conversion', label: t('conversion'), fmt: (r) => fmtPct(r.conversion) },
      { key: 'drop_off', label: t('drop_off'), fmt: (r) => fmtPct(r.drop_off) },
    ],
    rows: stages,
  });

  const next = ((nx && nx.next) || []).map((r) => ({ ...r, name: tpName(cat, r.touchpoint) }));
  chartCard(grid, {
    name: 'next', title: `${t('next_tp')} — ${tpName(cat, start)}`,
    option: {
      tooltip: { ...tooltipBase(), trigger: 'axis', valueFormatter: (v) => fmtPct(v) },
      grid: { left: 150, right: 40, top: 10, bottom: 30 },
      xAxis: { type: 'value', axisLabel: { formatter: (v) => fmtPct(v, 0) } },
      yAxis: { type: 'category', inverse: true, data: next.map((r) => r.name) },
      series: [{ type: 'bar', name: t('probability'), data: next.map((r) => r.p), label: { show: true, position: 'right', formatter: (p) => fmtPct(p.value) } }],
    },
    columns: [
      { key: 'name', label: t('touchpoint') },
      { key: 'n', label: t('n'), fmt: (r) => fmtInt(r.n) },
      { key: 'p', label: t('probability'), fmt: (r) => fmtPct(r.p) },
    ],
    rows: next,
  });
}

// ---- Attribution --------------------------------------------------------------------------------

const MODELS = ['first', 'last', 'last_non_direct', 'linear', 'time_decay', 'position', 'markov', 'shapley'];

async function attribution(ctx) {
  const cat = await catalogue();
  const results = await Promise.all(MODELS.map((m) => api.get('/v1/attribution', rq(ctx.filters, { model: m })).catch((e) => ({ error: e }))));
  pageHead(ctx, t('attribution_title'), t('attribution_help'));
  const byTp = new Map();
  const warn = [];
  results.forEach((r, i) => {
    if (r.error) { warn.push(`${t('m_' + MODELS[i])}: ${r.error.message}`); return; }
    for (const x of r.touchpoints || []) {
      if (!inStage(ctx, x.touchpoint)) continue;
      if (!byTp.has(x.touchpoint)) byTp.set(x.touchpoint, { key: x.touchpoint, name: tpName(cat, x.touchpoint) });
      const row = byTp.get(x.touchpoint);
      row['c_' + MODELS[i]] = x.conversions;
      row['v_' + MODELS[i]] = x.value;
    }
  });
  const order = [...cat.keys()];
  const rows = [...byTp.values()].sort((a, b) => order.indexOf(a.key) - order.indexOf(b.key));
  for (const [kind, label, fmt] of [['c', t('conversions'), (v) => fmtNum(v, 1)], ['v', t('revenue'), fmtMoney]]) {
    chartCard(ctx.view, {
      name: kind === 'c' ? 'attribution-conversions' : 'attribution-revenue', title: `${label} — ${t('model')}`, height: 460, warnings: kind === 'c' ? warn : [],
      option: {
        tooltip: { ...tooltipBase(), trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v) => fmt(v) },
        legend: { top: 0, type: 'scroll' },
        grid: { left: 70, right: 20, top: 40, bottom: 110 },
        xAxis: { type: 'category', data: rows.map((r) => r.name), axisLabel: { rotate: 40, interval: 0, fontSize: 10 } },
        yAxis: { type: 'value', axisLabel: { formatter: (v) => (kind === 'v' ? new Intl.NumberFormat(getLang() === 'vi' ? 'vi-VN' : 'en-GB', { notation: 'compact' }).format(v) : v) } },
        series: MODELS.map((m) => ({ type: 'bar', name: t('m_' + m), data: rows.map((r) => (r[`${kind}_${m}`] === undefined ? null : r[`${kind}_${m}`])) })),
      },
      columns: [{ key: 'name', label: t('touchpoint') }].concat(MODELS.map((m) => ({ key: `${kind}_${m}`, label: t('m_' + m), fmt: (r) => fmt(r[`${kind}_${m}`]) }))),
      rows,
    });
  }
}

export const PAGES = { overview, map: journeyMap, touchpoint, weakest, matrix, flows, attribution };
