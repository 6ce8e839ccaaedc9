// A staff member moving a real spreadsheet in and out of the panel: an
// Excel-style file (byte order mark, semicolons, decimal commas, a few bad
// rows) imported through the mapping and the preview, the refused rows
// downloaded, a bulk price change on the filtered list, and the list
// exported again.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { STAFF, launch, newPage, logIn, screenshot, accessibilityProblemsHere } = require('./helpers');

let browser;
let page;
before(async () => {
  browser = await launch();
  // axe-core is injected as an inline script, which the pages' CSP refuses.
  page = await newPage(browser, { acceptDownloads: true, bypassCSP: true });
  await logIn(page, STAFF.email, STAFF.password);
});
after(async () => browser && browser.close());

const ROWS = 300;
const BAD = new Set([40, 120, 250]);

function spreadsheet(store) {
  const lines = ['Product name;Unit price;Details;Tags;Store'];
  for (let n = 1; n <= ROWS; n += 1) {
    if (n === 40) lines.push(`Lamp ${n};ten;;;${store}`);
    else if (n === 120) lines.push(`;1,00;;;${store}`);
    else if (n === 250) lines.push(`Lamp ${n};2,00;;;Nowhere`);
    else lines.push(`Lamp ${n};${n},50;"Warm; bright";desk|sale;${store}`);
  }
  return Buffer.from(`\ufeff${lines.join('\r\n')}\r\n`, 'utf8');
}

async function download(click) {
  const [file] = await Promise.all([page.waitForEvent('download'), click()]);
  return fs.readFileSync(await file.path(), 'utf8');
}

test('imports a spreadsheet, changes its prices in bulk and exports it again', async () => {
  await page.goto('/admin/stores/new');
  await page.getByLabel('Name').fill('Spreadsheet Lamps');
  await page.getByRole('button', { name: 'Save and continue editing' }).click();
  await page.getByText('Saved store “Spreadsheet Lamps”').waitFor();
  const storeId = page.url().split('/').pop();

  await page.goto('/admin/imports');
  await page.getByLabel('CSV file').setInputFiles({
    name: 'lamps.csv', mimeType: 'text/csv', buffer: spreadsheet('Spreadsheet Lamps'),
  });
  await page.getByRole('button', { name: 'Upload' }).click();
  await page.getByText('Check which column holds what').waitFor();
  assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), '0', 'guessed from “Product name”');
  assert.equal(await page.getByLabel('Price').inputValue(), '1');
  assert.equal(await page.getByLabel('Store name').inputValue(), '4');
  assert.deepEqual(await accessibilityProblemsHere(page), []);
  await screenshot(page, 'import-mapping');
  await page.getByLabel('by store and name').check();
  await page.getByLabel('Create missing tags').check();
  await page.getByRole('button', { name: 'Preview' }).click();
  await page.getByText(`${ROWS} rows: ${ROWS - BAD.size} new, 0 changed, 0 unchanged, ${BAD.size} refused`).waitFor({ timeout: 30000 });
  assert.deepEqual(await accessibilityProblemsHere(page), []);
  await screenshot(page, 'import-preview');

  const refused = await download(() => page.getByRole('link', { name: /Download the 3 refused rows/ }).click());
  const refusedLines = refused.replace(/^\ufeff/, '').trim().split('\r\n');
  assert.equal(refusedLines[0], 'Product name,Unit price,Details,Tags,Store,message');
  assert.equal(refusedLines.length, 1 + BAD.size);
  assert.match(refusedLines[1], /^Lamp 40,ten,,,Spreadsheet Lamps,price: must be a decimal number/);

  await page.getByRole('button', { name: `Import ${ROWS - BAD.size} new and 0 changed items` }).click();
  await page.getByText(`Imported: ${ROWS - BAD.size} new items, 0 changed.`).waitFor({ timeout: 30000 });
  await screenshot(page, 'import-applied');

  // All the store's items at once, 10 % off.
  await page.goto(`/admin/items?store=${storeId}`);
  await page.getByLabel(`Select all ${ROWS - BAD.size} matching`).check();
  await page.getByRole('button', { name: 'Change selected…' }).click();
  await page.getByLabel('Change the price by a percentage').check();
  await page.getByLabel('Change in percent').fill('-10');
  await page.getByRole('button', { name: 'Show what changes…' }).click();
  await page.getByText(`${ROWS - BAD.size} items change`).waitFor();
  assert.deepEqual(await accessibilityProblemsHere(page), []);
  await screenshot(page, 'bulk-change-confirmation');
  await page.getByRole('button', { name: `Yes, change ${ROWS - BAD.size} items` }).click();
  await page.getByText(`Changed ${ROWS - BAD.size} items.`).waitFor();

  const exported = await download(() => page.getByRole('link', { name: 'Export these items as CSV' }).click());
  const rows = exported.replace(/^\ufeff/, '').trim().split('\r\n');
  assert.equal(rows[0], 'id,store_id,store,name,price,description,tags');
  assert.equal(rows.length, 1 + ROWS - BAD.size);
  const first = rows.find((row) => row.includes(',Lamp 1,'));
  // 1.50 less 10 % is 1.35; its tags, created by the import, by name.
  assert.match(first, /,Spreadsheet Lamps,Lamp 1,1\.35,Warm; bright,desk\|sale$/);
});

test('the panel search box suggests as you type and opens a choice from the keyboard', async () => {
  await page.goto('/admin');
  const box = page.getByRole('combobox', { name: 'Search the panel' });
  await box.fill('Spreadsheet');
  const listbox = page.getByRole('listbox', { name: 'Suggestions' });
  await listbox.getByRole('option').first().waitFor();
  assert.equal(await box.getAttribute('aria-expanded'), 'true');
  const groups = await listbox.getByRole('group').allTextContents();
  assert.ok(groups.some((group) => group.startsWith('Stores (1)')), groups.join(' | '));
  await box.press('ArrowDown');
  const chosen = listbox.getByRole('option', { selected: true });
  assert.match(await chosen.textContent(), /Spreadsheet Lamps/);
  assert.equal(await box.getAttribute('aria-activedescendant'), await chosen.getAttribute('id'));
  assert.deepEqual(await accessibilityProblemsHere(page), []);
  await screenshot(page, 'panel-search');
  await Promise.all([page.waitForURL(/\/admin\/stores\/\d+$/), box.press('Enter')]);
  assert.equal(await page.getByLabel('Name').inputValue(), 'Spreadsheet Lamps');

  // Without a choice, Enter opens the results page, grouped.
  await page.getByRole('combobox', { name: 'Search the panel' }).fill('lamp 29');
  await Promise.all([page.waitForURL(/\/admin\/search\?q=lamp\+29$/), page.getByRole('combobox', { name: 'Search the panel' }).press('Enter')]);
  assert.match(await page.getByRole('heading', { name: /^Items/ }).textContent(), /Items \(11\)/);
});
