// A new staff member at work in the admin panel.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const { STAFF, launch, newPage, logIn, screenshot } = require('./helpers');

let browser;
let page;
before(async () => {
  browser = await launch();
  page = await newPage(browser);
  await logIn(page, STAFF.email, STAFF.password);
});
after(async () => browser && browser.close());

test('the admin panel shows the dashboard', async () => {
  await page.goto('/admin');
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Administration');
  await screenshot(page, 'admin-dashboard');
});

test('creates a store, tags and items, and links tags', async () => {
  await page.goto('/admin/stores/new');
  await page.getByLabel('Name').fill('Browser Books');
  await page.getByRole('button', { name: 'Save and continue editing' }).click();
  await page.getByText('Saved store “Browser Books”').waitFor();
  const storeId = page.url().split('/').pop();

  for (const name of ['novel', 'poetry']) {
    await page.goto(`/admin/tags/new?store_id=${storeId}`);
    await page.getByLabel('Store').selectOption(storeId);
    await page.getByLabel('Name').fill(name);
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText(`Saved tag “${name}”`).waitFor();
  }

  await page.goto(`/admin/items/new?store_id=${storeId}`);
  await page.getByLabel('Name').fill('Leaves of Grass');
  await page.getByLabel('Price').fill('12.50');
  await page.getByLabel('Description').fill('Poems.');
  await page.getByLabel('poetry').check();
  await screenshot(page, 'admin-item-form');
  await page.getByRole('button', { name: 'Save and add another' }).click();
  await page.getByText('Saved item “Leaves of Grass”. Add another below.').waitFor();
  await page.getByLabel('Store').selectOption(storeId);
  await page.getByLabel('Name').fill('Daniel Deronda');
  await page.getByLabel('Price').fill('9.00');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByText('Saved item “Daniel Deronda”').waitFor();

  await page.goto(`/admin/items?store=${storeId}`);
  await screenshot(page, 'admin-items');
  const row = page.getByRole('row', { name: /Leaves of Grass/ });
  assert.match(await row.textContent(), /poetry/);
  assert.match(await row.textContent(), /12\.50/);

  // The public store page shows them too.
  await page.goto(`/stores/${storeId}`);
  assert.match(await page.content(), /Leaves of Grass/);
  await screenshot(page, 'store');
});

test('edits an item, and a stale edit shows a conflict', async () => {
  await page.goto('/admin/items?q=Daniel Deronda');
  await page.getByRole('link', { name: 'Daniel Deronda' }).first().click();
  const editUrl = page.url();
  const other = await page.context().newPage();
  await other.goto(editUrl);

  await page.getByLabel('Price').fill('10.00');
  await page.getByLabel('novel').check();
  await page.getByRole('button', { name: 'Save and continue editing' }).click();
  await page.getByText('Saved item “Daniel Deronda”').waitFor();

  await other.getByLabel('Name').fill('Daniel Deronda (stale)');
  await other.getByRole('button', { name: 'Save', exact: true }).click();
  await other.getByText('was changed by someone else').waitFor();
  await screenshot(other, 'admin-conflict');
  // Only the name was changed here: the form below re-applies it onto the
  // other edit's price and tag.
  const reapply = other.locator('form[aria-labelledby="reapply"]');
  assert.equal(await reapply.getByLabel('Name').inputValue(), 'Daniel Deronda (stale)');
  assert.equal(await reapply.getByLabel('Price').inputValue(), '10.00');
  assert.equal(await reapply.getByLabel('novel').isChecked(), true);
  await reapply.getByRole('button', { name: 'Save my changes over theirs' }).click();
  await other.getByText('Saved item “Daniel Deronda (stale)”').waitFor();
  await other.close();

  await page.goto(editUrl);
  assert.equal(await page.getByLabel('Name').inputValue(), 'Daniel Deronda (stale)');
  assert.equal(await page.getByLabel('Price').inputValue(), '10.00');
  await page.goto(`${editUrl}/history`);
  assert.match(await page.content(), /data-label="From">9\.00<\/td><td data-label="To">10\.00/);
});

test('deletes through the confirmation page', async () => {
  await page.goto('/admin/items?q=Daniel Deronda');
  await page.getByRole('link', { name: 'Daniel Deronda' }).first().click();
  await page.getByRole('link', { name: 'Delete' }).click();
  await page.getByRole('heading', { name: 'Delete this item?' }).waitFor();
  await screenshot(page, 'admin-delete');
  await page.getByRole('button', { name: 'Yes, delete' }).click();
  await page.getByText('Deleted the item.').waitFor();
  await page.goto('/admin/items?q=Daniel Deronda');
  assert.match(await page.content(), /Nothing matches/);
});

test('bulk deletes selected stores after confirming', async () => {
  for (const name of ['Bulk One', 'Bulk Two']) {
    await page.goto('/admin/stores/new');
    await page.getByLabel('Name').fill(name);
    await page.getByRole('button', { name: 'Save', exact: true }).click();
  }
  await page.goto('/admin/stores?q=Bulk');
  await page.getByLabel('Select Bulk One').check();
  await page.getByLabel('Select Bulk Two').check();
  await page.getByRole('button', { name: 'Delete selected…' }).click();
  await page.getByRole('heading', { name: 'Delete these 2 stores?' }).waitFor();
  await page.getByRole('button', { name: 'Yes, delete' }).click();
  await page.getByText('Deleted 2 stores').waitFor();
  await page.goto('/admin/stores?q=Bulk');
  assert.match(await page.content(), /Nothing matches/);
  await screenshot(page, 'admin-stores');
});

test('a failed save starts at what went wrong; the panel and the shop link to each other', async () => {
  await page.goto('/admin/stores/new');
  await page.getByLabel('Name', { exact: true }).fill('   ');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.locator('.error-summary').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.className), 'error-summary');

  await page.goto('/admin/stores/1');
  await page.getByRole('link', { name: 'View on site' }).click();
  await page.waitForURL(/\/stores\/1$/);
  await page.getByRole('link', { name: 'Manage this store' }).click();
  await page.waitForURL(/\/admin\/stores\/1$/);
  await page.goto('/items/1');
  assert.equal(await page.getByRole('link', { name: 'Manage this item' }).getAttribute('href'), '/admin/items/1');

  // Page links are targets of at least 24 × 24 pixels.
  await page.goto('/admin/items');
  const small = await page.locator('.pagination li > a, .pagination li > span').evaluateAll((links) => links
    .map((link) => link.getBoundingClientRect())
    .filter((box) => box.width < 24 || box.height < 24)
    .map((box) => `${box.width}×${box.height}`));
  assert.deepEqual(small, []);
});

test('choosing a store shows its tags, with JavaScript and without', async () => {
  await page.goto('/admin/items/new');
  await page.getByLabel('Store', { exact: true }).selectOption({ label: 'Corner Books' });
  await page.getByLabel('fiction').waitFor();
  assert.equal(await page.getByRole('button', { name: "Show this store's tags" }).isVisible(), false);
  await screenshot(page, 'admin-item-form-tags');

  // Without the script, a button asks the server, and what was typed stays.
  const plain = await newPage(browser, { javaScriptEnabled: false });
  await logIn(plain, STAFF.email, STAFF.password);
  await plain.goto('/admin/items/new');
  await plain.getByLabel('Name', { exact: true }).fill('Typed first');
  await plain.getByLabel('Store', { exact: true }).selectOption({ label: 'Corner Books' });
  await plain.getByRole('button', { name: "Show this store's tags" }).click();
  await plain.getByLabel('fiction').waitFor();
  assert.equal(await plain.getByLabel('Name', { exact: true }).inputValue(), 'Typed first');
  assert.doesNotMatch(plain.url(), /csrf_token|Typed/, 'nothing typed, and no token, in the address');

  // Enter in the price field saves the item.
  await plain.getByLabel('Price', { exact: true }).fill('4.20');
  await plain.getByLabel('Price', { exact: true }).press('Enter');
  await plain.waitForURL(/\/admin\/items$/);
  assert.match(await plain.content(), /Saved item “Typed first”/);
  await plain.context().close();
});

test('a form sent after the session ended comes back filled in after logging in, without JavaScript', async () => {
  // A store owner of their own, so that ending their session touches no other test.
  const owner = { email: `resumer-${Date.now()}@example.org`, password: 'tulip-harbour-71' };
  const own = await newPage(browser, { javaScriptEnabled: false });
  await own.goto('/account/register');
  await own.getByLabel('Email').fill(owner.email);
  await own.getByLabel('Password').fill(owner.password);
  await own.getByRole('button', { name: 'Create account' }).click();
  await own.getByRole('heading', { name: 'Your stores' }).waitFor();
  const before = `Resumed ${Date.now()}`;
  await own.goto('/admin/stores/new');
  await own.getByLabel('Name', { exact: true }).fill(before);
  await own.getByRole('button', { name: 'Save and continue editing' }).click();
  await own.getByRole('heading', { name: `Change store “${before}”` }).waitFor();
  const page = new URL(own.url()).pathname;
  await own.getByLabel('Name', { exact: true }).fill(`${before} (renamed late)`);
  // The session ends meanwhile, as after half an hour without a request.
  execFileSync('psql', ['-q', process.env.DATABASE_URL, '-c',
    `UPDATE sessions SET last_seen_at = now() - interval '1 day' WHERE user_id = (SELECT id FROM users WHERE email = '${owner.email}')`]);
  await own.getByRole('button', { name: 'Save', exact: true }).click();
  await own.getByText('Log in again, and what you typed comes back in the form.').waitFor();
  await screenshot(own, 'admin-form-log-in-again');
  // A wrong password first: the login page still carries the form.
  await own.getByLabel('Email').fill(owner.email);
  await own.getByLabel('Password').fill('not the password');
  await own.getByRole('button', { name: 'Log in' }).click();
  await own.getByText('Invalid email or password.').first().waitFor();
  await own.getByLabel('Password').fill(owner.password);
  await own.getByRole('button', { name: 'Log in' }).click();
  await own.waitForURL((url) => url.search === '?draft=1');
  assert.equal(new URL(own.url()).pathname, page);
  await own.getByText('What you typed is back in the form').waitFor();
  assert.equal(await own.getByLabel('Name', { exact: true }).inputValue(), `${before} (renamed late)`);
  await screenshot(own, 'admin-form-restored');
  await own.getByRole('button', { name: 'Save', exact: true }).click();
  await own.getByText(`${before} (renamed late)`).first().waitFor();

  // On a shared computer, somebody else logging in on that page gets a clean form.
  await own.goto(page);
  await own.getByLabel('Name', { exact: true }).fill(`${before} (typed by the owner)`);
  execFileSync('psql', ['-q', process.env.DATABASE_URL, '-c',
    `UPDATE sessions SET last_seen_at = now() - interval '1 day' WHERE user_id = (SELECT id FROM users WHERE email = '${owner.email}')`]);
  await own.getByRole('button', { name: 'Save', exact: true }).click();
  await own.getByText('Log in again, and what you typed comes back in the form.').waitFor();
  await own.getByLabel('Email').fill(STAFF.email);
  await own.getByLabel('Password').fill(STAFF.password);
  await own.getByRole('button', { name: 'Log in' }).click();
  await own.waitForURL((url) => new URL(url).pathname === page);
  assert.equal(new URL(own.url()).search, '', 'no draft for another account');
  assert.equal(await own.getByLabel('Name', { exact: true }).inputValue(), `${before} (renamed late)`);
  await own.context().close();
});
