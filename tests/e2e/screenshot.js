'use strict';
/*
 * The README's pictures of the staff page: a few escalations on the queue (made up:
 * 555-01xx numbers, texts written for the picture), taken with headless Chromium against
 * the real service, as the e2e test runs it.
 *
 *   node tests/e2e/screenshot.js   (after a build and `npm ci --prefix tests/e2e`)
 *
 * Writes docs/staff-queue.png (a desktop browser, a conversation open) and
 * docs/staff-queue-phone.png (a phone-sized one, the queue).
 */
const fs = require('node:fs');
const path = require('node:path');
const h = require('./harness');

async function main() {
    const gw = await h.startMockGateway();
    const svc = new h.Service(gw.url);
    let browser = null;
    try {
        const alice = svc.addStaff('alice', '+15550100901', true);
        const bob = svc.addStaff('bob', '+15550100902', true);
        await svc.start();

        await svc.text('+15550100123', 'can i talk to someone about getting my son into treatment');
        await svc.text('+15550100188', 'quiero hablar con una persona por favor');
        await svc.text('+15550100147', 'i dont want to be here anymore. i have the pills in front of me');
        await h.waitFor(async () => (await svc.api('GET', '/staff/escalations', alice)).json.length === 3, 10000,
            'three escalations');
        /* bob holds the first; alice answers the suicide text. */
        await svc.api('POST', '/staff/escalations/1/ack', bob, {});
        await svc.api('POST', '/staff/escalations/3/reply', alice, {
            text: 'This is a counselor from the center. Are you safe right now?'
        });
        await svc.text('+15550100147', 'i dont know. i just feel so tired of everything');
        await h.sleep(500);

        browser = await h.launchBrowser();
        const out = path.join(h.ROOT, 'docs');
        fs.mkdirSync(out, { recursive: true });

        const desk = await browser.newPage({ viewport: { width: 1280, height: 1000 }, deviceScaleFactor: 1 });
        await signIn(desk, svc.base, alice);
        await desk.click('.esc[data-id="3"]');
        await desk.locator('#thread .msg.staff').waitFor();
        /* A new urgent text while alice looks: the alert. */
        await svc.text('+15550100164', 'my boyfriend took something and hes not waking up');
        await desk.locator('#alert').waitFor({ state: 'visible' });
        await desk.locator('.esc[data-id="4"]').waitFor();
        await desk.selectOption('#saved', 'checking_in');
        await desk.evaluate(() => {
            document.activeElement.blur();
            window.scrollTo(0, 0);
        });
        await h.sleep(300);
        await desk.screenshot({ path: path.join(out, 'staff-queue.png') });

        const phone = await browser.newPage({
            viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true
        });
        await signIn(phone, svc.base, alice);
        await h.sleep(300);
        await phone.screenshot({ path: path.join(out, 'staff-queue-phone.png') });
        console.log('wrote docs/staff-queue.png and docs/staff-queue-phone.png');
    } finally {
        if (browser) await browser.close();
        await svc.stop().catch(() => {});
        await gw.close();
        svc.cleanup();
    }
}

async function signIn(page, base, token) {
    await page.goto(base + '/staff/');
    await page.fill('#token', token);
    await page.click('#signin-button');
    await page.locator('#conn[data-live="true"]').waitFor({ timeout: 10000 });
    await page.locator('.esc').first().waitFor();
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
