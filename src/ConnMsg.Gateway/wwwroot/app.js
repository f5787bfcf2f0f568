// The demo page: request/response, subscriptions and a chat that survives reloads, with connmsg.js.
import { ConnMsgClient, ConnMsgRejected } from '/connmsg.js';

const $ = (id) => document.getElementById(id);
const time = (d = new Date()) => d.toLocaleTimeString([], { hour12: false });

const wsUrl = new URLSearchParams(location.search).get('ws')
  ?? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
const client = new ConnMsgClient(wsUrl, { pingInterval: 5000 });
window.connmsgDemo = { client }; // for the console and for tests

// ---- connection ------------------------------------------------------------------------------

function logEvent(text, kind = 'info') {
  const li = document.createElement('li');
  li.dataset.kind = kind;
  li.textContent = `${time()}  ${text}`;
  const log = $('event-log');
  log.prepend(li);
  while (log.children.length > 100) log.lastElementChild.remove();
}

client.on('state', (e) => {
  const pill = $('conn-state');
  pill.textContent = e.state;
  pill.dataset.state = e.state;
  let text = e.state;
  if (e.code !== undefined) text += ` (close ${e.code}${e.reason ? ` ${e.reason}` : ''})`;
  if (e.delay !== undefined) text += ` next attempt in ${e.delay} ms`;
  logEvent(text, e.state === 'open' ? 'cfm' : e.state === 'closed' ? 'error' : 'info');
});
client.on('session', (s) => {
  $('session').textContent = `session ${s?.id ?? '?'} · max message ${s?.maxMessage ?? '?'} B · max in flight ${s?.maxInFlight ?? '?'}`;
});
client.on('ping', ({ rtt }) => { $('rtt').textContent = `rtt ${rtt.toFixed(1)} ms`; });
client.on('recovery', (r) => {
  logEvent(`${r.resumed ? 'resubscribed' : 'subscribed'} ${r.topic} since #${r.since ?? '-'}: ${r.history ? (r.recovered ? 'nothing missed' : 'the history no longer reaches that far back') : 'live only (no history kept)'}`,
    r.recovered ? 'cfm' : 'rej');
});
client.on('error', ({ error }) => logEvent(`error: ${error?.message ?? error}`, 'error'));

$('drop').addEventListener('click', () => {
  logEvent('dropping the connection (close 4000)');
  client.socket?.close(4000, 'dropped from the demo page');
});

// ---- request → cfm / rej ---------------------------------------------------------------------

const EXAMPLES = {
  echo: '{"hello":"world"}',
  time: '',
  sleep: '{"ms":500}',
  fail: '{"code":"forbidden","reason":"demo refusal"}',
  whoami: '',
};

$('req-op').addEventListener('change', () => { $('req-data').value = EXAMPLES[$('req-op').value] ?? ''; });

/** Parses the text as JSON; empty text means no data. Throws SyntaxError with a readable message. */
function parseData(text) {
  return text.trim() === '' ? undefined : JSON.parse(text);
}

function show(value) {
  return value === undefined ? '' : JSON.stringify(value, null, 1).replace(/\n\s*/g, ' ');
}

$('req-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const op = $('req-op').value;
  const err = $('req-error');
  let data;
  try {
    data = parseData($('req-data').value);
    err.hidden = true;
  } catch (e) {
    err.textContent = `data is not valid JSON: ${e.message}`;
    err.hidden = false;
    return;
  }
  const li = document.createElement('li');
  li.dataset.testid = 'req-result';
  li.dataset.op = op;
  li.dataset.kind = 'pending';
  const kind = Object.assign(document.createElement('span'), { className: 'kind', textContent: '…' });
  const meta = Object.assign(document.createElement('span'), { className: 'meta', textContent: ` ${op} ${show(data)}` });
  const out = Object.assign(document.createElement('span'), { className: 'data' });
  li.append(kind, meta, out);
  const log = $('req-log');
  log.prepend(li);
  while (log.children.length > 50) log.lastElementChild.remove();

  const t0 = performance.now();
  try {
    const result = await client.request(op, data);
    li.dataset.kind = 'cfm';
    kind.textContent = 'cfm';
    out.textContent = show(result ?? null);
  } catch (e) {
    if (e instanceof ConnMsgRejected) {
      li.dataset.kind = 'rej';
      li.dataset.code = e.code;
      kind.textContent = 'rej';
      out.textContent = `${e.code}${e.reason ? `: ${e.reason}` : ''}`;
    } else {
      li.dataset.kind = 'error';
      li.dataset.code = e?.code ?? 'error';
      kind.textContent = 'error';
      out.textContent = e?.message ?? String(e);
    }
  }
  const rtt = performance.now() - t0;
  li.dataset.rtt = rtt.toFixed(1);
  meta.textContent += `  · ${rtt.toFixed(1)} ms`;
});

// ---- subscribe → ind -------------------------------------------------------------------------

let unsubscribe = null;
let subscribedTopic = null;

function setSubStatus(text, subscribed) {
  const s = $('sub-status');
  s.textContent = text;
  s.dataset.subscribed = String(subscribed);
}

function onInd(data, ind) {
  const li = document.createElement('li');
  li.dataset.testid = 'ind';
  li.dataset.topic = ind.topic;
  if (ind.seq !== undefined) li.dataset.seq = String(ind.seq);
  const kind = Object.assign(document.createElement('span'), { className: 'kind', textContent: 'ind' });
  const meta = Object.assign(document.createElement('span'), { className: 'meta', textContent: ` ${time()} ${ind.topic}${ind.seq !== undefined ? ` #${ind.seq}` : ''}` });
  const out = Object.assign(document.createElement('span'), { className: 'data', textContent: show(data) });
  li.append(kind, meta, out);
  const log = $('ind-log');
  log.prepend(li);
  while (log.children.length > 100) log.lastElementChild.remove();
}

$('sub-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const button = $('sub-toggle');
  if (unsubscribe) {
    const off = unsubscribe;
    unsubscribe = null;
    button.textContent = 'Subscribe';
    $('sub-topic').disabled = false;
    setSubStatus(`unsubscribing from ${subscribedTopic}…`, false);
    await off();
    setSubStatus('not subscribed', false);
    return;
  }
  const topic = $('sub-topic').value.trim();
  let off;
  try {
    off = client.subscribe(topic, onInd);
  } catch (e) {
    setSubStatus(e.message, false);
    return;
  }
  unsubscribe = off;
  subscribedTopic = topic;
  button.textContent = 'Unsubscribe';
  $('sub-topic').disabled = true;
  setSubStatus(`subscribing to ${topic}…`, false);
  try {
    const res = await off.ready;
    if (unsubscribe === off) setSubStatus(`subscribed to ${topic}${res?.seq !== undefined ? ` (history, current seq ${res.seq})` : ''}`, true);
  } catch (e) {
    if (unsubscribe === off) {
      unsubscribe = null;
      button.textContent = 'Subscribe';
      $('sub-topic').disabled = false;
      setSubStatus(`refused: ${e.message}`, false);
    }
  }
});

$('pub-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const topic = $('sub-topic').value.trim();
  const text = $('pub-data').value;
  let data;
  try { data = JSON.parse(text); } catch { data = text; } // not JSON: publish it as a string
  try {
    const res = await client.request('publish', { topic, data });
    logEvent(`published to ${topic}: ${res?.subscribers ?? '?'} subscriber(s)`, 'cfm');
  } catch (e) {
    logEvent(`publish failed: ${e.message}`, 'error');
  }
});

// ---- chat on a history topic -----------------------------------------------------------------

const CHAT_TOPIC = 'history.chat';
const STORE_KEY = 'connmsg-demo.chat.v1';
const MAX_KEPT = 500;

function loadChat() {
  try {
    const s = JSON.parse(sessionStorage.getItem(STORE_KEY) ?? 'null');
    if (s && Array.isArray(s.messages) && (s.lastSeq === null || Number.isInteger(s.lastSeq))) return s;
  } catch { /* unreadable: start afresh */ }
  return { lastSeq: null, messages: [] };
}

const chat = loadChat();
const saveChat = () => sessionStorage.setItem(STORE_KEY, JSON.stringify(chat));

function renderChat(m) {
  const li = document.createElement('li');
  li.dataset.testid = 'chat-msg';
  li.dataset.seq = String(m.seq);
  const d = m.data && typeof m.data === 'object' ? m.data : { text: String(m.data) };
  li.append(
    Object.assign(document.createElement('span'), { className: 'seq', textContent: `#${m.seq}` }),
    Object.assign(document.createElement('span'), { className: 'who', textContent: String(d.user ?? 'anonymous') }),
    Object.assign(document.createElement('span'), { className: 'text', textContent: String(d.text ?? '') }),
    Object.assign(document.createElement('span'), { className: 'when', textContent: d.at ? time(new Date(d.at)) : '' }),
  );
  const log = $('chat-log');
  const stick = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
  log.append(li);
  if (stick) log.scrollTop = log.scrollHeight;
}

function chatNotice(text) {
  const li = document.createElement('li');
  li.className = 'notice';
  li.dataset.testid = 'chat-notice';
  li.textContent = text;
  $('chat-log').append(li);
}

function setChatStatus(text, attrs = {}) {
  const s = $('chat-status');
  s.textContent = text;
  for (const [k, v] of Object.entries(attrs)) s.dataset[k] = String(v);
}

for (const m of chat.messages) renderChat(m);

function onChat(data, ind) {
  if (!Number.isInteger(ind.seq)) return; // history.* Inds always carry seq
  if (chat.lastSeq !== null && ind.seq <= chat.lastSeq) return; // shown already (stored before a reload)
  const m = { seq: ind.seq, data };
  chat.lastSeq = ind.seq;
  chat.messages.push(m);
  if (chat.messages.length > MAX_KEPT) chat.messages.splice(0, chat.messages.length - MAX_KEPT);
  saveChat();
  renderChat(m);
}

function onChatRecovery(info) {
  if (info.recovered) {
    if (info.resumed) setChatStatus(`live · reconnected, resumed after #${info.since}, nothing missed`, { since: info.since, recovered: true });
    return;
  }
  if (Number.isInteger(info.seq) && info.seq < info.since) {
    chatNotice(`The server's history restarted (now at #${info.seq}); messages stored here are from before.`);
    chat.lastSeq = info.seq;
    saveChat();
  } else {
    chatNotice(`Messages after #${info.since} are no longer kept by the server: some are missing here.`);
  }
  // Live all the same: only the gap is lost.
  setChatStatus(`live · could not recover everything after #${info.since}`, { since: info.since, recovered: false, live: true });
}

const since = chat.lastSeq ?? 0;
const chatSub = client.subscribe(CHAT_TOPIC, onChat, { since, onRecovery: onChatRecovery });
chatSub.ready.then(
  (res) => {
    if (res?.recovered === false) return; // onChatRecovery said what happened
    setChatStatus(since > 0
      ? `live · resumed after #${since} (stored in this tab), nothing missed`
      : 'live · history replayed from the start', { since, recovered: true, live: true });
  },
  (e) => setChatStatus(`chat unavailable: ${e.message}`, { live: false }),
);

const nameBox = $('chat-name');
nameBox.value = localStorage.getItem('connmsg-demo.name') ?? `guest-${Math.random().toString(36).slice(2, 6)}`;
nameBox.addEventListener('change', () => localStorage.setItem('connmsg-demo.name', nameBox.value));

$('chat-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const box = $('chat-text');
  const text = box.value.trim();
  if (!text) return;
  const button = $('chat-send');
  button.disabled = true;
  try {
    await client.request('publish', { topic: CHAT_TOPIC, data: { user: nameBox.value.trim() || 'anonymous', text, at: new Date().toISOString() } });
    box.value = ''; // the message itself shows when its Ind arrives, with its seq
  } catch (e) {
    chatNotice(`not sent: ${e.message}`);
  } finally {
    button.disabled = false;
    box.focus();
  }
});

$('chat-forget').addEventListener('click', () => {
  sessionStorage.removeItem(STORE_KEY);
  location.reload();
});
