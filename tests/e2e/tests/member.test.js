// A member makes a personal access token and uses it against the API.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { BASE_URL, launch, newPage, screenshot } = require('./helpers');

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

test('a member cannot open the admin panel', async () => {
  const page = await newPage(browser);
  await page.goto('/account/register');
  await page.getByLabel('Email').fill(`curious-${Date.now()}@example.org`);
  await page.getByLabel('Password').fill('tulip-harbour-71');
  await page.getByRole('button', { name: 'Create account' }).click();
  const response = await page.goto('/admin');
  assert.equal(response.status(), 403);
});
