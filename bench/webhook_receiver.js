// Webhook receiver for bench/webhooks.sh and bench/nodes.sh (Node 18+,
// no dependencies). It answers every request 200 at once and only listens
// on 127.0.0.1.
//
//   node bench/webhook_receiver.js receive PORT LOG
//     Writes one line per request to LOG when its headers arrive:
//       "<ms since the epoch, µs precision> <path> <webhook-id header>"
//     GET /count answers the number of webhook requests (POSTs) so far.
//     SIGTERM/SIGINT flush LOG and exit.
//
//   node bench/webhook_receiver.js latency PORT BASE KEY N
//     Event -> first delivery attempt latency. Listens on PORT, creates one
//     webhook endpoint http://127.0.0.1:PORT/lat for "agent.created" at
//     BASE with KEY, then N times, one after the other: POST /v1/agents
//     (keep-alive), notes when the answer has been read, and waits for the
//     delivery whose body's data.id is the new agent, then idles 20 ms.
//     Prints one line per agent "lat <ms from answer to delivery>
//     <ms from request sent to delivery> <ms the create took>" and a
//     summary line "latency: n=… p50=… p90=… p99=… max=… (ms, answer read
//     -> delivery headers)". The first 10 agents are a warm-up, not counted.
'use strict';
const http = require('http');
const fs = require('fs');
const { performance } = require('perf_hooks');

const nowMs = () => performance.timeOrigin + performance.now();
const [mode, portArg] = process.argv.slice(2);
const port = Number(portArg);

function pct(sorted, p) {
  if (sorted.length === 0) return NaN;
  let r = Math.ceil((p / 100) * sorted.length);
  r = Math.min(Math.max(r, 1), sorted.length);
  return sorted[r - 1];
}

if (mode === 'receive') {
  const out = fs.createWriteStream(process.argv[4]);
  let count = 0;
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/count') {
      res.end(String(count));
      return;
    }
    const t = nowMs();
    count++;
    out.write(`${t.toFixed(3)} ${req.url} ${req.headers['webhook-id'] || '-'}\n`);
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    res.end('ok');
  });
  server.keepAliveTimeout = 60000;
  server.listen(port, '127.0.0.1');
  const stop = () => out.end(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else if (mode === 'latency') {
  const base = new URL(process.argv[4]);
  const key = process.argv[5];
  const n = Number(process.argv[6] || 200);
  const warm = 10;
  const waiting = new Map(); // agent id -> resolve(arrival ms)
  const early = new Map(); // agent id -> arrival ms (delivery before the answer)
  const server = http.createServer((req, res) => {
    const t = nowMs();
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(200, { 'content-length': '2' });
      res.end('ok');
      let id = null;
      try { id = JSON.parse(Buffer.concat(chunks).toString()).data.id; } catch (_) { /* not ours */ }
      if (!id) return;
      const resolve = waiting.get(id);
      if (resolve) { waiting.delete(id); resolve(t); } else { early.set(id, t); }
    });
  });
  server.keepAliveTimeout = 60000;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const call = (method, path, body) => new Promise((resolve, reject) => {
    const data = body ? JSON.stringify(body) : undefined;
    const req = http.request({
      host: base.hostname, port: base.port, method, path, agent,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...(data ? { 'content-length': Buffer.byteLength(data) } : {}) },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const t = nowMs();
        const text = Buffer.concat(chunks).toString();
        if (res.statusCode >= 300) reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`));
        else resolve({ t, json: JSON.parse(text) });
      });
    });
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  server.listen(port, '127.0.0.1', async () => {
    try {
      await call('POST', '/v1/webhooks', { url: `http://127.0.0.1:${port}/lat`, events: ['agent.created'] });
      const lat = [];
      for (let i = 0; i < n + warm; i++) {
        const sent = nowMs();
        const { t, json } = await call('POST', '/v1/agents', { name: `Latency ${i}`, template: 'customer-service' });
        const id = json.data.id;
        let arrived;
        if (early.has(id)) { arrived = early.get(id); early.delete(id); } else {
          arrived = await Promise.race([
            new Promise((r) => waiting.set(id, r)),
            sleep(30000).then(() => { throw new Error(`no delivery for ${id} within 30 s`); }),
          ]);
        }
        if (i >= warm) {
          lat.push(arrived - t);
          console.log(`lat ${(arrived - t).toFixed(3)} ${(arrived - sent).toFixed(3)} ${(t - sent).toFixed(3)}`);
        }
        await sleep(20);
      }
      const s = [...lat].sort((a, b) => a - b);
      console.log(`latency: n=${s.length} p50=${pct(s, 50).toFixed(2)} p90=${pct(s, 90).toFixed(2)} p99=${pct(s, 99).toFixed(2)} max=${s[s.length - 1].toFixed(2)} (ms, answer read -> delivery headers)`);
      process.exit(0);
    } catch (err) {
      console.error(`latency: ${err.message}`);
      process.exit(1);
    }
  });
} else {
  console.error('usage: webhook_receiver.js receive PORT LOG | latency PORT BASE KEY N');
  process.exit(2);
}
