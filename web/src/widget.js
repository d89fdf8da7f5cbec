/* Touchpoint feedback widget.  Embed on any site:
 *   <script src="https://SERVER/widget.js" data-key="tpk_..." data-touchpoint="website"
 *           data-customer="c42" data-lang="vi|en" data-metric="nps|csat|ces" async></script>
 * Renders one question in a shadow DOM next to the script tag (or inside the
 * element named by data-target) and posts the answer to SERVER/v1/responses.
 * No dependencies; text goes in with textContent only. */
(function () {
  'use strict';
  var T = {
    vi: {
      nps: 'Bạn có sẵn lòng giới thiệu chúng tôi với bạn bè hoặc đồng nghiệp không?',
      csat: 'Bạn hài lòng với trải nghiệm này đến mức nào?',
      ces: 'Bạn thấy việc giải quyết nhu cầu của mình dễ dàng đến mức nào?',
      lo: { nps: 'Hoàn toàn không', csat: 'Rất không hài lòng', ces: 'Rất khó' },
      hi: { nps: 'Chắc chắn có', csat: 'Rất hài lòng', ces: 'Rất dễ' },
      of: '{n} trên {max}', comment: 'Góp ý thêm (không bắt buộc)', send: 'Gửi',
      sending: 'Đang gửi…', thanks: 'Cảm ơn bạn đã góp ý!', pick: 'Vui lòng chọn một điểm.',
      err: 'Không gửi được phản hồi', refused: 'Máy chủ từ chối phản hồi', net: 'máy chủ từ chối hoặc không kết nối được'
    },
    en: {
      nps: 'How likely are you to recommend us to a friend or colleague?',
      csat: 'How satisfied are you with this experience?',
      ces: 'How easy was it to get what you needed?',
      lo: { nps: 'Not at all likely', csat: 'Very dissatisfied', ces: 'Very difficult' },
      hi: { nps: 'Extremely likely', csat: 'Very satisfied', ces: 'Very easy' },
      of: '{n} out of {max}', comment: 'Anything to add? (optional)', send: 'Send',
      sending: 'Sending…', thanks: 'Thank you for your feedback!', pick: 'Please choose a score.',
      err: 'Your answer could not be sent', refused: 'The server refused the answer', net: 'the server refused it or could not be reached'
    }
  };
  var RANGE = { nps: [0, 10], csat: [1, 5], ces: [1, 7] };
  var CSS = ':host{all:initial;display:block;font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2430}' +
    '.w{border:1px solid #d5dae1;border-radius:10px;padding:14px 16px;background:#fff;max-width:560px;box-shadow:0 2px 8px rgba(0,0,0,.06)}' +
    '.q{font-weight:600;margin:0 0 10px}.s{display:flex;flex-wrap:wrap;gap:6px}' +
    '.s button{font:inherit;min-width:38px;height:38px;border:1px solid #aab3bf;border-radius:6px;background:#f7f8fa;color:#1d2430;cursor:pointer}' +
    '.s button[aria-checked=true]{background:#2f6fde;border-color:#2f6fde;color:#fff}' +
    'button:focus-visible,textarea:focus-visible{outline:3px solid #ffbf47;outline-offset:2px}' +
    '.e{display:flex;justify-content:space-between;font-size:12px;color:#5d6776;margin:4px 0 10px}' +
    'label{display:block;font-size:13px;margin:8px 0 4px}textarea{box-sizing:border-box;width:100%;min-height:56px;font:inherit;border:1px solid #aab3bf;border-radius:6px;padding:6px}' +
    '.go{margin-top:10px;font:inherit;padding:8px 18px;border:0;border-radius:6px;background:#2f6fde;color:#fff;cursor:pointer}.go[disabled]{opacity:.6;cursor:default}' +
    '.m{min-height:1.2em;margin:8px 0 0;font-size:14px}.m.x{color:#b3261e;font-weight:600}.t{font-weight:600;color:#1e7a43;margin:0}';

  function uuid() {
    var c = window.crypto;
    if (c && c.randomUUID) return c.randomUUID();
    var b = new Uint8Array(16);
    c.getRandomValues(b);
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    var h = '';
    for (var i = 0; i < 16; i++) h += (b[i] + 256).toString(16).slice(1) + (i === 3 || i === 5 || i === 7 || i === 9 ? '-' : '');
    return h;
  }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs) if (attrs[k] !== undefined) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function mount(script) {
    if (script.getAttribute('data-tp-mounted')) return;
    script.setAttribute('data-tp-mounted', '1');
    var d = script.dataset;
    var lang = d.lang === 'en' ? 'en' : 'vi';
    var metric = RANGE[d.metric] ? d.metric : 'nps';
    var L = T[lang];
    var origin = new URL(script.src, location.href).origin;
    var host = el('div', { 'class': 'touchpoint-widget', 'data-touchpoint': d.touchpoint || '' });
    var target = d.target && document.querySelector(d.target);
    if (target) target.appendChild(host);
    else if (script.parentNode && script.parentNode !== document.head) script.parentNode.insertBefore(host, script.nextSibling);
    else document.body.appendChild(host);
    var root = host.attachShadow({ mode: 'open' });
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } catch (e) {
      root.appendChild(el('style', {}, CSS));
    }
    var uid = 'tpw' + Math.random().toString(36).slice(2, 8);
    var box = el('form', { 'class': 'w', lang: lang, novalidate: '' });
    var q = el('p', { 'class': 'q', id: uid + 'q' }, L[metric]);
    var group = el('div', { 'class': 's', role: 'radiogroup', 'aria-labelledby': uid + 'q', 'aria-required': 'true' });
    var r = RANGE[metric];
    var buttons = [];
    var score = null;
    for (var n = r[0]; n <= r[1]; n++) {
      var b = el('button', { type: 'button', role: 'radio', 'aria-checked': 'false', tabindex: n === r[0] ? '0' : '-1', 'data-score': String(n),
        'aria-label': L.of.replace('{n}', n).replace('{max}', r[1]) }, String(n));
      buttons.push(b);
      group.appendChild(b);
    }
    function choose(i, focus) {
      score = r[0] + i;
      for (var k = 0; k < buttons.length; k++) {
        buttons[k].setAttribute('aria-checked', k === i ? 'true' : 'false');
        buttons[k].tabIndex = k === i ? 0 : -1;
      }
      if (focus) buttons[i].focus();
      msg.textContent = '';
      msg.className = 'm';
    }
    group.addEventListener('click', function (e) {
      var i = buttons.indexOf(e.target);
      if (i >= 0) choose(i, false);
    });
    group.addEventListener('keydown', function (e) {
      var i = buttons.indexOf(e.target);
      if (i < 0) return;
      var k = e.key;
      var j = k === 'ArrowRight' || k === 'ArrowDown' ? Math.min(i + 1, buttons.length - 1)
        : k === 'ArrowLeft' || k === 'ArrowUp' ? Math.max(i - 1, 0)
          : k === 'Home' ? 0 : k === 'End' ? buttons.length - 1 : -1;
      if (j >= 0) { e.preventDefault(); choose(j, true); }
    });
    var ends = el('div', { 'class': 'e', 'aria-hidden': 'true' });
    ends.appendChild(el('span', {}, L.lo[metric]));
    ends.appendChild(el('span', {}, L.hi[metric]));
    var ta = el('textarea', { id: uid + 'c', maxlength: '2000' });
    var lab = el('label', { 'for': uid + 'c' }, L.comment);
    var go = el('button', { type: 'submit', 'class': 'go' }, L.send);
    var msg = el('p', { 'class': 'm', role: 'status', 'aria-live': 'polite' });
    box.appendChild(q);
    box.appendChild(group);
    box.appendChild(ends);
    box.appendChild(lab);
    box.appendChild(ta);
    box.appendChild(go);
    box.appendChild(msg);
    root.appendChild(box);

    function fail(text) {
      msg.className = 'm x';
      msg.setAttribute('role', 'alert');
      msg.textContent = text;
      host.setAttribute('data-state', 'error');
      go.disabled = false;
      go.textContent = L.send;
    }
    var id = uuid(); // one id per answer: a retry after an error is a duplicate, not a second answer
    box.addEventListener('submit', function (e) {
      e.preventDefault();
      if (score === null) { fail(L.pick); buttons[0].focus(); return; }
      var body = { id: id, touchpoint: d.touchpoint, channel: 'web', metric: metric, score: score, language: lang };
      if (d.customer) body.customer = d.customer;
      var c = ta.value.trim();
      if (c) body.comment = c;
      go.disabled = true;
      go.textContent = L.sending;
      host.setAttribute('data-state', 'sending');
      fetch(origin + '/v1/responses', {
        method: 'POST', mode: 'cors', credentials: 'omit',
        headers: { 'Authorization': 'Bearer ' + d.key, 'Content-Type': 'application/json' },
        body: JSON.stringify(body)
      }).then(function (res) {
        return res.json().catch(function () { return null; }).then(function (j) {
          var ok = res.ok && j && (j.accepted + (j.duplicates || 0)) >= 1;
          if (ok) {
            while (box.firstChild) box.removeChild(box.firstChild);
            box.appendChild(el('p', { 'class': 't', role: 'status', tabindex: '-1' }, L.thanks));
            box.firstChild.focus();
            host.setAttribute('data-state', 'thanks');
            return;
          }
          var why = (j && j.error && j.error.code) || (j && j.rejected && j.rejected[0] && j.rejected[0].code) || ('HTTP ' + res.status);
          fail(L.refused + ' (' + why + ').');
        });
      }, function () {
        fail(L.err + ': ' + L.net + '.');
      });
    });
  }

  var me = document.currentScript;
  if (me && me.dataset && me.dataset.key) mount(me);
  var all = document.querySelectorAll('script[data-key][src*="widget.js"]');
  for (var i = 0; i < all.length; i++) mount(all[i]);
})();
