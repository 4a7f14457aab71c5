/*
 * app.js: the staff page. Plain JavaScript, no framework, no build step.
 *
 * What it does: sign-in with a personal token (kept in sessionStorage, sent only as an
 * Authorization header: never in a URL, so it reaches no history and no access log); the
 * queue of open escalations, urgent first then oldest, kept live by the event stream; a
 * conversation view with acknowledge, reply (saved replies, a live SMS counter from
 * sms.js) and close. Every call goes through the same token-protected staff API as curl
 * would, so each view and action is logged under the signed-in person's name.
 *
 * The event stream: EventSource cannot send an Authorization header, so the page reads
 * GET /staff/events with fetch() and parses the server-sent events itself. When the
 * stream ends or fails (the service restarted, the network dropped, 45 s without even a
 * keep-alive) it reconnects with a growing delay (0.5 s to 5 s) and reloads the queue, so
 * nothing missed meanwhile stays missing.
 *
 * Privacy: texters' numbers and words are shown only after sign-in, are written with
 * textContent (never parsed as HTML), and never go into document.title, the URL or the
 * history; signing out (or a refused token) clears them from the page.
 */
(function () {
    'use strict';

    var TOKEN_KEY = 'hotline.staff.token';
    var RECONNECT_MIN_MS = 500, RECONNECT_MAX_MS = 5000, STREAM_SILENCE_MS = 45000;
    var BODY_MAX = 1600; /* characters: the store's limit for one text */
    var THREAD_EVENTS = ['joined', 'raised', 'relayed', 'replied', 'acknowledged', 'closed'];

    var state = {
        token: null,
        staff: null,
        escalations: [],
        selected: null,   /* escalation id shown in the conversation view */
        current: null,    /* its JSON (with texts) */
        saved: [],
        savedFill: null,  /* {id, lang, text} the reply box was filled with */
        streamGen: 0,
        streamCtrl: null,
        wake: null,       /* cuts a reconnect delay short */
        live: false,
        audio: null,
        soundOn: false,
        pendingAlerts: [],
        lastBeep: {},
        queueTimer: null,
        threadTimer: null,
        ageTimer: null
    };

    function $(id) {
        return document.getElementById(id);
    }

    function el(tag, cls, text) {
        var e = document.createElement(tag);
        if (cls) e.className = cls;
        if (text !== undefined && text !== null) e.textContent = text;
        return e;
    }

    function sleep(ms) {
        return new Promise(function (resolve) {
            var t = setTimeout(resolve, ms);
            state.wake = function () {
                clearTimeout(t);
                resolve();
            };
        });
    }

    /* ---- the API ---- */

    function AuthError() {
        this.message = 'token refused';
    }

    function authHeaders(extra) {
        var h = { Authorization: 'Bearer ' + state.token };
        for (var k in extra || {}) h[k] = extra[k];
        return h;
    }

    /* One call of the staff API (paths relative to /staff/). Resolves with the JSON body;
     * rejects with AuthError on 401, else an Error with .status and the API's reason. */
    async function api(method, path, body) {
        var init = {
            method: method,
            headers: authHeaders({ Accept: 'application/json' }),
            cache: 'no-store',
            credentials: 'omit',
            referrerPolicy: 'no-referrer'
        };
        if (body !== undefined) {
            init.headers['Content-Type'] = 'application/json';
            init.body = JSON.stringify(body);
        }
        var res = await fetch(path, init);
        if (res.status === 401) throw new AuthError();
        var data = null;
        try {
            data = await res.json();
        } catch (e) {
            data = null;
        }
        if (!res.ok) {
            var err = new Error((data && data.error) || 'HTTP ' + res.status);
            err.status = res.status;
            throw err;
        }
        return data;
    }

    /* Runs an API call for an action; a refused token signs out. */
    function guarded(promise) {
        return promise.catch(function (e) {
            if (e instanceof AuthError) {
                signOut('Your token was refused (replaced or removed?): sign in again.');
                return null;
            }
            throw e;
        });
    }

    /* ---- time ---- */

    function parseTime(iso) {
        var t = Date.parse(iso);
        return isNaN(t) ? null : t;
    }

    function age(iso) {
        var t = parseTime(iso);
        if (t === null) return '';
        var min = Math.max(0, Math.floor((Date.now() - t) / 60000));
        if (min < 1) return 'just now';
        if (min < 60) return min + ' min';
        var h = Math.floor(min / 60);
        if (h < 24) return h + ' h ' + (min % 60) + ' min';
        return Math.floor(h / 24) + ' d ' + (h % 24) + ' h';
    }

    function ago(iso) {
        var a = age(iso);
        return a === 'just now' || !a ? a : a + ' ago';
    }

    function clock(iso) {
        var t = parseTime(iso);
        if (t === null) return '';
        var d = new Date(t);
        return d.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
    }

    /* ---- sign-in ---- */

    function showSignIn(message) {
        $('app').hidden = true;
        $('signin').hidden = false;
        $('signin-error').textContent = message || '';
        document.title = 'hotline staff';
        $('token').focus();
    }

    async function signIn(ev) {
        ev.preventDefault();
        unlockAudio(); /* a click or Enter: browsers let sound start from here */
        var token = $('token').value.trim();
        if (!token) {
            $('signin-error').textContent = 'Enter your personal token.';
            return;
        }
        $('signin-button').disabled = true;
        $('signin-error').textContent = '';
        state.token = token;
        try {
            var me = await api('GET', 'me');
            try {
                sessionStorage.setItem(TOKEN_KEY, token);
            } catch (e) {
                /* storage refused (a private mode): the token lives in this page only */
            }
            $('token').value = '';
            enterApp(me.staff);
        } catch (e) {
            state.token = null;
            $('signin-error').textContent = e instanceof AuthError
                ? 'That token was refused. Check it and try again.'
                : 'Could not reach the service (' + e.message + '). Try again.';
            $('token').focus();
        } finally {
            $('signin-button').disabled = false;
        }
    }

    /* name: the staff member, or null when the service could not say yet (it was down
     * when the page reloaded: the stream asks again once it connects). */
    function enterApp(name) {
        state.staff = name;
        $('signin').hidden = true;
        $('app').hidden = false;
        $('whoami').textContent = name ? 'Signed in as ' + name : 'Signed in';
        setSound(state.audio && state.audio.state === 'running');
        loadSaved();
        refreshQueue();
        startStream();
        clearInterval(state.ageTimer);
        state.ageTimer = setInterval(updateAges, 15000);
    }

    function whoAmI() {
        guarded(api('GET', 'me')).then(function (me) {
            if (!me) return;
            state.staff = me.staff;
            $('whoami').textContent = 'Signed in as ' + me.staff;
        }, function () {});
    }

    /* Clears every texter datum from the page and forgets the token. */
    function signOut(message) {
        state.token = null;
        state.staff = null;
        sessionStorage.removeItem(TOKEN_KEY);
        state.streamGen++;
        if (state.streamCtrl) state.streamCtrl.abort();
        if (state.wake) state.wake();
        clearInterval(state.ageTimer);
        clearTimeout(state.queueTimer);
        clearTimeout(state.threadTimer);
        state.escalations = [];
        state.selected = null;
        state.current = null;
        state.pendingAlerts = [];
        $('queue-list').textContent = '';
        $('thread').textContent = '';
        $('conv-meta').textContent = '';
        $('conv-heading').textContent = '';
        $('reply-text').value = '';
        $('alert').hidden = true;
        $('alert-text').textContent = '';
        $('conv').hidden = true;
        $('pick').hidden = false;
        $('layout').classList.remove('conv-open');
        setLive(false, 'Signed out');
        showSignIn(message);
    }

    /* ---- sound ---- */

    function unlockAudio() {
        var Ctx = window.AudioContext || window.webkitAudioContext;
        if (!Ctx) return;
        if (!state.audio) {
            try {
                state.audio = new Ctx();
            } catch (e) {
                return;
            }
        }
        if (state.audio.state !== 'running') {
            state.audio.resume().then(function () {
                setSound(true);
            }, function () {});
        }
    }

    function setSound(on) {
        state.soundOn = !!on;
        var b = $('sound');
        b.setAttribute('aria-pressed', on ? 'true' : 'false');
        b.textContent = on ? 'Sound on' : 'Sound off';
        b.classList.toggle('warn', !on);
        b.title = on ? 'Urgent escalations beep. Click to mute.' : 'Click to hear urgent escalations.';
    }

    function toggleSound() {
        if (state.soundOn) {
            setSound(false);
            return;
        }
        unlockAudio();
        if (state.audio && state.audio.state === 'running') setSound(true);
    }

    /* Three short tones; false when sound is off or the browser has not allowed it yet. */
    function beep() {
        var ctx = state.audio;
        if (!state.soundOn || !ctx || ctx.state !== 'running') return false;
        var t0 = ctx.currentTime + 0.01;
        for (var k = 0; k < 3; k++) {
            var t = t0 + k * 0.3;
            var osc = ctx.createOscillator();
            var gain = ctx.createGain();
            osc.type = 'sine';
            osc.frequency.value = k === 1 ? 660 : 880;
            gain.gain.setValueAtTime(0.0001, t);
            gain.gain.exponentialRampToValueAtTime(0.4, t + 0.02);
            gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.25);
            osc.connect(gain);
            gain.connect(ctx.destination);
            osc.start(t);
            osc.stop(t + 0.27);
        }
        return true;
    }

    /* ---- the queue ---- */

    function scheduleQueueRefresh() {
        clearTimeout(state.queueTimer);
        state.queueTimer = setTimeout(refreshQueue, 30);
    }

    async function refreshQueue() {
        if (!state.token) return;
        try {
            var list = await guarded(api('GET', 'escalations'));
            if (!list || !state.token) return;
            state.escalations = list;
            renderQueue();
            flushAlerts();
        } catch (e) {
            /* the service is away: the stream reconnects and reloads the queue then */
        }
    }

    function levelLabel(level) {
        return level === 'urgent' ? 'URGENT' : 'standard';
    }

    function holderText(e) {
        if (e.state === 'closed') return 'closed by ' + (e.closed_by || '?');
        if (e.acked_by) return 'held by ' + e.acked_by;
        return 'not acknowledged';
    }

    function renderQueue() {
        var list = $('queue-list');
        var focused = document.activeElement && document.activeElement.dataset
            ? document.activeElement.dataset.id : null;
        list.textContent = '';
        var urgentOpen = 0;
        state.escalations.forEach(function (e) {
            if (e.level === 'urgent' && e.state === 'open') urgentOpen++;
            var li = el('li');
            var b = el('button', 'esc ' + e.level + (e.state === 'open' ? ' unacked' : ''));
            b.type = 'button';
            b.dataset.id = String(e.id);
            b.dataset.level = e.level;
            b.dataset.state = e.state;
            if (state.selected === e.id) b.setAttribute('aria-current', 'true');
            var top = el('span', 'line');
            top.appendChild(el('span', 'badge ' + e.level, levelLabel(e.level)));
            top.appendChild(el('span', 'num', '#' + e.id));
            top.appendChild(el('span', 'need', e.need));
            var a = el('span', 'age', age(e.opened_at));
            a.dataset.opened = e.opened_at;
            top.appendChild(a);
            var bottom = el('span', 'line');
            bottom.appendChild(el('span', 'texter', e.texter));
            bottom.appendChild(el('span', 'holder' + (e.acked_by ? '' : ' nobody'), holderText(e)));
            b.appendChild(top);
            b.appendChild(bottom);
            b.addEventListener('click', function () {
                openConversation(e.id);
            });
            li.appendChild(b);
            list.appendChild(li);
            if (focused === String(e.id)) b.focus();
        });
        /* The banner goes once its escalation is acknowledged or closed, by anyone. */
        var shown = Number($('alert').dataset.id);
        if (!$('alert').hidden && !state.escalations.some(function (x) {
            return x.id === shown && x.state === 'open';
        }))
            $('alert').hidden = true;
        $('queue-empty').hidden = state.escalations.length > 0;
        $('queue-count').textContent = state.escalations.length ? '(' + state.escalations.length + ')' : '';
        /* The title says how many need someone now; never who. */
        document.title = urgentOpen ? '(' + urgentOpen + ' urgent) hotline staff' : 'hotline staff';
    }

    function updateAges() {
        var spans = document.querySelectorAll('.age[data-opened]');
        for (var i = 0; i < spans.length; i++) spans[i].textContent = age(spans[i].dataset.opened);
    }

    /* ---- alerts ---- */

    function queueAlert(ev) {
        if (state.pendingAlerts.indexOf(ev.escalation) < 0) state.pendingAlerts.push(ev.escalation);
        scheduleQueueRefresh();
    }

    /* Urgent escalations the stream announced, shown once the queue has their details. */
    function flushAlerts() {
        var ids = state.pendingAlerts;
        state.pendingAlerts = [];
        ids.forEach(function (id) {
            var e = state.escalations.find(function (x) {
                return x.id === id;
            });
            if (!e) return; /* acknowledged and closed meanwhile, or not ours to show */
            if (e.state !== 'open') return;
            showAlert(e);
        });
    }

    function showAlert(e) {
        $('alert-text').textContent = 'URGENT #' + e.id + ': ' + e.need + ' (' + holderText(e) + ')';
        $('alert').dataset.id = String(e.id);
        $('alert').hidden = false;
        var now = Date.now();
        if (!state.lastBeep[e.id] || now - state.lastBeep[e.id] > 5000) {
            state.lastBeep[e.id] = now;
            beep();
            if (navigator.vibrate) navigator.vibrate([200, 100, 200]);
        }
        var row = document.querySelector('.esc[data-id="' + e.id + '"]');
        if (row) {
            row.classList.remove('flash');
            void row.offsetWidth; /* restart the animation */
            row.classList.add('flash');
        }
    }

    /* ---- the event stream ---- */

    function setLive(live, text) {
        state.live = live;
        var c = $('conn');
        var want = text || (live ? 'Live' : 'Reconnecting…');
        if (c.textContent !== want) c.textContent = want;
        c.dataset.live = live ? 'true' : 'false';
    }

    function onEvent(ev) {
        if (!ev || typeof ev !== 'object' || ev.event === 'viewed') return;
        if (ev.level === 'urgent' && (ev.event === 'opened' || ev.event === 'raised' || ev.event === 're-paged'))
            queueAlert(ev);
        else
            scheduleQueueRefresh();
        if (state.selected === ev.escalation && THREAD_EVENTS.indexOf(ev.event) >= 0)
            scheduleThreadRefresh(50);
    }

    function onBlock(block) {
        var data = [];
        block.split('\n').forEach(function (line) {
            if (line.indexOf('data:') === 0) data.push(line.slice(line.charAt(5) === ' ' ? 6 : 5));
        });
        if (!data.length) return;
        try {
            onEvent(JSON.parse(data.join('\n')));
        } catch (e) {
            /* not JSON: ignore it */
        }
    }

    function startStream() {
        var gen = ++state.streamGen;
        streamLoop(gen);
    }

    async function streamLoop(gen) {
        var delay = RECONNECT_MIN_MS;
        while (state.token && gen === state.streamGen) {
            var ctrl = new AbortController();
            state.streamCtrl = ctrl;
            var watchdog = null;
            var kick = function () {
                clearTimeout(watchdog);
                watchdog = setTimeout(function () {
                    ctrl.abort();
                }, STREAM_SILENCE_MS);
            };
            try {
                kick();
                var res = await fetch('events', {
                    headers: authHeaders({ Accept: 'text/event-stream' }),
                    cache: 'no-store',
                    credentials: 'omit',
                    referrerPolicy: 'no-referrer',
                    signal: ctrl.signal
                });
                if (res.status === 401) {
                    clearTimeout(watchdog);
                    if (gen === state.streamGen)
                        signOut('Your token was refused (replaced or removed?): sign in again.');
                    return;
                }
                if (!res.ok || !res.body) throw new Error('HTTP ' + res.status);
                setLive(true);
                delay = RECONNECT_MIN_MS;
                if (!state.staff) whoAmI();
                /* Whatever happened while we were away. */
                refreshQueue();
                if (state.selected) scheduleThreadRefresh(0);
                var reader = res.body.getReader();
                var dec = new TextDecoder();
                var buf = '';
                for (;;) {
                    var chunk = await reader.read();
                    if (chunk.done || gen !== state.streamGen) break;
                    kick();
                    buf = (buf + dec.decode(chunk.value, { stream: true })).replace(/\r\n?/g, '\n');
                    var i;
                    while ((i = buf.indexOf('\n\n')) >= 0) {
                        onBlock(buf.slice(0, i));
                        buf = buf.slice(i + 2);
                    }
                }
                ctrl.abort();
            } catch (e) {
                /* refused connection, reset, abort: reconnect below */
            }
            clearTimeout(watchdog);
            if (gen !== state.streamGen || !state.token) return;
            setLive(false);
            await sleep(delay + Math.floor(Math.random() * 200));
            delay = Math.min(delay * 2, RECONNECT_MAX_MS);
        }
    }

    /* ---- the conversation ---- */

    function scheduleThreadRefresh(ms) {
        clearTimeout(state.threadTimer);
        state.threadTimer = setTimeout(refreshThread, ms);
    }

    function setStatus(text) {
        $('conv-status').textContent = text || '';
    }

    async function openConversation(id) {
        state.selected = id;
        state.current = null;
        state.savedFill = null;
        $('thread').textContent = '';
        $('conv-meta').textContent = '';
        $('conv-heading').textContent = '#' + id;
        $('reply-text').value = '';
        $('saved').value = '';
        updateCounter();
        setStatus('Loading…');
        $('conv').hidden = false;
        $('pick').hidden = true;
        $('layout').classList.add('conv-open');
        renderQueue();
        await refreshThread();
        $('conv-heading').focus();
    }

    function backToQueue() {
        var id = state.selected;
        state.selected = null;
        state.current = null;
        $('conv').hidden = true;
        $('pick').hidden = false;
        $('layout').classList.remove('conv-open');
        $('thread').textContent = '';
        renderQueue();
        var row = document.querySelector('.esc[data-id="' + id + '"]');
        if (row) row.focus();
    }

    async function refreshThread() {
        var id = state.selected;
        if (!id || !state.token) return;
        try {
            var e = await guarded(api('GET', 'escalations/' + id));
            if (!e || state.selected !== id) return;
            var first = !state.current;
            state.current = e;
            renderConversation(e);
            if (first) {
                setLang(e.lang === 'es' ? 'es' : 'en');
                setStatus('');
            }
        } catch (err) {
            setStatus(err.status === 404 ? 'No such escalation.' : 'Could not load the conversation: ' + err.message);
        }
    }

    function statusLabel(s) {
        return {
            pending: 'queued',
            sending: 'sending',
            sent: 'sent',
            delivered: 'delivered',
            read: 'read',
            undelivered: 'NOT delivered',
            failed: 'FAILED',
            canceled: 'canceled (not sent)'
        }[s] || s || '';
    }

    function renderConversation(e) {
        $('conv-heading').textContent = '#' + e.id + ' · ' + levelLabel(e.level) + ' · ' + e.need;
        var meta = $('conv-meta');
        meta.textContent = '';
        var rows = [
            ['Texter', e.texter],
            ['State', e.state === 'acknowledged' ? 'acknowledged by ' + e.acked_by
                : e.state === 'closed' ? 'closed by ' + e.closed_by : 'open, not acknowledged'],
            ['Opened', clock(e.opened_at) + ' (' + ago(e.opened_at) + ')'],
            ['Language', e.lang === 'es' ? 'Spanish' : 'English'],
            ['Times paged', String(e.pages)]
        ];
        rows.forEach(function (r) {
            var d = el('div');
            d.appendChild(el('dt', null, r[0]));
            d.appendChild(el('dd', r[0] === 'Texter' ? 'texter' : null, r[1]));
            meta.appendChild(d);
        });
        $('ack').disabled = e.state !== 'open';
        $('close').disabled = e.state === 'closed';
        $('send').disabled = e.state === 'closed';

        var thread = $('thread');
        var atBottom = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 40;
        thread.textContent = '';
        (e.texts || []).forEach(function (t) {
            if (t.from === 'texter') {
                var li = el('li', 'msg texter');
                li.appendChild(el('p', 'who', 'Texter · ' + clock(t.at)));
                li.appendChild(el('p', 'body', t.text));
                thread.appendChild(li);
                if (t.reply) {
                    var r = el('li', 'msg auto');
                    r.appendChild(el('p', 'who', 'Auto-reply · ' + statusLabel(t.reply_status)));
                    r.appendChild(el('p', 'body', t.reply));
                    r.dataset.status = t.reply_status || '';
                    thread.appendChild(r);
                }
            } else {
                var s = el('li', 'msg staff');
                s.appendChild(el('p', 'who', 'Staff reply' + (t.by ? ' by ' + t.by : '') + ' · ' +
                    clock(t.at) + ' · ' + statusLabel(t.status)));
                s.appendChild(el('p', 'body', t.text));
                s.dataset.status = t.status || '';
                if (t.status === 'failed' || t.status === 'undelivered') s.classList.add('bad');
                thread.appendChild(s);
            }
        });
        if (atBottom) thread.scrollTop = thread.scrollHeight;
    }

    async function act(kind) {
        var id = state.selected;
        if (!id) return;
        if (kind === 'close' &&
            !window.confirm('Close escalation #' + id + '? The texter goes back to the auto-responder.'))
            return;
        var button = $(kind);
        button.disabled = true;
        try {
            var r = await guarded(api('POST', 'escalations/' + id + '/' + kind, {}));
            if (!r) return;
            if (kind === 'ack')
                setStatus(r.by === state.staff ? 'Acknowledged: you hold this texter.'
                    : 'Already acknowledged by ' + r.by + '.');
            else
                setStatus('Closed: the texter is back with the auto-responder.');
            if ($('alert').dataset.id === String(id)) $('alert').hidden = true;
        } catch (e) {
            setStatus(e.status === 404 ? 'This escalation is closed already.' : 'Failed: ' + e.message);
        }
        scheduleQueueRefresh();
        await refreshThread();
    }

    async function sendReply(ev) {
        ev.preventDefault();
        var id = state.selected;
        var text = $('reply-text').value;
        var m = window.hotlineSms.measure(text);
        if (!id || !text.trim()) {
            setStatus('Write a message first.');
            $('reply-text').focus();
            return;
        }
        if (m.characters > BODY_MAX) {
            setStatus('Too long: at most ' + BODY_MAX + ' characters.');
            return;
        }
        $('send').disabled = true;
        try {
            var r = await guarded(api('POST', 'escalations/' + id + '/reply', { text: text }));
            if (!r) return;
            $('reply-text').value = '';
            $('saved').value = '';
            state.savedFill = null;
            updateCounter();
            setStatus('Reply queued (' + m.segments + ' segment' + (m.segments === 1 ? '' : 's') + ').');
            await refreshThread();
            /* Once more a little later, for its delivery status. */
            scheduleThreadRefresh(4000);
        } catch (e) {
            setStatus(e.status === 409 ? 'The texter opted out (STOP): nothing was sent.'
                : e.status === 404 ? 'This escalation is closed: nothing was sent.'
                    : 'Not sent: ' + e.message);
        } finally {
            $('send').disabled = state.current && state.current.state === 'closed';
        }
    }

    /* ---- saved replies and the counter ---- */

    async function loadSaved() {
        try {
            var r = await guarded(api('GET', 'saved-replies'));
            if (!r) return;
            state.saved = r.saved || [];
            var sel = $('saved');
            while (sel.options.length > 1) sel.remove(1);
            state.saved.forEach(function (s) {
                var o = el('option', null, s.label);
                o.value = s.id;
                sel.appendChild(o);
            });
        } catch (e) {
            /* the page works without them */
        }
    }

    function currentLang() {
        var r = document.querySelector('input[name="lang"]:checked');
        return r ? r.value : 'en';
    }

    function setLang(lang) {
        var r = document.querySelector('input[name="lang"][value="' + lang + '"]');
        if (r) r.checked = true;
    }

    function fillSaved() {
        var id = $('saved').value;
        var s = state.saved.find(function (x) {
            return x.id === id;
        });
        if (!s) return;
        var lang = currentLang();
        var box = $('reply-text');
        box.value = s.text[lang];
        state.savedFill = { id: id, lang: lang, text: box.value };
        updateCounter();
        box.focus();
        box.setSelectionRange(box.value.length, box.value.length);
    }

    /* A language change swaps a saved text that was not edited since. */
    function onLangChange() {
        var f = state.savedFill;
        if (f && $('reply-text').value === f.text) fillSaved();
    }

    function updateCounter() {
        var text = $('reply-text').value;
        var m = window.hotlineSms.measure(text);
        var c = $('counter');
        var parts = [m.characters + ' character' + (m.characters === 1 ? '' : 's')];
        if (m.characters) {
            var why = '';
            if (m.encoding === 'UCS-2' && m.firstNonGsm !== null && m.firstNonGsm >= 0x20)
                why = ' (because of “' + String.fromCodePoint(m.firstNonGsm) + '”)';
            parts.push(m.encoding + why);
            parts.push(m.segments + ' SMS segment' + (m.segments === 1 ? '' : 's'));
        }
        c.textContent = parts.join(' · ');
        c.dataset.encoding = m.encoding;
        c.dataset.units = String(m.units);
        c.dataset.segments = String(m.segments);
        c.classList.toggle('long', m.segments > 3 || m.characters > BODY_MAX);
        if (m.characters > BODY_MAX) c.textContent += ' · too long: at most ' + BODY_MAX + ' characters';
    }

    /* ---- start ---- */

    function init() {
        $('signin-form').addEventListener('submit', signIn);
        $('signout').addEventListener('click', function () {
            signOut('Signed out.');
        });
        $('sound').addEventListener('click', toggleSound);
        $('back').addEventListener('click', backToQueue);
        $('ack').addEventListener('click', function () {
            act('ack');
        });
        $('close').addEventListener('click', function () {
            act('close');
        });
        $('refresh').addEventListener('click', function () {
            refreshQueue();
            refreshThread();
        });
        $('reply-form').addEventListener('submit', sendReply);
        $('reply-text').addEventListener('input', updateCounter);
        $('saved').addEventListener('change', fillSaved);
        document.querySelectorAll('input[name="lang"]').forEach(function (r) {
            r.addEventListener('change', onLangChange);
        });
        $('alert-open').addEventListener('click', function () {
            var id = Number($('alert').dataset.id);
            $('alert').hidden = true;
            if (id) openConversation(id);
        });
        $('alert-dismiss').addEventListener('click', function () {
            $('alert').hidden = true;
        });
        document.addEventListener('keydown', function (ev) {
            var typing = ev.target && /^(TEXTAREA|INPUT|SELECT)$/.test(ev.target.tagName);
            if (ev.key === 'Escape' && state.selected && !typing) backToQueue();
        });
        /* Any click lets sound start (browsers require a gesture first). */
        document.addEventListener('pointerdown', function () {
            if (state.token && !state.soundOn && state.audio === null) unlockAudio();
        });
        window.addEventListener('online', function () {
            if (state.wake) state.wake();
        });
        updateCounter();

        var token = null;
        try {
            token = sessionStorage.getItem(TOKEN_KEY);
        } catch (e) {
            token = null;
        }
        if (!token) {
            showSignIn('');
            return;
        }
        state.token = token;
        api('GET', 'me').then(function (me) {
            enterApp(me.staff);
        }, function (e) {
            if (e instanceof AuthError) {
                sessionStorage.removeItem(TOKEN_KEY);
                state.token = null;
                showSignIn('Your token was refused: sign in again.');
            } else {
                /* The service is down: keep the token, the stream keeps trying. */
                enterApp(null);
            }
        });
    }

    init();
})();
