// A member adds a webhook endpoint from the account pages: an address
// inside the network is refused with the reason, the secret is shown once,
// and deliveries are stopped and started again.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { launch, newPage, screenshot, accessibilityProblemsHere } = require('./helpers');

let browser;
before(async () => { browser = await launch(); });
after(async () => browser && browser.close());

const PASSWORD = 'tulip-harbour-71';

test('adds a webhook endpoint and sees its secret once', async () => {
  const page = await newPage(browser, { bypassCSP: true });
  const email = `webhooks-${Date.now()}@example.org`;
  await page.goto('/account/register');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();

  await page.goto('/account');
  await page.getByRole('link', { name: 'Webhooks', exact: true }).first().click();
  await page.getByLabel('URL').fill('https://10.0.0.9/hook');
  await page.getByRole('button', { name: 'Add the endpoint' }).click();
  await page.getByText('The URL must not point at a private address.').first().waitFor();
  await page.getByLabel('URL').fill('https://hooks.example.org/storefront');
  await page.getByLabel('Description').fill('Stock sync');
  await page.getByLabel('item.created').check();
  await page.getByRole('button', { name: 'Add the endpoint' }).click();
  await page.getByRole('heading', { name: 'The signing secret' }).waitFor();
  const secret = await page.locator('#new-secret').inputValue();
  assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  assert.deepEqual(await accessibilityProblemsHere(page), []);
  await screenshot(page, 'webhook-endpoint');
  await page.reload();
  assert.equal(await page.locator('#new-secret').count(), 0, 'shown once');

  await page.getByRole('button', { name: 'Stop deliveries' }).click();
  await page.getByText('Deliveries are stopped.').waitFor();
  await page.getByRole('button', { name: 'Start deliveries again' }).click();
  await page.getByText('Deliveries start again where they stopped.').waitFor();
  await page.goto('/account/webhooks');
  await page.getByRole('link', { name: 'https://hooks.example.org/storefront' }).waitFor();
});
