'use strict';
/*
 * The staff page end to end: headless Chromium (Debian's chromium, driven by
 * playwright-core) against the real `hotline serve` and a mock of Twilio's Messages API
 * (harness.js). Steps run in order on one service and one browser tab, as a staff member
 * at the front desk would: the page and its security headers; a wrong token refused; sign
 * in; an urgent escalation on the queue within a second of its webhook, urgent first, with
 * a visible alert; the conversation with its auto-reply and delivery status; acknowledge;
 * a saved reply picked, changed and sent, reaching the gateway; the counter agreeing with
 * the table sms_measure is held to; the page reconnecting by itself after the service
 * restarts; close; keyboard use; a replaced token signing the page out. Then: no texter
 * data or token in a URL, the title or the logs, and no error in the browser console (a
 * Content-Security-Policy violation is one).
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const h = require('./harness');

const ALICE = '+15550009001';
const BOB = '+15550009002';
const TEXTER = '+15550001111';
const TEXTER2 = '+15550002222';
const TEXTER3 = '+15550003333';
const URGENT_TEXT = 'my friend took too much and is not breathing';
const SAVED = JSON.parse(fs.readFileSync(path.join(h.ROOT, 'replies', 'saved_replies.json'), 'utf8')).saved;
const SMS_TABLE = require(path.join(h.ROOT, 'tests', 'data', 'sms_cases.json'));
const WRONG_TOKEN = 'hlt_' + '0'.repeat(40);

/* Console lines that are not the page's fault: the browser reports every failed request
 * (a refused token's 401, a refused connection while the service restarts). */
function harmless(text) {
    return /^Failed to load resource/.test(text) || /net::ERR_/.test(text);
}

test('the staff page, end to end', { timeout: 240000 }, async (t) => {
    const gw = await h.startMockGateway();
    const svc = new h.Service(gw.url);
    let browser = null;
    try {
        const alice = svc.addStaff('alice', ALICE, true);
        svc.addStaff('bob', BOB, false);
        await svc.start();
        browser = await h.launchBrowser();
        const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
        const page = await context.newPage();
        const problems = [];
        page.on('console', (m) => {
            if ((m.type() === 'error' || m.type() === 'warning') && !harmless(m.text())) problems.push(m.text());
        });
        page.on('pageerror', (e) => problems.push('page error: ' + e.message));
        const requests = [];
        page.on('request', (r) => requests.push({ url: r.url(), headers: r.headers() }));
        page.setDefaultTimeout(15000);
        /* The steps build on each other: after a failure the rest are skipped, not run
         * into timeouts one by one. */
        let failed = false;
        const step = (name, fn) => t.test(name, { skip: failed && 'an earlier step failed' }, async (st) => {
            try {
                await fn(st);
            } catch (e) {
                failed = true;
                throw e;
            }
        });
        const titles = [];
        const noteTitle = async () => titles.push(await page.title());

        await step('the page is served with its security headers', async () => {
            const res = await page.goto(svc.base + '/staff');
            assert.equal(page.url(), svc.base + '/staff/'); /* /staff redirects */
            assert.equal(res.status(), 200);
            const hd = res.headers();
            assert.match(hd['content-type'], /^text\/html; charset=utf-8/);
            assert.match(hd['content-security-policy'], /default-src 'none'/);
            assert.match(hd['content-security-policy'], /script-src 'self';/);
            assert.match(hd['content-security-policy'], /frame-ancestors 'none'/);
            assert.equal(hd['x-content-type-options'], 'nosniff');
            assert.equal(hd['referrer-policy'], 'no-referrer');
            assert.equal(hd['cache-control'], 'no-store');
            for (const [file, type] of [['app.js', /^text\/javascript/], ['sms.js', /^text\/javascript/],
                ['app.css', /^text\/css/], ['icon.svg', /^image\/svg\+xml/]]) {
                const r = await svc.api('GET', '/staff/' + file);
                assert.equal(r.status, 200, file);
                assert.match(r.headers.get('content-type'), type, file);
                assert.equal(r.headers.get('x-content-type-options'), 'nosniff', file);
            }
            assert.equal((await svc.api('GET', '/staff/nothing.js')).status, 404);
            assert.equal((await svc.api('POST', '/staff/app.js')).status, 405);
            await page.locator('#token').waitFor();
            assert.equal(await page.isVisible('#app'), false);
            await noteTitle();
        });

        await step('a wrong token is refused', async () => {
            await page.fill('#token', WRONG_TOKEN);
            await page.click('#signin-button');
            await page.locator('#signin-error', { hasText: 'refused' }).waitFor({ timeout: 10000 });
            assert.equal(await page.isVisible('#app'), false);
            assert.equal(await page.evaluate(() => sessionStorage.length), 0);
            for (const p of ['/staff/me', '/staff/escalations', '/staff/saved-replies', '/staff/events']) {
                assert.equal((await svc.api('GET', p, WRONG_TOKEN)).status, 401, p);
                assert.equal((await svc.api('GET', p, null)).status, 401, p);
            }
        });

        await step('alice signs in and the stream goes live', async () => {
            await page.fill('#token', alice);
            await page.press('#token', 'Enter'); /* the keyboard signs in too */
            await page.locator('#whoami', { hasText: 'Signed in as alice' }).waitFor({ timeout: 10000 });
            await page.locator('#conn[data-live="true"]').waitFor({ timeout: 10000 });
            assert.equal(await page.evaluate(() => sessionStorage.getItem('hotline.staff.token')), alice);
            assert.equal(await page.inputValue('#token'), '');
            assert.equal(page.url(), svc.base + '/staff/');
            assert.equal(await page.getAttribute('#sound', 'aria-pressed'), 'true');
            await page.locator('#queue-empty').waitFor();
            /* The saved replies are offered, by label. */
            const labels = await page.$$eval('#saved option', (os) => os.map((o) => o.textContent));
            assert.deepEqual(labels.slice(1), SAVED.map((s) => s.label));
        });

        await step('an urgent escalation appears within a second of its webhook, urgent first, with an alert', async (st) => {
            await svc.text(TEXTER2, 'can I talk to a person?');
            await page.locator('.esc[data-id="1"][data-level="standard"]').waitFor({ timeout: 5000 });
            const t0 = Date.now();
            await svc.text(TEXTER, URGENT_TEXT);
            await page.locator('.esc[data-id="2"][data-level="urgent"]').waitFor({ timeout: 5000 });
            const ms = Date.now() - t0;
            assert.ok(ms <= 1000, 'the urgent escalation took ' + ms + ' ms to appear');
            st.diagnostic('urgent webhook to the queue: ' + ms + ' ms');
            const ids = await page.$$eval('.esc', (bs) => bs.map((b) => b.dataset.id));
            assert.deepEqual(ids, ['2', '1']);
            const row = await page.textContent('.esc[data-id="2"]');
            for (const want of ['URGENT', '#2', 'possible overdose', TEXTER, 'just now', 'not acknowledged'])
                assert.ok(row.includes(want), 'row lacks ' + want + ': ' + row);
            await page.locator('#alert', { hasText: 'URGENT #2: possible overdose' }).waitFor({ timeout: 2000 });
            assert.equal(await page.getAttribute('#alert', 'role'), 'alert');
            assert.equal(await page.title(), '(1 urgent) hotline staff');
            await noteTitle();
        });

        await step('the conversation shows the text and the auto-reply with its delivery status', async () => {
            await page.click('#alert-open');
            await page.locator('#conv-heading', { hasText: '#2 · URGENT · possible overdose' }).waitFor();
            await page.locator('#thread .msg.texter', { hasText: URGENT_TEXT }).waitFor();
            const auto = await h.waitFor(() => gw.sends.find((s) => s.to === TEXTER), 10000, 'the auto-reply');
            await page.locator('#thread .msg.auto', { hasText: auto.body.slice(0, 40) }).waitFor();
            assert.ok(gw.sends.some((s) => s.to === ALICE && /URGENT hotline #2/.test(s.body)), 'alice was paged');
            assert.match(await page.textContent('#conv-meta'), /\+15550001111/);
            assert.equal(page.url(), svc.base + '/staff/');
            await noteTitle();
        });

        await step('acknowledge', async () => {
            await page.click('#ack');
            await page.locator('#conv-status', { hasText: 'you hold this texter' }).waitFor({ timeout: 5000 });
            await page.locator('.esc[data-id="2"] .holder', { hasText: 'held by alice' }).waitFor({ timeout: 5000 });
            assert.equal(await page.isDisabled('#ack'), true);
            assert.equal(await page.isVisible('#alert'), false);
            const list = (await svc.api('GET', '/staff/escalations', alice)).json;
            assert.equal(list.find((e) => e.id === 2).acked_by, 'alice');
            assert.equal(await page.title(), 'hotline staff');
        });

        await step('the counter agrees with the table sms_measure is held to', async () => {
            const picks = SMS_TABLE.cases.filter((c, i) => i % 3 === 0 || c.note);
            for (const c of picks) {
                const text = c.parts.map(([p, n]) => p.repeat(n)).join('');
                await page.fill('#reply-text', text);
                const d = await page.$eval('#counter', (e) => ({ ...e.dataset }));
                assert.deepEqual({ encoding: d.encoding, units: Number(d.units), segments: Number(d.segments) },
                    { encoding: c.encoding, units: c.units, segments: c.segments }, JSON.stringify(c.parts));
            }
            await page.fill('#reply-text', 'a'.repeat(161));
            assert.match(await page.textContent('#counter'), /^161 characters · GSM-7 · 2 SMS segments$/);
            await page.fill('#reply-text', '');
        });

        let reply;
        await step('a saved reply fills the box, is changed, sent, and reaches the gateway', async () => {
            const safe = SAVED.find((s) => s.id === 'safe_now');
            await page.selectOption('#saved', 'safe_now');
            assert.equal(await page.inputValue('#reply-text'), safe.text.en);
            await page.check('input[name="lang"][value="es"]');
            assert.equal(await page.inputValue('#reply-text'), safe.text.es);
            assert.equal(await page.getAttribute('#counter', 'data-encoding'), 'UCS-2');
            await page.check('input[name="lang"][value="en"]');
            assert.equal(await page.inputValue('#reply-text'), safe.text.en);
            await page.focus('#reply-text');
            await page.keyboard.press('End');
            await page.keyboard.type(' This is Alice.');
            reply = safe.text.en + ' This is Alice.';
            assert.equal(await page.inputValue('#reply-text'), reply);
            assert.match(await page.textContent('#counter'), /^75 characters · GSM-7 · 1 SMS segment$/);
            await page.click('#send');
            const sent = await h.waitFor(() => gw.sends.find((s) => s.to === TEXTER && s.body === reply), 10000,
                'the reply at the gateway');
            assert.equal(sent.from, h.HOTLINE);
            await page.locator('#conv-status', { hasText: 'Reply queued' }).waitFor();
            assert.equal(await page.inputValue('#reply-text'), '');
            const mine = page.locator('#thread .msg.staff', { hasText: 'This is Alice.' });
            await mine.waitFor({ timeout: 5000 });
            /* The page looks again after a few seconds: the gateway took it. */
            await page.locator('#thread .msg.staff[data-status="sent"]', { hasText: 'This is Alice.' })
                .waitFor({ timeout: 10000 });
            await svc.status(sent.sid, 'delivered');
            await page.click('#refresh');
            await page.locator('#thread .msg.staff[data-status="delivered"]', { hasText: 'This is Alice.' })
                .waitFor({ timeout: 5000 });
            assert.match(await mine.textContent(), /delivered/);
            /* The log is exported from committed rows every 200 ms: wait for the line. */
            const replied = /"event":"replied","escalation":2,.*"staff":"alice","via":"api"/;
            const log = await h.waitFor(() => {
                const text = fs.readFileSync(path.join(svc.data, 'escalations.jsonl'), 'utf8');
                return replied.test(text) ? text : null;
            }, 5000, 'the replied event in escalations.jsonl');
            assert.match(log, /"event":"viewed","escalation":2,.*"staff":"alice","via":"api"/);
        });

        await step('after the service restarts the page reconnects by itself', async (st) => {
            assert.equal(await svc.stop(), 0);
            await page.locator('#conn[data-live="false"]').waitFor({ timeout: 10000 });
            await svc.start(); /* the same port */
            await page.locator('#conn[data-live="true"]').waitFor({ timeout: 15000 });
            const t0 = Date.now();
            await svc.text(TEXTER3, 'i want to kill myself');
            await page.locator('.esc[data-id="3"][data-level="urgent"]').waitFor({ timeout: 5000 });
            st.diagnostic('after the restart, urgent webhook to the queue: ' + (Date.now() - t0) + ' ms');
            await page.locator('#alert', { hasText: 'URGENT #3' }).waitFor({ timeout: 2000 });
            assert.equal(await page.textContent('#whoami'), 'Signed in as alice');
        });

        await step('close hands the texter back and leaves the queue', async () => {
            page.once('dialog', (d) => d.accept());
            await page.click('#close');
            await page.locator('#conv-status', { hasText: 'Closed' }).waitFor({ timeout: 5000 });
            await page.locator('.esc[data-id="2"]').waitFor({ state: 'detached', timeout: 5000 });
            assert.equal(await page.isDisabled('#close'), true);
            const list = (await svc.api('GET', '/staff/escalations', alice)).json;
            assert.deepEqual(list.map((e) => e.id), [3, 1]);
        });

        await step('the keyboard alone opens a conversation and comes back', async () => {
            await page.focus('.esc[data-id="3"]');
            await page.keyboard.press('Enter');
            await page.locator('#conv-heading', { hasText: '#3' }).waitFor();
            await h.waitFor(() => page.evaluate(() => document.activeElement.id === 'conv-heading'), 5000,
                'the heading to take the focus');
            await page.keyboard.press('Escape');
            await h.waitFor(() => page.evaluate(() => document.activeElement.dataset.id === '3'), 5000,
                'the focus back on the row');
            assert.equal(await page.isVisible('#conv'), false);
            /* Every control has a name a screen reader can read. */
            const unnamed = await page.$$eval('button, input, select, textarea', (els) => els
                .filter((e) => !(e.labels && e.labels.length) && !e.textContent.trim() && !e.getAttribute('aria-label'))
                .map((e) => e.id || e.outerHTML.slice(0, 60)));
            assert.deepEqual(unnamed, []);
        });

        await step('a token replaced meanwhile signs the page out and clears it', async () => {
            await page.click('.esc[data-id="3"]');
            await page.locator('#conv-heading', { hasText: '#3' }).waitFor();
            svc.cli(['staff', 'token', 'alice']);
            await page.click('#refresh');
            await page.locator('#signin-error', { hasText: 'refused' }).waitFor({ timeout: 10000 });
            assert.equal(await page.isVisible('#app'), false);
            assert.equal(await page.evaluate(() => sessionStorage.length), 0);
            assert.equal(await page.$$eval('.esc', (bs) => bs.length), 0);
            assert.ok(!(await page.content()).includes(TEXTER));
        });

        await step('no token or texter data in a URL, the title or the logs; no console errors', async () => {
            assert.ok(requests.length > 10);
            for (const r of requests) {
                assert.ok(!r.url.includes('hlt_'), 'a token in ' + r.url);
                assert.ok(!/555000|%2B1555/.test(r.url), 'a number in ' + r.url);
            }
            const withAuth = requests.filter((r) => r.headers.authorization);
            assert.ok(withAuth.some((r) => r.url.endsWith('/staff/events')), 'the stream sends the token as a header');
            for (const title of titles) assert.ok(!/555|\d{4}/.test(title), 'texter data in the title: ' + title);
            const logs = svc.allStderr();
            for (const secret of [TEXTER, TEXTER2, TEXTER3, URGENT_TEXT, reply, alice, 'kill myself'])
                assert.ok(!logs.includes(secret), 'the logs hold ' + secret);
            assert.match(logs, /event=staff_api req=\d+ action=me status=200 staff=alice/);
            assert.match(logs, /action=saved_replies status=200 staff=alice/);
            assert.deepEqual(problems, []);
        });
        await step('SIGTERM: the service exits 0 (in the sanitizer build: no leak, no error)', async () => {
            assert.equal(await svc.stop(), 0);
        });
    } finally {
        if (browser) await browser.close();
        const rc = await svc.stop().catch(() => -1);
        await gw.close();
        if (rc === 0) svc.cleanup();
        else {
            process.stderr.write('hotline serve exit status ' + rc + '; logs in ' + svc.dir + ':\n' + svc.allStderr());
            svc.kill();
        }
    }
});
