/*
 * intent: the one table of intent ids and their escalation levels
 * (../shared/intents.md). Everything else converts through here.
 */
#include "hotline/intent.h"

#include <string.h>

static const struct {
    const char *name;
    enum escalation level;
} intent_table[INTENT_COUNT] = {
    [INTENT_TRACK_MARKS_WHAT] = {"track_marks_what", ESCALATE_NONE},
    [INTENT_TRACK_MARKS_CAUSES] = {"track_marks_causes", ESCALATE_NONE},
    [INTENT_PLASMA_MARKS] = {"plasma_marks", ESCALATE_NONE},
    [INTENT_HEALTH_RISKS] = {"health_risks", ESCALATE_NONE},
    [INTENT_HEAL_MARKS] = {"heal_marks", ESCALATE_NONE},
    [INTENT_HEALING_TIME] = {"healing_time", ESCALATE_NONE},
    [INTENT_REMOVE_MARKS] = {"remove_marks", ESCALATE_NONE},
    [INTENT_NEED_TREATMENT_SIGNS] = {"need_treatment_signs", ESCALATE_NONE},
    [INTENT_TREATMENT_OPTIONS] = {"treatment_options", ESCALATE_NONE},
    [INTENT_INSURANCE] = {"insurance", ESCALATE_NONE},
    [INTENT_CONTACT] = {"contact", ESCALATE_NONE},
    [INTENT_FREE_BOOK] = {"free_book", ESCALATE_NONE},
    [INTENT_GET_HELP] = {"get_help", ESCALATE_STANDARD},
    [INTENT_HUMAN] = {"human", ESCALATE_STANDARD},
    [INTENT_CRISIS_SUICIDE] = {"crisis_suicide", ESCALATE_URGENT},
    [INTENT_CRISIS_OVERDOSE] = {"crisis_overdose", ESCALATE_URGENT},
    [INTENT_MEDICAL_URGENT] = {"medical_urgent", ESCALATE_URGENT},
    [INTENT_OPT_OUT] = {"opt_out", ESCALATE_NONE},
    [INTENT_OPT_IN] = {"opt_in", ESCALATE_NONE},
    [INTENT_HELP_KEYWORD] = {"help_keyword", ESCALATE_NONE},
    [INTENT_GREETING] = {"greeting", ESCALATE_NONE},
    [INTENT_THANKS] = {"thanks", ESCALATE_NONE},
    [INTENT_FALLBACK] = {"fallback", ESCALATE_NONE},
};

const char *intent_name(enum intent intent)
{
    if ((unsigned)intent >= INTENT_COUNT)
        return "fallback";
    return intent_table[intent].name;
}

int intent_from_name(const char *name)
{
    for (int i = 0; i < INTENT_COUNT; i++)
        if (strcmp(intent_table[i].name, name) == 0)
            return i;
    return -1;
}

enum escalation intent_escalation(enum intent intent)
{
    if ((unsigned)intent >= INTENT_COUNT)
        return ESCALATE_NONE;
    return intent_table[intent].level;
}

const char *escalation_name(enum escalation level)
{
    switch (level) {
    case ESCALATE_URGENT:
        return "urgent";
    case ESCALATE_STANDARD:
        return "standard";
    default:
        return "none";
    }
}

const char *lang_name(enum lang lang)
{
    return lang == LANG_ES ? "es" : "en";
}

int lang_from_name(const char *name)
{
    if (strcmp(name, "en") == 0)
        return LANG_EN;
    if (strcmp(name, "es") == 0)
        return LANG_ES;
    return -1;
}
