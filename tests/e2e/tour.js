// A walk through the pages as a visitor, a member and a staff member would
// take it, photographed at 1280 and 390 pixels wide in the light and the dark
// scheme. Run it against two builds to compare them (compare.js):
//
//   bash tests/e2e/run.sh BINARY node tests/e2e/tour.js DIR
//
// Each page is one PNG in DIR, named after the page, its width and scheme.
const fs = require('node:fs');
const path = require('node:path');
const { STAFF, launch, newPage, logIn } = require('./tests/helpers');

const out = process.argv[2];
if (!out) {
  console.error('usage: node tour.js DIR');
  process.exit(2);
}

// Page name and address; `who` is the account it is seen by.
const PAGES = [
  { who: 'visitor', name: 'home', url: '/' },
  { who: 'visitor', name: 'store', url: '/stores/1' },
  { who: 'visitor', name: 'item', url: '/items/1' },
  { who: 'visitor', name: 'search', url: '/search?q=the&min_price=5&max_price=2' },
  { who: 'visitor', name: 'all-items', url: '/items' },
  { who: 'visitor', name: 'login', url: '/account/login' },
  { who: 'member', name: 'account', url: '/account' },
  { who: 'member', name: 'member-panel', url: '/admin' },
  { who: 'staff', name: 'dashboard', url: '/admin' },
  { who: 'staff', name: 'admin-items', url: '/admin/items' },
  { who: 'staff', name: 'admin-items-past-end', url: '/admin/items?page=999' },
  { who: 'staff', name: 'admin-item', url: '/admin/items/1' },
  { who: 'staff', name: 'admin-new-item', url: '/admin/items/new' },
  { who: 'staff', name: 'admin-store', url: '/admin/stores/1' },
  { who: 'staff', name: 'admin-item-history', url: '/admin/items/1/history' },
];
const WIDTHS = [1280, 390];
const SCHEMES = ['light', 'dark'];

async function signedIn(browser, who, options) {
  const page = await newPage(browser, options);
  if (who === 'staff') await logIn(page, STAFF.email, STAFF.password);
  if (who === 'member') {
    await page.goto('/account/register');
    await page.getByLabel('Email').fill(`tour-${Date.now()}-${options.viewport.width}-${options.colorScheme}@example.org`);
    await page.getByLabel('Password').fill('tulip-harbour-71');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL((url) => !url.pathname.startsWith('/account/register'));
  }
  return page;
}

(async () => {
  fs.mkdirSync(out, { recursive: true });
  const browser = await launch();
  try {
    for (const width of WIDTHS) {
      for (const colorScheme of SCHEMES) {
        const options = { viewport: { width, height: 900 }, colorScheme };
        const pages = {};
        for (const { who, name, url } of PAGES) {
          pages[who] = pages[who] || await signedIn(browser, who, options);
          const page = pages[who];
          const response = await page.goto(url);
          const file = `${name}-${width}-${colorScheme}.png`;
          await page.screenshot({ path: path.join(out, file), fullPage: true });
          console.log(`${file}\t${response.status()}\t${new URL(page.url()).pathname}`);
        }
        await Promise.all(Object.values(pages).map((page) => page.context().close()));
      }
    }
  } finally {
    await browser.close();
  }
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
