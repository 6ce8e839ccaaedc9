// Shared by the browser tests: Debian's Chromium, logging in, screenshots
// and the accessibility scan.
const path = require('node:path');
const { chromium } = require('playwright-core');

const BASE_URL = process.env.BASE_URL || 'http://127.0.0.1:18900';
const STAFF = { email: process.env.STAFF_EMAIL, password: process.env.STAFF_PASSWORD };
const SCREENSHOTS = path.join(__dirname, '..', 'artifacts', 'screenshots');

async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run',
    ],
  });
}

async function newPage(browser, options = {}) {
  const context = await browser.newContext({ baseURL: BASE_URL, ...options });
  return context.newPage();
}

async function logIn(page, email, password) {
  await page.goto('/account/login');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL((url) => !url.pathname.startsWith('/account/login'));
}

async function screenshot(page, name) {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Serious and critical axe violations of the page at `url`, if any. */
async function accessibilityProblems(page, url) {
  await page.goto(url);
  return accessibilityProblemsHere(page, url);
}

/** The same, of the page as it is now (its context must bypass the CSP). */
async function accessibilityProblemsHere(page, url = page.url()) {
  await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
  const results = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
  }));
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${url}: ${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

module.exports = {
  BASE_URL, STAFF, launch, newPage, logIn, screenshot, accessibilityProblems, accessibilityProblemsHere,
};
