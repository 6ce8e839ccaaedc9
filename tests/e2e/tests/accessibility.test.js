// Accessibility scan (axe) and screenshots of the main pages.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { STAFF, launch, newPage, logIn, screenshot, accessibilityProblems } = require('./helpers');

let browser;
before(async () => { browser = await launch(); });
after(async () => browser && browser.close());

// axe is injected as a script; the pages' CSP would rightly refuse it.
const scanOptions = { bypassCSP: true };

test('public pages have no serious or critical accessibility violations', async () => {
  const page = await newPage(browser, scanOptions);
  const problems = [];
  for (const [url, name] of [
    ['/', 'home'], ['/stores/1', 'store-demo'], ['/stores/1?tag=1', 'store-tag-filter'], ['/items/1', 'item'],
    ['/tags/1', 'tag'], ['/search?q=e&min_price=5', 'search'], ['/search?min_price=abc', 'search-errors'],
    ['/stores/1?sort=-price', 'store-by-price'], ['/items', 'all-items'],
    ['/account/login', 'login'], ['/account/register', 'register'], ['/nowhere', 'not-found'],
  ]) {
    problems.push(...await accessibilityProblems(page, url));
    await screenshot(page, name);
  }
  assert.deepEqual(problems, []);
});

test('admin and account pages have no serious or critical accessibility violations', async () => {
  const page = await newPage(browser, scanOptions);
  await logIn(page, STAFF.email, STAFF.password);
  const problems = [];
  for (const [url, name] of [
    ['/admin', 'admin-dashboard-scan'], ['/admin/stores', 'admin-stores-list'], ['/admin/stores/1', 'admin-store-form'],
    ['/admin/items?store=1', 'admin-items-list'], ['/admin/items/1', 'admin-item-edit'], ['/admin/tags', 'admin-tags'],
    ['/admin/users', 'admin-users'], ['/admin/users/1', 'admin-user-form'], ['/admin/stores/1/delete', 'admin-store-delete'],
    ['/admin/items/1/history', 'admin-item-history'], ['/account', 'account'], ['/account/tokens', 'tokens'],
    ['/account/sessions', 'sessions'], ['/account/password', 'password'], ['/admin/items/new', 'admin-item-new'],
    ['/admin/tags/1/delete', 'admin-tag-in-use'], ['/account/webhooks', 'webhooks'], ['/account/two-step', 'two-step'],
  ]) {
    problems.push(...await accessibilityProblems(page, url));
    await screenshot(page, name);
  }
  assert.deepEqual(problems, []);
});

test('pages in the dark scheme have no serious or critical accessibility violations', async () => {
  const page = await newPage(browser, { ...scanOptions, colorScheme: 'dark' });
  await logIn(page, STAFF.email, STAFF.password);
  const problems = [];
  for (const [url, name] of [
    ['/', 'dark-home'], ['/stores/1', 'dark-store'], ['/search?min_price=abc', 'dark-search-errors'],
    ['/admin/items', 'dark-admin-items'], ['/admin/items/1', 'dark-admin-item'], ['/account', 'dark-account'],
  ]) {
    problems.push(...await accessibilityProblems(page, url));
    await screenshot(page, name);
  }
  assert.deepEqual(problems, []);
});
