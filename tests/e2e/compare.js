// Sets two walks of tour.js side by side: one PNG per page, the earlier
// build on the left, the later on the right.
//
//   node tests/e2e/compare.js BEFORE_DIR AFTER_DIR OUT_DIR
const fs = require('node:fs');
const path = require('node:path');
const { launch } = require('./tests/helpers');

const [before, after, out] = process.argv.slice(2);
if (!out) {
  console.error('usage: node compare.js BEFORE_DIR AFTER_DIR OUT_DIR');
  process.exit(2);
}

function picture(dir, file) {
  const full = path.join(dir, file);
  if (!fs.existsSync(full)) return '<p class="missing">(no such page)</p>';
  return `<img src="data:image/png;base64,${fs.readFileSync(full).toString('base64')}">`;
}

(async () => {
  fs.mkdirSync(out, { recursive: true });
  const files = [...new Set([...fs.readdirSync(before), ...fs.readdirSync(after)])]
    .filter((file) => file.endsWith('.png'))
    .sort();
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 800 } });
    for (const file of files) {
      await page.setContent(`<!doctype html><style>
        body { margin: 0; font: 16px sans-serif; display: grid; grid-template-columns: 1fr 1fr; gap: 12px; padding: 12px; }
        h2 { margin: 0 0 8px; font-size: 16px; } img { max-width: 100%; border: 1px solid #888; }
      </style>
      <section><h2>Before: ${file}</h2>${picture(before, file)}</section>
      <section><h2>After: ${file}</h2>${picture(after, file)}</section>`);
      await page.screenshot({ path: path.join(out, file), fullPage: true });
      console.log(file);
    }
  } finally {
    await browser.close();
  }
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
