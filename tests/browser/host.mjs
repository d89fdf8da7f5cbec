// host.mjs -- a tiny static server standing for a customer's web site that
// embeds the widget: two loopback ports (two origins), each serving one host
// page whose <script src=".../widget.js" data-...> comes from the query string:
//   /?server=http://127.0.0.1:P&key=tpk_...&tp=website&metric=nps&lang=vi&customer=c42
// Prints "listening on ORIGIN1 ORIGIN2" once both accept connections.
import http from 'node:http';

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));

function handler(req, res) {
  const u = new URL(req.url, 'http://host');
  if (u.pathname !== '/') { res.writeHead(404); res.end('not found'); return; }
  const q = u.searchParams;
  const attrs = [
    ['src', `${q.get('server')}/widget.js`], ['data-key', q.get('key')], ['data-touchpoint', q.get('tp') || 'website'],
    ['data-lang', q.get('lang') || 'vi'], ['data-metric', q.get('metric') || 'nps'],
  ];
  if (q.get('customer')) attrs.push(['data-customer', q.get('customer')]);
  const tag = `<script ${attrs.map(([k, v]) => `${k}="${esc(v)}"`).join(' ')} async></script>`;
  const body = `<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Shop</title></head>
<body><h1>Cửa hàng ví dụ / Example shop</h1><p>Host page on ${esc(req.headers.host || '')}.</p>
<div id="feedback">${tag}</div></body></html>`;
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(body);
}

const servers = [http.createServer(handler), http.createServer(handler)];
const origins = [];
for (const s of servers) {
  await new Promise((ok) => s.listen(0, '127.0.0.1', ok));
  origins.push(`http://127.0.0.1:${s.address().port}`);
}
console.log(`listening on ${origins.join(' ')}`);
const stop = () => { for (const s of servers) s.close(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
