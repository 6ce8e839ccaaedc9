// A member adds an authenticator app from the QR page, keeps the recovery
// codes, and signs in again with the password and a code the "app" (this
// test, from the key on the page) computes, then with a recovery code.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { BASE_URL, launch, newPage, screenshot, accessibilityProblemsHere } = require('./helpers');

let browser;
before(async () => { browser = await launch(); });
after(async () => browser && browser.close());

function fromBase32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of text) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

// RFC 6238, as an authenticator app computes it, `steps` steps from now.
function totp(secret, steps = 0) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30) + steps));
  const digest = crypto.createHmac('sha1', secret).update(counter).digest();
  const offset = digest[19] & 0x0f;
  return String((digest.readUInt32BE(offset) & 0x7fffffff) % 1000000).padStart(6, '0');
}

const PASSWORD = 'tulip-harbour-71';

async function logInWithPassword(page, email) {
  await page.goto('/account/login');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Log in: second step' }).waitFor();
}

test('adds an authenticator app and signs in with it, then with a recovery code', async () => {
  const page = await newPage(browser, { bypassCSP: true });
  const email = `two-step-${Date.now()}@example.org`;
  await page.goto('/account/register');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('link', { name: 'Two-step sign-in' }).click();
  await page.getByRole('link', { name: 'Add an authenticator app' }).click();
  assert.equal(await page.locator('figure.qr svg').count(), 1, 'the QR code, drawn by the server');
  const secret = fromBase32(await page.locator('code.secret').textContent());
  assert.deepEqual(await accessibilityProblemsHere(page), []);
  await screenshot(page, 'two-step-add-app');
  await page.getByLabel('Name').fill('Phone');
  await page.getByLabel('Code').fill(totp(secret));
  await page.getByRole('button', { name: 'Add the app' }).click();
  await page.getByRole('heading', { name: 'Your recovery codes' }).waitFor();
  const codes = await page.locator('.codes code').allTextContents();
  assert.equal(codes.length, 10);
  await screenshot(page, 'two-step-recovery-codes');

  await page.getByRole('button', { name: 'Log out' }).click();
  await logInWithPassword(page, email);
  assert.deepEqual(await accessibilityProblemsHere(page), []);
  await page.getByLabel('Code').fill(totp(secret, 1));
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByText('You are logged in.').waitFor();

  await page.getByRole('button', { name: 'Log out' }).click();
  await logInWithPassword(page, email);
  await page.getByLabel('Code').fill(codes[0]);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByText('You are logged in.').waitFor();
  await page.goto('/account/two-step');
  await page.getByText('9 unused recovery codes left.').waitFor();
});

// Passkeys need the site reached by name: the test uses localhost, and
// Chromium's virtual authenticator (the DevTools protocol's WebAuthn
// domain) stands in for a phone or a security key.
test('adds a passkey and signs in with it', async () => {
  const context = await browser.newContext({ baseURL: BASE_URL.replace('127.0.0.1', 'localhost'), bypassCSP: true });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2', transport: 'internal', hasResidentKey: true,
      hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
    },
  });
  const email = `passkey-${Date.now()}@example.org`;
  await page.goto('/account/register');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('link', { name: 'Two-step sign-in' }).click();
  await page.getByLabel('Name of the new passkey').fill('This laptop');
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  await page.getByRole('heading', { name: 'Your recovery codes' }).waitFor();
  await page.getByRole('cell', { name: 'This laptop', exact: true }).waitFor();
  assert.equal((await page.locator('.codes code').allTextContents()).length, 10);
  let { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.equal(credentials.length, 1, 'the authenticator keeps one credential');
  assert.deepEqual(await accessibilityProblemsHere(page), []);
  await screenshot(page, 'two-step-passkey');

  await page.getByRole('button', { name: 'Log out' }).click();
  await logInWithPassword(page, email);
  assert.deepEqual(await accessibilityProblemsHere(page), []);
  // Refused by the person (no verification): the page says so and stays.
  await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: false });
  await page.getByRole('button', { name: 'Use a passkey' }).click();
  await page.getByText('The passkey was not used').waitFor();
  await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: true });
  await page.getByRole('button', { name: 'Use a passkey' }).click();
  await page.getByText('You are logged in.').waitFor();
  ({ credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId }));
  assert.ok(credentials[0].signCount >= 2, 'signed at enrolment and at the login');
  await page.goto('/account/two-step');
  assert.equal(await page.getByRole('cell', { name: 'never' }).count(), 0, 'its last use is shown');
  await context.close();
});
