// Loads built status pages in headless Chromium: saves screenshots at phone and desktop
// widths, prints the visible text, and runs axe-core. Prints one JSON report on stdout.
// Usage: node check.mjs <chromium> <screenshot dir> <file URL>...
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const [executablePath, shots, ...urls] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const report = [];
try {
  for (const url of urls) {
    for (const width of [390, 1280]) {
      const page = await browser.newPage({ viewport: { width, height: 900 } });
      await page.goto(url);
      const name = url.split('/').slice(-2).join('-').replace(/[^A-Za-z0-9.-]/g, '_');
      await page.screenshot({ path: `${shots}/${name}-${width}.png`, fullPage: true });
      const text = await page.evaluate(() => document.body.innerText);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
      await page.addScriptTag({ content: axeSource });
      const axe = await page.evaluate(async () => {
        const r = await window.axe.run(document, { resultTypes: ['violations'] });
        return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length }));
      });
      report.push({ url, width, text, overflow, violations: axe });
      await page.close();
    }
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
