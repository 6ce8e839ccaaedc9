// A member makes a personal access token and uses it against the API.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { BASE_URL, STAFF, launch, newPage, logIn, screenshot } = require('./helpers');

let browser;
before(async () => { browser = await launch(); });
after(async () => browser && browser.close());

test('registers, creates a token on the account page and calls the API with it', async () => {
  const page = await newPage(browser);
  const email = `member-${Date.now()}@example.org`;
  await page.goto('/account/register');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('tulip-harbour-71');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('heading', { name: 'Your account' }).waitFor();

  await page.getByRole('link', { name: 'API tokens' }).click();
  await page.getByLabel('Name').fill('laptop script');
  await page.getByRole('button', { name: 'Create token' }).click();
  const secret = await page.getByLabel('Token', { exact: true }).inputValue();
  assert.match(secret, /^sfp_/);
  assert.match(await page.getByLabel('Try it').inputValue(), /curl -H 'Authorization: Bearer sfp_/);
  await screenshot(page, 'account-tokens');

  const created = await fetch(`${BASE_URL}/api/stores`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${secret}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: `Token store ${Date.now()}` }),
  });
  assert.equal(created.status, 201);

  await page.reload();
  await page.getByRole('heading', { name: 'API tokens' }).waitFor();
  assert.doesNotMatch(await page.content(), new RegExp(secret), 'the secret is shown only once');
  assert.equal(await page.getByRole('button', { name: /^Revoke/ }).count(), 1, 'reloading made no second token');
  await page.getByRole('button', { name: 'Revoke laptop script' }).click();
  await page.getByText('The token is revoked.').waitFor();
  const refused = await fetch(`${BASE_URL}/api/stores`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${secret}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'Refused' }),
  });
  assert.equal(refused.status, 401);
});

test('a member opens a store from the account page and fills it', async () => {
  const page = await newPage(browser);
  const stamp = Date.now();
  await page.goto('/account/register');
  await page.getByLabel('Email').fill(`owner-${stamp}@example.org`);
  await page.getByLabel('Password').fill('tulip-harbour-71');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('heading', { name: 'Your stores' }).waitFor();
  await page.getByText('You have no store yet.').waitFor();

  await page.getByRole('link', { name: 'Open a store' }).click();
  await page.getByLabel('Name').fill(`Owner's shop ${stamp}`);
  await page.getByRole('button', { name: 'Save and continue editing' }).click();
  await page.getByText(/Saved store/).waitFor();
  const storeUrl = new URL(page.url());
  const storeId = storeUrl.pathname.split('/').pop();

  // Their panel shows their stores only, under their own name.
  await page.goto('/admin/stores');
  assert.equal(await page.getByRole('navigation', { name: 'Your stores' }).count(), 1);
  assert.equal(await page.locator('tbody tr').count(), 1);
  assert.equal(await page.getByRole('link', { name: 'Dashboard' }).count(), 0);

  // The list filtered by their store adds items to that store.
  await page.goto(`/admin/items?store=${storeId}`);
  await page.getByRole('link', { name: 'Add item' }).click();
  assert.equal(await page.getByLabel('Store', { exact: true }).inputValue(), storeId);
  await page.getByLabel('Name', { exact: true }).fill('Fountain pen');
  await page.getByLabel('Price').fill('24.50');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByText('Saved item “Fountain pen”.').waitFor();

  await page.goto('/account');
  const row = page.getByRole('row', { name: new RegExp(`Owner's shop ${stamp}`) });
  assert.equal(await row.getByRole('cell').nth(1).textContent(), '1');
  await screenshot(page, 'account-your-stores');

  // Somebody else's store is not theirs to open.
  const response = await page.goto('/admin/stores/1');
  assert.equal(response.status(), 403);
});

test('no page scrolls sideways on a phone', async () => {
  // A phone's width. (With `isMobile`, Chromium would widen the layout to
  // fit a page that overflows, and hide the very thing looked for.)
  const phone = { viewport: { width: 390, height: 844 } };
  const visitor = await newPage(browser, phone);
  const staff = await newPage(browser, phone);
  await logIn(staff, STAFF.email, STAFF.password);
  const pages = [
    [visitor, ['/', '/stores/1', '/items/1', '/tags/1', '/search?q=e', '/search?min_price=abc', '/account/login',
      '/account/register', '/nowhere']],
    [staff, ['/admin', '/admin/stores', '/admin/stores/1', '/admin/items', '/admin/items/1', '/admin/items/new',
      '/admin/tags', '/admin/users', '/admin/users/1', '/admin/stores/1/delete', '/admin/items/1/history',
      '/account', '/account/tokens', '/account/sessions', '/account/password']],
  ];
  const wide = [];
  for (const [page, urls] of pages) {
    for (const url of urls) {
      await page.goto(url);
      const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
      if (scrollWidth > 390) wide.push(`${url}: ${scrollWidth}px wide`);
    }
  }
  // What matters in a row is on screen without scrolling the table: the
  // prices, and the button that revokes a token.
  const hidden = [];
  for (const [page, url, selector] of [
    [visitor, '/items', 'td.item-price'],
    [visitor, '/stores/1', '.item-grid .item-price'],
    [staff, '/admin/items', 'td.num'],
    [staff, '/account/tokens', 'table button'],
  ]) {
    await page.goto(url);
    if (url === '/account/tokens' && (await page.getByRole('button', { name: /^Revoke/ }).count()) === 0) {
      await page.getByLabel('Name', { exact: true }).fill('phone check');
      await page.getByRole('button', { name: 'Create token' }).click();
      await page.goto(url);
    }
    const outside = await page.locator(selector).evaluateAll((cells) => cells
      .filter((cell) => cell.offsetParent !== null && cell.textContent.trim() !== '')
      .filter((cell) => cell.getBoundingClientRect().right > 390)
      .map((cell) => cell.textContent.trim()));
    if (outside.length) hidden.push(`${url}: ${outside.slice(0, 3).join(', ')}`);
  }
  assert.deepEqual(hidden, [], 'off screen at 390 px');
  await visitor.goto('/stores/1');
  await screenshot(visitor, 'phone-store');
  await staff.goto('/admin/items');
  await screenshot(staff, 'phone-admin-items');
  assert.deepEqual(wide, []);
});
