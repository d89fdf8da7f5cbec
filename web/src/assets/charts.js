// charts.js -- a chart card: title, an ECharts chart, a "table" toggle that
// shows the same figures as an accessible table, and a "download CSV" button.
// ECharts is the global `echarts` from /assets/echarts.min.js (no CDN).

import { t, h, downloadCsv, nextId } from './util.js';

const live = new Set();

export function disposeCharts() {
  for (const c of live) c.dispose();
  live.clear();
}
window.addEventListener('resize', () => { for (const c of live) c.resize(); });

export const PALETTE = ['#2f6fde', '#e8793a', '#2ca58d', '#c0392b', '#8e5bd1', '#d4a017', '#5b8a9a', '#b5517c'];

// Colour for a score: red (bad) .. amber .. green (good), from a 0..1 position.
export function scoreColor(p) {
  if (p === null || p === undefined || Number.isNaN(p)) return '#d0d4da';
  const x = Math.max(0, Math.min(1, p));
  const stops = [[0, [192, 57, 43]], [0.5, [241, 196, 15]], [1, [39, 174, 96]]];
  let i = 0;
  while (i < stops.length - 2 && x > stops[i + 1][0]) i += 1;
  const [p0, c0] = stops[i];
  const [p1, c1] = stops[i + 1];
  const f = (x - p0) / (p1 - p0);
  const c = c0.map((v, k) => Math.round(v + (c1[k] - v) * f));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

// chartCard(parent, {name, title, help, option, columns, rows, height, warnings, onClick})
//   option: an ECharts option object (or null when there is no data)
//   columns: [{key, label, fmt?(row) -> display text, csv?(row) -> raw value}]
export function chartCard(parent, spec) {
  const tableId = nextId('tbl');
  const chartId = nextId('chart');
  const titleId = nextId('ttl');
  const card = h('section', { class: 'card', 'data-chart': spec.name, 'aria-labelledby': titleId });
  const toggle = h('button', {
    type: 'button', class: 'btn small', 'aria-pressed': 'false', 'aria-controls': tableId, 'data-action': 'table',
  }, t('table'));
  const csvBtn = h('button', { type: 'button', class: 'btn small', 'data-action': 'csv' }, t('download_csv'));
  const head = h('div', { class: 'card-head' },
    h('h2', { id: titleId }, spec.title),
    h('div', { class: 'card-tools', role: 'group', 'aria-label': spec.title }, toggle, csvBtn));
  card.appendChild(head);
  if (spec.help) card.appendChild(h('p', { class: 'help' }, spec.help));
  if (spec.warnings) {
    for (const w of spec.warnings) card.appendChild(h('p', { class: 'warn', role: 'note' }, '⚠ ', w));
  }
  if (spec.extra) card.appendChild(spec.extra);
  const chartEl = h('div', {
    class: 'chart', id: chartId, role: 'img', 'aria-label': spec.title,
    style: `height:${spec.height || 320}px`,
  });
  const tableWrap = h('div', { class: 'table-wrap', id: tableId, hidden: true });
  tableWrap.appendChild(dataTable(spec.title, spec.columns, spec.rows));
  card.appendChild(chartEl);
  card.appendChild(tableWrap);
  parent.appendChild(card);

  toggle.addEventListener('click', () => {
    const on = toggle.getAttribute('aria-pressed') !== 'true';
    toggle.setAttribute('aria-pressed', on ? 'true' : 'false');
    toggle.textContent = on ? t('chart') : t('table');
    tableWrap.hidden = !on;
    chartEl.hidden = on;
    if (!on && chart) chart.resize();
  });
  csvBtn.addEventListener('click', () => {
    downloadCsv(`${spec.name}.csv`, spec.columns.map((c) => ({ label: c.label, csv: c.csv || ((r) => r[c.key]) })), spec.rows);
  });

  let chart = null;
  if (!card.isConnected) return { card, chart }; // the user has moved on
  if (!spec.option || !spec.rows.length) {
    chartEl.classList.add('empty');
    chartEl.appendChild(h('p', { class: 'muted' }, t('no_data')));
    chartEl.style.height = 'auto';
  } else {
    chart = window.echarts.init(chartEl, null, { renderer: 'canvas' });
    chart.setOption({ color: PALETTE, animation: false, textStyle: { fontFamily: 'inherit' }, ...spec.option });
    if (spec.onClick) chart.on('click', spec.onClick);
    live.add(chart);
    card.dataset.rendered = '1';
  }
  return { card, chart };
}

export function dataTable(caption, columns, rows) {
  const table = h('table', { class: 'data' },
    h('caption', null, caption),
    h('thead', null, h('tr', null, columns.map((c) => h('th', { scope: 'col' }, c.label)))));
  const tb = h('tbody');
  for (const r of rows) {
    tb.appendChild(h('tr', null, columns.map((c, i) => {
      const v = c.fmt ? c.fmt(r) : r[c.key];
      const cell = v instanceof Node ? v : (v === null || v === undefined ? '–' : String(v));
      return i === 0 ? h('th', { scope: 'row' }, cell) : h('td', null, cell);
    })));
  }
  table.appendChild(tb);
  return table;
}
