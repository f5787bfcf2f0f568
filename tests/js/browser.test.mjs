// The demo page in Debian's Chromium, driven by playwright-core, against the real gateway.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { ConnMsgClient } from '../../src/connmsg-js/connmsg.js';
import { startGateway } from './lib/gateway.mjs';
import { uniq } from './lib/util.mjs';

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(chromiumPath);
const artifacts = path.join(path.dirname(fileURLToPath(import.meta.url)), 'artifacts');

test('Chromium is available (required when CI=true)', { skip: !haveChromium && process.env.CI !== 'true' && `${chromiumPath} missing: apt-get install -y chromium` }, () => {
  assert.ok(haveChromium, `${chromiumPath} is missing; install it with apt-get install -y chromium`);
});

describe('demo page in Chromium', { skip: !haveChromium && `${chromiumPath} missing: apt-get install -y chromium` }, () => {
  let gw, context, page, node, userDataDir;
  const pageErrors = [];

  before(async () => {
    const { chromium } = await import('playwright-core');
    gw = await startGateway();
    userDataDir = mkdtempSync(path.join(os.tmpdir(), 'connmsg-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: chromiumPath,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 1000 },
    });
    context.setDefaultTimeout(10000);
    page = context.pages()[0] ?? await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e));
    page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(new Error(m.text())); });
    node = new ConnMsgClient(gw.ws, { WebSocket, pingInterval: 0 });
    await node.whenOpen({ timeout: 10000 });
    mkdirSync(artifacts, { recursive: true });
  });

  after(async () => {
    node?.close();
    await context?.close();
    await gw?.stop();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  const chatItems = () => page.$$eval('[data-testid=chat-msg]', (lis) => lis.map((li) => ({
    seq: Number(li.dataset.seq),
    user: li.querySelector('.who').textContent,
    text: li.querySelector('.text').textContent,
  })));

  test('the page loads /connmsg.js, connects and shows the open state and the session limits', async () => {
    await page.goto(`${gw.http}/`);
    await page.waitForSelector('[data-testid=conn-state][data-state=open]');
    assert.equal(await page.textContent('[data-testid=conn-state]'), 'open');
    await page.waitForFunction(() => document.querySelector('[data-testid=session]').textContent.includes('65536'));
  });

  test('sending an echo shows its cfm with the data and a round-trip time', async () => {
    await page.selectOption('[data-testid=req-op]', 'echo');
    await page.fill('[data-testid=req-data]', '{"from":"chromium","n":42}');
    await page.click('[data-testid=req-send]');
    const li = await page.waitForSelector('[data-testid=req-result][data-op=echo][data-kind=cfm]');
    const text = await li.textContent();
    assert.match(text, /"from": "chromium"/);
    assert.match(text, /"n": 42/);
    const rtt = Number(await li.getAttribute('data-rtt'));
    assert.ok(rtt >= 0 && rtt < 10000, `rtt ${rtt}`);
  });

  test('a failing request shows its rej with code and reason', async () => {
    await page.selectOption('[data-testid=req-op]', 'fail');
    await page.fill('[data-testid=req-data]', '{"code":"forbidden","reason":"not from the browser"}');
    await page.click('[data-testid=req-send]');
    const li = await page.waitForSelector('[data-testid=req-result][data-op=fail][data-kind=rej]');
    assert.equal(await li.getAttribute('data-code'), 'forbidden');
    assert.match(await li.textContent(), /forbidden: not from the browser/);
  });

  test('subscribing to a topic shows Inds published by another client and by the page', async () => {
    const topic = uniq('demo.browser');
    await page.fill('[data-testid=sub-topic]', topic);
    await page.click('[data-testid=sub-toggle]');
    await page.waitForSelector('[data-testid=sub-status][data-subscribed=true]');
    assert.deepEqual(await node.request('publish', { topic, data: { price: 1.2345 } }), { subscribers: 1 });
    const ind = await page.waitForSelector(`[data-testid=ind][data-topic="${topic}"]`);
    assert.match(await ind.textContent(), /"price": 1\.2345/);
    await page.fill('[data-testid=pub-data]', '{"from":"page"}');
    await page.click('[data-testid=pub-send]');
    await page.waitForFunction((t) => document.querySelectorAll(`[data-testid=ind][data-topic="${t}"]`).length === 2, topic);
    assert.match(await page.textContent(`[data-testid=ind][data-topic="${topic}"]`), /"from": "page"/);
    await page.screenshot({ path: path.join(artifacts, 'demo-request-subscribe.png'), fullPage: true });
  });

  test('chat: a first visit shows the messages the server kept and goes live', async () => {
    // A visitor with nothing stored subscribes with since 0: everything kept, whatever seq the topic counts from.
    await page.evaluate(() => localStorage.clear());
    await page.goto('about:blank'); // no page of the demo running that could store the next message
    const early = `before the first visit ${uniq('')}`;
    await node.request('publish', { topic: 'history.chat', data: { user: 'carol', text: early, at: new Date().toISOString() } });
    await page.goto(`${gw.http}/`);
    await page.waitForSelector('[data-testid=chat-status][data-live=true]');
    assert.equal(await page.getAttribute('[data-testid=chat-status]', 'data-since'), '0');
    await page.waitForSelector(`[data-testid=chat-msg]:has-text("${early}")`);
    assertContiguous(await chatItems());
  });

  test('chat: a message posted, then messages posted while the page is away, all show after coming back and after a reload, once each and in order', async () => {
    const mine = `hello from chromium ${uniq('')}`;
    await page.fill('[data-testid=chat-name]', 'alice');
    await page.fill('[data-testid=chat-text]', mine);
    await page.click('[data-testid=chat-send]');
    await page.waitForSelector(`[data-testid=chat-msg]:has-text("${mine}")`);
    const before = await chatItems();
    const myLast = before.at(-1);
    assert.equal(myLast.text, mine);
    assert.equal(myLast.user, 'alice');

    // Leave the page; others keep talking.
    await page.goto('about:blank');
    const missed = [`while away 1 ${uniq('')}`, `while away 2 ${uniq('')}`];
    for (const text of missed) {
      await node.request('publish', { topic: 'history.chat', data: { user: 'bob', text, at: new Date().toISOString() } });
    }

    // Come back: the stored messages show, and the missed ones are replayed after the stored seq.
    await page.goto(`${gw.http}/`);
    await page.waitForSelector('[data-testid=chat-status][data-live=true]');
    assert.equal(await page.getAttribute('[data-testid=chat-status]', 'data-since'), String(myLast.seq), 'subscribed with since = the last seq stored');
    await page.waitForSelector(`[data-testid=chat-msg]:has-text("${missed[1]}")`);
    const back = await chatItems();
    assert.deepEqual(back.slice(-3).map((m) => m.text), [mine, ...missed]);
    assertContiguous(back);

    // Reload: the same messages, nothing lost, nothing doubled.
    await page.reload();
    await page.waitForSelector('[data-testid=chat-status][data-live=true]');
    assert.equal(await page.getAttribute('[data-testid=chat-status]', 'data-since'), String(back.at(-1).seq));
    const reloaded = await chatItems();
    assert.deepEqual(reloaded, back);
    await page.screenshot({ path: path.join(artifacts, 'demo-chat-after-reload.png'), fullPage: true });
  });

  test('after a dropped connection the page reconnects, resumes the chat and shows a message sent meanwhile', async () => {
    await page.click('[data-testid=drop]');
    await page.waitForFunction(() => document.querySelector('[data-testid=event-log]').textContent.includes('reconnecting'));
    await page.waitForSelector('[data-testid=conn-state][data-state=open]');
    const text = `after the drop ${uniq('')}`;
    await node.request('publish', { topic: 'history.chat', data: { user: 'bob', text } });
    await page.waitForSelector(`[data-testid=chat-msg]:has-text("${text}")`);
    const items = await chatItems();
    assert.equal(items.at(-1).text, text);
    assertContiguous(items);
    await page.screenshot({ path: path.join(artifacts, 'demo.png'), fullPage: true });
    assert.deepEqual(pageErrors.map(String), [], 'no errors in the page');
  });
});

function assertContiguous(items) {
  const seqs = items.map((m) => m.seq);
  for (let i = 1; i < seqs.length; i++) {
    assert.equal(seqs[i], seqs[i - 1] + 1, `chat seqs must be contiguous and unique: ${seqs.join(',')}`);
  }
}
