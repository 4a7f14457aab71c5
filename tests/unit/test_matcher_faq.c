/*
 * Non-urgent look-alikes (faq round after set31-34 and crisis35): each class fixed in
 * replies/ by vocabulary and examples, with texts of this file's own wording, and a
 * neighbour that must keep its own intent.
 */
#include "testutil.h"

#include <string.h>

#include "hotline/matcher.h"
#include "hotline/replies.h"

static struct replies *replies;
static struct matcher *matcher;

static int setup(void **state)
{
    (void)state;
    replies = replies_load(HOTLINE_SOURCE_DIR "/replies", NULL, NULL);
    if (!replies)
        return -1;
    int missing = 0;
    matcher = matcher_new_with_dictionaries(replies, NULL, &missing);
    if (!matcher || missing != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    matcher_free(matcher);
    replies_free(replies);
    return 0;
}

#define assert_intent(text, want)                                                                  \
    do {                                                                                           \
        struct match_explain why_;                                                                 \
        struct match_result r_;                                                                    \
        matcher_classify(matcher, text, strlen(text), &r_, &why_);                                 \
        if (r_.intent != (want))                                                                   \
            fail_msg("'%s': got %s, want %s (words: %s; why: %s)", text, intent_name(r_.intent),   \
                     intent_name(want), why_.normalized, why_.reason);                             \
    } while (0)

/* Program length, a day there, live-in or not, staff who used, aftercare, doctors. */
static void test_treatment_details(void **state)
{
    (void)state;
    assert_intent("how many days is the program usually, like 30 or 60 days",
                  INTENT_TREATMENT_OPTIONS);
    assert_intent("when does ur program end do ppl stay 90 days", INTENT_TREATMENT_OPTIONS);
    assert_intent("what does a normal day look like in there", INTENT_TREATMENT_OPTIONS);
    assert_intent("do i have to live there or can i go home at night", INTENT_TREATMENT_OPTIONS);
    assert_intent("are any of your counselors former addicts", INTENT_TREATMENT_OPTIONS);
    assert_intent("do you guys do relapse prevention after i leave", INTENT_TREATMENT_OPTIONS);
    assert_intent("is the detox with doctors or just staff", INTENT_TREATMENT_OPTIONS);
    assert_intent("cuanto dura el detox mas o menos", INTENT_TREATMENT_OPTIONS);
    assert_intent("es internado o puedo dormir en mi casa?", INTENT_TREATMENT_OPTIONS);
    assert_intent("sus consejeros tambien fueron adictos?", INTENT_TREATMENT_OPTIONS);
    assert_intent("tienen algo para prevenir recaidas cuando salga", INTENT_TREATMENT_OPTIONS);
    assert_intent("la desintox la hacen con medicos?", INTENT_TREATMENT_OPTIONS);
    /* neighbours */
    assert_intent("how long do track marks take to fade", INTENT_HEALING_TIME);
    assert_intent("can i talk to a counselor", INTENT_HUMAN);
    assert_intent("i relapsed last night and need help", INTENT_GET_HELP);
    assert_intent("cuánto cuesta el programa", INTENT_INSURANCE);
    assert_intent("Reminder: your visit with Dr. Lee is Friday at 9am, reply Y to confirm",
                  INTENT_FALLBACK);
}

/* Wanting in now: next steps, sign up, room, a bed this week, someone's drinking. */
static void test_get_help_now(void **state)
{
    (void)state;
    assert_intent("my dad needs rehab asap, can you take him this week", INTENT_GET_HELP);
    assert_intent("how do i sign up for your program", INTENT_GET_HELP);
    assert_intent("i have 5 days clean alone and its hard, do you have room for me",
                  INTENT_GET_HELP);
    assert_intent("how do i get my husband to stop drinking", INTENT_GET_HELP);
    assert_intent("what are the next steps to get my wife into treatment", INTENT_GET_HELP);
    /* neighbours */
    assert_intent("how do i know if my son is using", INTENT_NEED_TREATMENT_SIGNS);
    assert_intent("need a plumber in santa ana asap, the sink is leaking", INTENT_FALLBACK);
    assert_intent("how do I start a youtube channel", INTENT_FALLBACK);
    assert_intent("how do i contact admissions", INTENT_CONTACT);
    assert_intent("can i speak to somebody in admissions", INTENT_HUMAN);
}

/* How long healing takes, even when a clean date or an old abscess is told first. */
static void test_healing_time(void **state)
{
    (void)state;
    assert_intent("how quick do new injection bruises fade", INTENT_HEALING_TIME);
    assert_intent("when will my arms look normal, quit shooting 3 months ago", INTENT_HEALING_TIME);
    assert_intent("ya llevo 4 meses limpia cuanto falta para que sanen mis piernas",
                  INTENT_HEALING_TIME);
    assert_intent("cuanto tarda en desaparecer la cicatriz de un absceso", INTENT_HEALING_TIME);
    assert_intent("will the scars from abscesses ever go away", INTENT_HEALING_TIME);
    /* neighbours */
    assert_intent("what should i put on my arms so they heal", INTENT_HEAL_MARKS);
    assert_intent("2 months clean, any tips to get my hands looking normal again",
                  INTENT_HEAL_MARKS);
    assert_intent("que es un absceso", INTENT_HEALTH_RISKS);
}

/* Risks asked as myths or curiosity: air bubbles, the neck, rotting skin, ulcers. */
static void test_health_risks(void **state)
{
    (void)state;
    assert_intent("is it true an air bubble in a needle can kill you", INTENT_HEALTH_RISKS);
    assert_intent("how dangerous is shooting in the neck", INTENT_HEALTH_RISKS);
    assert_intent("why does tranq rot peoples skin", INTENT_HEALTH_RISKS);
    assert_intent("por que se pudre la piel cuando usan xilacina", INTENT_HEALTH_RISKS);
    assert_intent("can u help me understand what cellulitis is", INTENT_HEALTH_RISKS);
    /* neighbours */
    assert_intent("what do track marks look like on legs", INTENT_TRACK_MARKS_WHAT);
    assert_intent("is it true you take blue cross?", INTENT_INSURANCE);
    assert_intent("do plasma donation needles leave scars", INTENT_PLASMA_MARKS);
}

/* Causes, where on the body, removal, relapse signs, care, plasma compared. */
static void test_marks_and_signs(void **state)
{
    (void)state;
    assert_intent("he always uses the same vein, is that why it looks so bad",
                  INTENT_TRACK_MARKS_CAUSES);
    assert_intent("is it the needle or the stuff in it that leaves scars",
                  INTENT_TRACK_MARKS_CAUSES);
    assert_intent("does laser work on old needle scars", INTENT_REMOVE_MARKS);
    assert_intent("where else on the body do ppl hide marks besides arms", INTENT_TRACK_MARKS_WHAT);
    assert_intent(
        "my daughter has been sober a year, what signs she is using again should i watch for",
        INTENT_NEED_TREATMENT_SIGNS);
    assert_intent("cuando es momento de buscar tratamiento para mi hijo",
                  INTENT_NEED_TREATMENT_SIGNS);
    assert_intent("my son just finished detox, how can he take care of the marks on his arms",
                  INTENT_HEAL_MARKS);
    assert_intent("do plasma bruises heal faster than track marks do", INTENT_PLASMA_MARKS);
    assert_intent("how much do you charge per week", INTENT_INSURANCE);
    /* neighbours */
    assert_intent("does bio oil help old needle scars", INTENT_HEAL_MARKS);
    assert_intent("what are the signs of an overdose", INTENT_HEALTH_RISKS);
    assert_intent("cuales son las señales de una sobredosis", INTENT_HEALTH_RISKS);
}

/* Short greetings and thanks; off-topic texts; a question after a figure of speech. */
static void test_small_talk_and_off_topic(void **state)
{
    (void)state;
    assert_intent("gm", INTENT_GREETING);
    assert_intent("hii", INTENT_GREETING);
    assert_intent("thanks, i feel better now", INTENT_THANKS);
    assert_intent("sale pues", INTENT_FALLBACK);
    assert_intent("are you still coming to pick me up", INTENT_FALLBACK);
    assert_intent("cuanto cuesta un corte de pelo", INTENT_FALLBACK);
    assert_intent("a que hora abre el swap meet", INTENT_FALLBACK);
    assert_intent("my phone is dying ttyl", INTENT_FALLBACK);
    assert_intent("my boss is gonna kill me lol", INTENT_FALLBACK);
    assert_intent("my boss is gonna kill me if i miss work, how much does it cost",
                  INTENT_INSURANCE);
    assert_intent("estoy muerta de cansancio, a que hora abren mañana", INTENT_CONTACT);
    assert_intent("my mom is gonna kill me if i take a month off, is there outpatient",
                  INTENT_TREATMENT_OPTIONS);
    /* neighbours */
    assert_intent("my phone is about to die, what number can i call you from", INTENT_CONTACT);
    assert_intent("hola", INTENT_GREETING);
    assert_intent("cuánto sale el programa", INTENT_INSURANCE);
}

/* Round 14: plain requests to stop texts (short, polite, angry, typos, wrong number, Spanish)
 * are opt-outs, "stop" about something else is not; a person asked for, contact, off-topic
 * texts, withdrawal asked as a sign, staff in recovery, spellings by ear, marks in the groin. */
static void test_round14(void **state)
{
    (void)state;
    const char *opt_outs[] = {
        "Stop please",
        "pls stop",
        "STOP IT",
        "unsub",
        "i said stop",
        "stop, wrong number",
        "wrong person stop",
        "no more msgs please, u got the wrong person",
        "why do u keep texting me?? stop",
        "dont message this number anymore",
        "i dont need ur texts",
        "i want to opt out",
        "stop bothering me",
        "ya basta",
        "paren",
        "favor de ya no escribirme",
        "no me escribas mas",
        "ya no me molesten con mensajes",
        "numero equivocado, ya no me manden nada",
        "quitenme",
    };
    for (size_t i = 0; i < sizeof opt_outs / sizeof *opt_outs; i++)
        assert_intent(opt_outs[i], INTENT_OPT_OUT);
    const char *not_opt_outs[] = {
        "how can i stop using for good",
        "my daughter cant stop drinking",
        "please help me stop",
        "my ex wont stop bothering me and i want to use",
        "my sponsor says stop hanging out with users",
        "no more excuses i want rehab",
        "dejen de molestar a mi hijo con drogas",
        "lol wrong number",
        "llamenme porfa, no se escribir bien",
        "ay no era para ti este mensaje jaja",
    };
    for (size_t i = 0; i < sizeof not_opt_outs / sizeof *not_opt_outs; i++) {
        struct match_result r;
        matcher_classify(matcher, not_opt_outs[i], strlen(not_opt_outs[i]), &r, NULL);
        if (r.intent == INTENT_OPT_OUT)
            fail_msg("'%s' is not an opt-out", not_opt_outs[i]);
    }
    assert_intent("you there?", INTENT_HUMAN);
    assert_intent("hello?? anybody on the other end", INTENT_HUMAN);
    assert_intent("could i get a call back from someone tomorrow", INTENT_HUMAN);
    assert_intent("siguen ahi? hay alguien del otro lado", INTENT_HUMAN);
    assert_intent("how can i get in touch with your admissions people", INTENT_CONTACT);
    assert_intent("babe are u still at work", INTENT_FALLBACK);
    assert_intent("what time does the costco on harbor close", INTENT_FALLBACK);
    assert_intent("is this maria? got your number from my cousin", INTENT_FALLBACK);
    assert_intent("i get real shaky and sweaty if i dont use, is that a sign i need detox",
                  INTENT_NEED_TREATMENT_SIGNS);
    assert_intent("are the staff there sober themselves", INTENT_TREATMENT_OPTIONS);
    assert_intent("how long is the d tox at ur place", INTENT_TREATMENT_OPTIONS);
    assert_intent("can sell you light is from a needle spread", INTENT_HEALTH_RISKS);
    assert_intent("can injected crushed pills clog your veins", INTENT_HEALTH_RISKS);
    assert_intent("do people get marks near the groin from shooting there",
                  INTENT_TRACK_MARKS_WHAT);
    /* neighbours */
    assert_intent("i want to get clean, i need detox this week", INTENT_GET_HELP);
    assert_intent("what are your hours", INTENT_CONTACT);
    assert_intent("can someone call me", INTENT_HUMAN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_treatment_details), cmocka_unit_test(test_get_help_now),
        cmocka_unit_test(test_healing_time),      cmocka_unit_test(test_health_risks),
        cmocka_unit_test(test_marks_and_signs),   cmocka_unit_test(test_small_talk_and_off_topic),
        cmocka_unit_test(test_round14),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
