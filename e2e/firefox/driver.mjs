// Drives one headless Firefox ESR over WebDriver BiDi (puppeteer-core) for Podium's Go
// end-to-end tests (e2e/firefox.go). It speaks JSON, one object a line: requests on stdin,
// replies and events on stdout; logs on stderr.
//
//   {"id":1,"op":"open","url":"http://127.0.0.1:…/"}    → {"id":1,"ok":true,"page":1}
//   {"id":2,"op":"eval","page":1,"js":"1 + 1"}          → {"id":2,"ok":true,"json":"2"}
//   {"id":3,"op":"screenshot","page":1,"path":"/tmp/a.png"} → {"id":3,"ok":true}
//   {"id":4,"op":"close","page":1}                      → {"id":4,"ok":true}
//   a failure                                           → {"id":…,"ok":false,"error":"…"}
//   events: {"event":"ready","version":"Firefox/153…"}, {"event":"console","page":1,"text":"…"}
//
// "eval" awaits a promise and replies with the value as JSON text (no "json" for undefined), so
// that Go decodes it as chromedp decodes Chromium's values. The browser closes when stdin ends.
//
// Environment: PODIUM_FIREFOX (default /usr/bin/firefox-esr). The browser is never downloaded.

import { createInterface } from 'node:readline';
import puppeteer from 'puppeteer-core';

// Prefs for a WebRTC client on loopback with fake devices. Firefox offers 127.0.0.1 host
// candidates only when the page holds camera and microphone permission: the permissions.default
// prefs grant it (media.peerconnection.ice.loopback alone is not enough).
const PREFS = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  'permissions.default.camera': 1,
  'permissions.default.microphone': 1,
  'media.peerconnection.ice.loopback': true,
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  // Firefox ramps its send estimate from 300 kbps and, on this loopback, took 17-42 s to start
  // its 1280x720 layer (Chromium probes up in about 2 s). Starting at 2.5 Mbps (kbps here) makes
  // it encode every simulcast layer from the start, as Chromium does.
  'media.peerconnection.video.start_bitrate': 2500,
  'media.autoplay.default': 0, // remote audio plays without a user gesture
  'media.autoplay.blocking_policy': 0,
  // A test browser: no updates, no telemetry, no first-run pages.
  'app.update.enabled': false,
  'browser.shell.checkDefaultBrowser': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.enabled': false,
};

const send = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

const browser = await puppeteer.launch({
  browser: 'firefox',
  executablePath: process.env.PODIUM_FIREFOX || '/usr/bin/firefox-esr',
  headless: true,
  extraPrefsFirefox: PREFS,
  defaultViewport: { width: 1280, height: 800 },
  protocolTimeout: 60_000,
  // Over --dev-tls (PODIUM_E2E_TLS=1) the node's certificate is self-signed.
  acceptInsecureCerts: process.env.PODIUM_E2E_TLS === '1',
});

/** @type {Map<number, import('puppeteer-core').Page>} */
const pages = new Map();
let nextPage = 1;

async function open(url) {
  const page = await browser.newPage();
  const id = nextPage++;
  pages.set(id, page);
  page.on('console', (m) => consoleText(m).then((text) => send({ event: 'console', page: id, text: `${m.type()}: ${text}` })));
  page.on('pageerror', (err) => send({ event: 'console', page: id, text: `exception: ${err?.message ?? err}` }));
  await page.goto(url, { waitUntil: 'load', timeout: 30_000 });
  return id;
}

// A console message's text shows an object argument as JSHandle@…: describe errors and objects
// from the page instead.
async function consoleText(m) {
  const text = m.text();
  if (!text.includes('JSHandle@')) return text;
  try {
    const parts = await Promise.all(
      m.args().map((a) => a.evaluate((v) => (v instanceof Error ? `${v.name}: ${v.message}` : typeof v === 'object' ? JSON.stringify(v) : String(v)))),
    );
    return parts.join(' ');
  } catch {
    return text;
  }
}

function pageOf(req) {
  const page = pages.get(req.page);
  if (!page) throw new Error(`no page ${req.page}`);
  return page;
}

// The expression runs in the page; its value comes back as JSON text made by the page itself.
async function evaluate(req) {
  const wrapped = `(async () => { const v = await (${req.js}\n); return v === undefined ? undefined : JSON.stringify(v); })()`;
  return pageOf(req).evaluate(wrapped);
}

async function handle(req) {
  switch (req.op) {
    case 'open':
      return { page: await open(req.url) };
    case 'eval': {
      const json = await evaluate(req);
      return json === undefined ? {} : { json };
    }
    case 'screenshot':
      await pageOf(req).screenshot({ path: req.path });
      return {};
    case 'close':
      await pageOf(req).close();
      pages.delete(req.page);
      return {};
    default:
      throw new Error(`unknown op ${req.op}`);
  }
}

send({ event: 'ready', version: await browser.version() });

// Requests run concurrently; each reply carries its request's id.
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (!line.trim()) return;
  let req;
  try {
    req = JSON.parse(line);
  } catch (err) {
    send({ id: null, ok: false, error: `bad request: ${err.message}` });
    return;
  }
  handle(req).then(
    (res) => send({ id: req.id, ok: true, ...res }),
    (err) => send({ id: req.id, ok: false, error: String(err?.message ?? err) }),
  );
});
lines.on('close', async () => {
  try {
    await browser.close();
  } finally {
    process.exit(0);
  }
});
