// ConnMsg client for JavaScript: the `connmsg.v1` protocol (see PROTOCOL.md) over one WebSocket.
// One ES module, no dependencies, no build step. Runs in browsers as is, and in Node >= 20 when
// given a WebSocket implementation (`new ConnMsgClient(url, { WebSocket })`, e.g. from `ws`).

export const SUBPROTOCOL = 'connmsg.v1';

/** Limits that apply until the server's `$session` Ind says otherwise (PROTOCOL.md 5.1). */
const DEFAULT_MAX_MESSAGE = 65536;

/** How many ids of cancelled requests are remembered to discard their late answers quietly. */
const MAX_REMEMBERED_CANCELLED = 4096;

const DEFAULTS = Object.freeze({
  requestTimeout: 35000, // a little over the server's RequestTimeout (30 s), which answers `timeout` itself
  connectTimeout: 10000,
  pingInterval: 15000,
  pingTimeout: 10000,
  stableAfter: 5000, // a connection open this long resets the reconnect backoff
  resubscribeMaxRetries: 10, // as the .NET client; with the default backoff, 1¼ to 2½ minutes of overload
  reconnect: Object.freeze({ minDelay: 500, maxDelay: 30000, factor: 2, jitter: 0.5, maxRetries: Infinity }),
});

/** Base class of every error this module raises. `code` is a stable, machine-readable string. */
export class ConnMsgError extends Error {
  constructor(code, message, options) {
    super(message, options);
    this.name = 'ConnMsgError';
    this.code = code;
  }
}

/** The peer answered a request with `rej`. `code` and `reason` are the server's. */
export class ConnMsgRejected extends ConnMsgError {
  constructor(code, reason, { op, id } = {}) {
    super(code, `${op ? `'${op}'` : 'request'} rejected: ${code}${reason ? ` (${reason})` : ''}`);
    this.name = 'ConnMsgRejected';
    this.reason = reason ?? '';
    this.op = op;
    this.id = id;
  }
}

/** Number of bytes `s` takes in UTF-8, without encoding it. */
function utf8Length(s) {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

const NAME_RE = /^[A-Za-z0-9._\-:/$]+$/;
/** A reject code (PROTOCOL 3): the server refuses any other as bad_message. */
const SNAKE_CASE = /^[a-z][a-z0-9_]{0,63}$/;
/** Reject codes that say "not now" (PROTOCOL 4), not "never": they must not end a subscription the application holds. */
const PASSING_REFUSALS = new Set(['overloaded', 'shutting_down']);

function checkName(kind, value, maxBytes) {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxBytes || !NAME_RE.test(value)) {
    throw new TypeError(`${kind} must be 1..${maxBytes} characters of A-Z a-z 0-9 . _ - : / (got ${JSON.stringify(value)})`);
  }
}

const now = () => (globalThis.performance?.now ? globalThis.performance.now() : Date.now());

/**
 * A ConnMsg connection that reconnects by itself.
 *
 * Not thread-safe in the sense that matters to JavaScript: all methods must be called from the
 * event loop that created the client (as everything in JavaScript is).
 */
export class ConnMsgClient {
  #url;
  #opts;
  #WebSocket;
  #ws = null;
  #state = 'idle';
  #everOpened = false;
  #listeners = new Map();
  #nextId = 1;
  #pending = new Map(); // id -> request entry (sent or waiting for the connection)
  #cancelled = new Set(); // ids of sent requests given up locally; their answers are discarded
  #topics = new Map(); // topic -> subscription state
  #chains = new Map(); // topic -> promise serialising $subscribe/$unsubscribe of that topic
  #handlers = new Map(); // op -> handler of server-initiated requests
  #attempt = 0;
  #reconnectTimer = null;
  #connectTimer = null;
  #stableTimer = null;
  #pingTimer = null;
  #pingInFlight = false;
  #session = null;
  #maxMessage = DEFAULT_MAX_MESSAGE;
  #rtt = null;

  /**
   * @param {string} url  ws:// or wss:// address of the ConnMsg endpoint, e.g. `ws://host/ws`.
   * @param {object} [options] see connmsg.d.ts (`ConnMsgOptions`).
   */
  constructor(url, options = {}) {
    this.#url = String(url);
    let parsed;
    try { parsed = new URL(this.#url); } catch { parsed = null; }
    if (!parsed || !['ws:', 'wss:', 'http:', 'https:'].includes(parsed.protocol)) {
      throw new TypeError(`url must be an absolute ws:// or wss:// address (got ${JSON.stringify(this.#url)})`);
    }
    const WS = options.WebSocket ?? globalThis.WebSocket;
    if (typeof WS !== 'function') {
      throw new TypeError('no WebSocket implementation: pass one as options.WebSocket (in Node: `import { WebSocket } from "ws"`)');
    }
    this.#WebSocket = WS;
    const reconnect = options.reconnect === false ? false : { ...DEFAULTS.reconnect, ...(options.reconnect ?? {}) };
    this.#opts = { ...DEFAULTS, ...options, reconnect };
    const retries = this.#opts.resubscribeMaxRetries;
    if (!((Number.isInteger(retries) && retries >= 0) || retries === Infinity)) {
      throw new TypeError(`resubscribeMaxRetries must be an integer >= 0 or Infinity (got ${JSON.stringify(retries)})`);
    }
    if (options.autoConnect !== false) this.#openSocket();
  }

  /** `idle` (autoConnect false, not yet connected), `connecting`, `open`, `reconnecting` or `closed`. */
  get state() { return this.#state; }
  get url() { return this.#url; }
  /** Data of the last `$session` Ind (`{id, keepAlive, maxMessage, maxInFlight}`), or null. */
  get session() { return this.#session; }
  /** Largest message, in UTF-8 bytes, this client will send. From `$session`, else 65536. */
  get maxMessage() { return this.#maxMessage; }
  /** Round-trip time of the last successful `$ping`, in milliseconds, or null. */
  get rtt() { return this.#rtt; }
  /** The current WebSocket (null between connections). For diagnostics and tests only. */
  get socket() { return this.#ws; }

  /** Starts connecting when the client was made with `autoConnect: false`. */
  connect() {
    if (this.#state === 'closed') throw new ConnMsgError('closed', 'the client was closed; make a new one');
    if (this.#state === 'idle') this.#openSocket();
    return this.whenOpen();
  }

  /**
   * Registers `listener` for `type` (`state`, `session`, `recovery`, `ind`, `ping`, `late`, `error`).
   * Returns a function that removes it.
   */
  on(type, listener) {
    if (typeof listener !== 'function') throw new TypeError('listener must be a function');
    let set = this.#listeners.get(type);
    if (!set) this.#listeners.set(type, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Resolves when the connection is open (at once if it is); rejects if the client closes first. */
  whenOpen({ timeout } = {}) {
    if (this.#state === 'open') return Promise.resolve();
    if (this.#state === 'closed') return Promise.reject(new ConnMsgError('closed', 'the client is closed'));
    return new Promise((resolve, reject) => {
      let timer = null;
      const off = this.on('state', ({ state }) => {
        if (state === 'open') { finish(); resolve(); }
        else if (state === 'closed') { finish(); reject(new ConnMsgError('closed', 'the client closed before the connection opened')); }
      });
      const finish = () => { off(); if (timer) clearTimeout(timer); };
      if (timeout > 0) {
        timer = setTimeout(() => { off(); reject(new ConnMsgError('connect_timeout', `not connected within ${timeout} ms`)); }, timeout);
      }
    });
  }

  /**
   * Sends a Req and resolves with the data of its Cfm, or rejects with `ConnMsgRejected` (Rej) or a
   * `ConnMsgError` (`request_timeout`, `connection_lost`, `message_too_large`, `closed`), or with
   * `signal.reason` when `signal` aborts. Requests made while (re)connecting wait for the connection.
   */
  request(op, data, { timeout, signal } = {}) {
    try {
      checkName('op', op, 128);
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.#state === 'closed') return Promise.reject(new ConnMsgError('closed', `cannot send '${op}': the client is closed`));
    if (signal?.aborted) return Promise.reject(signal.reason);
    const id = this.#nextId++;
    const msg = { type: 'req', id, op };
    if (data !== undefined) msg.data = data;
    let text;
    try {
      text = JSON.stringify(msg);
    } catch (e) {
      return Promise.reject(new TypeError(`data of '${op}' cannot be encoded as JSON: ${e.message}`));
    }
    const tooLarge = this.#checkSize(text, op);
    if (tooLarge) return Promise.reject(tooLarge);

    return new Promise((resolve, reject) => {
      const entry = { id, op, text, resolve, reject, sent: false, timer: null, signal, onAbort: null };
      const ms = timeout ?? this.#opts.requestTimeout;
      if (ms > 0 && Number.isFinite(ms)) {
        entry.timer = setTimeout(
          () => this.#giveUp(entry, new ConnMsgError('request_timeout', `'${op}' (id ${id}) got no answer within ${ms} ms`)),
          ms,
        );
      }
      if (signal) {
        entry.onAbort = () => this.#giveUp(entry, signal.reason);
        signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      this.#pending.set(id, entry);
      if (this.#state === 'open') this.#sendRequest(entry);
    });
  }

  /**
   * Subscribes `callback(data, ind)` to `topic`. Returns the function that unsubscribes it; that
   * function has a `ready` promise resolving with the `$subscribe` Cfm data once the subscription
   * is live, or with null if unsubscribed before; it rejects with `ConnMsgRejected` if the server
   * refuses it, or with a `ConnMsgError` (`request_timeout`, `closed`).
   *
   * `since` (history topics, PROTOCOL.md 5.3): replay the Inds with seq > since first. `since`
   * applies when this is the first subscriber of the topic on this client; later subscribers share
   * the live subscription. After a reconnect every topic is subscribed again, a history topic with
   * `since` = the last seq seen, and Inds with seq <= the last seen are dropped, so callbacks see
   * no gap and no duplicate. `onRecovery(info)` is told how each resumption went (`info.recovered`).
   * A resumption refused `overloaded` is sent again after a backoff, up to `resubscribeMaxRetries`
   * times per connection; one refused `shutting_down` on the next connection; any other refusal,
   * and `overloaded` once no retry is left, ends the subscription (an `error` event).
   */
  subscribe(topic, callback, { since, onRecovery } = {}) {
    checkName('topic', topic, 256);
    if (typeof callback !== 'function') throw new TypeError('callback must be a function');
    if (since != null && !(Number.isInteger(since) && since >= 0)) throw new TypeError('since must be an integer >= 0');
    if (this.#state === 'closed') {
      const unsubscribe = () => Promise.resolve();
      unsubscribe.ready = Promise.reject(new ConnMsgError('closed', `cannot subscribe to '${topic}': the client is closed`));
      unsubscribe.ready.catch(() => {});
      return unsubscribe;
    }
    const listener = { callback, onRecovery };
    let t = this.#topics.get(topic);
    let created = false;
    if (!t) {
      t = { topic, listeners: new Set(), lastSeq: since ?? null, history: since != null, live: false, result: null, waiters: new Set() };
      this.#topics.set(topic, t);
      created = true;
    }
    t.listeners.add(listener);

    let waiter = null;
    const ready = t.live
      ? Promise.resolve(t.result)
      : new Promise((resolve, reject) => { waiter = { resolve, reject }; t.waiters.add(waiter); });
    ready.catch(() => {}); // a caller that never looks at `ready` must not cause an unhandled rejection

    // A topic whose last $subscribe timed out is not live and has none on the way: this caller's asks again.
    if ((created || (!t.live && !t.subscribing)) && this.#state === 'open') this.#sendSubscribe(t, false);

    let done = false;
    const unsubscribe = () => {
      if (done) return Promise.resolve();
      done = true;
      t.listeners.delete(listener);
      if (waiter && t.waiters.delete(waiter)) waiter.resolve(null);
      if (t.listeners.size > 0 || this.#topics.get(topic) !== t) return Promise.resolve();
      this.#topics.delete(topic);
      this.#cancelRetry(t);
      if (this.#state !== 'open') return Promise.resolve(); // the next connection will not subscribe it
      return this.#topicOp(topic, () => this.request('$unsubscribe', { topic })).then(() => undefined, () => undefined);
    };
    unsubscribe.ready = ready;
    return unsubscribe;
  }

  /**
   * Answers server-initiated Reqs for `op`: `handler(data, {id, op})` returns (or resolves with)
   * the Cfm data; throwing `ConnMsgRejected` sends that code and reason, any other error sends
   * `internal`. Reqs for ops without a handler are answered `unknown_op`. Returns a remover.
   */
  onRequest(op, handler) {
    checkName('op', op, 128);
    if (typeof handler !== 'function') throw new TypeError('handler must be a function');
    this.#handlers.set(op, handler);
    return () => { if (this.#handlers.get(op) === handler) this.#handlers.delete(op); };
  }

  /** Closes for good: no reconnect; requests still waiting reject with `closed`. */
  close(code = 1000, reason = '') {
    if (this.#state === 'closed') return;
    const ws = this.#ws;
    this.#detachSocket();
    if (ws) {
      try { ws.close(code, reason); } catch { try { ws.close(); } catch { /* already closing */ } }
    }
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = null;
    const err = new ConnMsgError('closed', 'the client was closed');
    for (const entry of [...this.#pending.values()]) this.#settle(entry, undefined, err);
    for (const t of this.#topics.values()) {
      this.#cancelRetry(t);
      for (const w of t.waiters) w.reject(err);
      t.waiters.clear();
    }
    this.#setState('closed', { code, reason });
  }

  // ---- connection ---------------------------------------------------------------------------

  #openSocket() {
    this.#setState(this.#everOpened ? 'reconnecting' : 'connecting', { attempt: this.#attempt });
    if (this.#state === 'closed') return; // a 'state' listener called close()
    let ws;
    try {
      ws = new this.#WebSocket(this.#url, [SUBPROTOCOL]);
    } catch (e) {
      this.#emit('error', { error: e });
      this.#scheduleReconnect({ code: 1006, reason: String(e?.message ?? e) });
      return;
    }
    this.#ws = ws;
    this.#connectTimer = setTimeout(() => {
      if (this.#ws === ws) this.#drop(ws, 4000, `not connected within ${this.#opts.connectTimeout} ms`);
    }, this.#opts.connectTimeout);
    ws.onopen = () => { if (this.#ws === ws) this.#onOpen(); };
    ws.onmessage = (ev) => { if (this.#ws === ws) this.#onMessage(ev.data); };
    ws.onerror = () => { /* a close event follows and carries what is known */ };
    ws.onclose = (ev) => { if (this.#ws === ws) this.#onDropped(ev.code, ev.reason); };
  }

  #onOpen() {
    clearTimeout(this.#connectTimer);
    this.#connectTimer = null;
    this.#everOpened = true;
    // The backoff starts over only once a connection has lasted: a server that accepts and at once
    // closes (refused credentials, say) must not be hammered at the shortest delay.
    this.#stableTimer = setTimeout(() => { this.#attempt = 0; }, this.#opts.stableAfter);
    this.#setState('open');
    if (this.#state !== 'open') return; // a 'state' listener called close(): no ping timer, no re-subscribing
    this.#startPing();
    // Every topic is subscribed again before the requests that waited are sent (in the order they were made): a
    // publish made while away must not reach the server before this client's own $subscribe, or a topic without
    // history delivers its Ind to everyone but us. The one exception is a topic whose $unsubscribe is still on its
    // way (it waits among the requests below): its $subscribe follows that $unsubscribe's answer, and the other
    // requests are not held back a round trip for it.
    for (const t of this.#topics.values()) this.#sendSubscribe(t, t.everLive === true);
    for (const entry of [...this.#pending.values()]) {
      if (!entry.sent) this.#sendRequest(entry);
    }
  }

  /** Stops listening to the current socket (it is then closed or forgotten by the caller). */
  #detachSocket() {
    const ws = this.#ws;
    this.#ws = null;
    clearTimeout(this.#connectTimer);
    this.#connectTimer = null;
    clearTimeout(this.#stableTimer);
    this.#stableTimer = null;
    clearInterval(this.#pingTimer);
    this.#pingTimer = null;
    this.#pingInFlight = false;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
      ws.onclose = () => {};
      ws.onerror = () => {};
    }
    return ws;
  }

  /** Gives up on `ws` now (a dead peer may never complete a closing handshake) and reconnects. */
  #drop(ws, code, reason) {
    this.#onDropped(code, reason);
    try {
      if (typeof ws.terminate === 'function') ws.terminate();
      else ws.close(code, reason);
    } catch { /* nothing more to do with it */ }
  }

  #onDropped(code, reason) {
    this.#detachSocket();
    const lost = [];
    for (const entry of this.#pending.values()) if (entry.sent) lost.push(entry);
    for (const entry of lost) {
      this.#settle(entry, undefined, new ConnMsgError(
        'connection_lost',
        `connection lost (close ${code}${reason ? ` ${reason}` : ''}) before the answer to '${entry.op}' (id ${entry.id}) arrived; it may or may not have been processed`,
      ));
    }
    this.#cancelled.clear(); // answers of the old connection can no longer arrive
    for (const t of this.#topics.values()) {
      t.live = false;
      this.#cancelRetry(t); // the next connection subscribes every topic anyway
      t.retries = 0; // and its refusals are its own: resubscribeMaxRetries counts per connection
    }
    this.#scheduleReconnect({ code, reason });
  }

  #scheduleReconnect({ code, reason }) {
    const r = this.#opts.reconnect;
    if (!r || this.#attempt >= r.maxRetries) {
      const err = new ConnMsgError('closed', `connection closed (${code}${reason ? ` ${reason}` : ''}) and not reconnecting`);
      for (const entry of [...this.#pending.values()]) this.#settle(entry, undefined, err);
      for (const t of this.#topics.values()) { for (const w of t.waiters) w.reject(err); t.waiters.clear(); }
      this.#setState('closed', { code, reason });
      return;
    }
    const base = Math.min(r.maxDelay, r.minDelay * Math.pow(r.factor, this.#attempt));
    const delay = Math.round(base * (1 - r.jitter * Math.random()));
    this.#attempt++;
    this.#setState('reconnecting', { attempt: this.#attempt, delay, code, reason });
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = null;
      if (this.#state !== 'closed') this.#openSocket();
    }, delay);
  }

  #setState(state, detail = {}) {
    const previous = this.#state;
    if (previous === state && state !== 'reconnecting') return;
    this.#state = state;
    this.#emit('state', { state, previous, ...detail });
  }

  // ---- liveness ----------------------------------------------------------------------------

  #startPing() {
    const interval = this.#opts.pingInterval;
    if (!(interval > 0 && Number.isFinite(interval))) return;
    const ws = this.#ws;
    this.#pingTimer = setInterval(() => {
      if (this.#ws !== ws || this.#state !== 'open' || this.#pingInFlight) return;
      this.#pingInFlight = true;
      const t0 = now();
      this.request('$ping', null, { timeout: this.#opts.pingTimeout }).then(
        () => {
          this.#rtt = now() - t0;
          this.#emit('ping', { rtt: this.#rtt });
        },
        (e) => {
          // A Rej still proves the peer is alive; only silence means the connection is dead.
          if (e?.code === 'request_timeout' && this.#ws === ws) this.#drop(ws, 4000, 'no answer to $ping');
        },
      ).finally(() => { if (this.#ws === ws) this.#pingInFlight = false; });
    }, interval);
  }

  // ---- requests ----------------------------------------------------------------------------

  #checkSize(text, what) {
    const limit = this.#maxMessage;
    if (text.length <= limit / 3) return null; // cannot exceed the limit even if all 3-byte
    const size = utf8Length(text);
    if (size <= limit) return null;
    const e = new ConnMsgError('message_too_large', `${what}: message is ${size} bytes, the server accepts at most ${limit}`);
    e.size = size;
    e.limit = limit;
    return e;
  }

  #sendRequest(entry) {
    const tooLarge = this.#checkSize(entry.text, `'${entry.op}'`); // the limit may have shrunk since
    if (tooLarge) { this.#settle(entry, undefined, tooLarge); return; }
    try {
      this.#ws.send(entry.text);
      entry.sent = true;
    } catch {
      // The socket is closing; the entry stays unsent and goes out on the next connection.
    }
  }

  /** Local end of a request (timeout, abort): its answer, if it ever comes, is discarded. */
  #giveUp(entry, error) {
    if (this.#pending.get(entry.id) !== entry) return;
    if (entry.sent) {
      this.#cancelled.add(entry.id);
      if (this.#cancelled.size > MAX_REMEMBERED_CANCELLED) {
        this.#cancelled.delete(this.#cancelled.values().next().value);
      }
    }
    this.#settle(entry, undefined, error);
  }

  #settle(entry, value, error) {
    if (this.#pending.get(entry.id) !== entry) return;
    this.#pending.delete(entry.id);
    clearTimeout(entry.timer);
    if (entry.signal && entry.onAbort) entry.signal.removeEventListener('abort', entry.onAbort);
    if (error !== undefined) entry.reject(error);
    else entry.resolve(value);
  }

  // ---- incoming ----------------------------------------------------------------------------

  #onMessage(raw) {
    if (typeof raw !== 'string') {
      this.#emit('error', { error: new ConnMsgError('bad_message', 'received a binary message; connmsg.v1 is text only') });
      return;
    }
    let msg;
    try {
      msg = JSON.parse(raw);
    } catch {
      this.#emit('error', { error: new ConnMsgError('bad_message', `received a message that is not JSON: ${raw.slice(0, 80)}`) });
      return;
    }
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
      this.#emit('error', { error: new ConnMsgError('bad_message', 'received a message that is not a JSON object') });
      return;
    }
    switch (msg.type) {
      case 'cfm':
      case 'rej':
        this.#onAnswer(msg);
        break;
      case 'ind':
        this.#onInd(msg);
        break;
      case 'req':
        this.#onPeerRequest(msg);
        break;
      default:
        this.#emit('error', { error: new ConnMsgError('bad_message', `received a message of unknown type ${JSON.stringify(msg.type)}`) });
    }
  }

  #onAnswer(msg) {
    const entry = this.#pending.get(msg.id);
    if (entry && entry.sent) {
      if (msg.type === 'cfm') this.#settle(entry, msg.data ?? null);
      else this.#settle(entry, undefined, new ConnMsgRejected(String(msg.code ?? 'unknown'), msg.reason, { op: entry.op, id: entry.id }));
      return;
    }
    if (this.#cancelled.delete(msg.id)) {
      this.#emit('late', { id: msg.id, type: msg.type, data: msg.data, code: msg.code });
      return;
    }
    const error = msg.type === 'rej'
      ? new ConnMsgRejected(String(msg.code ?? 'unknown'), msg.reason, { id: msg.id })
      : new ConnMsgError('bad_message', `received a cfm for unknown id ${JSON.stringify(msg.id)}`);
    this.#emit('error', { error });
  }

  #onInd(msg) {
    const { topic, seq } = msg;
    const data = msg.data ?? null;
    if (topic === '$session') {
      this.#session = data;
      if (data && Number.isInteger(data.maxMessage) && data.maxMessage > 0) this.#maxMessage = data.maxMessage;
      this.#emit('session', data);
      return;
    }
    const t = this.#topics.get(topic);
    if (t) {
      if (Number.isInteger(seq)) {
        t.history = true;
        if (t.lastSeq != null && seq <= t.lastSeq) return; // already delivered: replay overlap
        t.lastSeq = seq;
      }
      const ind = { topic, seq: Number.isInteger(seq) ? seq : undefined, data };
      for (const l of [...t.listeners]) {
        try {
          l.callback(data, ind);
        } catch (error) {
          this.#emit('error', { error, topic });
        }
      }
    }
    this.#emit('ind', { topic, seq, data });
  }

  async #onPeerRequest(msg) {
    const ws = this.#ws;
    const { id, op } = msg;
    const answer = (obj) => {
      if (this.#ws !== ws) return; // the connection it came on is gone; so is the peer's request
      let text = JSON.stringify(obj);
      if (this.#checkSize(text, `answer to '${op}'`)) {
        text = JSON.stringify({ type: 'rej', id, code: 'internal', reason: 'answer too large' });
      }
      try { ws.send(text); } catch { /* closing */ }
    };
    if (id === undefined || id === null || typeof op !== 'string') {
      answer({ type: 'rej', id: id ?? null, code: 'bad_message', reason: 'req needs id and op' });
      return;
    }
    if (op === '$ping') {
      // PROTOCOL 5.4 holds both ways (the peers are equal): the data comes back, as the .NET client does.
      const out = { type: 'cfm', id };
      if (msg.data !== undefined) out.data = msg.data;
      answer(out);
      return;
    }
    const handler = this.#handlers.get(op);
    if (!handler) {
      answer({ type: 'rej', id, code: 'unknown_op', reason: `no handler for '${op}'` });
      return;
    }
    try {
      const result = await handler(msg.data ?? null, { id, op });
      const out = { type: 'cfm', id };
      if (result !== undefined) out.data = result;
      answer(out);
    } catch (e) {
      if (e instanceof ConnMsgRejected && SNAKE_CASE.test(e.code)) answer({ type: 'rej', id, code: e.code, reason: e.reason || undefined });
      else {
        // Any other failure, and a code the server would refuse as bad_message (PROTOCOL 3: snake_case), is internal.
        this.#emit('error', { error: e, op });
        answer({ type: 'rej', id, code: 'internal', reason: 'handler failed' });
      }
    }
  }

  // ---- subscriptions -----------------------------------------------------------------------

  /** Runs `fn` after every earlier $subscribe/$unsubscribe of `topic` settled: at once if none is on its way. */
  #topicOp(topic, fn) {
    const prev = this.#chains.get(topic);
    // At once, not a microtask later: a request the caller makes right after must not overtake this one on the wire
    // (a publish overtaking the caller's own $subscribe misses its Ind).
    let p;
    if (prev) p = prev.then(fn, fn);
    else {
      try { p = Promise.resolve(fn()); } catch (e) { p = Promise.reject(e); }
    }
    const tail = p.then(() => {}, () => {});
    this.#chains.set(topic, tail);
    tail.then(() => { if (this.#chains.get(topic) === tail) this.#chains.delete(topic); });
    return p;
  }

  #sendSubscribe(t, resumed) {
    const ws = this.#ws;
    t.subscribing = true;
    this.#topicOp(t.topic, () => {
      if (this.#topics.get(t.topic) !== t || this.#ws !== ws) return undefined; // gone, or resent on the next connection
      const data = { topic: t.topic };
      const since = t.lastSeq;
      if (since != null) data.since = since;
      return this.request('$subscribe', data).then(
        (res) => { t.subscribing = false; this.#subscribed(t, res ?? {}, since, resumed); },
        (e) => { t.subscribing = false; this.#subscribeFailed(t, e, resumed, ws); },
      );
    });
  }

  #subscribed(t, res, since, resumed) {
    if (this.#topics.get(t.topic) !== t) return;
    if (Number.isInteger(res.seq)) {
      t.history = true;
      // A current seq below `since` means the topic's history started again (a restarted server):
      // resume from there, or every new Ind would look like one already seen.
      const restarted = res.recovered === false && since != null && res.seq < since;
      t.lastSeq = restarted ? res.seq : Math.max(t.lastSeq ?? 0, res.seq);
    }
    t.live = true;
    t.everLive = true;
    t.retries = 0;
    t.result = res;
    for (const w of t.waiters) w.resolve(res);
    t.waiters.clear();
    if (since == null && !resumed) return; // a fresh subscription has nothing to recover
    // Only a history topic says whether it recovered; a cfm without `recovered` is a topic that keeps no history,
    // whose Inds of the gap are lost, whatever `since` was asked.
    const info = since != null && typeof res.recovered === 'boolean'
      ? { topic: t.topic, history: true, since, recovered: res.recovered, seq: res.seq ?? t.lastSeq, resumed }
      : { topic: t.topic, history: false, since: since ?? null, recovered: false, seq: null, resumed };
    this.#emit('recovery', info);
    for (const l of [...t.listeners]) {
      try { l.onRecovery?.(info); } catch (error) { this.#emit('error', { error, topic: t.topic }); }
    }
  }

  #subscribeFailed(t, e, resumed, ws) {
    if (e instanceof ConnMsgRejected && resumed && PASSING_REFUSALS.has(e.code)) {
      // The application was told this subscription is live and holds it; a refusal that says "not now" must not
      // silently stop its callbacks. Waiters (subscribe() calls made while reconnecting) stay pending: the
      // subscription is still on its way.
      // shutting_down: this server closes once drained, and the next connection subscribes every topic again, as
      // after connection_lost. overloaded: the connection is healthy and may never drop, so waiting for a
      // reconnect could take forever; a reconnect that resends every topic at once is also just what trips
      // MaxInFlight. So it is sent again on this connection after the reconnect backoff, growing per refusal.
      if (e.code === 'shutting_down') return;
      if ((t.retries ?? 0) < this.#opts.resubscribeMaxRetries) {
        this.#retrySubscribe(t, ws);
        return;
      }
      // Still overloaded after every retry: a server overloaded for that long may stay so, and the application must
      // learn that its subscription is gone rather than wait for Inds that never come. It ends as after any other
      // refusal, unless nobody holds it any more.
      if (this.#topics.get(t.topic) !== t) return;
    }
    if (e instanceof ConnMsgRejected) {
      // Refused by the server: the subscription is over for every listener of it.
      if (this.#topics.get(t.topic) === t) this.#topics.delete(t.topic);
      for (const w of t.waiters) w.reject(e);
      t.waiters.clear();
      t.listeners.clear();
      this.#emit('error', { error: e, topic: t.topic });
    }
    else if (e?.code === 'request_timeout') {
      // Unknown whether it is live: tell the callers; the next subscribe() of the topic, or the next connection,
      // subscribes it again (a second $subscribe of a live topic is harmless, and a replay is deduplicated by seq).
      for (const w of t.waiters) w.reject(e);
      t.waiters.clear();
    }
    // connection_lost: the topic is subscribed again on the next connection; closed: close() handled it.
  }

  #retrySubscribe(t, ws) {
    this.#cancelRetry(t);
    const r = this.#opts.reconnect || DEFAULTS.reconnect;
    const n = t.retries ?? 0;
    t.retries = n + 1;
    const base = Math.min(r.maxDelay, r.minDelay * Math.pow(r.factor, n));
    t.retryTimer = setTimeout(() => {
      t.retryTimer = null;
      if (this.#topics.get(t.topic) !== t || this.#ws !== ws || this.#state !== 'open' || t.live || t.subscribing) return;
      this.#sendSubscribe(t, true);
    }, Math.round(base * (1 - r.jitter * Math.random())));
  }

  #cancelRetry(t) {
    clearTimeout(t.retryTimer);
    t.retryTimer = null;
  }

  #emit(type, detail) {
    const set = this.#listeners.get(type);
    if (!set || set.size === 0) {
      if (type === 'error' && detail?.error && !(detail.error instanceof ConnMsgError)) console.error('connmsg:', detail.error);
      return;
    }
    for (const fn of [...set]) {
      try {
        fn(detail);
      } catch (e) {
        if (type !== 'error') this.#emit('error', { error: e });
        else console.error('connmsg: error listener threw', e);
      }
    }
  }
}

/** Same as `new ConnMsgClient(url, options)`. */
export function connect(url, options) {
  return new ConnMsgClient(url, options);
}
