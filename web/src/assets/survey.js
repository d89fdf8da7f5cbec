// survey.js -- the survey link page at /s/{token}: one question (NPS, CSAT or
// CES) in the link's language, an optional comment, then a thanks page.  An
// expired, used or invalid link gets a page of its own.

const TEXT = {
  vi: {
    nps: 'Bạn có sẵn lòng giới thiệu {name} với bạn bè hoặc đồng nghiệp không?',
    csat: 'Bạn hài lòng với {name} đến mức nào?',
    ces: 'Bạn thấy việc giải quyết nhu cầu tại {name} dễ dàng đến mức nào?',
    lo: { nps: 'Hoàn toàn không', csat: 'Rất không hài lòng', ces: 'Rất khó' },
    hi: { nps: 'Chắc chắn có', csat: 'Rất hài lòng', ces: 'Rất dễ' },
    of: '{n} trên {max}', comment: 'Góp ý thêm (không bắt buộc)', send: 'Gửi', sending: 'Đang gửi…',
    pick: 'Vui lòng chọn một điểm.',
    thanks: 'Cảm ơn bạn!', thanks_text: 'Chúng tôi đã nhận được phản hồi của bạn.',
    expired: 'Liên kết đã hết hạn', expired_text: 'Liên kết khảo sát này không còn hiệu lực. Cảm ơn bạn đã quan tâm.',
    used: 'Bạn đã trả lời khảo sát này', used_text: 'Mỗi liên kết chỉ dùng được một lần. Cảm ơn bạn!',
    invalid: 'Liên kết không hợp lệ', invalid_text: 'Vui lòng kiểm tra lại đường dẫn trong tin nhắn hoặc email bạn nhận được.',
    error: 'Đã có lỗi', error_text: 'Không kết nối được máy chủ. Vui lòng thử lại sau.', retry: 'Thử lại',
    other: 'English', until: 'Liên kết có hiệu lực đến {t}.',
  },
  en: {
    nps: 'How likely are you to recommend {name} to a friend or colleague?',
    csat: 'How satisfied are you with {name}?',
    ces: 'How easy was it to get what you needed at {name}?',
    lo: { nps: 'Not at all likely', csat: 'Very dissatisfied', ces: 'Very difficult' },
    hi: { nps: 'Extremely likely', csat: 'Very satisfied', ces: 'Very easy' },
    of: '{n} out of {max}', comment: 'Anything to add? (optional)', send: 'Send', sending: 'Sending…',
    pick: 'Please choose a score.',
    thanks: 'Thank you!', thanks_text: 'We have received your answer.',
    expired: 'This link has expired', expired_text: 'This survey link is no longer valid. Thank you for your interest.',
    used: 'You have already answered', used_text: 'Each link can be used once. Thank you!',
    invalid: 'This link is not valid', invalid_text: 'Please check the link in the message or email you received.',
    error: 'Something went wrong', error_text: 'Could not reach the server. Please try again later.', retry: 'Try again',
    other: 'Tiếng Việt', until: 'This link is valid until {t}.',
  },
};
const RANGE = { nps: [0, 10], csat: [1, 5], ces: [1, 7] };

const main = document.getElementById('survey');
const token = decodeURIComponent(location.pathname.replace(/^\/s\/?/, '').split('/')[0] || '');
let lang = /^en\b/.test(navigator.language || '') ? 'en' : 'vi';
let survey = null;
let state = 'loading';
let score = null;

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) e.setAttribute(k, v);
  for (const c of kids) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}
function L(k) { return TEXT[lang][k]; }

function setState(s) {
  state = s;
  document.body.dataset.state = s;
  render();
}

function langButton() {
  const b = el('button', { type: 'button', class: 'sv-lang', lang: lang === 'vi' ? 'en' : 'vi' }, L('other'));
  b.addEventListener('click', () => { lang = lang === 'vi' ? 'en' : 'vi'; render(); });
  return b;
}

function message(title, text, icon, withRetry) {
  const card = el('section', { class: 'sv-card', 'aria-labelledby': 'sv-title' }, langButton(),
    el('p', { class: 'sv-icon', 'aria-hidden': 'true' }, icon),
    el('h1', { id: 'sv-title' }, title), el('p', null, text));
  if (withRetry) {
    const b = el('button', { type: 'button', class: 'sv-send' }, L('retry'));
    b.addEventListener('click', load);
    card.append(b);
  }
  return card;
}

function render() {
  document.documentElement.lang = lang;
  main.replaceChildren();
  if (state === 'loading') { main.append(el('p', null, '…')); return; }
  if (state === 'question') { main.append(question()); return; }
  const m = {
    thanks: [L('thanks'), L('thanks_text'), '✓'],
    expired: [L('expired'), L('expired_text'), '⌛'],
    used: [L('used'), L('used_text'), '✓'],
    invalid: [L('invalid'), L('invalid_text'), '⚠'],
    error: [L('error'), L('error_text'), '⚠'],
  }[state];
  main.append(message(m[0], m[1], m[2], state === 'error'));
  document.title = m[0];
  main.focus();
}

function question() {
  const metric = RANGE[survey.metric] ? survey.metric : 'nps';
  const [lo, hi] = RANGE[metric];
  const tpn = survey.touchpoint || {};
  const name = (lang === 'en' ? tpn.name_en || tpn.name_vi : tpn.name_vi || tpn.name_en) || tpn.key || '';
  const form = el('form', { class: 'sv-card', novalidate: '' });
  form.append(langButton(), el('p', { class: 'sv-place' }, name));
  form.append(el('h1', { id: 'sv-q' }, L(metric).replace('{name}', name)));
  const group = el('div', { class: 'sv-scale', role: 'radiogroup', 'aria-labelledby': 'sv-q', 'aria-required': 'true' });
  const buttons = [];
  const choose = (i, focus) => {
    score = lo + i;
    buttons.forEach((b, k) => { b.setAttribute('aria-checked', k === i ? 'true' : 'false'); b.tabIndex = k === i ? 0 : -1; });
    if (focus) buttons[i].focus();
    msg.textContent = '';
  };
  for (let n = lo; n <= hi; n++) {
    const b = el('button', { type: 'button', role: 'radio', 'aria-checked': score === n ? 'true' : 'false', tabindex: (score === null ? n === lo : score === n) ? '0' : '-1', 'data-score': n, 'aria-label': L('of').replace('{n}', n).replace('{max}', hi) }, String(n));
    b.addEventListener('click', () => choose(n - lo, false));
    b.addEventListener('keydown', (e) => {
      const i = n - lo;
      const j = { ArrowRight: i + 1, ArrowDown: i + 1, ArrowLeft: i - 1, ArrowUp: i - 1, Home: 0, End: hi - lo }[e.key];
      if (j !== undefined) { e.preventDefault(); choose(Math.max(0, Math.min(hi - lo, j)), true); }
    });
    buttons.push(b);
    group.append(b);
  }
  form.append(group, el('div', { class: 'sv-ends', 'aria-hidden': 'true' }, el('span', null, L('lo')[metric]), el('span', null, L('hi')[metric])));
  const ta = el('textarea', { id: 'sv-comment', maxlength: '2000' });
  form.append(el('label', { for: 'sv-comment' }, L('comment')), ta);
  const send = el('button', { type: 'submit', class: 'sv-send' }, L('send'));
  const msg = el('p', { class: 'sv-msg', role: 'alert' });
  form.append(send, msg);
  const exp = survey.expires ? new Date(survey.expires) : null;
  if (exp && !Number.isNaN(exp.getTime())) {
    const when = new Intl.DateTimeFormat(lang === 'vi' ? 'vi-VN' : 'en-GB', { timeZone: 'Asia/Ho_Chi_Minh', dateStyle: 'medium', timeStyle: 'short' }).format(exp);
    form.append(el('p', { class: 'sv-until' }, L('until').replace('{t}', when)));
  }
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (score === null) { msg.textContent = L('pick'); buttons[0].focus(); return; }
    send.disabled = true;
    send.textContent = L('sending');
    const body = { score };
    const c = ta.value.trim();
    if (c) body.comment = c;
    try {
      const r = await fetch(`/v1/survey/${encodeURIComponent(token)}`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), credentials: 'omit',
      });
      if (r.ok) { setState('thanks'); return; }
      const j = await r.json().catch(() => null);
      const code = j && j.error && j.error.code;
      if (code === 'link_used' || code === 'link_expired' || code === 'link_invalid') { setState(stateOf(code)); return; }
      msg.textContent = (j && j.error && j.error.message) || `HTTP ${r.status}`;
    } catch (err) {
      msg.textContent = L('error_text');
    }
    send.disabled = false;
    send.textContent = L('send');
  });
  document.title = L(metric).replace('{name}', name);
  return form;
}

function stateOf(code) {
  return { link_expired: 'expired', link_used: 'used', link_invalid: 'invalid' }[code] || 'invalid';
}

async function load() {
  setState('loading');
  if (!token) { setState('invalid'); return; }
  try {
    const r = await fetch(`/v1/survey/${encodeURIComponent(token)}`, { credentials: 'omit', cache: 'no-store' });
    const j = await r.json().catch(() => null);
    if (r.ok && j) {
      survey = j;
      if (j.lang === 'en' || j.lang === 'vi') lang = j.lang;
      setState('question');
      return;
    }
    const code = j && j.error && j.error.code;
    if (code) { setState(stateOf(code)); return; }
    setState(r.status === 404 || r.status === 403 || r.status === 400 ? 'invalid' : 'error');
  } catch (e) {
    setState('error');
  }
}

load();
