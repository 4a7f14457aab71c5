/*
 * intent: the fixed vocabulary shared by replies/, the matcher, the evaluation and the
 * store: intent ids, escalation levels and reply languages (../shared/intents.md).
 *
 * The ids are a contract with files outside this program, so they live in one table
 * here and are converted to and from strings only through these functions.
 */
#ifndef HOTLINE_INTENT_H
#define HOTLINE_INTENT_H

enum intent {
    INTENT_TRACK_MARKS_WHAT,
    INTENT_TRACK_MARKS_CAUSES,
    INTENT_PLASMA_MARKS,
    INTENT_HEALTH_RISKS,
    INTENT_HEAL_MARKS,
    INTENT_HEALING_TIME,
    INTENT_REMOVE_MARKS,
    INTENT_NEED_TREATMENT_SIGNS,
    INTENT_TREATMENT_OPTIONS,
    INTENT_INSURANCE,
    INTENT_CONTACT,
    INTENT_FREE_BOOK,
    INTENT_GET_HELP,
    INTENT_HUMAN,
    INTENT_CRISIS_SUICIDE,
    INTENT_CRISIS_OVERDOSE,
    INTENT_MEDICAL_URGENT,
    INTENT_OPT_OUT,
    INTENT_OPT_IN,
    INTENT_HELP_KEYWORD,
    INTENT_GREETING,
    INTENT_THANKS,
    INTENT_FALLBACK,
    INTENT_COUNT
};

enum escalation { ESCALATE_NONE, ESCALATE_STANDARD, ESCALATE_URGENT };

enum lang { LANG_EN, LANG_ES, LANG_COUNT };

/* The id as written in intents.md ("track_marks_what"); never NULL for a valid intent. */
const char *intent_name(enum intent intent);

/* The intent for an id, or -1 when the id is unknown. */
int intent_from_name(const char *name);

/* The escalation level intents.md fixes for an intent. */
enum escalation intent_escalation(enum intent intent);

/* "none", "standard", "urgent". */
const char *escalation_name(enum escalation level);

/* "en", "es"; lang_from_name returns -1 for anything else. */
const char *lang_name(enum lang lang);
int lang_from_name(const char *name);

#endif
