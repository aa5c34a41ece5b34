// Embeds Atlassian's status widget (npm @statuspage/status-widget) in a page served from
// another loopback origin (127.0.0.2), pointed at a forewarn front, and reports what it
// shows. Prints one JSON report on stdout.
// Usage: node widget.mjs <chromium> <status page URL>
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const pkg = dirname(require.resolve('@statuspage/status-widget/package.json'));
const widget = readFileSync(join(pkg, 'dist/index.js'));
const [executablePath, statusPage] = process.argv.slice(2);
const embed = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>A customer's site</title>
<script src="/widget.js"></script></head>
<body><statuspage-widget src="${statusPage}"></statuspage-widget>
<statuspage-widget src="${statusPage}" appearance="badge"></statuspage-widget></body></html>`;
const server = createServer((req, res) => {
  if (req.url === '/widget.js') {
    res.writeHead(200, { 'content-type': 'text/javascript' });
    res.end(widget);
  } else {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(embed);
  }
});
await new Promise((ok) => server.listen(0, '127.0.0.2', ok));
const origin = `http://127.0.0.2:${server.address().port}`;
const browser = await chromium.launch({
  executablePath,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const report = { origin, summary: [], console: [], text: [] };
try {
  const page = await browser.newPage();
  page.on('console', (m) => report.console.push(m.text()));
  page.on('response', (r) => {
    if (r.url().includes('/api/v2/summary.json')) {
      report.summary.push({ url: r.url(), status: r.status(), allow: r.headers()['access-control-allow-origin'] ?? null });
    }
  });
  await page.goto(origin + '/');
  // What each widget draws in its shadow root, once both have drawn a status.
  const read = () => page.evaluate(() => [...document.querySelectorAll('statuspage-widget')]
    .map((w) => (w.shadowRoot ? w.shadowRoot.textContent : w.textContent).replace(/\s+/g, ' ').trim()));
  const deadline = Date.now() + 20000;
  for (;;) {
    report.text = await read();
    if (report.text.every((t) => t.length > 0 && !/^\s*$/.test(t)) && report.summary.length > 0) break;
    if (Date.now() > deadline) break;
    await new Promise((ok) => setTimeout(ok, 200));
  }
  await page.waitForTimeout(500);
  report.text = await read();
} finally {
  await browser.close();
  server.close();
}
console.log(JSON.stringify(report));
