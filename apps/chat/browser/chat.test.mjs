// Two headless Chromium pages join one room of covet_chat; one sends, the
// other must see the message. Usage: node chat.test.mjs http://127.0.0.1:PORT/ [screenshot.png]
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const base = process.argv[2];
const screenshot = process.argv[3];
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const userDataDir = mkdtempSync(join(tmpdir(), 'covet-chat-chromium-'));
let passed = 0;
let failed = 0;

function check(condition, what) {
  if (condition) {
    passed++;
  } else {
    failed++;
    console.error(`FAILED: ${what}`);
  }
}

const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath,
  headless: true,
  timeout: 30000,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  async function join_room(name) {
    const page = await context.newPage();
    await page.goto(base, { timeout: 10000 });
    await page.fill('#room', 'browser-room');
    await page.fill('#name', name);
    await page.click('#join-button');
    await page.waitForFunction(() => document.getElementById('status').textContent.startsWith('connected'),
                               null, { timeout: 10000 });
    return page;
  }
  const alice = await join_room('alice');
  const bob = await join_room('bob');
  check(true, 'both pages connected');

  await bob.waitForFunction(() => document.getElementById('log').textContent.includes('* bob joined (2 online)'),
                            null, { timeout: 10000 });
  await alice.fill('#text', 'hello from alice');
  await alice.click('#send-button');
  await bob.waitForFunction(() => document.getElementById('log').textContent.includes('alice: hello from alice'),
                            null, { timeout: 10000 });
  check(true, 'bob sees alice\'s message');
  // Alice's own copy comes through the hub too (possibly from another worker).
  await alice.waitForFunction(() => document.getElementById('log').textContent.includes('alice: hello from alice'),
                              null, { timeout: 10000 });
  check(true, 'alice sees her own message');

  // Markup in a message is shown as text, not inserted as HTML.
  await bob.fill('#text', '<b>bold?</b>');
  await bob.click('#send-button');
  await alice.waitForFunction(() => document.getElementById('log').textContent.includes('bob: <b>bold?</b>'),
                              null, { timeout: 10000 });
  check(await alice.locator('#log b').count() === 0, 'messages are text, never HTML');

  await bob.close();
  await alice.waitForFunction(() => document.getElementById('log').textContent.includes('* bob left (1 online)'),
                              null, { timeout: 10000 });
  check(true, 'alice sees bob leave');
  if (screenshot) {
    await alice.screenshot({ path: screenshot });
  }
} catch (error) {
  failed++;
  console.error(`FAILED: ${error.message}`);
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
