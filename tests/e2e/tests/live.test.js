// Live pages: a visitor keeps a store page open while staff change its items
// through the API and through the admin panel in another browser context.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { BASE_URL, STAFF, launch, newPage, logIn, screenshot, accessibilityProblemsHere } = require('./helpers');

let browser;
let visitor;
let staff;
let token;
let store;

async function api(method, path, body) {
  const response = await fetch(`${BASE_URL}/api${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${await response.clone().text()}`);
  return response.status === 204 ? null : response.json();
}

async function openLive(page, url) {
  await page.goto(url);
  await page.locator('[data-live-state="open"]').waitFor();
}

before(async () => {
  browser = await launch();
  visitor = await newPage(browser);
  staff = await newPage(browser);
  await logIn(staff, STAFF.email, STAFF.password);
  const login = await fetch(`${BASE_URL}/api/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(STAFF),
  });
  token = (await login.json()).access_token;
  store = await api('POST', '/stores', { name: 'Live Corner' });
  const tag = await api('POST', `/stores/${store.id}/tags`, { name: 'fresh' });
  for (const [name, price] of [['Apples', '2.00'], ['Bread', '3.50'], ['Cheese', '7.25']]) {
    const item = await api('POST', '/items', { name, price, store_id: store.id });
    await api('POST', `/items/${item.id}/tags`, { tag_ids: [tag.id] });
  }
});
after(async () => browser && browser.close());

test('a store page follows changes made through the API and the admin panel', async () => {
  await openLive(visitor, `/stores/${store.id}`);
  await screenshot(visitor, 'live-store-before');
  // A store's items are cards, each a list item.
  const row = (name) => visitor.locator('[data-live-list="items"] > li').filter({ hasText: new RegExp(name) });
  const count = visitor.locator('[data-live-field="item-count"]');
  assert.equal(await count.textContent(), '3 items.');

  // Through the API: a price, a new item, a deletion.
  const items = await api('GET', `/items?store_id=${store.id}&sort=name`);
  const [apples, bread, cheese] = items;
  await api('PUT', `/items/${bread.id}`, { price: '4.10' });
  await row('Bread').getByText('4.10').waitFor();
  await api('POST', '/items', { name: 'Butter', price: '2.80', store_id: store.id });
  await row('Butter').waitFor();
  await count.getByText('4 items.').waitFor();
  const names = await visitor.locator('[data-live-list="items"] .item-name').allTextContents();
  assert.deepEqual(names, ['Apples', 'Bread', 'Butter', 'Cheese'], 'new rows go where the sort puts them');
  await api('DELETE', `/items/${apples.id}`);
  await row('Apples').waitFor({ state: 'detached' });
  await count.getByText('3 items.').waitFor();
  assert.match(await visitor.locator('[data-live-status]').textContent(), /Apples was removed/);

  // Through the admin panel, in the other context.
  await staff.goto(`/admin/items/${cheese.id}`);
  await staff.getByLabel('Price').fill('6.95');
  await staff.getByRole('button', { name: 'Save', exact: true }).click();
  await staff.getByText('Saved item “Cheese”').waitFor();
  await row('Cheese').getByText('6.95').waitFor();
  await staff.goto(`/admin/items/${bread.id}/delete`);
  await staff.getByRole('button', { name: /delete/i }).click();
  await row('Bread').waitFor({ state: 'detached' });
  await count.getByText('2 items.').waitFor();
  assert.equal(await visitor.locator('[data-live-field="page-summary"]').textContent(), 'Showing 1–2 of 2');
  await screenshot(visitor, 'live-store-after');
});

test('a live page that has changed has no serious accessibility violations', async () => {
  // axe is injected as an inline script, which the page's CSP forbids.
  const scanner = await newPage(browser, { bypassCSP: true });
  await openLive(scanner, `/stores/${store.id}`);
  await api('POST', '/items', { name: 'Yoghurt', price: '1.20', store_id: store.id });
  await scanner.locator('[data-live-list="items"] > li').filter({ hasText: /Yoghurt/ }).waitFor();
  assert.match(await scanner.getByRole('status').textContent(), /New item: Yoghurt, €1\.20\./);
  assert.deepEqual(await accessibilityProblemsHere(scanner), []);
});

test('an item page says when its item is deleted', async () => {
  const item = await api('POST', '/items', { name: 'Jam', price: '4.00', store_id: store.id });
  await openLive(visitor, `/items/${item.id}`);
  await api('PUT', `/items/${item.id}`, { name: 'Plum jam', price: '4.40' });
  await visitor.getByRole('heading', { level: 1, name: 'Plum jam' }).waitFor();
  assert.equal(await visitor.locator('[data-live-field="item-price"]').textContent(), '€4.40');
  await api('DELETE', `/items/${item.id}`);
  await visitor.getByRole('alert').getByText('This item has been deleted.').waitFor();
  await screenshot(visitor, 'live-item-deleted');
});

test('an admin form warns as soon as its object changes elsewhere', async () => {
  const item = await api('POST', '/items', { name: 'Honey', price: '8.00', store_id: store.id });
  await openLive(staff, `/admin/items/${item.id}`);
  assert.equal(await staff.getByRole('alert').count(), 0);
  await api('PUT', `/items/${item.id}`, { price: '8.50' });
  await staff.getByRole('alert').getByText(/Someone else changed this item/).waitFor();
  await screenshot(staff, 'live-admin-warning');
});

test('in price order, a repriced item moves and a new item shows where its price puts it', async () => {
  const shop = await api('POST', '/stores', { name: 'Price Corner' });
  const made = {};
  for (const [name, price] of [['Cheap', '1.00'], ['Middle', '5.00'], ['Dear', '9.00']]) {
    made[name] = await api('POST', '/items', { name, price, store_id: shop.id });
  }
  const page = await newPage(browser);
  await openLive(page, `/stores/${shop.id}?sort=price`);
  const names = () => page.locator('[data-live-list="items"] .item-name').allTextContents();
  assert.deepEqual(await names(), ['Cheap', 'Middle', 'Dear']);

  await api('PUT', `/items/${made.Cheap.id}`, { price: '12.00' });
  await page.locator('[data-live-list="items"] > li:last-child').getByText('Cheap').waitFor();
  assert.deepEqual(await names(), ['Middle', 'Dear', 'Cheap'], 'a repriced row moves to its place');

  await api('POST', '/items', { name: 'Between', price: '7.00', store_id: shop.id });
  await page.locator('[data-live-list="items"] > li').filter({ hasText: /Between/ }).waitFor();
  assert.deepEqual(await names(), ['Middle', 'Between', 'Dear', 'Cheap'], 'a new row shows in price order');

  // Newest first: a new item comes on top.
  await openLive(page, `/stores/${shop.id}?sort=newest`);
  await api('POST', '/items', { name: 'Latest', price: '3.00', store_id: shop.id });
  await page.locator('[data-live-list="items"] > li').filter({ hasText: /Latest/ }).waitFor();
  assert.equal((await names())[0], 'Latest');
  await page.context().close();
});
