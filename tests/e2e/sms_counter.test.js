'use strict';
/*
 * The staff page's SMS counter (web/sms.js) against tests/data/sms_cases.json, the table
 * that tests/unit/test_sms_table.c holds src/sms.c's sms_measure to: both agree with it,
 * so they agree with each other, case by case and over the whole GSM-7 alphabet.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const sms = require(path.join(ROOT, 'web', 'sms.js'));
const table = require(path.join(ROOT, 'tests', 'data', 'sms_cases.json'));

function caseText(c) {
    return c.parts.map(([piece, n]) => piece.repeat(n)).join('');
}

test('every case of the table', () => {
    assert.ok(table.cases.length >= 40);
    table.cases.forEach((c, i) => {
        const m = sms.measure(caseText(c));
        assert.deepEqual(
            { encoding: m.encoding, units: m.units, segments: m.segments, first: m.firstNonGsm || 0 },
            { encoding: c.encoding, units: c.units, segments: c.segments, first: c.first_non_gsm },
            'case ' + i + (c.note ? ' (' + c.note + ')' : ''));
    });
});

test('the whole GSM-7 alphabet, code point by code point', () => {
    const basic = new Set(Array.from(table.gsm7_basic, (ch) => ch.codePointAt(0)));
    const ext = new Set(Array.from(table.gsm7_extension, (ch) => ch.codePointAt(0)));
    assert.equal(basic.size, 127);
    assert.equal(ext.size, 10);
    for (let cp = 0; cp <= 0x10ffff; cp++) {
        if (cp >= 0xd800 && cp <= 0xdfff) continue;
        const m = sms.measure(String.fromCodePoint(cp));
        const hex = 'U+' + cp.toString(16).toUpperCase().padStart(4, '0');
        if (basic.has(cp) || ext.has(cp)) {
            if (m.encoding !== 'GSM-7' || m.units !== (ext.has(cp) ? 2 : 1))
                assert.fail(hex + ': the table says GSM-7 ' + (ext.has(cp) ? 2 : 1) + ' septets');
        } else if (m.encoding !== 'UCS-2' || m.units !== (cp > 0xffff ? 2 : 1) || m.firstNonGsm !== cp) {
            assert.fail(hex + ': the table says UCS-2');
        }
    }
});

test('a lone surrogate (a JavaScript string can hold one) counts as one UCS-2 unit', () => {
    const m = sms.measure('ok \ud83d');
    assert.equal(m.encoding, 'UCS-2');
    assert.equal(m.units, 4);
    assert.equal(m.segments, 1);
});
