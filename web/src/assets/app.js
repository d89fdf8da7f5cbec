// app.js -- the dashboard shell: sign-in, language, global filters in the URL,
// and the hash router (#/page/arg?from=...&to=...&channel=...&stage=...
// &segment=...&attr=city:HCM).
// Only "/" serves index.html, so every view lives in the hash.

import { t, h, clear, getLang, setLang } from './util.js';
import * as api from './api.js';
import { disposeCharts } from './charts.js';
import { PAGES } from './pages.js';

export const FILTER_KEYS = ['from', 'to', 'channel', 'stage', 'segment', 'attr'];
const CHANNELS = ['web', 'mobile_app', 'email', 'phone', 'store', 'social', 'chat', 'sms', 'kiosk', 'pos', 'marketplace', 'ads', 'other'];

const $ = (id) => document.getElementById(id);
let signedIn = false;
let segmentsAvailable = false;
// The customer attributes that can filter answers: [[name, [value, ...]], ...].
let attributes = [];
let renderSeq = 0;

// ---- the URL ------------------------------------------------------------------

export function parseHash() {
  const raw = location.hash.startsWith('#/') ? location.hash.slice(2) : '';
  const qi = raw.indexOf('?');
  const path = (qi < 0 ? raw : raw.slice(0, qi)).split('/').filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(qi < 0 ? '' : raw.slice(qi + 1));
  return { page: path[0] || 'overview', arg: path[1] || '', params };
}

// href for a page with the current (or given) query.
export function hrefFor(page, arg, params) {
  const p = params || parseHash().params;
  const keep = new URLSearchParams();
  for (const [k, v] of p) if (v !== '') keep.set(k, v);
  const qs = keep.toString();
  return `#/${page}${arg ? '/' + encodeURIComponent(arg) : ''}${qs ? '?' + qs : ''}`;
}

// Change query parameters of the current view (empty value removes one).
export function setParams(changes, replace) {
  const cur = parseHash();
  const p = new URLSearchParams(cur.params);
  for (const [k, v] of Object.entries(changes)) {
    if (v === '' || v === null || v === undefined) p.delete(k); else p.set(k, v);
  }
  const href = hrefFor(cur.page, cur.arg, p);
  if (replace) { history.replaceState(null, '', href); route(); } else location.hash = href.slice(1);
}

// Global filters as report query parameters.
export function filtersOf(params) {
  const f = {};
  for (const k of FILTER_KEYS) {
    const v = params.get(k);
    if (v) f[k] = v;
  }
  return f;
}

// ---- static labels -------------------------------------------------------------

function translateStatic() {
  document.title = t('app_title');
  for (const e of document.querySelectorAll('[data-i18n]')) e.textContent = t(e.dataset.i18n);
  for (const e of document.querySelectorAll('[data-i18n-aria]')) e.setAttribute('aria-label', t(e.dataset.i18nAria));
  $('lang').value = getLang();
  fillFilterOptions();
}

let journeys = null;
// options: [value, label] pairs, or [group label, [[value, label], ...]] for an
// <optgroup>.  otherLabel labels a value from a shared URL that is not listed.
function fillSelect(sel, options, value, otherLabel) {
  clear(sel);
  sel.appendChild(h('option', { value: '' }, t('all')));
  for (const [v, label] of options) {
    if (Array.isArray(label)) sel.appendChild(h('optgroup', { label: v }, label.map(([ov, ol]) => h('option', { value: ov }, ol))));
    else sel.appendChild(h('option', { value: v }, label));
  }
  sel.value = value || '';
  if (sel.value !== (value || '')) { // a value from a shared URL that is not in the list
    sel.appendChild(h('option', { value }, otherLabel ? otherLabel(value) : value));
    sel.value = value;
  }
}

// attr=NAME:V1,V2;NAME2:V3 (values of one attribute ORed, attributes ANDed;
// "none": customers without a value) as text: "city = HCM | HN · plan = gold".
export function attrText(v) {
  return String(v || '').split(';').filter(Boolean).map((f) => {
    const i = f.indexOf(':');
    if (i < 0) return f;
    const vals = f.slice(i + 1).split(',').filter(Boolean).map((x) => (x === 'none' ? t('attr_none') : x));
    return `${f.slice(0, i)} = ${vals.join(' | ')}`;
  }).join(' · ');
}
function fillFilterOptions() {
  const { params } = parseHash();
  fillSelect($('f-channel'), CHANNELS.map((c) => [c, t('ch_' + c)]), params.get('channel'));
  const stages = [];
  if (journeys) {
    for (const j of journeys) for (const s of j.stages) stages.push([s.key, s.name[getLang()] || s.name.en || s.key]);
  }
  fillSelect($('f-stage'), stages, params.get('stage'));
  const segSel = $('f-segment');
  let segs = [];
  try { segs = JSON.parse(segSel.dataset.list || '[]'); } catch (e) { segs = []; }
  fillSelect(segSel, segs, params.get('segment'));
  // One choice "attribute = value"; the URL keeps the general attr= syntax.
  fillSelect($('f-attr'), attributes.map(([name, values]) => [name, values.map((v) => [`${name}:${v}`, `${name}: ${v}`])]), params.get('attr'), attrText);
  $('f-from').value = params.get('from') || '';
  $('f-to').value = params.get('to') || '';
}

async function loadFilterSources() {
  // All requests at once: the first page waits for them.
  const [jr, sr, ar] = await Promise.allSettled([api.cached('/v1/journeys'), api.get('/v1/segments'), api.get('/v1/attributes')]);
  journeys = (jr.status === 'fulfilled' && jr.value && jr.value.journeys) || [];
  try {
    if (sr.status === 'rejected') throw sr.reason;
    const s = sr.value;
    const segs = ((s && s.segments) || []).map((x) => (typeof x === 'string' ? [x, x] : [x.key, (x.name && (x.name[getLang()] || x.name.en)) || x.key]));
    segmentsAvailable = segs.length > 0; // none defined yet: nothing to choose
    $('f-segment').dataset.list = JSON.stringify(segs);
  } catch (e) {
    segmentsAvailable = false; // 404: the server has no segments; hide the filter
  }
  $('f-segment-wrap').hidden = !segmentsAvailable;
  // Attributes that can be a filter (breakdown: true); none, or a server
  // without GET /v1/attributes (404): the filter is hidden.  A value the attr=
  // syntax cannot carry (',' or ';' in it, or the word "none", which means
  // "no value") is left out.
  attributes = [];
  if (ar.status === 'fulfilled' && ar.value) {
    for (const a of ar.value.attributes || []) {
      if (!a || !a.breakdown || typeof a.name !== 'string') continue;
      const values = (a.values || []).map((x) => String(x.value)).filter((v) => v !== '' && v !== 'none' && !/[,;]/.test(v));
      if (values.length) attributes.push([a.name, values]);
    }
  }
  $('f-attr-wrap').hidden = !attributes.length;
  fillFilterOptions();
}

// ---- sign-in ---------------------------------------------------------------------

function showSignin() {
  signedIn = false;
  disposeCharts();
  clear($('view'));
  $('signin').hidden = false;
  $('nav').hidden = true;
  $('filters').hidden = true;
  $('signout').hidden = true;
  $('signin-key').focus();
}

async function enterApp() {
  signedIn = true;
  $('signin').hidden = true;
  $('nav').hidden = false;
  $('filters').hidden = false;
  $('signout').hidden = false;
  await loadFilterSources();
  route();
}

async function onSignin(ev) {
  ev.preventDefault();
  const input = $('signin-key');
  const err = $('signin-error');
  err.textContent = '';
  const key = input.value.trim();
  input.value = ''; // do not keep the key in the page either
  try {
    await api.signIn(key);
    await enterApp();
  } catch (e) {
    if (e.status === 401) err.textContent = t('signin_bad_key');
    else if (e.status === 403) err.textContent = t('signin_not_admin');
    else err.textContent = t('signin_failed', { msg: e.message });
    input.focus();
  }
}

async function onSignout() {
  try { await api.signOut(); } catch (e) { /* the cookie is gone either way */ }
  api.clearCache();
  showSignin();
}

// ---- routing -------------------------------------------------------------------

function updateNav(page) {
  for (const a of document.querySelectorAll('#nav a[data-route]')) {
    const r = a.dataset.route;
    const keep = new URLSearchParams();
    const { params } = parseHash();
    for (const k of FILTER_KEYS) if (params.get(k)) keep.set(k, params.get(k));
    a.href = hrefFor(r, '', keep);
    if (r === page || (page === 'touchpoint' && r === 'map')) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

export async function route() {
  if (!signedIn) return;
  const seq = ++renderSeq;
  const { page, arg, params } = parseHash();
  updateNav(page);
  fillFilterOptions();
  disposeCharts();
  const view = clear($('view'));
  delete view.dataset.ready;
  const fn = PAGES[page];
  if (!fn) {
    view.appendChild(h('p', { class: 'error' }, t('not_found')));
    return;
  }
  // The page is built in place (charts need their real size when created).
  const loading = h('p', { class: 'muted loading' }, t('loading'));
  const frag = h('div', { class: 'page', 'data-page': page });
  view.appendChild(loading);
  view.appendChild(frag);
  try {
    await fn({ view: frag, arg, params, filters: filtersOf(params), journeys: journeys || [] });
    if (seq !== renderSeq) return;
    loading.remove();
    view.dataset.ready = page;
  } catch (e) {
    if (seq !== renderSeq) return;
    if (e.status === 401) return; // handled: the sign-in form is shown
    clear(view);
    view.appendChild(h('p', { class: 'error', role: 'alert' }, t('error', { msg: e.message })));
    view.dataset.ready = page;
  }
}

function onFilterSubmit(ev) {
  ev.preventDefault();
  const changes = {};
  for (const k of FILTER_KEYS) {
    const e = document.querySelector(`#filters [name="${k}"]`);
    changes[k] = e && !e.closest('[hidden]') ? e.value : '';
  }
  setParams(changes);
}

function onFilterReset() {
  const changes = {};
  for (const k of FILTER_KEYS) changes[k] = '';
  setParams(changes);
}

async function start() {
  setLang(getLang());
  translateStatic();
  $('lang').addEventListener('change', (e) => {
    setLang(e.target.value);
    translateStatic();
    route();
  });
  $('signin-form').addEventListener('submit', onSignin);
  $('signout').addEventListener('click', onSignout);
  $('filters').addEventListener('submit', onFilterSubmit);
  $('f-reset').addEventListener('click', onFilterReset);
  $('skip').addEventListener('click', (e) => { e.preventDefault(); $('main').focus(); });
  window.addEventListener('hashchange', () => route());
  api.setUnauthorizedHandler(() => showSignin());
  let s = null;
  try { s = await api.session(); } catch (e) { s = null; }
  if (s) await enterApp(); else showSignin();
}

if (window.echarts) start();
else window.addEventListener('DOMContentLoaded', start);
