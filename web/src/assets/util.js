// util.js -- language, formatting, DOM building and CSV for the dashboard.
// DOM is built with createElement/textContent only: no innerHTML anywhere, so
// text from the server (comments, names) can never become markup.

import { LANGS, LOCALE, MESSAGES } from './i18n.js';

export const TZ = 'Asia/Ho_Chi_Minh';
const LANG_KEY = 'tp.lang'; // the only thing the dashboard keeps in localStorage

let lang = 'vi';
try {
  const saved = localStorage.getItem(LANG_KEY);
  if (LANGS.includes(saved)) lang = saved;
} catch (e) { /* storage disabled: stay in Vietnamese */ }

export function getLang() { return lang; }
export function setLang(l) {
  if (!LANGS.includes(l)) return;
  lang = l;
  try { localStorage.setItem(LANG_KEY, l); } catch (e) { /* ignore */ }
  document.documentElement.lang = l;
}
export function locale() { return LOCALE[lang]; }

// t('key', {m: 3}) -> the label in the current language with {m} replaced.
export function t(key, params) {
  let s = MESSAGES[lang][key];
  if (s === undefined) s = MESSAGES.en[key];
  if (s === undefined) return key;
  if (params) s = s.replace(/\{(\w+)\}/g, (_, k) => (params[k] === undefined ? '' : String(params[k])));
  return s;
}

// ---- numbers and dates (Intl, organisation's zone) ------------------------

// Formatters are built once per language and options: an Intl constructor costs
// far more than a format() call, and a page formats hundreds of cells.
const nfCache = new Map();
function nf(opts) {
  const k = `${lang}|${opts.style || ''}|${opts.currency || ''}|${opts.signDisplay || ''}|${opts.minimumFractionDigits}|${opts.maximumFractionDigits}`;
  let f = nfCache.get(k);
  if (!f) { f = new Intl.NumberFormat(locale(), opts); nfCache.set(k, f); }
  return f;
}
const dfCache = new Map();
function df(name, opts) {
  const k = `${lang}|${name}`;
  let f = dfCache.get(k);
  if (!f) { f = new Intl.DateTimeFormat(locale(), opts); dfCache.set(k, f); }
  return f;
}
export function fmtNum(v, digits = 1) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  return nf({ maximumFractionDigits: digits, minimumFractionDigits: 0 }).format(v);
}
export function fmtInt(v) {
  if (v === null || v === undefined) return '–';
  return nf({ maximumFractionDigits: 0 }).format(v);
}
export function fmtSigned(v, digits = 1) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  return nf({ maximumFractionDigits: digits, signDisplay: 'exceptZero' }).format(v);
}
export function fmtPct(v, digits = 1) { // v in 0..1
  if (v === null || v === undefined) return '–';
  return nf({ style: 'percent', maximumFractionDigits: digits }).format(v);
}
export function fmtMoney(v) {
  if (v === null || v === undefined) return '–';
  return nf({ style: 'currency', currency: 'VND', maximumFractionDigits: 0 }).format(v);
}
export function fmtDateTime(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return df('datetime', { timeZone: TZ, dateStyle: 'medium', timeStyle: 'short' }).format(d);
}
// A report bucket: "2024-06-10" (day or week start) or "2024-06" (month), already local.
export function fmtBucket(b, interval) {
  if (!b) return '';
  const parts = b.split('-').map(Number);
  // noon UTC of that local date keeps the calendar day whatever the zone.
  const d = new Date(Date.UTC(parts[0], parts[1] - 1, parts[2] || 1, 12));
  if (interval === 'month') return df('month', { year: 'numeric', month: 'short', timeZone: 'UTC' }).format(d);
  return df('day', { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' }).format(d);
}

// ---- DOM --------------------------------------------------------------------

// h('div', {class: 'x', onclick: fn, 'aria-label': '...'}, child, 'text', [more])
export function h(tag, attrs, ...children) {
  const e = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
      else if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k === 'value') e.value = v;
      else if (k === 'checked' || k === 'selected' || k === 'disabled' || k === 'hidden') e[k] = !!v;
      else e.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(e, children);
  return e;
}
function append(e, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(e, c);
    else if (c instanceof Node) e.appendChild(c);
    else e.appendChild(document.createTextNode(String(c)));
  }
}
export function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); return e; }

let uid = 0;
export function nextId(prefix) { uid += 1; return `${prefix}-${uid}`; }

// ---- CSV ----------------------------------------------------------------------

// A cell that a spreadsheet would read as a formula (= + - @, or a leading tab
// or CR) gets a leading apostrophe.  Numbers the dashboard computed itself are
// written as numbers (a negative NPS stays a number); every string is checked.
export function csvCell(v) {
  if (v === null || v === undefined) return '';
  let s;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return '';
    s = String(v);
  } else {
    s = String(v);
    if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
  }
  if (/[",\r\n]/.test(s)) s = '"' + s.replace(/"/g, '""') + '"';
  return s;
}
export function toCsv(columns, rows) {
  const lines = [columns.map((c) => csvCell(c.label)).join(',')];
  for (const r of rows) lines.push(columns.map((c) => csvCell(c.csv ? c.csv(r) : r[c.key])).join(','));
  return '\ufeff' + lines.join('\r\n') + '\r\n';
}
export function downloadCsv(filename, columns, rows) {
  const blob = new Blob([toCsv(columns, rows)], { type: 'text/csv;charset=utf-8' });
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: filename, hidden: true });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export function escapeHtml(s) { // for ECharts tooltip strings only
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}
