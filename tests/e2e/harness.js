'use strict';
/*
 * harness: what the staff page's end-to-end test and the README screenshot script run
 * against: the real `hotline serve` (HOTLINE_BINARY, else build/hotline) on loopback with a
 * fresh data folder, pointed at a mock of Twilio's Messages API (a node HTTP server that
 * records every send), webhooks signed exactly as Twilio signs them, and headless
 * Chromium (Debian's chromium package) through playwright-core. Nothing is downloaded at
 * run time: `npm ci --prefix tests/e2e` installs playwright-core, apt installs chromium.
 */
const { spawn, execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const BINARY = process.env.HOTLINE_BINARY || path.join(ROOT, 'build', 'hotline');
const CHROMIUM = process.env.HOTLINE_CHROMIUM || '/usr/bin/chromium';
const ACCOUNT_SID = 'AC0123456789abcdef0123456789abcdef';
const AUTH_TOKEN = '0123456789abcdef0123456789abcdef';
const HOTLINE = '+19497633440';

function loadPlaywright() {
    try {
        return require('playwright-core');
    } catch (e) {
        throw new Error('playwright-core is missing: run `npm ci --prefix tests/e2e` (README\'s test command does)');
    }
}

/* Headless Chromium; as root it needs --no-sandbox (CI runs as root). */
async function launchBrowser() {
    if (!fs.existsSync(CHROMIUM))
        throw new Error(CHROMIUM + ' is missing: apt-get install chromium (README\'s test command does)');
    const { chromium } = loadPlaywright();
    const args = ['--autoplay-policy=no-user-gesture-required'];
    if (process.getuid && process.getuid() === 0) args.push('--no-sandbox');
    return chromium.launch({ executablePath: CHROMIUM, args });
}

function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/* Polls fn until it returns a truthy value; throws what after ms. */
async function waitFor(fn, ms, what) {
    const deadline = Date.now() + ms;
    for (;;) {
        const v = await fn();
        if (v) return v;
        if (Date.now() > deadline) throw new Error('timed out waiting for ' + what);
        await sleep(20);
    }
}

/* ---- the mock Messages API ---- */

/* Resolves to {url, sends, close()}: sends gets {to, from, body, at} per accepted message. */
function startMockGateway() {
    const sends = [];
    let serial = 0;
    const server = http.createServer((req, res) => {
        let body = '';
        req.setEncoding('utf8');
        req.on('data', (c) => {
            body += c;
        });
        req.on('end', () => {
            const m = /^\/2010-04-01\/Accounts\/(AC[0-9a-f]{32})\/Messages\.json$/.exec(req.url);
            if (req.method !== 'POST' || !m) {
                res.writeHead(404, { 'Content-Type': 'application/json' });
                res.end('{"code":20404,"message":"not found","status":404}');
                return;
            }
            const f = new URLSearchParams(body);
            const sid = 'SM' + crypto.createHash('md5').update('e2e' + ++serial).digest('hex');
            sends.push({ to: f.get('To'), from: f.get('From'), body: f.get('Body'), sid, at: Date.now() });
            res.writeHead(201, { 'Content-Type': 'application/json' });
            res.end(JSON.stringify({
                sid, account_sid: m[1], to: f.get('To'), from: f.get('From'), body: f.get('Body'),
                status: 'queued', direction: 'outbound-api', num_segments: '1',
                api_version: '2010-04-01', error_code: null, error_message: null
            }));
        });
    });
    return new Promise((resolve) => {
        server.listen(0, '127.0.0.1', () => {
            const { port } = server.address();
            resolve({
                url: 'http://127.0.0.1:' + port,
                sends,
                close: () => new Promise((r) => server.close(r))
            });
        });
    });
}

/* ---- the service ---- */

class Service {
    /* dir: a fresh temporary folder (data/ and the logs go in it). */
    constructor(gatewayUrl) {
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotline-e2e-'));
        this.data = path.join(this.dir, 'data');
        this.gatewayUrl = gatewayUrl;
        this.proc = null;
        this.port = 0;
        this.runs = 0;
        this.sidCounter = 0;
    }

    env(extra) {
        const env = {};
        for (const [k, v] of Object.entries(process.env))
            if (!k.startsWith('HOTLINE_') && !k.startsWith('TWILIO_')) env[k] = v;
        return Object.assign(env, {
            HOTLINE_DATA_DIR: this.data,
            HOTLINE_REPLIES: path.join(ROOT, 'replies'),
            HOTLINE_FROM: HOTLINE,
            HOTLINE_LOG_LEVEL: 'info'
        }, extra || {});
    }

    /* `hotline ARGS` on the same data folder; returns stdout. */
    cli(args) {
        return execFileSync(BINARY, args, {
            env: this.env({ HOTLINE_LISTEN: '127.0.0.1:0' }),
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'pipe']
        });
    }

    /* Adds a staff member; returns their token. */
    addStaff(name, phone, onCall) {
        const out = this.cli(['staff', 'add', name, '--phone', phone].concat(onCall ? ['--on-call'] : []));
        const m = /token: (hlt_[0-9a-f]+)/.exec(out);
        if (!m) throw new Error('no token in: ' + out);
        return m[1];
    }

    /* Starts `hotline serve` (on the port of the previous run, after the first) and waits
     * for it to listen. */
    async start() {
        this.runs++;
        this.errPath = path.join(this.dir, 'stderr.' + this.runs);
        const err = fs.openSync(this.errPath, 'w');
        const listen = '127.0.0.1:' + this.port;
        this.proc = spawn(BINARY, ['serve'], {
            env: this.env({
                HOTLINE_LISTEN: listen,
                TWILIO_ACCOUNT_SID: ACCOUNT_SID,
                TWILIO_AUTH_TOKEN: AUTH_TOKEN,
                HOTLINE_TWILIO_API_BASE: this.gatewayUrl,
                HOTLINE_RETRY_BASE_MS: '20'
            }),
            stdio: ['ignore', 'ignore', err]
        });
        fs.closeSync(err);
        const proc = this.proc;
        let exited = null;
        proc.on('exit', (code, sig) => {
            exited = { code, sig };
        });
        const addr = await waitFor(() => {
            if (exited) throw new Error('hotline serve exited (' + JSON.stringify(exited) + '): ' + this.stderr());
            const m = /event=listening addr=(\S+)/.exec(this.stderr());
            return m && m[1];
        }, 30000, 'hotline serve to listen');
        this.port = Number(addr.split(':').pop());
        this.base = 'http://127.0.0.1:' + this.port;
        this.exited = () => exited;
    }

    stderr() {
        try {
            return fs.readFileSync(this.errPath, 'utf8');
        } catch (e) {
            return '';
        }
    }

    /* Every run's stderr. */
    allStderr() {
        let s = '';
        for (let i = 1; i <= this.runs; i++) {
            try {
                s += fs.readFileSync(path.join(this.dir, 'stderr.' + i), 'utf8');
            } catch (e) {
                /* none */
            }
        }
        return s;
    }

    /* SIGTERM, and the exit status (0 after a clean shutdown). */
    async stop() {
        if (!this.proc) return 0;
        const proc = this.proc;
        this.proc = null;
        proc.kill('SIGTERM');
        const done = await waitFor(() => this.exited(), 30000, 'hotline serve to exit');
        return done.sig ? 128 : done.code;
    }

    kill() {
        if (this.proc) this.proc.kill('SIGKILL');
        this.proc = null;
    }

    cleanup() {
        this.kill();
        fs.rmSync(this.dir, { recursive: true, force: true });
    }

    nextSid() {
        return 'SM' + crypto.createHash('md5').update('in' + process.pid + ':' + ++this.sidCounter).digest('hex');
    }

    /* POSTs a form to path signed as Twilio signs it (HMAC-SHA1 over the URL and the sorted
     * parameters); resolves to {status, body}. */
    async postSigned(pathname, params) {
        const url = this.base + pathname;
        const keys = Object.keys(params).sort();
        let data = url;
        for (const k of keys) data += k + params[k];
        const sig = crypto.createHmac('sha1', AUTH_TOKEN).update(Buffer.from(data, 'utf8')).digest('base64');
        const res = await fetch(url, {
            method: 'POST',
            headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': sig },
            body: new URLSearchParams(params).toString()
        });
        return { status: res.status, body: await res.text() };
    }

    /* A texter's text, as Twilio's inbound webhook carries it. */
    async text(from, body) {
        const sid = this.nextSid();
        const r = await this.postSigned('/webhooks/twilio/messages', {
            MessageSid: sid, SmsSid: sid, SmsMessageSid: sid, AccountSid: ACCOUNT_SID,
            From: from, To: HOTLINE, Body: body, NumMedia: '0', NumSegments: '1',
            SmsStatus: 'received', ApiVersion: '2010-04-01'
        });
        if (r.status !== 200) throw new Error('webhook answered ' + r.status + ': ' + r.body);
        return sid;
    }

    /* A delivery-status callback for a message the mock accepted. */
    async status(messageSid, status) {
        const r = await this.postSigned('/webhooks/twilio/status', {
            MessageSid: messageSid, SmsSid: messageSid, AccountSid: ACCOUNT_SID,
            MessageStatus: status, SmsStatus: status, To: '+15550000000', From: HOTLINE,
            ApiVersion: '2010-04-01'
        });
        if (r.status !== 200) throw new Error('status callback answered ' + r.status + ': ' + r.body);
    }

    /* The staff API, as curl would call it. */
    async api(method, pathname, token, body) {
        const headers = {};
        if (token) headers.Authorization = 'Bearer ' + token;
        if (body !== undefined) headers['Content-Type'] = 'application/json';
        const res = await fetch(this.base + pathname, {
            method, headers, body: body === undefined ? undefined : JSON.stringify(body)
        });
        const text = await res.text();
        let json = null;
        try {
            json = JSON.parse(text);
        } catch (e) {
            json = null;
        }
        return { status: res.status, headers: res.headers, text, json };
    }
}

module.exports = {
    ROOT, BINARY, HOTLINE, ACCOUNT_SID,
    launchBrowser, startMockGateway, Service, sleep, waitFor
};
