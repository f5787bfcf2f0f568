// Interop of the gateway's WebSocket transport with a plain Node `ws` client (PROTOCOL.md 2, 6, 7).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import crypto from 'node:crypto';
import path from 'node:path';
import { WebSocket } from 'ws';
import { startGateway, repoRoot } from './lib/gateway.mjs';
import { within } from './lib/util.mjs';

let gw;
const sockets = [];

// History topics count seq from 0 here, so that a seq reads as the number of Inds published.
before(async () => { gw = await startGateway({ args: ['--ConnMsg:HistorySeqFromClock=false'] }); });
after(async () => {
  for (const s of sockets) s.terminate();
  await gw?.stop();
});

/** Opens a raw ws connection; resolves once open, with a queue of parsed incoming messages. */
function open(protocols = ['connmsg.v1'], options = {}) {
  const ws = new WebSocket(gw.ws, protocols, options);
  sockets.push(ws);
  const inbox = [];
  const waiters = [];
  ws.on('message', (data, isBinary) => {
    const msg = isBinary ? { binary: data } : JSON.parse(data.toString('utf8'));
    const i = waiters.findIndex((w) => w.pred(msg));
    if (i >= 0) waiters.splice(i, 1)[0].resolve(msg);
    else inbox.push(msg);
  });
  ws.next = (pred = () => true, ms = 5000) => {
    const i = inbox.findIndex(pred);
    if (i >= 0) return Promise.resolve(inbox.splice(i, 1)[0]);
    return within(new Promise((resolve) => waiters.push({ pred, resolve })), ms, 'message from the gateway');
  };
  ws.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.on('error', () => {}); // handshake failures are asserted through 'unexpected-response'
  return within(new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`handshake refused: ${res.statusCode}`), { statusCode: res.statusCode, headers: res.headers })));
    ws.once('close', (code) => reject(new Error(`closed ${code} before open`)));
  }), 5000, 'websocket open');
}

const answerTo = (id) => (m) => (m.type === 'cfm' || m.type === 'rej') && m.id === id;

describe('handshake and session', () => {
  test('a client offering connmsg.v1 gets it selected and first receives the $session Ind', async () => {
    const ws = await open(['connmsg.v1']);
    assert.equal(ws.protocol, 'connmsg.v1');
    const s = await ws.next();
    assert.equal(s.type, 'ind');
    assert.equal(s.topic, '$session');
    assert.equal(typeof s.data.id, 'string');
    assert.deepEqual(
      { keepAlive: s.data.keepAlive, maxMessage: s.data.maxMessage, maxInFlight: s.data.maxInFlight },
      { keepAlive: 15, maxMessage: 65536, maxInFlight: 256 },
    );
  });

  test('a client offering no subprotocol is accepted', async () => {
    const ws = await open([]);
    assert.equal(ws.protocol, '');
    assert.equal((await ws.next()).topic, '$session');
  });

  test('a client offering only another subprotocol is refused with 400', async () => {
    await assert.rejects(open(['chat.v2']), (e) => e.statusCode === 400);
  });

  test('Sec-WebSocket-Version 8 is refused with 426 and Sec-WebSocket-Version: 13', async () => {
    await assert.rejects(open(['connmsg.v1'], { protocolVersion: 8 }), (e) => {
      assert.equal(e.statusCode, 426);
      assert.equal(e.headers['sec-websocket-version'], '13');
      return true;
    });
  });
});

describe('messages', () => {
  test('echo round trip, ids echoed verbatim (integer, large integer, string)', async () => {
    const ws = await open();
    for (const id of [1, 2 ** 53 - 1, 'req-α-1']) {
      ws.send(JSON.stringify({ type: 'req', id, op: 'echo', data: { id } }));
      assert.deepEqual(await ws.next(answerTo(id)), { type: 'cfm', id, data: { id } });
    }
  });

  test('a message fragmented into three frames is reassembled', async () => {
    const ws = await open();
    const text = JSON.stringify({ type: 'req', id: 'frag', op: 'echo', data: 'in pieces ✓' });
    const a = Math.floor(text.length / 3);
    ws.send(text.slice(0, a), { fin: false });
    ws.send(text.slice(a, 2 * a), { fin: false });
    ws.send(text.slice(2 * a), { fin: true });
    assert.deepEqual(await ws.next(answerTo('frag')), { type: 'cfm', id: 'frag', data: 'in pieces ✓' });
  });

  test('members in any order and unknown members are accepted', async () => {
    const ws = await open();
    ws.send('{"data":[1,2],"future":{"x":1},"op":"echo","id":5,"type":"req"}');
    assert.deepEqual(await ws.next(answerTo(5)), { type: 'cfm', id: 5, data: [1, 2] });
  });

  test('malformed JSON is answered with bad_message (id null) and the connection stays open', async () => {
    const ws = await open();
    ws.send('{not json');
    const rej = await ws.next((m) => m.type === 'rej');
    assert.equal(rej.code, 'bad_message');
    assert.equal(rej.id, null);
    ws.send(JSON.stringify({ type: 'req', id: 9, op: 'echo', data: 'alive' }));
    assert.equal((await ws.next(answerTo(9))).data, 'alive');
  });

  test('a second request with an id still in flight is rejected duplicate_id', async () => {
    const ws = await open();
    ws.send(JSON.stringify({ type: 'req', id: 'd', op: 'sleep', data: { ms: 300 } }));
    ws.send(JSON.stringify({ type: 'req', id: 'd', op: 'echo', data: 1 }));
    const first = await ws.next(answerTo('d'));
    assert.equal(first.type, 'rej');
    assert.equal(first.code, 'duplicate_id');
    assert.deepEqual(await ws.next(answerTo('d')), { type: 'cfm', id: 'd', data: { slept: 300 } });
  });
});

describe('control frames and closing', () => {
  test('a ping is answered with a pong carrying the same payload', async () => {
    const ws = await open();
    const pong = within(new Promise((resolve) => ws.once('pong', resolve)), 5000, 'pong');
    ws.ping(Buffer.from('are you there'));
    assert.equal((await pong).toString(), 'are you there');
  });

  test('a close from the client is echoed with the same code', async () => {
    const ws = await open();
    ws.close(1000, 'bye');
    assert.equal((await within(ws.closed, 5000, 'close')).code, 1000);
    const ws2 = await open();
    ws2.close(4001, 'app code');
    assert.equal((await within(ws2.closed, 5000, 'close')).code, 4001);
  });

  test('a binary message closes the connection with 1003', async () => {
    const ws = await open();
    ws.send(Buffer.from([1, 2, 3]), { binary: true });
    assert.equal((await within(ws.closed, 5000, 'close')).code, 1003);
  });

  test('a text message that is not valid UTF-8 closes the connection with 1007', async () => {
    const ws = await open();
    ws.send(Buffer.from([0x22, 0xc3, 0x28, 0x22]), { binary: false });
    assert.equal((await within(ws.closed, 5000, 'close')).code, 1007);
  });

  test('a message over 64 KiB closes the connection with 1009', async () => {
    const ws = await open();
    ws.send(JSON.stringify({ type: 'req', id: 1, op: 'echo', data: 'x'.repeat(70000) }));
    assert.equal((await within(ws.closed, 5000, 'close')).code, 1009);
  });
});

describe('HTTP on the same port', () => {
  test('GET /healthz answers 200 ok', async () => {
    const res = await fetch(`${gw.http}/healthz`);
    assert.equal(res.status, 200);
    assert.equal((await res.text()).trim(), 'ok');
  });

  test('GET /metrics answers Prometheus text', async () => {
    const res = await fetch(`${gw.http}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
  });

  test('GET /connmsg.js and /connmsg.d.ts serve the client files; / serves the demo page', async () => {
    const js = await fetch(`${gw.http}/connmsg.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    assert.equal(await js.text(), readFileSync(path.join(repoRoot, 'src/connmsg-js/connmsg.js'), 'utf8'));
    const dts = await fetch(`${gw.http}/connmsg.d.ts`);
    assert.equal(dts.status, 200);
    assert.match(await dts.text(), /export declare class ConnMsgClient/);
    const page = await fetch(`${gw.http}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await page.text(), /connmsg\.js/);
  });

  test('an unknown path answers 404', async () => {
    assert.equal((await fetch(`${gw.http}/no/such/thing`)).status, 404);
  });
});

describe('envelope rules (PROTOCOL.md 3, 4)', () => {
  const badMessages = [
    ['a req without id', { type: 'req', op: 'echo' }, null],
    ['a JSON array', [1, 2], null],
    ['a message without type', { id: 11, op: 'echo' }, 11],
    ['a negative id', { type: 'req', id: -1, op: 'echo' }, -1],
    ['a fractional id', { type: 'req', id: 1.5, op: 'echo' }, 1.5],
    ['an id over 2^53-1', { type: 'req', id: 2 ** 53, op: 'echo' }, 2 ** 53],
    ['an empty string id', { type: 'req', id: '', op: 'echo' }, ''],
    ['a string id of 65 characters', { type: 'req', id: 'i'.repeat(65), op: 'echo' }, 'i'.repeat(65)],
    ['an op with a space', { type: 'req', id: 12, op: 'bad op' }, 12],
    ['an op of 129 bytes', { type: 'req', id: 13, op: 'o'.repeat(129) }, 13],
    ['a req without op', { type: 'req', id: 14 }, 14],
  ];
  for (const [what, msg] of badMessages) {
    test(`${what} is answered bad_message and the connection stays open`, async () => {
      const ws = await open();
      await ws.next((m) => m.topic === '$session');
      ws.send(JSON.stringify(msg));
      const rej = await ws.next((m) => m.type === 'rej');
      assert.equal(rej.code, 'bad_message', JSON.stringify(rej));
      ws.send(JSON.stringify({ type: 'req', id: 'after', op: 'echo', data: 1 }));
      assert.equal((await ws.next(answerTo('after'))).type, 'cfm');
    });
  }

  test('id 0 and a string id of 64 characters are valid', async () => {
    const ws = await open();
    const long = 'j'.repeat(64);
    for (const id of [0, long]) {
      ws.send(JSON.stringify({ type: 'req', id, op: 'echo', data: 'ok' }));
      assert.deepEqual(await ws.next(answerTo(id)), { type: 'cfm', id, data: 'ok' });
    }
  });

  test('an unknown reserved op ($nope) is rejected unknown_op', async () => {
    const ws = await open();
    ws.send(JSON.stringify({ type: 'req', id: 1, op: '$nope' }));
    assert.equal((await ws.next(answerTo(1))).code, 'unknown_op');
  });

  test(`request ${256 + 1} while 256 are in flight is rejected overloaded; the others complete`, async () => {
    const ws = await open();
    for (let id = 1; id <= 256; id++) ws.send(JSON.stringify({ type: 'req', id, op: 'sleep', data: { ms: 1500 } }));
    ws.send(JSON.stringify({ type: 'req', id: 257, op: 'echo', data: 'one too many' }));
    const over = await ws.next(answerTo(257));
    assert.equal(over.type, 'rej');
    assert.equal(over.code, 'overloaded');
    const answers = await Promise.all(Array.from({ length: 256 }, (_, i) => ws.next(answerTo(i + 1), 10000)));
    assert.ok(answers.every((a) => a.type === 'cfm'), 'every accepted request is answered cfm');
  });

  test('$unsubscribe of a topic never subscribed is confirmed', async () => {
    const ws = await open();
    ws.send(JSON.stringify({ type: 'req', id: 1, op: '$unsubscribe', data: { topic: 'never.subscribed' } }));
    assert.equal((await ws.next(answerTo(1))).type, 'cfm');
  });

  test('one Ind reaches every subscriber as the same text, and a topic\'s Inds arrive in publish order', async () => {
    const topic = `history.fanout${Date.now()}`;
    const subs = await Promise.all([open(), open(), open()]);
    const raw = subs.map(() => []);
    subs.forEach((ws, i) => ws.on('message', (d) => { const t = d.toString(); if (t.includes(topic) && t.includes('"ind"')) raw[i].push(t); }));
    await Promise.all(subs.map(async (ws, i) => {
      ws.send(JSON.stringify({ type: 'req', id: 's', op: '$subscribe', data: { topic } }));
      assert.equal((await ws.next(answerTo('s'))).type, 'cfm');
    }));
    const pub = await open();
    for (let n = 1; n <= 50; n++) pub.send(JSON.stringify({ type: 'req', id: n, op: 'publish', data: { topic, data: { n } } }));
    for (let n = 1; n <= 50; n++) assert.equal((await pub.next(answerTo(n))).data.subscribers, 3);
    await Promise.all(subs.map((ws) => ws.next((m) => m.type === 'ind' && m.seq === 50)));
    assert.deepEqual(raw[1], raw[0]);
    assert.deepEqual(raw[2], raw[0]);
    assert.deepEqual(raw[0].map((t) => JSON.parse(t).seq), Array.from({ length: 50 }, (_, i) => i + 1));
  });
});

describe('handshake errors (PROTOCOL.md 7) and framing (RFC 6455)', () => {
  /** Sends raw HTTP and resolves with the response head (status line and headers). */
  function rawHttp(head) {
    return within(new Promise((resolve, reject) => {
      const sock = net.connect(gw.port, '127.0.0.1', () => sock.write(head));
      let buf = '';
      sock.setEncoding('latin1');
      sock.on('data', (d) => { buf += d; if (buf.includes('\r\n\r\n')) { sock.destroy(); resolve(buf); } });
      sock.on('error', reject);
      sock.on('close', () => resolve(buf));
    }), 5000, 'raw HTTP response');
  }
  const upgrade = (lines) => `${lines.join('\r\n')}\r\n\r\n`;
  const key = () => crypto.randomBytes(16).toString('base64');

  test('an upgrade without Sec-WebSocket-Key is refused with 400', async () => {
    const res = await rawHttp(upgrade(['GET /ws HTTP/1.1', 'Host: x', 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Version: 13']));
    assert.match(res, /^HTTP\/1\.1 400 /);
  });

  test('an upgrade with a malformed Sec-WebSocket-Key is refused with 400', async () => {
    const res = await rawHttp(upgrade(['GET /ws HTTP/1.1', 'Host: x', 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: not-base64-of-16-bytes']));
    assert.match(res, /^HTTP\/1\.1 400 /);
  });

  test('an upgrade with POST is refused with 400', async () => {
    const res = await rawHttp(upgrade(['POST /ws HTTP/1.1', 'Host: x', 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Version: 13', `Sec-WebSocket-Key: ${key()}`, 'Content-Length: 0']));
    assert.match(res, /^HTTP\/1\.1 400 /);
  });

  /** Completes a handshake by hand; resolves with the socket and a promise of the close code it receives. */
  async function rawSocket() {
    const sock = net.connect(gw.port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.write(upgrade(['GET /ws HTTP/1.1', 'Host: x', 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Version: 13', `Sec-WebSocket-Key: ${key()}`, 'Sec-WebSocket-Protocol: connmsg.v1']));
    let buf = Buffer.alloc(0);
    let headDone = false;
    let gotHead;
    const head = new Promise((r) => { gotHead = r; });
    const closeCode = new Promise((resolve) => {
      sock.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (!headDone) {
          const i = buf.indexOf('\r\n\r\n');
          if (i < 0) return;
          gotHead(buf.subarray(0, i).toString('latin1'));
          buf = buf.subarray(i + 4);
          headDone = true;
        }
        // Walk the server's (unmasked) frames, looking for a close frame.
        while (buf.length >= 2) {
          let len = buf[1] & 0x7f;
          let off = 2;
          if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
          else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); off = 10; }
          if (buf.length < off + len) return;
          const opcode = buf[0] & 0x0f;
          if (opcode === 0x8) { resolve(len >= 2 ? buf.readUInt16BE(off) : 1005); return; }
          buf = buf.subarray(off + len);
        }
      });
      sock.on('close', () => resolve(null));
      sock.on('error', () => {});
    });
    assert.match(await within(head, 5000, 'handshake'), /^HTTP\/1\.1 101 /);
    return { sock, closeCode };
  }

  test('an unmasked client frame closes the connection with 1002', async () => {
    const { sock, closeCode } = await rawSocket();
    const payload = Buffer.from(JSON.stringify({ type: 'req', id: 1, op: 'echo' }));
    sock.write(Buffer.concat([Buffer.from([0x81, payload.length]), payload]));
    assert.equal(await within(closeCode, 5000, 'close frame'), 1002);
    sock.destroy();
  });

  /** One masked client frame. */
  function frame(opcode, payload, { fin = true, rsv = 0 } = {}) {
    const mask = crypto.randomBytes(4);
    const body = Buffer.from(payload);
    const masked = Buffer.from(body.map((b, i) => b ^ mask[i % 4]));
    let head;
    if (body.length < 126) head = Buffer.from([(fin ? 0x80 : 0) | rsv | opcode, 0x80 | body.length]);
    else { head = Buffer.alloc(4); head[0] = (fin ? 0x80 : 0) | rsv | opcode; head[1] = 0x80 | 126; head.writeUInt16BE(body.length, 2); }
    return Buffer.concat([head, mask, masked]);
  }
  const closePayload = (code) => { const b = Buffer.alloc(2); b.writeUInt16BE(code); return b; };

  const protocolErrors = [
    ['a ping with a 126-byte payload', () => [frame(0x9, Buffer.alloc(126))]],
    ['a fragmented ping (FIN clear on a control frame)', () => [frame(0x9, 'x', { fin: false })]],
    ['a continuation frame with no message started', () => [frame(0x0, '{}')]],
    ['a new text frame while a fragmented message is open', () => [frame(0x1, '{"a":', { fin: false }), frame(0x1, '1}')]],
    ['an unknown opcode (0x3)', () => [frame(0x3, 'x')]],
    ['a close frame with the invalid code 999', () => [frame(0x8, closePayload(999))]],
    ['a close frame with the reserved code 1005', () => [frame(0x8, closePayload(1005))]],
    ['a close frame with a 1-byte payload', () => [frame(0x8, Buffer.from([3]))]],
  ];
  for (const [what, frames] of protocolErrors) {
    test(`${what} closes the connection with 1002`, async () => {
      const { sock, closeCode } = await rawSocket();
      for (const f of frames()) sock.write(f);
      assert.equal(await within(closeCode, 5000, 'close frame'), 1002);
      sock.destroy();
    });
  }

  test('invalid UTF-8 split across two fragments closes the connection with 1007', async () => {
    const { sock, closeCode } = await rawSocket();
    sock.write(frame(0x1, Buffer.from([0x22, 0xe2, 0x82]), { fin: false }));
    sock.write(frame(0x0, Buffer.from([0x41, 0x22]))); // 0x41 cannot continue a 3-byte sequence
    assert.equal(await within(closeCode, 5000, 'close frame'), 1007);
    sock.destroy();
  });

  test('a valid UTF-8 character split across fragments is accepted', async () => {
    const { sock, closeCode } = await rawSocket();
    const text = Buffer.from(JSON.stringify({ type: 'req', id: 1, op: 'echo', data: '€' }));
    const cut = text.indexOf(0xe2) + 1; // inside the 3-byte euro sign
    const answered = new Promise((resolve) => sock.on('data', (d) => { if (d.includes('"cfm"')) resolve(d.toString('utf8')); }));
    sock.write(frame(0x1, text.subarray(0, cut), { fin: false }));
    sock.write(frame(0x0, text.subarray(cut)));
    assert.match(await within(answered, 5000, 'cfm'), /"data":"€"/);
    sock.write(frame(0x8, closePayload(1000)));
    assert.equal(await within(closeCode, 5000, 'close frame'), 1000);
    sock.destroy();
  });

  test('a frame with a reserved bit set closes the connection with 1002', async () => {
    const { sock, closeCode } = await rawSocket();
    const mask = crypto.randomBytes(4);
    const payload = Buffer.from('{}');
    const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]));
    sock.write(Buffer.concat([Buffer.from([0x81 | 0x40, 0x80 | payload.length]), mask, masked]));
    assert.equal(await within(closeCode, 5000, 'close frame'), 1002);
    sock.destroy();
  });
});
