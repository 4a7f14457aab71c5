/*
 * Matcher tests against the real replies/ folder: normalisation, and every trap that
 * ../shared/intents.md names (crisis beats questions, keywords only when bare,
 * hypotheticals and past events are not crises, Spanish with or without accents).
 * These test the rules: the learned safety net (urgency.h) is off but in
 * test_safety_net, as it is in test_eval's floors.
 */
#include "testutil.h"

#include <string.h>

#include "hotline/matcher.h"
#include "hotline/replies.h"
#include "hotline/urgency.h"

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
    matcher_set_urgency_model(matcher, NULL); /* the rules alone */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    matcher_free(matcher);
    replies_free(replies);
    return 0;
}

static struct match_result classify(const char *text, struct match_explain *why)
{
    struct match_result r;
    matcher_classify(matcher, text, strlen(text), &r, why);
    return r;
}

#define assert_intent(text, want)                                                                  \
    do {                                                                                           \
        struct match_explain why_;                                                                 \
        struct match_result r_ = classify(text, &why_);                                            \
        if (r_.intent != (want))                                                                   \
            fail_msg("'%s': got %s, want %s (words: %s; why: %s)", text, intent_name(r_.intent),   \
                     intent_name(want), why_.normalized, why_.reason);                             \
    } while (0)

#define assert_lang(text, want)                                                                    \
    do {                                                                                           \
        struct match_result r_ = classify(text, NULL);                                             \
        if (r_.lang != (want))                                                                     \
            fail_msg("'%s': got lang %s, want %s", text, lang_name(r_.lang), lang_name(want));     \
    } while (0)

static void test_normalisation(void **state)
{
    (void)state;
    struct match_explain why;
    classify("HELPPP me plsss", &why);
    assert_non_null(strstr(why.normalized, "help"));
    assert_null(strstr(why.normalized, "helpp"));
    assert_non_null(strstr(why.normalized, "please"));

    classify("do u take my insurnace", &why);
    assert_non_null(strstr(why.normalized, "you"));
    assert_non_null(strstr(why.normalized, "insurance*")); /* corrected, marked */

    classify("¿Tienen tratamiento para la ADICCIÓN?", &why);
    assert_non_null(strstr(why.normalized, "adiccion"));

    /* Curly apostrophes fold like straight ones; emoji alone carry no words. */
    struct match_explain a, b;
    classify("I don\xe2\x80\x99t know", &a);
    classify("I don't know", &b);
    assert_string_equal(a.normalized, b.normalized);

    /* Invalid UTF-8 and NUL bytes are skipped, never fatal. */
    struct match_result r;
    matcher_classify(matcher, "in\xff\xfesurance\0 x", 15, &r, &why);
    assert_true(r.intent < INTENT_COUNT);
}

static void test_accents_do_not_matter(void **state)
{
    (void)state;
    struct match_result with = classify("necesito ayuda con mi adicción", NULL);
    struct match_result without = classify("necesito ayuda con mi adiccion", NULL);
    assert_int_equal(with.intent, without.intent);
    assert_int_equal(with.intent, INTENT_GET_HELP);
    assert_int_equal(with.lang, LANG_ES);
    assert_int_equal(without.lang, LANG_ES);
}

static void test_compliance_keywords_only_when_bare(void **state)
{
    (void)state;
    assert_intent("STOP", INTENT_OPT_OUT);
    assert_intent("  stop.  ", INTENT_OPT_OUT);
    assert_intent("Unsubscribe", INTENT_OPT_OUT);
    assert_intent("opt out", INTENT_OPT_OUT);
    assert_intent("HELP", INTENT_HELP_KEYWORD);
    assert_intent("help!", INTENT_HELP_KEYWORD);
    assert_intent("info", INTENT_HELP_KEYWORD);
    assert_intent("START", INTENT_OPT_IN);
    assert_intent("yes", INTENT_OPT_IN);

    /* Inside a sentence they are not keywords. */
    assert_intent("i need help", INTENT_GET_HELP);
    assert_intent("can you help my brother, he is shooting up", INTENT_GET_HELP);
    assert_intent("how do i stop using heroin", INTENT_GET_HELP);
    assert_intent("yes i want to know about insurance", INTENT_INSURANCE);
    assert_true(classify("i cant stop", NULL).intent != INTENT_OPT_OUT);
    assert_true(classify("helppp", NULL).intent != INTENT_HELP_KEYWORD);

    /* A plain request to stop texting is an opt-out, in either language. */
    assert_intent("please stop texting me", INTENT_OPT_OUT);
    assert_intent("remove me from this list", INTENT_OPT_OUT);
    assert_intent("ya no me manden mensajes", INTENT_OPT_OUT);
    assert_intent("can you stop sending these", INTENT_OPT_OUT);
    assert_intent("take me off", INTENT_OPT_OUT);
    assert_intent("my mom got these on her phone too. please stop texting me", INTENT_OPT_OUT);
}

/* A sentence whose subject is someone else tells of them: it asks the line nothing. */
static void test_opt_out_about_someone_else(void **state)
{
    (void)state;
    const char *about_others[] = {
        "my mom wont stop texting me about rehab",      "he keeps texting me",
        "my ex won't stop texting me and i relapsed",   "mi ex no deja de mandarme mensajes",
        "mi mamá no deja de escribirme sobre el rehab",
    };
    for (size_t i = 0; i < sizeof about_others / sizeof *about_others; i++) {
        struct match_result r = classify(about_others[i], NULL);
        if (r.intent == INTENT_OPT_OUT)
            fail_msg("'%s' is not an opt-out", about_others[i]);
    }
    struct match_explain why;
    classify("my mom wont stop texting me about rehab", &why);
    assert_non_null(strstr(why.reason, "about someone else"));

    /* But a request passed on for someone else, or made from their phone, is an opt-out
     * (revocation by any reasonable means): a third party alone does not set it aside. */
    const char *still_opt_outs[] = {
        "this is my daughters phone, please stop texting",
        "my husband says stop texting him",
        "my wife wants you to stop texting her",
        "mi hija dice que ya no le manden mensajes",
        "my dad says please stop sending him texts",
    };
    for (size_t i = 0; i < sizeof still_opt_outs / sizeof *still_opt_outs; i++) {
        struct match_result r = classify(still_opt_outs[i], NULL);
        if (r.intent != INTENT_OPT_OUT)
            fail_msg("'%s' is an opt-out, not %s", still_opt_outs[i], intent_name(r.intent));
    }
}

static void test_crisis_wins_over_questions(void **state)
{
    (void)state;
    assert_intent("do you take cigna? i really just want to die", INTENT_CRISIS_SUICIDE);
    assert_intent("how much does detox cost. my boyfriend isnt breathing", INTENT_CRISIS_OVERDOSE);
    assert_intent("where are your offices, my leg has red streaks and i have a fever",
                  INTENT_MEDICAL_URGENT);
    assert_intent("i want to kill myself", INTENT_CRISIS_SUICIDE);
    assert_intent("my sister took too many pills and wont wake up", INTENT_CRISIS_OVERDOSE);
    assert_intent("quiero matarme", INTENT_CRISIS_SUICIDE);
    assert_intent("mi amigo no respira", INTENT_CRISIS_OVERDOSE);
}

static void test_hypotheticals_and_past_are_not_crises(void **state)
{
    (void)state;
    enum intent got = classify("what happens when someone ODs?", NULL).intent;
    assert_int_not_equal(intent_escalation(got), ESCALATE_URGENT);
    got = classify("my cousin overdosed two years ago and survived", NULL).intent;
    assert_int_not_equal(intent_escalation(got), ESCALATE_URGENT);
    got = classify("que pasa si alguien tiene una sobredosis", NULL).intent;
    assert_int_not_equal(intent_escalation(got), ESCALATE_URGENT);
}

/* Everyday idioms are not crises; "can't" opens no question; past events by date. */
static void test_idioms_and_statements(void **state)
{
    (void)state;
    const char *calm[] = {
        "my boss is gonna kill me if im late again",
        "im dead tired lol, can we do dinner tomorrow instead",
        "this traffic is killing me lol",
        "estoy muerta de cansancio, mañana te marco",
        "My son OD'd in March and made it. Now he's using again, how do we get him in?",
        "can someone die of a fentanyl overdose the first time they try it",
    };
    for (size_t i = 0; i < sizeof calm / sizeof calm[0]; i++) {
        enum intent got = classify(calm[i], NULL).intent;
        if (intent_escalation(got) == ESCALATE_URGENT)
            fail_msg("'%s' raised %s", calm[i], intent_name(got));
    }
    assert_intent("cant breathe after injecting", INTENT_MEDICAL_URGENT);
    assert_intent("do u accept aetna? also my hand has gone white and cold after i shot up",
                  INTENT_MEDICAL_URGENT);
    assert_intent("I HAVE THE GUN IN MY LAP RIGHT NOW", INTENT_CRISIS_SUICIDE);
    /* Two weak signs in a sentence of their own, after an unrelated question. */
    assert_intent("do you take anthem? my arm is bright red up to the elbow and i have a fever",
                  INTENT_MEDICAL_URGENT);
    assert_intent("tengo ganas de cortarme otra vez", INTENT_CRISIS_SUICIDE);
    assert_intent("he od'd and isnt moving", INTENT_CRISIS_OVERDOSE);
    assert_intent("hiii", INTENT_GREETING);
    assert_intent("what time do you close tonight", INTENT_CONTACT);
    assert_intent("i need a ride to LAX tomorrow morning", INTENT_FALLBACK);
}

/* A past event does not explain away a danger told after "now" or "again"; a figure of
 * speech or a denied sign is not a crisis; "right now" makes a question about a crisis
 * a report of one. */
static void test_present_idiom_and_negation(void **state)
{
    (void)state;
    assert_intent("he overdosed last year and now hes not breathing", INTENT_CRISIS_OVERDOSE);
    assert_intent("i tried to kill myself in 2020 and i want to do it again tonight",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("mi hermano tuvo una sobredosis el año pasado y ahora no respira",
                  INTENT_CRISIS_OVERDOSE);
    assert_intent("what do i do if someone is not breathing right now", INTENT_CRISIS_OVERDOSE);
    assert_intent("i dont see any reason not to kill myself", INTENT_CRISIS_SUICIDE);
    assert_intent("i dont want to live anymore", INTENT_CRISIS_SUICIDE);
    assert_intent("ya no quiero vivir", INTENT_CRISIS_SUICIDE);
    const char *calm[] = {
        "my feet are killing me after that shift",
        "im dying to know who won the game",
        "i overdosed on coffee this morning haha",
        "mis pies me estan matando",
        "im not suicidal, i just want to get clean",
        "i would never kill myself but i need help getting off pills",
        "no me quiero matar pero necesito ayuda",
        "my dad OD'd twice already and hes still using, we need to get him somewhere",
        "my son od'd in march, now we want to get him into rehab",
    };
    for (size_t i = 0; i < sizeof calm / sizeof calm[0]; i++) {
        struct match_explain why;
        enum intent got = classify(calm[i], &why).intent;
        if (intent_escalation(got) == ESCALATE_URGENT)
            fail_msg("'%s' raised %s (why: %s)", calm[i], intent_name(got), why.reason);
    }
    /* The explanation says why a sign was set aside. */
    struct match_explain why;
    classify("this heat is killing me", &why);
    assert_non_null(strstr(why.reason, "a figure of speech"));
    classify("i am not suicidal", &why);
    assert_non_null(strstr(why.reason, "denied"));
}

static void test_typos_and_text_speak(void **state)
{
    (void)state;
    assert_intent("do u guys tak blu cross insurence", INTENT_INSURANCE);
    assert_intent("wat do trak marks look like", INTENT_TRACK_MARKS_WHAT);
    assert_intent("HOW LONG TIL MY TRACK MARKS HEAL", INTENT_HEALING_TIME);
    assert_intent("thx 🙏", INTENT_THANKS);
}

static void test_small_talk_only_when_nothing_asked(void **state)
{
    (void)state;
    assert_intent("hi", INTENT_GREETING);
    assert_intent("hola", INTENT_GREETING);
    assert_intent("thank you so much", INTENT_THANKS);
    assert_intent("hi, do you take aetna?", INTENT_INSURANCE);
    assert_intent("thanks. can i talk to a counselor", INTENT_HUMAN);
    assert_intent("sorry wrong number", INTENT_FALLBACK);
    assert_intent("", INTENT_FALLBACK);
    assert_intent("🍕🍕", INTENT_FALLBACK);
}

/* Self-harm in its everyday forms is a crisis, English and Spanish, with typos; cutting
 * back, haircuts, kitchen cuts and injection burns are not. */
static void test_self_harm(void **state)
{
    (void)state;
    static const char *const crises[] = {
        "i keep cutting and now the cuts are deeper than last week",
        "cant stop cutting, i did it 3 times today",
        "started burning my skin with a lighter again",
        "i punish myself when i relapse, hitting myself till i bruise",
        "got a razor out, i just want to cut so bad",
        "relapsed on self harm after 4 months",
        "been cuting my thighs where no one can see",
        "ya no puedo dejar de cortarme",
        "quiero cortarme otra vez",
        "me hago cortadas en las piernas cuando estoy triste",
        "tengo ganas de hacerme daño esta noche",
        "me autolesiono desde hace meses y hoy fue peor",
    };
    for (size_t i = 0; i < sizeof crises / sizeof crises[0]; i++)
        assert_int_equal(classify(crises[i], NULL).intent, INTENT_CRISIS_SUICIDE);
    static const char *const calm[] = {
        "i cut back to a few pills a day, do i still need detox",
        "trying to cut down before i come in, is that safe",
        "cut my hand while cooking, will the scar look like a track mark",
        "got a cut on my arm from the kitchen, does it look like drug use",
        "it burns when i inject, is that an infection risk",
        "razor bumps on my legs look like track marks lol",
        "me corté el pelo y se me ven las marcas del cuello",
        "me corté cocinando, parece marca de aguja?",
    };
    for (size_t i = 0; i < sizeof calm / sizeof calm[0]; i++) {
        struct match_result r = classify(calm[i], NULL);
        assert_int_not_equal(intent_escalation(r.intent), ESCALATE_URGENT);
    }
}

/* A passive goodbye is a crisis wherever it stands, after an ordinary question too, with or
 * without punctuation between; an absence with an ordinary reason is not. */
static void test_passive_goodbyes(void **state)
{
    (void)state;
    static const char *const crises[] = {
        "i dont think ill be here next week",
        "do you take tricare i wont be around much longer anyway",
        "whats your address. everyone would be better off without me",
        "how long is the program this is my last text",
        "are you open saturday im just so tired of being alive",
        "is the book free? gave all my stuff away yesterday",
        "I really don't see the point in living anymore",
        "cual es su horario ya no quiero estar aqui",
        "cuanto cuesta? ya no aguanto más",
        "mañana ya no voy a estar, esta es mi despedida",
        "no tengo razón para seguir",
    };
    for (size_t i = 0; i < sizeof crises / sizeof crises[0]; i++)
        assert_int_equal(classify(crises[i], NULL).intent, INTENT_CRISIS_SUICIDE);
    static const char *const calm[] = {
        "I won't be here tomorrow, could a counselor call me Friday instead?",
        "wont be around this weekend, im out of town. call me monday",
        "no voy a estar disponible mañana, me pueden llamar el lunes?",
        "my last message didnt send, what is your number",
    };
    for (size_t i = 0; i < sizeof calm / sizeof calm[0]; i++) {
        struct match_result r = classify(calm[i], NULL);
        assert_int_not_equal(intent_escalation(r.intent), ESCALATE_URGENT);
    }
}

/* Ordinary questions that read like other intents. */
static void test_intent_look_alikes(void **state)
{
    (void)state;
    assert_int_equal(
        classify("had labs drawn at the blood bank, will the bruise look like tracks", NULL).intent,
        INTENT_PLASMA_MARKS);
    assert_int_equal(classify("can veins come back once they collapse", NULL).intent,
                     INTENT_HEALTH_RISKS);
    assert_int_equal(classify("are men and women separate or is it coed", NULL).intent,
                     INTENT_TREATMENT_OPTIONS);
    assert_int_equal(classify("my son says hes ready now. where do we start", NULL).intent,
                     INTENT_GET_HELP);
    assert_int_equal(classify("a que hora es la misa", NULL).intent, INTENT_FALLBACK);
    /* A past overdose on a holiday, then a plan for detox: help, not a crisis. */
    struct match_result r = classify(
        "my brother overdosed on thanksgiving, hes fine now but using again. how do we get him "
        "into detox",
        NULL);
    assert_int_not_equal(intent_escalation(r.intent), ESCALATE_URGENT);
}

#define assert_not_urgent(text)                                                                    \
    do {                                                                                           \
        struct match_explain why_;                                                                 \
        struct match_result r_ = classify(text, &why_);                                            \
        if (intent_escalation(r_.intent) == ESCALATE_URGENT)                                       \
            fail_msg("'%s': got %s, want no crisis (why: %s)", text, intent_name(r_.intent),       \
                     why_.reason);                                                                 \
    } while (0)

#define assert_rule(text, want, rule)                                                              \
    do {                                                                                           \
        struct match_explain why_;                                                                 \
        struct match_result r_ = classify(text, &why_);                                            \
        if (r_.intent != (want) || !strstr(why_.reason, "rule " rule ":"))                         \
            fail_msg("'%s': got %s, want %s by rule %s (why: %s)", text, intent_name(r_.intent),   \
                     intent_name(want), rule, why_.reason);                                        \
    } while (0)

/* The crisis rules of lexicon.json: concepts met together, each with its calm side. */
static void test_crisis_rules(void **state)
{
    (void)state;
    /* self_harm_body and self_harm_tool: an act on one's own body, or with an instrument. */
    assert_rule("i keep slicing my thigh when things get bad", INTENT_CRISIS_SUICIDE,
                "self_harm_body");
    assert_rule("carved into my left forearm again, its still bleeding", INTENT_CRISIS_SUICIDE,
                "self_harm_body");
    assert_rule("been scratching at it with a safety pin til it bleeds", INTENT_CRISIS_SUICIDE,
                "self_harm_tool");
    assert_intent("i burn my skin with cigarettes when i want to use", INTENT_CRISIS_SUICIDE);
    assert_intent("me estoy rayando las piernas con una navaja otra vez", INTENT_CRISIS_SUICIDE);
    assert_intent("ayer me rayé la muñeca con una cuchilla", INTENT_CRISIS_SUICIDE);
    assert_intent("i cut my finger slicing onions", INTENT_FALLBACK);
    assert_not_urgent("burned my arm on the oven rack making cookies");
    assert_not_urgent("my daughter cut her bangs with kitchen scissors lol");
    assert_not_urgent("my cat scratched my arm and its a little red");
    assert_not_urgent("i want to cut back, my arm marks are getting worse");
    /* A fever is no self-harm, whatever burns. */
    assert_intent("my forearm is swollen and red and im burning up, i shoot there",
                  INTENT_MEDICAL_URGENT);

    /* goodbye_soon and ending_soon: a goodbye or an ending with a time, after a question. */
    assert_rule("do you take aetna? doesnt matter, i might not be around by tomorrow",
                INTENT_CRISIS_SUICIDE, "goodbye_soon");
    assert_rule("a que hora cierran? igual ya no voy a estar aqui para el lunes, ni mañana",
                INTENT_CRISIS_SUICIDE, "goodbye_soon");
    assert_rule("after this weekend nobody will have to worry about me anymore",
                INTENT_CRISIS_SUICIDE, "ending_soon");
    assert_rule("i left a note on the table. by morning she will understand", INTENT_CRISIS_SUICIDE,
                "ending_soon");
    assert_rule("esta noche me despido de todos", INTENT_CRISIS_SUICIDE, "ending_soon");
    assert_not_urgent("i won't be here tomorrow, i'm going to my cousin's wedding, can we talk "
                      "monday");
    assert_not_urgent("no voy a estar mañana, tengo cita con el doctor");
    assert_not_urgent("cuanto cuesta el tratamiento? empiezo mañana si me aceptan");
    assert_not_urgent("i want to end my marriage, not my life. do you do couples counseling");

    /* lethal_dose_sought: how much it takes, and the resolve to get it right. */
    assert_rule("how many oxys would it take to stop my heart, i need to get it right this time",
                INTENT_CRISIS_SUICIDE, "lethal_dose_sought");
    assert_rule("cuantas pastillas son suficientes para morir, esta vez no quiero fallar",
                INTENT_CRISIS_SUICIDE, "lethal_dose_sought");
    assert_not_urgent("how much fentanyl can kill a person? asking for a school report");

    /* limb_after_injecting and limb_dying: a limb in danger. */
    assert_rule("my fingers went purple and cold after i shot into my hand", INTENT_MEDICAL_URGENT,
                "limb_after_injecting");
    assert_rule("foot turned black since yesterday and the toes feel like ice",
                INTENT_MEDICAL_URGENT, "limb_dying");
    assert_intent("mi mano se puso morada y fria desde que me inyecte ayer", INTENT_MEDICAL_URGENT);
    assert_not_urgent("the dark marks on my arms, will they fade?");
    assert_not_urgent("vi puntitos morados en las manos de mi hijo, seran marcas de inyeccion?");
    assert_not_urgent("what does it mean if your fingers turn blue after injecting?");

    /* infection_fever and infection_spreading. */
    assert_rule("there's a lump where i inject that keeps growing and im having chills",
                INTENT_MEDICAL_URGENT, "infection_fever");
    assert_rule("tengo una infeccion en el brazo y fiebre de 40", INTENT_MEDICAL_URGENT,
                "infection_fever");
    assert_rule("the sore on my calf is way bigger today", INTENT_MEDICAL_URGENT,
                "infection_spreading");
    assert_not_urgent("can an abscess give you a fever?");
    assert_not_urgent("my abscess from last spring healed but left a scar, can i fade it");
}

/* Round 6: the crisis rules widened by class (finality without a clock, giving up with a
 * farewell, a method thought of, a limb discoloured and numb), and their calm sides. */
static void test_crisis_rules_by_class(void **state)
{
    (void)state;
    /* gone_moot and goodbye_soon: gone for good, "it doesn't matter", no clock needed. */
    assert_rule("how much is detox with aetna? forget it, i wont be here long enough to use it",
                INTENT_CRISIS_SUICIDE, "goodbye_soon");
    assert_rule("never mind about the copay. nothing matters, im not going to need it",
                INTENT_CRISIS_SUICIDE, "gone_moot");
    assert_rule("olvídalo, ya no importa, no creo que siga vivo", INTENT_CRISIS_SUICIDE,
                "gone_moot");
    assert_intent("ya no importa nada, no creo que siga aquí para el lunes", INTENT_CRISIS_SUICIDE);
    assert_not_urgent("do you take humana? my plan ends next week so it doesnt matter after that");
    assert_not_urgent("never mind, i wont be around saturday, im visiting my aunt out of town");

    /* resigned_farewell, prepared_farewell, farewell_apology, farewell_unreachable. */
    assert_rule("i cant keep going like this. tell my kids i love them", INTENT_CRISIS_SUICIDE,
                "resigned_farewell");
    assert_rule("it's all ready now in the closet. please forgive me mom", INTENT_CRISIS_SUICIDE,
                "prepared_farewell");
    assert_rule("to whoever reads this, i'm so sorry", INTENT_CRISIS_SUICIDE, "farewell_apology");
    assert_rule("ya no tengo fuerzas. a quien lea esto, perdón", INTENT_CRISIS_SUICIDE,
                "resigned_farewell");
    assert_rule("my brother posted a goodbye message last night and now he's not answering",
                INTENT_CRISIS_SUICIDE, "farewell_unreachable");
    assert_rule("mi hermana se despidió de todos por whatsapp y nadie la encuentra",
                INTENT_CRISIS_SUICIDE, "farewell_unreachable");
    assert_not_urgent("im done fighting with my insurance company, can someone call them for me");
    assert_not_urgent("everything is set up for my intake thursday, sorry for all the questions");
    assert_intent("i can't do this anymore, my daughter is using again. how do we get her into "
                  "rehab",
                  INTENT_GET_HELP);

    /* method_ideation: a way to die, thought of. */
    assert_rule("every morning on the freeway i think how easy it would be to swerve into a "
                "semi",
                INTENT_CRISIS_SUICIDE, "method_ideation");
    assert_rule("been stockpiling my seroquel, thinking about it a lot", INTENT_CRISIS_SUICIDE,
                "method_ideation");
    assert_rule("sería tan fácil soltar el volante en la curva", INTENT_CRISIS_SUICIDE,
                "method_ideation");
    assert_not_urgent("thinking about driving down to your office tomorrow, is there parking");
    assert_not_urgent("i want to get off all the pills i'm on, do you do medical detox");
    assert_not_urgent("my son keeps thinking about the gun range job, is that ok in recovery");

    /* limb_color_numb: a limb discoloured and numb or cold, whatever the colour is called. */
    assert_rule("my fingertips look like little eggplants and i cant feel them at all",
                INTENT_MEDICAL_URGENT, "limb_color_numb");
    assert_rule("los dedos del pie se ven como uvas y ya no los siento", INTENT_MEDICAL_URGENT,
                "limb_color_numb");
    assert_intent("my heel is grey and ice cold, i been shooting in my foot",
                  INTENT_MEDICAL_URGENT);

    /* A colour alone on a blood-draw or injection site is a mark's colour; on lips, a face or
     * fingertips it stays urgent. */
    assert_not_urgent("had my blood drawn yesterday and the inside of my elbow is purple, will "
                      "it look like track marks");
    assert_not_urgent("the scar on my arm is still purple even though it healed, will it fade");
    assert_not_urgent("el brazo quedó morado después de donar plasma, se ve como marcas?");
    assert_intent("his lips are purple next to those track marks and he wont wake up",
                  INTENT_CRISIS_OVERDOSE);
    assert_intent("her face is turning blue, she shot up in the bathroom", INTENT_CRISIS_OVERDOSE);

    /* Idioms: a loved one's use "killing him slowly", time or money "too much". */
    assert_intent("my husband is slowly killing himself with meth, what do i do to get him help",
                  INTENT_GET_HELP);
    assert_not_urgent("i took too much time off already, do you have evening groups");
    assert_intent("i think i took too much, i can barely keep my eyes open",
                  INTENT_CRISIS_OVERDOSE);
}

/* Round 7: a rule for every item of the clinical checklists (opioid and stimulant overdose signs,
 * Columbia-scale suicide risk and warning signs, injection-related emergencies), in everyday
 * words, English and Spanish; and each rule's calm side: education, kits, past events, detox,
 * winter, a sleeping arm, procedures, quitting, relationships, moving. */
static void test_clinical_checklists(void **state)
{
    (void)state;
    /* Opioid overdose: unresponsive, breathing, colour, pupils, limp; naloxone or a sternum
     * rub that fails; a child or pet that got into drugs; a double dose with drowsiness; and
     * the stimulant signs (racing heart, overheating, confusion) with a drug. */
    assert_rule("mi primo se tomó algo en la fiesta y está como ido, respira muy lento",
                INTENT_CRISIS_OVERDOSE, "od_signs");
    assert_rule("his lips look grey and he snorted a bunch of pills", INTENT_CRISIS_OVERDOSE,
                "od_signs");
    assert_rule("her pupils are pinpoints and she is snoring weird, cant wake her",
                INTENT_CRISIS_OVERDOSE, "od_signs");
    assert_rule("did a sternum rub on my cousin and he barely moved", INTENT_CRISIS_OVERDOSE,
                "revive_failing");
    assert_rule("the naloxone isnt doing anything, what now", INTENT_CRISIS_OVERDOSE,
                "revive_failing");
    assert_rule("le pusimos narcan y no hizo nada", INTENT_CRISIS_OVERDOSE, "revive_failing");
    assert_rule("my 3 year old got into my suboxone strips", INTENT_CRISIS_OVERDOSE,
                "child_ingestion");
    assert_rule("my dog ate a fentanyl patch out of the trash", INTENT_CRISIS_OVERDOSE,
                "child_ingestion");
    assert_rule("mi niña de 2 años se comió unas pastillas de la abuela", INTENT_CRISIS_OVERDOSE,
                "child_ingestion");
    assert_rule("forgot i already took my methadone and took it again, now im so sleepy",
                INTENT_CRISIS_OVERDOSE, "double_dose_drowsy");
    assert_rule("se tomó su metadona dos veces y está muy somnoliento", INTENT_CRISIS_OVERDOSE,
                "double_dose_drowsy");
    assert_rule("did way too much coke, my heart is pounding and i feel like im overheating",
                INTENT_CRISIS_OVERDOSE, "stimulant_signs");
    assert_rule("mi hermano se metió cristal, tiene el corazón a mil y está ardiendo",
                INTENT_CRISIS_OVERDOSE, "stimulant_signs");

    /* Suicide: means got, held or approached; pills saved; a decision; burdensomeness and
     * life insurance; hopelessness with a timeline; affairs put in order; the sums of a dose;
     * the veterans' "22". */
    assert_rule("been sitting in the truck with my rifle in my lap for an hour",
                INTENT_CRISIS_SUICIDE, "means_ready");
    assert_rule("started the car in the garage and shut the door", INTENT_CRISIS_SUICIDE,
                "means_ready");
    assert_rule("voy caminando a las vías del tren", INTENT_CRISIS_SUICIDE, "means_ready");
    assert_rule("i ran the hose from the exhaust into the window", INTENT_CRISIS_SUICIDE,
                "means_pair");
    assert_rule("been saving up my sleeping pills for weeks", INTENT_CRISIS_SUICIDE,
                "pills_hoarded");
    assert_rule("he estado juntando mis pastillas para dormir", INTENT_CRISIS_SUICIDE,
                "pills_hoarded");
    assert_rule("ive made up my mind, this is my last text", INTENT_CRISIS_SUICIDE,
                "decided_ending");
    assert_rule("ya lo decidí, todos estarían mejor sin mí", INTENT_CRISIS_SUICIDE,
                "decided_ending");
    assert_rule("my wife gets the life insurance, theyd be better off", INTENT_CRISIS_SUICIDE,
                "burden_payout");
    assert_rule("el seguro de vida les sirve más que yo", INTENT_CRISIS_SUICIDE, "burden_payout");
    assert_rule("theres no way out, by friday it will be done", INTENT_CRISIS_SUICIDE,
                "hopeless_timeline");
    assert_rule("wrote my will and gave away my dog, sorry everyone", INTENT_CRISIS_SUICIDE,
                "prepared_farewell");
    assert_rule("ya dejé todo en orden, perdónenme", INTENT_CRISIS_SUICIDE, "prepared_farewell");
    assert_rule("i know exactly how many of my insulin pens it would take, ive worked it out",
                INTENT_CRISIS_SUICIDE, "lethal_dose_sought");
    assert_intent("thinking im about to be one of the 22", INTENT_CRISIS_SUICIDE);

    /* Injection-related emergencies: lymphangitis, sepsis or endocarditis, necrotising
     * infection, neck injection, clots, wound botulism, tetanus. */
    assert_rule("a pink stripe is creeping up my forearm from the spot i shoot",
                INTENT_MEDICAL_URGENT, "infection_spreading");
    assert_rule("the redness went past the line i drew on my abscess", INTENT_MEDICAL_URGENT,
                "infection_spreading");
    assert_rule("my abscess is huge and my heart rate is like 130 and im febrile",
                INTENT_MEDICAL_URGENT, "infection_fever");
    assert_rule("i shoot up and have had chills all week, now i am short of breath",
                INTENT_MEDICAL_URGENT, "infection_racing");
    assert_rule("my thigh crackles like rice krispies where i muscled", INTENT_MEDICAL_URGENT,
                "skin_crackle");
    assert_rule("la piel truena donde me inyecté", INTENT_MEDICAL_URGENT, "skin_crackle");
    assert_rule("i shot in my jugular and now my throat is swelling", INTENT_MEDICAL_URGENT,
                "neck_injection");
    assert_rule("me inyecté en el cuello y se me está hinchando", INTENT_MEDICAL_URGENT,
                "neck_injection");
    assert_rule("my calf is swollen out of nowhere and i am short of breath", INTENT_MEDICAL_URGENT,
                "limb_clot");
    assert_rule("short of breath and coughing up blood since i started injecting in my groin",
                INTENT_MEDICAL_URGENT, "lung_clot");
    assert_rule("coughing blood and i cant catch my breath", INTENT_MEDICAL_URGENT,
                "cough_blood_breathless");
    assert_rule("my eyelids are drooping and i am seeing double, been skin popping tar",
                INTENT_MEDICAL_URGENT, "wound_botulism");
    assert_rule("my jaw is stiff and i cant open my mouth, my abscess is bad",
                INTENT_MEDICAL_URGENT, "tetanus");

    /* The calm sides, and round 6's leftovers (strong phrases and weak limb signs that
     * false-alarmed). */
    assert_not_urgent("what are the signs of an opioid overdose for my class");
    assert_not_urgent("i keep narcan in my purse in case, where can i get more");
    assert_not_urgent("how do i keep my methadone away from my kids, do you have lock boxes");
    assert_not_urgent("my son overdosed last year and the narcan worked, hes sober now");
    assert_not_urgent("detox feels like dying, is yours medical?");
    assert_not_urgent("my fingers get cold and white in the winter, is that from using");
    assert_not_urgent("i slept on my arm and now its numb and tingly");
    assert_not_urgent("i got my PICC line out and my arm is bruised");
    assert_not_urgent("tired of fighting my addiction, i want to go to rehab");
    assert_not_urgent("tell my mom im sorry i missed the call");
    assert_not_urgent("my chest hurts from coughing all week");
    assert_not_urgent("i wont be around this weekend, going to my sisters");
    assert_not_urgent("im ending things with my girlfriend, she wont stop using");
    assert_not_urgent("ya lo decidí, quiero internarme. ¿qué necesito?");
    assert_not_urgent("i decided to go to treatment, when can i start");
    assert_not_urgent("cleaning out my apartment this weekend because im moving");
    assert_not_urgent("my heart races when i have anxiety, is that withdrawal");
    assert_not_urgent("my dog ate a weed gummy, the vet says he will be fine");
    assert_not_urgent("threw away my needles tonight, done for good. what now");
    assert_not_urgent("my jaw hurts from grinding my teeth, will it stop when i quit");
    assert_not_urgent("saving money for rehab, how much does it cost");
    assert_not_urgent("lmao that movie killed me");
    assert_not_urgent("my grandpa left me his rifle for hunting, is that ok in sober living");
    assert_not_urgent("¿es verdad que el fentanilo te puede parar la respiración?");
}

static void test_language(void **state)
{
    (void)state;
    assert_lang("how do i get the free book", LANG_EN);
    assert_lang("quiero el libro gratis por favor", LANG_ES);
    assert_lang("cuanto cuesta el tratamiento", LANG_ES);
    assert_lang("STOP", LANG_EN);
    assert_lang("😂", LANG_EN);
}

/* Round 8: rules widened from set16, crisis17 and the train18 corpora, with their calm
 * sides, and the cues that keep a sign from a class or an ongoing state in earnest. */
static void test_round8_rules(void **state)
{
    (void)state;
    assert_intent("she is doing that gurgling snore they warned us about in the naloxone class",
                  INTENT_CRISIS_OVERDOSE);
    assert_not_urgent("we learned about the snoring sound at the narcan training last week");
    assert_intent("my brother woke up from the narcan 5 min ago and already wants to go use again",
                  INTENT_CRISIS_OVERDOSE);
    assert_intent("my uncle says he will join my aunt tonight. he keeps his shotgun by the bed",
                  INTENT_CRISIS_SUICIDE);
    assert_not_urgent(
        "my husband hid his needles in the garage and he agreed to go to detox tonight");
    assert_intent("how do i make it look like an accident so my wife gets the insurance money",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("been saving my trazodone all month. tonight is the night",
                  INTENT_CRISIS_SUICIDE);
    assert_not_urgent("been saving money for rehab all month, can i start tonight");
    assert_intent("forget the insurance question, it wont matter after tomorrow",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("mi primo se pasó con la coca y el corazón le va a mil", INTENT_CRISIS_OVERDOSE);
    assert_intent("my cousin swallowed his baggie when the police came", INTENT_CRISIS_OVERDOSE);
    assert_intent("cuantas pastillas de rivotril hacen falta para no despertar",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("the spot in my groin where i shot is bleeding a lot and wont stop",
                  INTENT_MEDICAL_URGENT);
    assert_intent("the sore where i inject on my calf goes down to the bone and stinks",
                  INTENT_MEDICAL_URGENT);
    assert_not_urgent("my old track mark scars look green under this light, can laser fix them");
    assert_intent("la llaga donde me inyecto ya está bien abierta y tengo fiebre",
                  INTENT_MEDICAL_URGENT);
    assert_not_urgent("mi hijo tuvo una sobredosis hace un año, ya está bien y limpio");
    assert_intent("is it normal for your hand to go white and numb after shooting in it? its been "
                  "hours and its still like that",
                  INTENT_MEDICAL_URGENT);
    assert_not_urgent("is it normal for your hands to go white and cold after shooting up?");
    assert_intent("tio mi colega se ha metido rayas toda la noche, le duele el pecho y tiene el "
                  "corazon a mil",
                  INTENT_CRISIS_OVERDOSE);
    assert_not_urgent("ando muerta del cansancio, mañana les escribo");
    assert_not_urgent("que hacen en desintox, dan medicamento para la malilla?");
    assert_not_urgent("my daughter gets sweaty and throws up when she cant get her pills, is that "
                      "withdrawal");
}

/* Round 9: relayed warnings (a third person tells what someone else said, posted, did or
 * sent), amounts with a finality clause, and calm look-alikes: ordinary affection, a
 * trip, a move, a hospital stay, a habit reported as a worry, a prescription question. */
static void test_round9_crisis(void **state)
{
    (void)state;
    /* Relayed danger. */
    assert_intent("my girlfriend just texted me that she loves me and to take care of her cat. she "
                  "never talks like that and shes been using again",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("my uncle gave my cousin his watch and his truck keys and told him to look after "
                  "his dogs",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("my friend texted the group chat thanking everyone for everything, now her phone "
                  "is off",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("my son asked me to take care of his cat and then stopped answering, he relapsed",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("my daughter dropped off her dog at my place and said she loves me, she never "
                  "says that",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("my coworker has been giving away all his stuff and said he wont be around much "
                  "longer",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("my sister sent me her passwords and asked me to look after her kids if anything "
                  "happens",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("im scared my brother is going to hurt himself, he told me to tell mom he loves "
                  "her",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("mi hermano me regaló su guitarra y me dijo que cuidara a su perro, anda muy "
                  "deprimido",
                  INTENT_CRISIS_SUICIDE);
    assert_intent(
        "mi mamá me llamó de la nada para decirme que me quiere y que la perdone, ahora no "
        "contesta",
        INTENT_CRISIS_SUICIDE);
    assert_intent(
        "mi novio me pidió que cuidara a su perro y me dijo que me quiere, nunca habla así",
        INTENT_CRISIS_SUICIDE);
    assert_intent("mi amigo publicó una despedida en facebook y tengo miedo de que haga algo",
                  INTENT_CRISIS_SUICIDE);
    /* Calm look-alikes of the same words. */
    assert_not_urgent("my uncle gave my cousin his old truck since he bought a new one");
    assert_not_urgent(
        "my friend texted the group chat thanking everyone for coming to her birthday");
    assert_not_urgent(
        "my son asked me to take care of his cat while he is at his dads for the week");
    assert_not_urgent(
        "my daughter dropped off her dog at my place before her flight, she said she loves me");
    assert_not_urgent(
        "my coworker is giving away his stuff because hes moving to texas next month");
    assert_not_urgent("my ex posted a goodbye to his old band on facebook, they broke up after 10 "
                      "years");
    assert_not_urgent("my sister asked me to look after her kids tonight, she has a date");
    assert_not_urgent("my mom said she loves me and to take care of her cat while she is in the "
                      "hospital for her surgery");
    assert_not_urgent("mi hermano me regaló su guitarra porque se compró una nueva");
    assert_not_urgent("mi mamá me pidió que cuidara a su perro mientras está de viaje");
    assert_not_urgent("mi hermano se despidió de todos porque se va a vivir a otro estado");
    assert_not_urgent("my boyfriend told me he loves me out of nowhere lol");
    /* An amount with a finality clause; the same amount for an errand. */
    assert_intent("bought enough to make sure i never have to", INTENT_CRISIS_SUICIDE);
    assert_intent("compré suficiente para no volver a despertar", INTENT_CRISIS_SUICIDE);
    assert_not_urgent("bought enough groceries to make sure i never have to go out this week");
    assert_not_urgent("saved enough money to make sure i never have to go back to that house");
    /* A habit reported as a worry, treatment talk, a prescription question; and the same
     * words with a danger now. */
    assert_not_urgent("how do i know if its a real addiction or im just partying too much");
    assert_intent("we partied too much and now he wont wake up", INTENT_CRISIS_OVERDOSE);
    assert_not_urgent("my best friend keeps nodding off at work and admitted hes using, i want to "
                      "get him help before it gets worse");
    assert_intent("my coworker nodded off at work and we cant wake him, lips blue",
                  INTENT_CRISIS_OVERDOSE);
    assert_not_urgent("ya arreglé todo antes de internarme el lunes, que tengo que llevar");
    assert_not_urgent("im done with life on the streets, i want to get into detox");
    assert_intent("done with life", INTENT_CRISIS_SUICIDE);
    assert_not_urgent("cuantas pastillas de rivotril me tocan al día según la receta");
    assert_intent("mi mamá se tomó más pastillas de lo que dice la receta y no despierta",
                  INTENT_CRISIS_OVERDOSE);
    assert_not_urgent("my sister said goodbye to everyone at the airport, shes moving to spain for "
                      "work");
    assert_not_urgent("my husband wrote the kids a sweet letter before his deployment");
    assert_intent("im moving on from this life, i gave away my stuff and wrote letters",
                  INTENT_CRISIS_SUICIDE);
}

/* Round 9: neighbouring non-urgent intents, each confusion from both sides (texts of our own). */
static void test_round9_intents(void **state)
{
    (void)state;
    assert_intent("was in the hospital for pneumonia and the iv left a dark bruise on my wrist, "
                  "could that pass for a track mark",
                  INTENT_PLASMA_MARKS);
    assert_intent(
        "i get bloodwork every 3 months for my liver, will the dots in my elbow look like i use",
        INTENT_PLASMA_MARKS);
    assert_intent("me sacan sangre cada semana en el laboratorio, se ven como las marcas de los "
                  "que se pican?",
                  INTENT_PLASMA_MARKS);
    assert_intent("what do track marks on the hands look like", INTENT_TRACK_MARKS_WHAT);
    assert_intent("can iv drug use wreck your kidneys", INTENT_HEALTH_RISKS);
    assert_intent("what time does admissions close on fridays", INTENT_CONTACT);
    assert_intent("is 949-763-3440 still the right number for the center", INTENT_CONTACT);
    assert_intent("¿atienden los domingos?", INTENT_CONTACT);
    assert_intent("mejor les marco o sigo por mensaje?", INTENT_CONTACT);
    assert_intent("what time does the dmv close", INTENT_FALLBACK);
    assert_intent("a que hora abre la farmacia del centro", INTENT_FALLBACK);
    assert_intent("ya no me texteen a este numero", INTENT_OPT_OUT);
    assert_intent("saquen mi numero de sus listas porfavor", INTENT_OPT_OUT);
    assert_intent("favor de ya no enviarme textos", INTENT_OPT_OUT);
    assert_intent("cancel these texts please", INTENT_OPT_OUT);
    assert_intent("tienen un telefono para llamar? no me gusta escribir", INTENT_CONTACT);
    assert_intent("how can i tell if my stepson is using", INTENT_NEED_TREATMENT_SIGNS);
    assert_intent("is it a sign if she keeps using after losing custody",
                  INTENT_NEED_TREATMENT_SIGNS);
    assert_intent("que señales indican que mi esposo necesita internarse",
                  INTENT_NEED_TREATMENT_SIGNS);
    assert_intent("my daughter is using again, what do we do", INTENT_GET_HELP);
    assert_intent("we want him in detox this week, how do we start", INTENT_GET_HELP);
    assert_intent("necesito entrar a un programa, llevo años usando heroina", INTENT_GET_HELP);
    assert_intent("what is a day in detox like", INTENT_TREATMENT_OPTIONS);
    assert_intent("cuanto dura el programa de rehabilitacion", INTENT_TREATMENT_OPTIONS);
    assert_intent("how much is a 30 day stay", INTENT_INSURANCE);
    assert_intent("can somebody ring my cell this afternoon", INTENT_HUMAN);
    assert_intent("how long till my forearms stop looking bruised", INTENT_HEALING_TIME);
    assert_intent("what are my removal options for old scars", INTENT_REMOVE_MARKS);
    assert_intent("que me pongo pa que sanen las marcas", INTENT_HEAL_MARKS);
    assert_intent("why do people who shoot up end up with marks", INTENT_TRACK_MARKS_CAUSES);
    assert_intent("do you guys buy used trucks", INTENT_FALLBACK);
    assert_intent("just wanted to say thank you, 90 days today", INTENT_THANKS);
    assert_intent("how do i know if my nephew is on something", INTENT_NEED_TREATMENT_SIGNS);
    assert_intent("my cousin is using and wants help", INTENT_GET_HELP);
    assert_intent("i want to stop getting these texts", INTENT_OPT_OUT);
    assert_intent("sign me up for the free book", INTENT_FREE_BOOK);
    assert_intent("what should i do if he is using again", INTENT_GET_HELP);
    assert_intent("how can i tell if my son has track marks", INTENT_TRACK_MARKS_WHAT);
}

/*
 * Round 10: a date covers its own clause ("he bought a gun last week" does not make "keeps
 * saying we'd all be better off" past); a means bought, got or found stays at hand;
 * burdensomeness with someone gone, first and third person; laughter makes "dead" a
 * figure of speech; "te quiero mucho" is no farewell; wounds healing after quitting, and a
 * dark line along a vein asked about, are no crisis. Texts of this round's own, both sides
 * of each class.
 */
static void test_round10(void **state)
{
    (void)state;
    assert_intent("my dad keeps saying we'd all be better off if he wasnt around and he bought a "
                  "gun last week",
                  INTENT_CRISIS_SUICIDE);
    assert_intent(
        "my brother called to say goodbye out of nowhere and hung up, he relapsed last week",
        INTENT_CRISIS_SUICIDE);
    assert_intent("my sister keeps saying everyone would be happier if she just disappeared",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("i am a burden to everyone and i bought a rope yesterday", INTENT_CRISIS_SUICIDE);
    assert_intent("everyone would be better off without me", INTENT_CRISIS_SUICIDE);
    assert_intent("my mom thinks we would all be better off without her, she said it again tonight",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("mi papá dice que estaríamos mejor sin él y consiguió una pistola",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("soy una carga para mi familia, ya no quiero ser un estorbo",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("mi hermana dice que todos estarían más felices si ella no estuviera",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("ya no quiero ser un estorbo para nadie", INTENT_CRISIS_SUICIDE);
    assert_intent(
        "my son found his grandpa's gun last month and keeps talking about not being here",
        INTENT_CRISIS_SUICIDE);
    assert_intent("she got a hold of a gun two weeks ago and says nobody would miss her",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("he bought a rope last week and has been giving his stuff away",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("my husband ordered a gun online last week and keeps saying he is done",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("compró una pistola la semana pasada y dice que ya no aguanta",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("i relapsed last week and i want to die", INTENT_CRISIS_SUICIDE);
    assert_intent("last year he overdosed and now hes not breathing", INTENT_CRISIS_OVERDOSE);
    assert_intent("my friend has been cutting her arms again, she started last month",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("i tried to kill myself in 2019 and im thinking about it again tonight",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("mi novio se despidió de la nada y no contesta, recayó la semana pasada",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("i have been burning my forearm with a lighter", INTENT_CRISIS_SUICIDE);
    assert_intent("me corto los brazos con una navaja", INTENT_CRISIS_SUICIDE);
    assert_intent("i might not be here by next week", INTENT_CRISIS_SUICIDE);
    assert_intent("im going to end it all tonight", INTENT_CRISIS_SUICIDE);
    assert_intent("how many of my xanax would it take to not wake up, i want to be sure",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("my hand turned dark after i hit a vein and i cant feel it",
                  INTENT_MEDICAL_URGENT);
    assert_intent("red streak going up my arm from where i shot up and i have a fever",
                  INTENT_MEDICAL_URGENT);
    assert_intent("my abscess is huge and i have a 103 fever", INTENT_MEDICAL_URGENT);
    assert_intent("hes not breathing and his lips are blue", INTENT_CRISIS_OVERDOSE);
    assert_intent("we gave him narcan twice and hes still not waking up", INTENT_CRISIS_OVERDOSE);
    assert_intent("my toddler got into my methadone and is super sleepy", INTENT_CRISIS_OVERDOSE);
    assert_intent("i took a double dose of my oxy and now i cant stay awake",
                  INTENT_CRISIS_OVERDOSE);
    assert_intent("my heart is racing and im burning up and confused after smoking meth",
                  INTENT_CRISIS_OVERDOSE);
    assert_intent("i have been saving up my pills for when im ready", INTENT_CRISIS_SUICIDE);
    assert_intent("im staring at my gun right now", INTENT_CRISIS_SUICIDE);
    assert_intent("sitting in the garage with the car running", INTENT_CRISIS_SUICIDE);
    assert_intent("i have decided to end it, i wrote the letters", INTENT_CRISIS_SUICIDE);
    assert_intent("my wife would get the life insurance and be better off", INTENT_CRISIS_SUICIDE);
    assert_intent("my leg is swollen and hot and now im short of breath", INTENT_MEDICAL_URGENT);
    assert_intent("coughing up blood and cant breathe after shooting", INTENT_MEDICAL_URGENT);
    assert_intent("my neck is swelling where i injected", INTENT_MEDICAL_URGENT);
    assert_intent(
        "my girlfriend said she loves me and to take care of her cat, she never talks like that",
        INTENT_CRISIS_SUICIDE);
    assert_intent("im tired of everything, done fighting, whoever reads this im sorry",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("no creo que siga aquí pal fin de semana", INTENT_MEDICAL_URGENT);
    assert_intent("tengo la mano morada y fría después de inyectarme y no la siento",
                  INTENT_MEDICAL_URGENT);
    assert_intent("ya tomé todas mis pastillas", INTENT_CRISIS_SUICIDE);
    /* Calm look-alikes. */
    assert_not_urgent("bro im dead 💀💀 that video");
    assert_not_urgent("lmaooo im dying 😂😂 this meme");
    assert_not_urgent("me muero de risa jajaja");
    assert_not_urgent("jajaja me muero con ese video");
    assert_not_urgent("te quiero mucho mi amor, ya voy para la casa");
    assert_not_urgent("love you so much babe, on my way home");
    assert_not_urgent("mi hijo ya dejó de usar, ¿cómo le ayudo a cuidar las heridas de los brazos "
                      "para que cierren bien?");
    assert_not_urgent("mi hermano tiene una raya oscura a lo largo de la vena del brazo, ¿eso es "
                      "lo que llaman track line?");
    assert_not_urgent("he overdosed last year, he's in recovery now");
    assert_not_urgent("I wanted to die for most of 2021, therapy helped");
    assert_not_urgent("last year, my brother overdosed twice, now hes 9 months clean");
    assert_not_urgent("my cousin tried to kill himself in 2018 and he is doing great now, how do i "
                      "support his recovery");
    assert_not_urgent("he overdosed and almost died last year, can he still get into your program");
    assert_not_urgent("i used to cut my arms when i was a teenager, the scars are still there, can "
                      "they be removed");
    assert_not_urgent("my dad sold his gun last year when he started treatment");
    assert_not_urgent("i bought a new belt for my interview tomorrow");
    assert_not_urgent("we bought a rope swing for the kids last summer");
    assert_not_urgent("my brother got a hunting rifle for deer season");
    assert_not_urgent("estaríamos mejor si mi hijo entrara a rehabilitación");
    assert_not_urgent("my family would be happier if i got clean");
    assert_not_urgent("i cut my finger while cooking");
    assert_not_urgent("me corté el pelo ayer");
    assert_not_urgent("i wont be here tomorrow, going camping with my kids");
    assert_not_urgent("what does an overdose look like");
    assert_not_urgent("what happens if someone ODs on fentanyl");
    assert_not_urgent("my arm is purple from the blood draw at the plasma center");
    assert_not_urgent("my hands go cold and purple in the winter");
    assert_not_urgent("my chest hurts from coughing all week");
    assert_not_urgent("said goodbye to everyone at the airport, moving to spain");
    assert_not_urgent("gave away all my old clothes, moving to texas next month");
    assert_not_urgent("my mom texted that she loves me and is proud of me, so sweet");
    assert_not_urgent("mi mamá me dijo que me quiere mucho por mi cumpleaños");
    assert_not_urgent("the dark line along my vein, is that a track mark");
    assert_not_urgent("how long does it take for a dark line along the vein to fade");
    assert_not_urgent("threw away my stash, done for good");
    assert_not_urgent("this heat is killing me");
    assert_not_urgent("my phone is dying");
    assert_not_urgent("hace un año se le puso la mano morada después de inyectarse, ya está bien, "
                      "cómo se quitan las marcas");
    assert_not_urgent("he keeps nodding off at work, is that a sign he needs treatment");
    assert_not_urgent("we found his pills last week, he is in detox now, what are visiting hours");
}

/*
 * Round 11: a question about wanting to die answered in the first person ("bc i do",
 * "es para mí"); a question about nobody next to a sentence that tells of a real person now;
 * Spanish diminutives and regional words (despacito, chiquititas, franja colorada,
 * afiebrado, piquete); a dose on top of a dose, feeling of going under, a lethal method
 * asked about, a relayed wish to die with medicine hidden. Both sides of each class.
 */
static void test_round11(void **state)
{
    (void)state;
    assert_intent("is this where u text if u want to kill urself? bc i do", INTENT_CRISIS_SUICIDE);
    assert_intent("do you help people who want to die? asking for me", INTENT_CRISIS_SUICIDE);
    assert_intent("is this the number for people who want to kill themselves? because i do",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("what do you do if you feel suicidal? i am right now", INTENT_CRISIS_SUICIDE);
    assert_intent("can you talk to someone who wants to end their life? thats me",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("is this line for if you want to kill yourself, cause i do",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("what happens if you text here wanting to die? i really do",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("es aquí donde escribes si quieres matarte? porque yo sí", INTENT_CRISIS_SUICIDE);
    assert_intent("ayudan a gente que tiene ganas de morir? es para mí", INTENT_CRISIS_SUICIDE);
    assert_intent("qué hago si quiero morir? pregunto por mí", INTENT_CRISIS_SUICIDE);
    assert_intent(
        "is it normal for someone to be this limp after using? he doesnt answer when i shake him",
        INTENT_CRISIS_OVERDOSE);
    assert_intent(
        "is it normal for someone to snore like that after using? my son is not waking up",
        INTENT_CRISIS_OVERDOSE);
    assert_intent(
        "what does it mean if someone's lips turn blue? my husband's lips are blue right now",
        INTENT_CRISIS_OVERDOSE);
    assert_intent("can someone breathe this slow after a shot? she is barely breathing",
                  INTENT_CRISIS_OVERDOSE);
    assert_intent("is it normal to be this floppy after dope? he will not wake up",
                  INTENT_CRISIS_OVERDOSE);
    assert_intent("what happens if someone wont wake up after fent? my brother is unresponsive",
                  INTENT_CRISIS_OVERDOSE);
    assert_intent("is it normal for a person to gurgle like that? my girlfriend is not responding",
                  INTENT_CRISIS_OVERDOSE);
    assert_intent("es normal que alguien quede así de flojo? mi hijo no despierta",
                  INTENT_CRISIS_OVERDOSE);
    assert_intent("is it bad if someone's arm goes dark after shooting? my arm turned black and i "
                  "cant feel it",
                  INTENT_MEDICAL_URGENT);
    assert_intent(
        "is it normal for a red line to go up the arm? mine is spreading and i have a fever",
        INTENT_MEDICAL_URGENT);
    assert_intent("mi hija respira bien despacito y tiene las pupilas chiquititas, ¿qué hago?",
                  INTENT_CRISIS_OVERDOSE);
    assert_intent("del piquete me sale como una vena roja que va subiendo y me siento afiebrado",
                  INTENT_MEDICAL_URGENT);
    assert_intent("mano, tengo una franja colorada que me va subiendo desde el codo y estoy con "
                  "escalofríos desde que me pinché ayer",
                  INTENT_MEDICAL_URGENT);
    assert_intent("mi novio respira poquito y tiene los labios moraditos", INTENT_CRISIS_OVERDOSE);
    assert_intent("mi hermano casi no respira y está bien flojito después de inyectarse",
                  INTENT_CRISIS_OVERDOSE);
    assert_intent("tengo una rayita roja que me sube por el brazo y tengo calentura",
                  INTENT_MEDICAL_URGENT);
    assert_intent("me salió una línea colorada desde el pinchazo y ando con fiebrita",
                  INTENT_MEDICAL_URGENT);
    assert_intent("mi mamá respira despacito y no despierta, se tomó sus pastillas",
                  INTENT_CRISIS_OVERDOSE);
    assert_intent("del pinchazo me sale una raya colorada hasta el codo y tengo escalofríos",
                  INTENT_MEDICAL_URGENT);
    assert_intent("mi hijo tiene las pupilitas y respira bien lentito después de la heroína",
                  INTENT_CRISIS_OVERDOSE);
    assert_intent("did way too big of a shot, everythings spinning and i feel like im going under",
                  INTENT_CRISIS_OVERDOSE);
    assert_intent("which vein do you hit so you don't survive it", INTENT_CRISIS_SUICIDE);
    assert_intent("my husband took his methadone and then his buddy gave him another dose, now hes "
                  "really hard to wake",
                  INTENT_CRISIS_OVERDOSE);
    assert_intent("my 70 yr old mom keeps saying shes ready to go be with dad and i just found out "
                  "shes been hiding her oxycodone instead of taking it",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("took way too much and im about to pass out", INTENT_CRISIS_OVERDOSE);
    assert_intent("shot was too big, im fading", INTENT_CRISIS_OVERDOSE);
    assert_intent("what artery do you cut so you don't survive", INTENT_CRISIS_SUICIDE);
    assert_intent("which pills do you take so you dont wake up", INTENT_CRISIS_SUICIDE);
    assert_intent("she had her suboxone and he gave her another dose, now she keeps nodding off "
                  "and hard to wake up",
                  INTENT_CRISIS_OVERDOSE);
    assert_intent(
        "my grandpa says hes ready to go be with grandma and hes been stashing his pain pills",
        INTENT_CRISIS_SUICIDE);
    assert_intent("me metí otra dosis encima de la otra y me estoy yendo", INTENT_CRISIS_OVERDOSE);
    assert_intent(
        "mi abuela dice que está lista para irse con mi abuelo y está escondiendo sus pastillas",
        INTENT_CRISIS_SUICIDE);
    /* Calm look-alikes. */
    assert_not_urgent("is this where you text if you want to quit using? because i do");
    assert_not_urgent("do you help people who want to get clean? asking for me");
    assert_not_urgent(
        "is this where you text if you want to get sober? im asking for a school project");
    assert_not_urgent("is this where you text if you need help with insurance? i do");
    assert_not_urgent("do you help people who want to stop drinking? thats me");
    assert_not_urgent("es aquí donde escribes si quieres dejar las drogas? porque yo sí");
    assert_not_urgent("what does an overdose look like? my son uses and i want to be ready");
    assert_not_urgent(
        "is it normal for someone to be this tired after detox? he sleeps a lot but wakes up fine");
    assert_not_urgent("what are the signs of an overdose? my brother just started treatment");
    assert_not_urgent(
        "is it normal for someone to sweat a lot in withdrawal? my husband is doing ok");
    assert_not_urgent("what happens if someone ods in your program? my son starts monday");
    assert_not_urgent("qué pasa si alguien tiene una sobredosis? mi hijo va a empezar el programa");
    assert_not_urgent("mi hijito está bien, ¿cuánto cuesta el programa?");
    assert_not_urgent("me duele poquito el brazo donde me sacaron sangre, es normal?");
    assert_not_urgent("tengo una rayita en el brazo de un rasguño del gato");
    assert_not_urgent("mi hija respira bien, ya se recuperó, gracias");
    assert_not_urgent("ahorita no puedo hablar, ¿me llaman mañanita?");
    assert_not_urgent("tengo las manos fríitas por el invierno");
    assert_not_urgent("¿cuánto tardan en quitarse las marcas de los piquetes?");
    assert_not_urgent("me siento un poquito mejor desde que empecé el tratamiento");
    assert_not_urgent("that burrito was way too big, about to pass out on the couch");
    assert_not_urgent("which vein do they use for a blood draw");
    assert_not_urgent(
        "my mom is ready to go home from the hospital and she takes her pills every day");
    assert_not_urgent("took my methadone this morning, what time does the clinic close");
    assert_not_urgent("he got a second dose of the vaccine and feels sleepy");
    assert_not_urgent("my grandma says shes ready to retire and shes been saving money");
    assert_not_urgent("what is the best way to heal track marks");
    assert_not_urgent("how deep do track marks scar");
    assert_not_urgent("my dad keeps saying hes ready to go to rehab");
    assert_not_urgent("la mejor manera de sanar las marcas de las venas");
}

/* Round 12: a crisis sign asserted of a real person now ("HOW DO I USE NARCAN SHES NOT
 * BREATHING") is not set aside by a question or a calm context elsewhere in the text; only a
 * hypothetical or generic marker over it, a past cue, a negation or an idiom sets it aside. */
static void test_round12(void **state)
{
    (void)state;
    assert_intent("how do i use narcan she's not breathing", INTENT_CRISIS_OVERDOSE);
    assert_intent("WHAT DO I DO HES NOT BREATHING AND HIS LIPS ARE BLUE", INTENT_CRISIS_OVERDOSE);
    assert_intent("HOW MUCH NARCAN DO I GIVE MY SON IS NOT WAKING UP", INTENT_CRISIS_OVERDOSE);
    assert_intent("we did narcan training last month but my brother is not breathing right now",
                  INTENT_CRISIS_OVERDOSE);
    assert_intent("how do you do a sternum rub he is not responding", INTENT_CRISIS_OVERDOSE);
    assert_intent("como se usa el narcan mi hermano no respira", INTENT_CRISIS_OVERDOSE);
    assert_intent("es normal que alguien no despierte despues de usar? mi novio esta asi ahorita",
                  INTENT_CRISIS_OVERDOSE);
    assert_intent("is it normal for someone to gurgle like that after a shot? my roommate is like "
                  "that right now",
                  INTENT_CRISIS_OVERDOSE);
    assert_intent("IF SOMEONE ODS WHAT DO I DO SHES NOT BREATHING", INTENT_CRISIS_OVERDOSE);
    assert_intent("im done. already said goodbye to my mom. thanks for trying tho",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("why am i still alive. i wish i just wouldnt wake up", INTENT_CRISIS_SUICIDE);
    assert_intent("por que sigo vivo. ya no quiero despertar", INTENT_CRISIS_SUICIDE);
    assert_intent("my foot is like ice and turning purplish since i shot in my ankle yesterday",
                  INTENT_MEDICAL_URGENT);
    assert_intent(
        "woke up and my fingers are like ice and bluish, i injected in my hand last night",
        INTENT_MEDICAL_URGENT);
    assert_intent("my arm is like ice and grayish where i injected this morning",
                  INTENT_MEDICAL_URGENT);
    assert_not_urgent("what do you do if someone stops breathing");
    assert_not_urgent("how do i use narcan if someone isnt breathing");
    assert_not_urgent("what happens if a person stops breathing after using fentanyl?");
    assert_not_urgent("WHAT IF SHES NOT BREATHING, HOW DO I USE NARCAN");
    assert_not_urgent(
        "in general how long does someone have after they stop breathing from an overdose?");
    assert_not_urgent("qué pasa si alguien no respira después de usar heroína?");
    assert_not_urgent("es normal que alguien ronque raro despues de usar heroina?");
    assert_not_urgent(
        "so tired of waking up sick every morning. i want off fentanyl for real this time");
    assert_not_urgent("My son is on fentanyl and every night I'm terrified he won't wake up. How "
                      "do we get him into detox?");
    assert_not_urgent("narcan training taught us about blue lips, where can i get a kit");
    assert_not_urgent(
        "just in case, if i ever found my son not breathing, narcan first or 911 first?");
    assert_not_urgent(
        "my brother stopped breathing last year and narcan saved him, he is doing great now");
    assert_not_urgent("my hands are like ice in the winter, is that from poor circulation?");
    assert_not_urgent("i'm ready. packed my bag and said bye to my kids, heading to your intake "
                      "tomorrow. whats the address?");
    assert_not_urgent("is it normal to snore after using? my dad snores like that every night");
    /* No point in being alive, in its forms, after a relapse too; a meeting is not life. */
    assert_intent("clean 40 days and relapsed today. honestly i dont see the point in being "
                  "alive anymore",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("ya no le encuentro sentido a la vida", INTENT_CRISIS_SUICIDE);
    assert_not_urgent("i dont see the point in going to that meeting");
}

/* Round 13 (set31-34, crisis35): a question frame over what one sees, passive ideation in a
 * conditional, decisions said after something calm, stimulant signs, and look-alikes. */
static void test_round13(void **state)
{
    (void)state;
    /* "is it normal" over a danger sign with a real person or moment in the text. */
    assert_intent("is that normal for somebody to go gray after a hit?? she wont answer me",
                  INTENT_CRISIS_OVERDOSE);
    assert_intent(
        "is it ok to breathe like every 20 seconds after using? my cousin is like that now",
        INTENT_CRISIS_OVERDOSE);
    assert_intent(
        "es normal que alguien no despierte despues de inyectarse? ya lleva como 15 minutos",
        INTENT_CRISIS_OVERDOSE);
    assert_not_urgent("what happens if someone goes grey after using, is that bad");
    assert_not_urgent("is it normal to snore after using? my uncle snores like that all the time");
    /* Nobody would notice, they'd be relieved, were I gone. */
    assert_intent("honestly no one would even notice if i wasnt here anymore",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("mis hijos estarían más tranquilos si yo ya no estuviera", INTENT_CRISIS_SUICIDE);
    /* A decision or a final act said after something calm. */
    assert_intent("do you take cigna? doesnt matter much, i decided this weekend is my last day",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("if you dont hear from me tomorrow just know i did my best",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("i cant see myself still being around by next week", INTENT_CRISIS_SUICIDE);
    assert_intent("used again. made up my mind, going big tonight with the whole bag",
                  INTENT_CRISIS_SUICIDE);
    assert_not_urgent("tomorrow is my last day in detox, then i go home to my sister, so happy");
    /* Stimulant overdose told by its signs after "overdid it"; an infection after a question. */
    assert_intent("i think i overdid it with the coke, heart is racing and im shaking all over",
                  INTENT_CRISIS_OVERDOSE);
    assert_intent("my brother did a line and now hes twitching and cant talk",
                  INTENT_CRISIS_OVERDOSE);
    assert_not_urgent("overdid it on coffee this morning, heart pounding lol. what are your hours");
    assert_intent("does aetna cover detox? also my leg is red from my ankle to the knee and i feel "
                  "like i have the flu",
                  INTENT_MEDICAL_URGENT);
    /* Look-alikes: things that die, idioms, a wish to change, readiness, fear of the future. */
    assert_not_urgent("my tomato plant is dying, do u know a nursery");
    assert_not_urgent("se me está muriendo el cel, luego les marco");
    assert_not_urgent("id rather die than go to that wedding lol");
    assert_intent("id rather die than keep living like this", INTENT_CRISIS_SUICIDE);
    assert_not_urgent("sick of living like this, i want to get clean, where do i start");
    assert_not_urgent("cansado de vivir así, quiero dejar las drogas, ¿qué hago?");
    assert_not_urgent("where do i buy narcan to keep in my car, just want to be prepared");
    assert_not_urgent("my leg went numb bc i sat on it wrong lol what time do u close");
    assert_not_urgent("im scared ill have a seizure when i stop drinking, do you do medical detox");
}

static void test_round14(void **state)
{
    (void)state;
    /* Withdrawal emergencies: alcohol or benzodiazepine withdrawal with a seizure,
     * hallucinations, confusion (delirium tremens); a question, a fear or an old seizure stays
     * calm. */
    assert_intent("my uncle stopped drinking on friday and now hes seeing spiders on the ceiling "
                  "and shaking",
                  INTENT_MEDICAL_URGENT);
    assert_intent("she ran out of her xanax 3 days ago and just had a seizure in the living room",
                  INTENT_MEDICAL_URGENT);
    assert_intent("mi tío lleva 4 días sin tomar y está alucinando, no sabe dónde está",
                  INTENT_MEDICAL_URGENT);
    assert_not_urgent("can alcohol withdrawal cause seizures? my wife wants to quit drinking");
    assert_not_urgent("¿la abstinencia de las pastillas puede dar convulsiones? mi hermano quiere "
                      "dejarlas");
    assert_not_urgent(
        "im afraid ill get the shakes when i stop drinking, does detox help with that");
    /* Methods and plans, sedatives with alcohol, a child who ate drugs. */
    assert_intent("found out my son has been googling how to hang himself, hes upstairs now",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("if a bus hit me tomorrow i honestly wouldnt care", INTENT_CRISIS_SUICIDE);
    assert_intent("ya tengo todo listo para matarme el viernes", INTENT_CRISIS_SUICIDE);
    assert_intent("thinking about doing a hotshot on purpose tonight", INTENT_CRISIS_SUICIDE);
    assert_intent("i took 5 klonopin and most of a bottle of vodka", INTENT_CRISIS_OVERDOSE);
    assert_intent("se tomó 6 pastillas para dormir con tequila", INTENT_CRISIS_OVERDOSE);
    assert_intent("mi niña se comió unas gomitas de mota y está bien aguadita",
                  INTENT_CRISIS_OVERDOSE);
    /* A sign said of a real person now is not outweighed by a question after "and". */
    assert_intent("my brother is passed out on the floor and not breathing right and what time "
                  "do you close",
                  INTENT_CRISIS_OVERDOSE);
    /* "is it bad if" over what one is looking at. */
    assert_intent("is it bad if someone wont wake up after a shot? my roommate is like that rn",
                  INTENT_CRISIS_OVERDOSE);
    assert_not_urgent("is it bad if i drink coffee while on suboxone");
    /* Chest pain after injecting; coughing blood told in the first person. */
    assert_intent("siento presión en el pecho desde que me inyecté hace un rato",
                  INTENT_MEDICAL_URGENT);
    assert_not_urgent("me duele el pecho de tanto reírme con mi hermana jaja, ¿tienen grupos?");
    /* Look-alikes: ongoing use, courses and the news, whom the center treats, idioms. */
    assert_not_urgent("mi primo tuvo una sobredosis en 2021 y desde entonces no ha dejado de "
                      "usar, ¿cómo lo internamos?");
    assert_not_urgent("do you treat patients with bipolar and suicidal thoughts too?");
    assert_not_urgent("tomé un taller de prevención del suicidio en mi trabajo, ¿tienen folletos?");
    assert_not_urgent("ya no quiero vivir en este departamento, el casero no arregla nada");
    assert_intent("ya no quiero vivir en este mundo", INTENT_CRISIS_SUICIDE);
    assert_not_urgent("esta tarea me va a matar jaja");
    assert_not_urgent("ya me voy a dormir, gracias por todo");
    assert_not_urgent("nobody would notice if i left the party early lol");
    assert_not_urgent("the red streak is gone now after the antibiotics, when can i go back to "
                      "the gym");
    /* Opioid withdrawal is miserable but not the emergency that alcohol or benzodiazepine
     * withdrawal can be: shaking and sweats page only with those; a seizure or
     * hallucinations page with any withdrawal. */
    assert_not_urgent("cant stop shaking and puking, day 2 off dope. can i get into detox today");
    assert_intent("day 3 since her last drink, she cant stop shaking and shes drenched in sweat",
                  INTENT_MEDICAL_URGENT);
    assert_intent("day 3 cold turkey and he just had a seizure", INTENT_MEDICAL_URGENT);
    assert_not_urgent("so sick of waking up dopesick. ready to get clean, how do i start");
    assert_intent("sick of waking up. i dont want to anymore", INTENT_CRISIS_SUICIDE);
}

/* The learned safety net on: crises phrased as no rule foresaw are raised, with the
 * probability and the words that weighed in the explanation; crisis words the rules set
 * aside for an ordinary reason stay aside; keywords and calm questions are untouched. */
static void test_round15(void **state)
{
    (void)state;
    /* No point in waking up, tired of being alive; an early alarm or dope sickness is not. */
    assert_intent("honestly i cant see the point of waking up anymore", INTENT_CRISIS_SUICIDE);
    assert_intent("no le veo sentido a despertar mañana", INTENT_CRISIS_SUICIDE);
    assert_intent("so sick of waking up every day, wish it would just stop", INTENT_CRISIS_SUICIDE);
    assert_intent("estoy harto de despertar cada mañana", INTENT_CRISIS_SUICIDE);
    assert_not_urgent("i dont see the point of waking up early on my day off lol");
    assert_not_urgent("tired of waking up dope sick every morning, can i get into detox this week");
    /* Gone, and not there to see it; a hidden plan; a burden resolved. */
    assert_intent("do scars fade after a year? i probably wont be here to see it anyway",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("do you guys answer late? need to tell someone thanks before i do what i have "
                  "planned tonight",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("lol ive been a burden my whole life, time to do everyone a favor",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("soy una carga para todos jaja, mejor les hago un favor", INTENT_CRISIS_SUICIDE);
    assert_not_urgent(
        "what time is the pickup? i wont be here tomorrow, going camping with my son");
    /* Not sure how much, or more than meant, with a sign. */
    assert_intent("no idea how many i took and everything is spinning", INTENT_CRISIS_OVERDOSE);
    assert_intent("no sé cuántas me tomé y todo me da vueltas", INTENT_CRISIS_OVERDOSE);
    assert_intent("not to sound dramatic but i did way more than i meant to and my heart is racing",
                  INTENT_CRISIS_OVERDOSE);
    assert_intent("mi amigo se picó en el cuello y dice que le falta el aire",
                  INTENT_MEDICAL_URGENT);
    /* A state that goes on after a question told about "your" leg. */
    assert_intent("is it normal for your foot to go cold and numb after hitting the groin? its "
                  "been like that all day",
                  INTENT_MEDICAL_URGENT);
    /* Look-alikes: a resolved overdose, a wish to get treatment, long term effects, events,
     * laughter, a narcan expiry date. */
    assert_not_urgent("my cousin took too much at a party saturday but the paramedics came and "
                      "hes home and ok. does your program take medi-cal");
    assert_not_urgent("necesito ayuda para dejar la heroína, ya no aguanto");
    assert_not_urgent("can shooting up cause cold hands long term? my mom is 2 years clean");
    assert_not_urgent("signing up for the overdose awareness walk next month, is it free");
    assert_not_urgent("that concert was insane, im dead");
    assert_not_urgent("el partido de ayer me mató jajaja");
    assert_not_urgent("does narcan expire? mine is from 2021");
    assert_not_urgent("¿el narcan caduca? el mío es de hace dos años");
}

static void test_round16(void **state)
{
    (void)state;
    /* A calm word reaches the rule's own clauses, or its window with no "now" between: a
     * long story of a lost job or a partner told before "and now" does not hide a means. */
    assert_intent("so i got evicted in may, my boyfriend moved out, spent the summer couch "
                  "surfing, and now im sitting on the overpass railing",
                  INTENT_CRISIS_SUICIDE);
    assert_intent(
        "perdí el trabajo en enero, mi novia se fue, y ahorita estoy sentado en el puente",
        INTENT_CRISIS_SUICIDE);
    assert_not_urgent(
        "my boyfriend and i are moving out, garage is ready for the yard sale saturday");
    assert_not_urgent("got my rifle ready for deer season, does your program let me keep my job");
    /* A means said ready with the verb dropped ("the belt's ready"). */
    assert_intent("whatever. told them i was fine for years. the belt's ready",
                  INTENT_CRISIS_SUICIDE);
    assert_intent("ya me cansé de esperar, la navaja lista", INTENT_CRISIS_SUICIDE);
    assert_not_urgent("im ready to take the train to your clinic tomorrow");
    /* A carrier's name is no colour; marks in a line are no line of powder (set48). */
    assert_not_urgent("my plan is anthem blue cross, would it cover a detox stay?");
    assert_intent("he is blue and not breathing", INTENT_CRISIS_OVERDOSE);
    assert_not_urgent("saw little scabs in a line on my sons arm. are those track marks?");
    assert_intent("my 3 year old got into my pills, he is really sleepy", INTENT_CRISIS_OVERDOSE);
}

static void test_safety_net(void **state)
{
    (void)state;
    const struct urgency_model *model = matcher_urgency_model(matcher);
    assert_non_null(model);
    static const char *const novel[] = {
        "i dont see the point of waking up tomorrow",
        "not tryna be dramatic but i took way more than i meant to and my heart is pounding "
        "and i cant feel my face",
    };
    for (size_t i = 0; i < sizeof novel / sizeof novel[0]; i++) {
        struct match_explain why;
        struct match_result r = classify(novel[i], &why);
        assert_false(why.net);
        if (intent_escalation(r.intent) == ESCALATE_URGENT)
            continue; /* the rules have learned it since: nothing left for the net */
        matcher_set_urgency_model(matcher, model);
        r = classify(novel[i], &why);
        matcher_set_urgency_model(matcher, NULL);
        if (intent_escalation(r.intent) != ESCALATE_URGENT)
            fail_msg("'%s': got %s (p=%.3f)", novel[i], intent_name(r.intent), why.urgency);
        assert_true(why.net);
        assert_true(why.urgency_threshold == URGENCY_THRESHOLD ||
                    why.urgency_threshold == URGENCY_THRESHOLD_WORDS);
        assert_true(why.urgency >= why.urgency_threshold);
        assert_true(r.confidence >= why.urgency_threshold);
        assert_true(why.net_words[0] != '\0');
        assert_non_null(strstr(why.reason, "safety net"));
        /* Without an explanation asked for, the same decision. */
        matcher_set_urgency_model(matcher, model);
        struct match_result quiet = classify(novel[i], NULL);
        matcher_set_urgency_model(matcher, NULL);
        assert_int_equal(quiet.intent, r.intent);
    }
    static const char *const calm[] = {
        "i wont be here tomorrow, going camping with my kids",
        "no voy a estar mañana, tengo cita con el doctor",
        "i wont be around this weekend, going to my sisters",
        "STOP",
        "what time do you open",
        "do you take cigna",
    };
    matcher_set_urgency_model(matcher, model);
    for (size_t i = 0; i < sizeof calm / sizeof calm[0]; i++) {
        struct match_explain why;
        struct match_result r = classify(calm[i], &why);
        if (intent_escalation(r.intent) == ESCALATE_URGENT)
            fail_msg("'%s': got %s (%s)", calm[i], intent_name(r.intent), why.reason);
        assert_false(why.net);
    }
    matcher_set_urgency_model(matcher, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalisation),
        cmocka_unit_test(test_accents_do_not_matter),
        cmocka_unit_test(test_compliance_keywords_only_when_bare),
        cmocka_unit_test(test_opt_out_about_someone_else),
        cmocka_unit_test(test_crisis_wins_over_questions),
        cmocka_unit_test(test_hypotheticals_and_past_are_not_crises),
        cmocka_unit_test(test_idioms_and_statements),
        cmocka_unit_test(test_present_idiom_and_negation),
        cmocka_unit_test(test_typos_and_text_speak),
        cmocka_unit_test(test_small_talk_only_when_nothing_asked),
        cmocka_unit_test(test_language),
        cmocka_unit_test(test_self_harm),
        cmocka_unit_test(test_passive_goodbyes),
        cmocka_unit_test(test_intent_look_alikes),
        cmocka_unit_test(test_crisis_rules),
        cmocka_unit_test(test_crisis_rules_by_class),
        cmocka_unit_test(test_clinical_checklists),
        cmocka_unit_test(test_round8_rules),
        cmocka_unit_test(test_round9_crisis),
        cmocka_unit_test(test_round9_intents),
        cmocka_unit_test(test_round10),
        cmocka_unit_test(test_round11),
        cmocka_unit_test(test_round12),
        cmocka_unit_test(test_round13),
        cmocka_unit_test(test_round14),
        cmocka_unit_test(test_round15),
        cmocka_unit_test(test_round16),
        cmocka_unit_test(test_safety_net),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
