/*
 * sms.js: the staff page's SMS counter, the same count as src/sms.c (sms_measure), so that
 * what staff see before sending is what the texter's phone receives.
 *
 * GSM-7 when every character is in the GSM 03.38 basic table (1 septet) or its extension
 * table (2 septets: the escape and the character); otherwise UCS-2, counted in UTF-16
 * units (an emoji is 2). One part holds 160 septets / 70 units; a longer text goes in
 * parts of 153 / 67, and an escape pair or a surrogate pair never straddles two parts, so
 * parts are counted by packing character by character, as sms.c does.
 *
 * tests/e2e/sms_counter.test.js holds this file to tests/data/sms_cases.json, the same
 * table test_sms_table.c holds sms_measure to. Loaded by the page (window.hotlineSms) and
 * by node (module.exports).
 */
(function (root) {
    'use strict';

    var GSM7_SINGLE = 160, GSM7_PART = 153, UCS2_SINGLE = 70, UCS2_PART = 67;

    /* The non-ASCII characters of the GSM-7 basic table (sms.c: gsm7_basic_non_ascii). */
    var BASIC_NON_ASCII = [
        0x00A3, 0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC, 0x00F2, 0x00C7, 0x00D8, 0x00F8,
        0x00C5, 0x00E5, 0x0394, 0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0, 0x03A8, 0x03A3,
        0x0398, 0x039E, 0x00C6, 0x00E6, 0x00DF, 0x00C9, 0x00A4, 0x00A1, 0x00C4, 0x00D6,
        0x00D1, 0x00DC, 0x00A7, 0x00BF, 0x00E4, 0x00F6, 0x00F1, 0x00FC, 0x00E0
    ];
    /* The extension table: form feed ^ { } \ [ ] ~ | and the euro sign. */
    var EXTENSION = [0x0C, 0x5E, 0x7B, 0x7D, 0x5C, 0x5B, 0x5D, 0x7E, 0x7C, 0x20AC];

    var basicSet = new Set(BASIC_NON_ASCII);
    var extSet = new Set(EXTENSION);

    /* Septets a code point costs in GSM-7: 1 (basic), 2 (extension), 0 (not GSM-7). */
    function gsm7Cost(cp) {
        if (cp === 0x0A || cp === 0x0D) return 1;
        if (extSet.has(cp)) return 2;
        if (cp === 0x60) return 0; /* backtick */
        if (cp >= 0x20 && cp <= 0x7E) return 1;
        return basicSet.has(cp) ? 1 : 0;
    }

    function unitCost(cp, gsm) {
        if (gsm) return gsm7Cost(cp);
        return cp > 0xFFFF ? 2 : 1;
    }

    function pack(cps, gsm, total) {
        var single = gsm ? GSM7_SINGLE : UCS2_SINGLE;
        var part = gsm ? GSM7_PART : UCS2_PART;
        if (total === 0) return 0;
        if (total <= single) return 1;
        var parts = 1, used = 0;
        for (var i = 0; i < cps.length; i++) {
            var cost = unitCost(cps[i], gsm);
            if (used + cost > part) {
                parts++;
                used = 0;
            }
            used += cost;
        }
        return parts;
    }

    /*
     * Measures a string: {encoding: "GSM-7" | "UCS-2", units, segments, characters,
     * firstNonGsm} (units: septets or UTF-16 units; firstNonGsm: the first code point that
     * forced UCS-2, or null). A lone surrogate counts as one UCS-2 unit.
     */
    function measure(text) {
        var cps = [];
        var septets = 0, units = 0, allGsm = true, first = null;
        for (var ch of String(text)) {
            var cp = ch.codePointAt(0);
            cps.push(cp);
            var g = gsm7Cost(cp);
            if (g === 0 && allGsm) {
                allGsm = false;
                first = cp;
            }
            septets += g;
            units += cp > 0xFFFF ? 2 : 1;
        }
        var total = allGsm ? septets : units;
        return {
            encoding: allGsm ? 'GSM-7' : 'UCS-2',
            units: total,
            segments: pack(cps, allGsm, total),
            characters: cps.length,
            firstNonGsm: first
        };
    }

    var api = { measure: measure, gsm7Cost: gsm7Cost };
    if (typeof module === 'object' && module.exports) module.exports = api;
    else root.hotlineSms = api;
})(typeof self !== 'undefined' ? self : this);
