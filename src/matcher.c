/*
 * matcher: what a text means.
 *
 * A text goes through five stages, each cheap enough that the whole costs a few
 * microseconds:
 *
 *  1. Folding (utf8proc): compatibility normalisation, case folding, accents stripped
 *     ("Adicción" and "adiccion" meet), curly quotes lumped to ASCII, then split into
 *     words and sentences. Emoji become one-character words so that replies/ may give
 *     them meaning in the shorthand table.
 *  2. Words: text-speak expansion from lexicon.json ("u" -> "you", "od'd" ->
 *     "overdosed"), runs of a repeated letter collapsed ("helppp"), contractions text-speak
 *     does not list split ("who've", "he'll" is not "hell"), a dropped final g restored
 *     ("goin"), then typo correction: a word that is neither in replies/, nor a form of a
 *     stem replies/ uses, nor in Debian's English and Spanish word lists is corrected to
 *     the cheapest known word by a weighted Damerau-Levenshtein distance (typo_cost:
 *     swaps, dropped or doubled letters and keyboard neighbours are cheap slips, a changed
 *     first letter is dear), within a budget by length (one edit up to 6 letters, two from
 *     7), ties to the word replies/ uses most. Candidates come from a symmetric-delete
 *     index of the words and text-speak of replies/ ("wnana" is "wanna"), and the
 *     dictionary words one slip away whose stem phrases use ("slittign").
 *     Then Snowball's English and Spanish stemmers. This per-word work is memoised,
 *     with the word's share of the similarity below: texters reuse a small vocabulary.
 *  3. Evidence: weighted phrases from replies/ matched in order with small gaps
 *     ("want to die" finds "want to fucking die"; articles inside a phrase are optional;
 *     in a text plainly in one language, a word only that language's dictionary knows
 *     never stands for a phrase word of the other: "quit" is not "quitarse"),
 *     each phrase's weight shared among the intents that list it, and a phrase inside a
 *     longer matched phrase not counted ("blue" in "blue cross"); and a cosine
 *     similarity over character trigrams and word stems (TF-IDF), half to each intent's
 *     centroid and half to its nearest example text, which carries texts that use none
 *     of the phrases.
 *  4. Decision, in order of what matters most: a whole-message compliance keyword
 *     (STOP, HELP, START...); then crisis signs, which win over any question in the same
 *     text. A sign is set aside only when it is part of a figure of speech ("this heat is
 *     killing me", the "idiom" cues), when a negation denies it ("not suicidal", "no me
 *     quiero matar"; a phrase never matches across a negation either), when its clause
 *     tells of a past event ("overdosed last year") with no present cue ("now", "again")
 *     between the two (a date covers its own clause only, never one where someone keeps
 *     doing it, and a means bought or found stays at hand: see time_anchor, past_proof_names), or,
 * for overdose and medical signs, when the sentence is about nobody in particular and asks or
 * supposes ("what happens if someone ODs?") without saying "now", or says that what it tells is not
 * happening now (the "unreal" cues: "in case my son ever ODs", "all the time", "like the doctor
 * said"); thoughts of suicide are never explained away by the question form, only self-injury told
 * with an accident ("cut my hand while cooking"), an absence with an ordinary reason ("won't be
 * here tomorrow, going camping"): cues built into this file (builtin_cues), and a goodbye with an
 * ordinary parting ("said goodbye to everyone at the airport, moving to spain": goodbye_words and
 * the calm_trip concept). A text whose only crisis words were idioms or denied is not raised by its
 * similarity to the crisis examples either. Crisis rules from lexicon.json raise a crisis when
 * their concepts meet within a few words ("burning" + "my forearm", "tonight" + "wrote a letter",
 * "hand" + "turned dark" + "hit a vein"), with the same set-asides as phrases and their own
 * "unless" concepts: one rule stands for many phrasings. The rules follow the clinical checklists
 * (opioid and stimulant overdose signs, the Columbia suicide-risk items, injection emergencies);
 * words said once meet one slot of a rule, and a few calm concepts also set aside the weak phrases
 * of their crisis (weak_calm_names). A strong sign raises the crisis alone; weak ones
 *     ("blue", "cold", "after I shot up") need each other's company or the best score.
 *     A safety net raises a crisis for a text with one danger concept said in earnest (a
 *     means, an ending, an overdose sign, bleeding) that reads like that crisis's examples,
 *     below the similarity that raises one alone (net_names, NET_NEAREST, NET_SIM).
 *     Then the best scoring intent, with greetings and thanks only when nothing else is
 *     asked (a greeting must open the text), and fallback when the evidence is thin.
 *  5. A text read as a question about something else (insurance, hours, the book, a
 *     person, a greeting) that has crisis words is read once more without the sentences
 *     that alone ask about something else: a crisis is not diluted by the question it
 *     follows ("do u take cigna? said bye to my mom. its time"); see matcher_classify.
 *
 * Language is decided from per-word Spanish/English log-odds (Naive Bayes over the
 * example texts and phrases, and the word lists for other words), plus accents and
 * inverted punctuation; words from text-speak expansions carry no language.
 */
#include "hotline/matcher.h"

#include <ctype.h>
#include <libstemmer.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <utf8proc.h>

#include "hotline/urgency.h"

/* A set of concepts of lexicon.json, bit i for concept i (MAX_CONCEPTS of them). */
__extension__ typedef unsigned __int128 concept_mask;

#define MAX_TEXT_BYTES 4096 /* Twilio bodies are at most 1600 characters */
#define MAX_TOKENS 256
#define MAX_WORD 48
#define MAX_PHRASE_TOKENS 8
#define MAX_GAP 2          /* extra words allowed between two words of a phrase */
#define CACHE_LIMIT 200000 /* memoised words; past this, words are recomputed */

#define WEIGHT_STRONG 3.0
#define WEIGHT_WEAK 1.0
#define POSTING_MAX_SHARE 50  /* features in over 1/50 of the examples get no postings */
#define NEAREST_SHARE 0.5     /* of the similarity: nearest example vs intent centroid */
#define SIM_WEIGHT 3.0        /* a perfect example match is worth a strong phrase and a bit */
#define FALLBACK_BELOW 1.2    /* total evidence below this: fallback */
#define NEAREST_CRISIS 0.6    /* as close to one crisis example as this raises the crisis */
#define SIM_CRISIS 0.55       /* similarity to a crisis intent that alone raises it */
#define WEAK_CRISIS_SHARE 0.4 /* weak crisis signs must reach this share of the best other */
#define LANG_SURE_ODDS 1.0    /* |Spanish log-odds| from which a text is sure of its language */
/* The safety net: a text with one danger concept of a crisis's rules (a means, a time
 * with an ending, a breathing sign, a dose) and no complete rule is raised when it reads
 * this much like that crisis's examples. Tuned on replies/examples/train and the extra sets:
 * 0.35/0.30 raised dev-like false alarms past 1%. */
#define NET_NEAREST 0.40
#define NET_SIM 0.35
#define RULE_SCORE 1.5   /* what a crisis rule met adds to its intent's score */
#define NEGATION_REACH 4 /* words a negation may stand before the crisis sign it denies */

enum cue {
    CUE_HYPOTHETICAL,
    CUE_PAST,
    CUE_THIRD_PARTY,
    CUE_PERSONAL,
    CUE_QUESTION,
    CUE_PRESENT, /* "now", "again", "tonight": what follows a past event happens now */
    CUE_IDIOM,   /* "is killing me", "dying to know": a figure of speech, matched word for word */
    CUE_UNREAL,  /* "in case he ever", "all the time", "how would i know if": not happening now */
    CUE_ONGOING, /* "won't stop", "keeps", "no deja de": someone else keeps doing something */
    /* Built in (builtin_cues below), not in lexicon.json: */
    CUE_ACCIDENT, /* "while cooking", "sin querer": an injury that was no self-harm */
    CUE_ABSENCE,  /* "won't be here", "no voy a estar": away, or gone for good */
    CUE_AWAY,     /* "out of town", "going camping", "instead": an absence with a reason */
    CUE_LEARNED, /* "they warned us about", "nos enseñaron": a sign known from a class, seen now */
    CUE_LAUGH,   /* "lmao", "💀", "jajaja": "i'm dead" is laughing, not dying */
    CUE_COUNT
};
static const char *const cue_names[CUE_COUNT] = {
    "hypothetical", "past",    "third_party", "personal", "question", "present", "idiom",
    "unreal",       "ongoing", "accident",    "absence",  "away",     "learned", "laugh"};

/*
 * Cues the matcher itself knows, because replies/ (lexicon.json) names only the cues
 * above them. An injury told with an accident cue in its sentence ("i got a cut on my arm
 * from the kitchen", "me corté cocinando") is no self-harm; "I won't be here tomorrow" is
 * a goodbye unless the text gives an ordinary reason to be away ("going camping, can
 * someone call me Thursday instead"). Keep the reasons plainly ordinary: "call me" or
 * "text me" are no reason ("I won't be around much longer, can someone call me").
 */
static const struct {
    int cue;
    enum lang lang;
    const char *text;
} builtin_cues[] = {
    {CUE_ACCIDENT, LANG_EN, "by accident"},
    {CUE_ACCIDENT, LANG_EN, "on accident"},
    {CUE_ACCIDENT, LANG_EN, "accidentally"},
    {CUE_ACCIDENT, LANG_EN, "from the kitchen"},
    {CUE_ACCIDENT, LANG_EN, "in the kitchen"},
    {CUE_ACCIDENT, LANG_EN, "while cooking"},
    {CUE_ACCIDENT, LANG_EN, "cooking"},
    {CUE_ACCIDENT, LANG_EN, "chopping"},
    {CUE_ACCIDENT, LANG_EN, "shaving"},
    {CUE_ACCIDENT, LANG_EN, "on the stove"},
    {CUE_ACCIDENT, LANG_EN, "on the oven"},
    {CUE_ACCIDENT, LANG_EN, "curling iron"},
    {CUE_ACCIDENT, LANG_EN, "at the gym"},
    {CUE_ACCIDENT, LANG_EN, "working out"},
    {CUE_ACCIDENT, LANG_EN, "from surgery"},
    {CUE_ACCIDENT, LANG_EN, "paper cut"},
    {CUE_ACCIDENT, LANG_ES, "sin querer"},
    {CUE_ACCIDENT, LANG_ES, "por accidente"},
    {CUE_ACCIDENT, LANG_ES, "accidentalmente"},
    {CUE_ACCIDENT, LANG_ES, "cocinando"},
    {CUE_ACCIDENT, LANG_ES, "en la cocina"},
    {CUE_ACCIDENT, LANG_ES, "picando"},
    {CUE_ACCIDENT, LANG_ES, "afeitándome"},
    {CUE_ACCIDENT, LANG_ES, "rasurándome"},
    {CUE_ACCIDENT, LANG_ES, "de la cirugía"},
    {CUE_ACCIDENT, LANG_EN, "making dinner"},
    {CUE_ACCIDENT, LANG_EN, "baking"},
    {CUE_ACCIDENT, LANG_EN, "ironing"},
    {CUE_ACCIDENT, LANG_EN, "the oven"},
    {CUE_ACCIDENT, LANG_ES, "la estufa"},
    {CUE_ACCIDENT, LANG_ES, "el comal"},
    {CUE_ACCIDENT, LANG_ES, "la plancha"},
    {CUE_ACCIDENT, LANG_ES, "el horno"},
    {CUE_ACCIDENT, LANG_ES, "haciendo de comer"},
    {CUE_ABSENCE, LANG_EN, "will not be here"},
    {CUE_ABSENCE, LANG_EN, "will not be around"},
    {CUE_ABSENCE, LANG_EN, "will not be home"},
    {CUE_ABSENCE, LANG_EN, "will not be available"},
    {CUE_ABSENCE, LANG_EN, "not going to be here"},
    {CUE_ABSENCE, LANG_EN, "not going to be around"},
    {CUE_ABSENCE, LANG_EN, "be gone"},
    {CUE_ABSENCE, LANG_EN, "think i will be here"},
    {CUE_ABSENCE, LANG_EN, "think i will be around"},
    {CUE_ABSENCE, LANG_EN, "think i will be home"},
    {CUE_ABSENCE, LANG_EN, "be away"},
    {CUE_ABSENCE, LANG_ES, "no voy a estar"},
    {CUE_ABSENCE, LANG_ES, "no estaré"},
    {CUE_ABSENCE, LANG_ES, "no voy a poder estar"},
    {CUE_AWAY, LANG_EN, "camping"},
    {CUE_AWAY, LANG_EN, "out of town"},
    {CUE_AWAY, LANG_EN, "out of state"},
    {CUE_AWAY, LANG_EN, "vacation"},
    {CUE_AWAY, LANG_EN, "on a trip"},
    {CUE_AWAY, LANG_EN, "business trip"},
    {CUE_AWAY, LANG_EN, "road trip"},
    {CUE_AWAY, LANG_EN, "traveling"},
    {CUE_AWAY, LANG_EN, "travelling"},
    {CUE_AWAY, LANG_EN, "my flight"},
    {CUE_AWAY, LANG_EN, "visiting"},
    {CUE_AWAY, LANG_EN, "at work"},
    {CUE_AWAY, LANG_EN, "working"},
    {CUE_AWAY, LANG_EN, "my shift"},
    {CUE_AWAY, LANG_EN, "appointment"},
    {CUE_AWAY, LANG_EN, "court"},
    {CUE_AWAY, LANG_EN, "instead"},
    {CUE_AWAY, LANG_EN, "reschedule"},
    {CUE_AWAY, LANG_EN, "available"},
    {CUE_AWAY, LANG_EN, "be back"},
    {CUE_AWAY, LANG_EN, "back on"},
    {CUE_AWAY, LANG_EN, "wedding"},
    {CUE_AWAY, LANG_EN, "a funeral"},
    {CUE_AWAY, LANG_EN, "the funeral"},
    {CUE_AWAY, LANG_EN, "his funeral"},
    {CUE_AWAY, LANG_EN, "her funeral"},
    {CUE_AWAY, LANG_EN, "grandma's funeral"},
    {CUE_AWAY, LANG_EN, "grandpa's funeral"},
    {CUE_AWAY, LANG_ES, "de viaje"},
    {CUE_AWAY, LANG_ES, "vacaciones"},
    {CUE_AWAY, LANG_ES, "fuera de la ciudad"},
    {CUE_AWAY, LANG_ES, "trabajando"},
    {CUE_AWAY, LANG_ES, "en el trabajo"},
    {CUE_AWAY, LANG_ES, "turno"},
    {CUE_AWAY, LANG_ES, "cita"},
    {CUE_AWAY, LANG_ES, "disponible"},
    {CUE_AWAY, LANG_ES, "en casa"},
    {CUE_AWAY, LANG_ES, "regreso el"},
    {CUE_AWAY, LANG_ES, "vuelvo el"},
    {CUE_AWAY, LANG_EN, "going to my"},
    {CUE_AWAY, LANG_EN, "heading to my"},
    {CUE_AWAY, LANG_EN, "staying with"},
    {CUE_AWAY, LANG_EN, "staying at"},
    {CUE_AWAY, LANG_EN, "at my sister"},
    {CUE_AWAY, LANG_EN, "at my mom"},
    {CUE_AWAY, LANG_EN, "at my parents"},
    {CUE_AWAY, LANG_EN, "at my dad"},
    {CUE_AWAY, LANG_EN, "at my brother"},
    {CUE_AWAY, LANG_EN, "at my friend"},
    {CUE_AWAY, LANG_ES, "en casa de"},
    {CUE_AWAY, LANG_ES, "voy a casa de"},
    {CUE_AWAY, LANG_ES, "me voy con"},
    {CUE_AWAY, LANG_ES, "me quedo con"},
    {CUE_AWAY, LANG_ES, "mejor el"},
    {CUE_AWAY, LANG_ES, "en su lugar"},
    {CUE_AWAY, LANG_ES, "boda"},
    /* A sign recognised from a class is happening: "he's making that snoring sound they
     * warned us about at the narcan training" is no class. */
    {CUE_LEARNED, LANG_EN, "warned us about"},
    {CUE_LEARNED, LANG_EN, "warned us"},
    {CUE_LEARNED, LANG_EN, "they told us about"},
    {CUE_LEARNED, LANG_EN, "taught us about"},
    {CUE_LEARNED, LANG_EN, "they taught us"},
    {CUE_LEARNED, LANG_EN, "they showed us"},
    {CUE_LEARNED, LANG_EN, "we learned about"},
    {CUE_LEARNED, LANG_EN, "like they said at"},
    {CUE_LEARNED, LANG_EN, "just like they said"},
    {CUE_LEARNED, LANG_ES, "nos enseñaron"},
    {CUE_LEARNED, LANG_ES, "nos advirtieron"},
    {CUE_LEARNED, LANG_ES, "nos dijeron en"},
    {CUE_LEARNED, LANG_ES, "como nos dijeron"},
    /* Laughter: in its sentence, "dead" or "dying" alone is a figure of speech ("bro im dead
     * 💀💀 that video", "me muero jajaja"); see laughing_words. */
    {CUE_LAUGH, LANG_EN, "lmao"},
    {CUE_LAUGH, LANG_EN, "lmfao"},
    {CUE_LAUGH, LANG_EN, "lol"},
    {CUE_LAUGH, LANG_EN, "haha"},
    {CUE_LAUGH, LANG_EN, "hahaha"},
    {CUE_LAUGH, LANG_EN, "rofl"},
    {CUE_LAUGH, LANG_EN, "that video"},
    {CUE_LAUGH, LANG_EN, "so funny"},
    {CUE_LAUGH, LANG_EN, "hilarious"},
    {CUE_LAUGH, LANG_EN, "\U0001F480"},
    {CUE_LAUGH, LANG_EN, "\U0001F602"},
    {CUE_LAUGH, LANG_EN, "\U0001F923"},
    {CUE_LAUGH, LANG_ES, "jaja"},
    {CUE_LAUGH, LANG_ES, "jajaja"},
    {CUE_LAUGH, LANG_ES, "de risa"},
    {CUE_LAUGH, LANG_ES, "ese video"},
    {CUE_LAUGH, LANG_ES, "qué risa"},
    /* An evening told with delight ("the concert last night was insane, im dead"). */
    {CUE_LAUGH, LANG_EN, "concert"},
    {CUE_LAUGH, LANG_EN, "was insane"},
    {CUE_LAUGH, LANG_EN, "too funny"},
    {CUE_LAUGH, LANG_EN, "that meme"},
    {CUE_LAUGH, LANG_ES, "el concierto"},
    {CUE_LAUGH, LANG_ES, "estuvo buenísimo"},
    {CUE_LAUGH, LANG_ES, "qué chistoso"},
};

/* Words of dying as laughter says them: a suicide phrase of these words alone ("dead", "i
 * am dying", "me muero") is a figure of speech in a sentence with a laugh cue. Compared
 * by stem in the phrase's language. */
static const char *const laughing_words[LANG_COUNT][20] = {
    [LANG_EN] = {"dead", "dying", "died", "die", "kill", "killed", "killing", "i", "am", "so", "is",
                 "he", "she", "me", "was", NULL},
    [LANG_ES] = {"muero", "muerto", "muerta", "muriendo", "mato", "mató", "matando", "matarme",
                 "me", "estoy", "mori", "se", "esta", "de", "la", "el", NULL},
};
/* The first words of each list are the dying ones ("me mató jaja": the exam "killed me"). */
static const int laughing_dying[LANG_COUNT] = {[LANG_EN] = 7, [LANG_ES] = 8};

/* Words of self-injury: a suicide phrase with one of them is set aside by an accident
 * cue in its sentence ("cut", not "die"). Compared by stem in the phrase's language. */
static const char *const injury_words[LANG_COUNT][12] = {
    [LANG_EN] = {"cut", "cutting", "burn", "burned", "hurt", "harm", "slice", "scratch", "carve",
                 "bleed", NULL},
    [LANG_ES] = {"corte", "cortar", "cortado", "cortada", "quemar", "queme", "lastimar", "dano",
                 "herida", NULL},
};
/* Words of a goodbye: a suicide phrase with one of them ("said goodbye to everyone", "wrote
 * the kids a letter", "giving away his stuff", "se despidió de todos") is set aside by an ordinary
 * parting in its sentence: a trip, a move, a deployment, a hospital stay (the calm_trip concept, or
 * an "away" cue). Compared by stem in the phrase's language. */
static const char *const goodbye_words[LANG_COUNT][12] = {
    [LANG_EN] = {"goodbye", "goodbyes", "bye", "farewell", "letter", "letters", "away", NULL},
    [LANG_ES] = {"despidio", "despedirse", "despidiendose", "despedida", "despedirme", "adios",
                 "carta", "cartas", "regale", "regalando", "regalo", NULL},
};
/*
 * Colours of the skin, and the words that make a colour a sign of danger wherever it is
 * said. An overdose or medical phrase with a colour and none of the vital words ("is
 * purple", "purple") is only a mark's colour when its sentence is about marks, bruises or a
 * procedure (a calm_marks or calm_procedure concept: "got labs done and now the inside of my
 * elbow is purple", "the scar is still purple") and says no vital word and no numbness: lips,
 * a face or fingertips turning blue stay urgent ("his lips are turning purple by his track
 * marks"). Compared by stem in each language.
 */
#define MAX_VITAL 48
static const char *const colour_words[LANG_COUNT][32] = {
    [LANG_EN] = {"purple", "blue", "gray", "grey", "black", "white", "pale", "dark", NULL},
    [LANG_ES] = {"morado", "morada", "morados", "moradas", "azul", "azules", "gris", "negro",
                 "negra", "negros", "negras", "palido", "palida", "oscuro", "oscura", "blanco",
                 "blanca", NULL},
};
static const char *const vital_words[LANG_COUNT][MAX_VITAL] = {
    [LANG_EN] = {"lips",  "lip",       "face",    "fingernails", "fingertips",
                 "nails", "fingers",   "toes",    "skin",        "he",
                 "she",   "him",       "his",     "her",         "they",
                 "body",  "breathing", "breathe", "breath",      "unresponsive",
                 "cold",  "numb",      "feel",    "mouth",       NULL},
    [LANG_ES] = {"labios", "boca", "cara", "unas", "dedos", "piel", "ella", "cuerpo", "respira",
                 "respirar", "fria", "frio", "helada", "helado", "siento", NULL},
};
#define KNOWN_EN 1u /* bits of a known word: which dictionaries have it */
#define KNOWN_ES 2u
/* The longest text read a second time without its unrelated questions (a long SMS). */
#define MAX_SECOND_READING 2048
#define MAX_READING 2048 /* bytes of the words the safety net reads (matcher_reading) */
#define MAX_SENTENCES 16 /* cues are tracked per sentence; later ones share the last slot */

/* ---------------------------------------------------------------------------------- */
/* A string -> uint32 hash map with open addressing; keys are copied into the map.     */

/* Keys live in blocks of an arena owned by the map: the word lists alone hold 130,000
 * keys, and one allocation (and one free) per key was most of start-up. */
struct strmap_block {
    struct strmap_block *next;
    size_t used;
    char data[];
};
#define STRMAP_BLOCK_SIZE (64 * 1024)

/* A slot keeps its key's hash, so that a probe compares strings only when the hashes
 * agree, and its value beside it: one cache line per probe. */
struct strmap_slot {
    char *key; /* NULL: empty */
    uint32_t hash;
    uint32_t val;
};

struct strmap {
    struct strmap_slot *slots;
    size_t cap, n;
    struct strmap_block *blocks;
};

/* FNV-1a, then a murmur3 finaliser: slots are picked by the low bits, and FNV-1a alone
 * leaves those poorly mixed for short keys that differ in their last bytes ("t:abc",
 * "t:abd"), which made long probe runs. */
static uint32_t hash_bytes(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fputs("hotline: out of memory\n", stderr);
        abort();
    }
    return p;
}

static void *xrealloc(void *p, size_t size)
{
    p = realloc(p, size ? size : 1);
    if (!p) {
        fputs("hotline: out of memory\n", stderr);
        abort();
    }
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = xcalloc(n, 1);
    memcpy(d, s, n);
    return d;
}

/* Copies a word, truncated to MAX_WORD - 1 bytes. */
static void set_word(char *dst, const char *src)
{
    size_t n = strnlen(src, MAX_WORD - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Looks up the len bytes of key (no NUL among them). */
static int strmap_findn(const struct strmap *m, const char *key, size_t len, uint32_t *val)
{
    if (!m->cap)
        return 0;
    size_t mask = m->cap - 1;
    uint32_t h = hash_bytes(key, len);
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const struct strmap_slot *slot = &m->slots[i];
        if (!slot->key)
            return 0;
        if (slot->hash == h && strncmp(slot->key, key, len) == 0 && slot->key[len] == '\0') {
            if (val)
                *val = slot->val;
            return 1;
        }
    }
}

static int strmap_find(const struct strmap *m, const char *key, uint32_t *val)
{
    return strmap_findn(m, key, strlen(key), val);
}

/* Rehashes into at least `cap` slots (a power of two). */
static void strmap_rehash(struct strmap *m, size_t cap)
{
    struct strmap old = *m;
    m->cap = cap;
    /* Cleared by writing, not calloc: a large calloc maps the zero page, so each page of
     * slots took a read fault and then a copy-on-write fault (with a TLB flush on every
     * CPU while the word lists are read on a thread of their own). */
    m->slots = xrealloc(NULL, m->cap * sizeof *m->slots);
    memset(m->slots, 0, m->cap * sizeof *m->slots);
    size_t mask = m->cap - 1;
    for (size_t i = 0; i < old.cap; i++) {
        if (old.slots[i].key) {
            size_t j = old.slots[i].hash & mask;
            while (m->slots[j].key)
                j = (j + 1) & mask;
            m->slots[j] = old.slots[i];
        }
    }
    free(old.slots);
}

static void strmap_grow(struct strmap *m)
{
    strmap_rehash(m, m->cap ? m->cap * 2 : 64);
}

/* Makes room for n keys without further growth. */
static void strmap_reserve(struct strmap *m, size_t n)
{
    size_t cap = 64;
    while (cap < 2 * n + 2)
        cap *= 2;
    if (cap > m->cap)
        strmap_rehash(m, cap);
}

/* Puts a new key, valued 0, in empty slot i (len bytes, without its NUL). */
static void strmap_insert_at(struct strmap *m, size_t i, const char *key, size_t len, uint32_t hash)
{
    len++;
    if (!m->blocks || m->blocks->used + len > STRMAP_BLOCK_SIZE) {
        size_t size = len > STRMAP_BLOCK_SIZE ? len : STRMAP_BLOCK_SIZE;
        struct strmap_block *b = malloc(sizeof *b + size);
        if (!b) {
            fputs("hotline: out of memory\n", stderr);
            abort();
        }
        b->used = 0;
        b->next = m->blocks;
        m->blocks = b;
    }
    m->slots[i].key = memcpy(m->blocks->data + m->blocks->used, key, len);
    m->blocks->used += len;
    m->slots[i].hash = hash;
    m->slots[i].val = 0;
    m->n++;
}

/* The slot of key, or the empty one where it would go (*found: which). */
static size_t strmap_slot_of(const struct strmap *m, const char *key, uint32_t hash, int *found)
{
    size_t mask = m->cap - 1;
    size_t i = hash & mask;
    while (m->slots[i].key) {
        if (m->slots[i].hash == hash && strcmp(m->slots[i].key, key) == 0) {
            *found = 1;
            return i;
        }
        i = (i + 1) & mask;
    }
    *found = 0;
    return i;
}

/* The value of key (len bytes, hashed by hash_bytes), inserted as 0 when absent: one
 * probe for reading and writing. */
static uint32_t *strmap_ref_hashed(struct strmap *m, const char *key, size_t len, uint32_t hash)
{
    if ((m->n + 1) * 2 > m->cap)
        strmap_grow(m);
    int found;
    size_t i = strmap_slot_of(m, key, hash, &found);
    if (!found)
        strmap_insert_at(m, i, key, len, hash);
    return &m->slots[i].val;
}

/* The value of key, inserted as 0 when absent. */
static uint32_t *strmap_ref(struct strmap *m, const char *key)
{
    size_t len = strlen(key);
    return strmap_ref_hashed(m, key, len, hash_bytes(key, len));
}

/* Asks the CPU to fetch the slot where a key of this hash is probed first. */
static void strmap_prefetch(const struct strmap *m, uint32_t hash)
{
    if (m->cap)
        __builtin_prefetch(&m->slots[hash & (m->cap - 1)], 1);
}

/* Inserts or replaces. */
static void strmap_put(struct strmap *m, const char *key, uint32_t val)
{
    *strmap_ref(m, key) = val;
}

static void strmap_free(struct strmap *m)
{
    for (struct strmap_block *b = m->blocks, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(m->slots);
    memset(m, 0, sizeof *m);
}

/* ---------------------------------------------------------------------------------- */
/* The model built from replies/.                                                      */

/* A phrase of an intent or a cue, as stem ids of its language. */
struct phrase {
    /* What find_phrases reads of every candidate first, in one cache line. */
    uint32_t toks[MAX_PHRASE_TOKENS];
    int ntoks;
    int intent; /* an enum intent, or -1 for a cue */
    int cue;    /* an enum cue when intent is -1 */
    enum lang lang;
    int concept;      /* a crisis-rule concept of lexicon.json (intent -2), else -1 */
    uint64_t mask[4]; /* a 256-bit signature of its stems, to reject candidates quickly */
    int strong;
    int injury;   /* a suicide phrase that tells of self-injury: see injury_words */
    int goodbye;  /* a suicide phrase that tells of a goodbye: see goodbye_words */
    int colour;   /* an overdose or medical phrase of a colour alone: see colour_words */
    int laughing; /* a phrase of dying alone ("dead", "is dying", "me muero"): see laughing_words */
    double weight; /* after sharing among intents that list the same phrase */
    const char *text;
};

/* What stage 2 made of one surface word; memoised in matcher.word_cache. */
struct word_info {
    char word[MAX_WORD];       /* corrected, collapsed form */
    uint32_t stem[LANG_COUNT]; /* stem ids, 0 when no phrase uses that stem */
    uint32_t sim_off;          /* its similarity contribution: sim_pool[sim_off...+INTENT_COUNT] */
    float sq_norm;             /* its squared TF-IDF length, unseen features included */
    uint32_t dot_off;          /* its dot product with each example it shares a feature */
    uint32_t n_dot;            /* with: word_dots[dot_off...] */
    float lang_odds;           /* > 0 leans Spanish */
    int corrected;             /* 1 when a typo was corrected */
    uint32_t shorthand;        /* a typo of a text-speak word ("ureslf"): its index + 1 */
    int negation;              /* "not", "no", "never", "nunca": see is_negation() */
    int negation_filler;       /* may stand between a negation and what it denies */
    int article;               /* "a", "the", "el": idioms skip them as phrases do */
    int clause;                /* CLAUSE_OPENS, CLAUSE_AND, CLAUSE_SUBJECT: see clause_words */
    unsigned known; /* KNOWN_EN, KNOWN_ES: the dictionaries that have it, less the languages
                     * whose phrases or texts use it ("detox" is Spanish enough) */
};

/*
 * Everything from `shorthand` to `centroid` is the model: built once, then only read.
 * A clone shares its original's model and owns the rest (stemmers, memo, scratch).
 */
struct matcher {
    int is_clone;
    struct sb_stemmer *stemmer[LANG_COUNT];

    struct strmap shorthand; /* word -> index into shorthand_to */
    char **shorthand_to;
    char **shorthand_from; /* the words, folded: typo-correction targets too ("wnana") */
    size_t n_shorthand;

    struct strmap keywords; /* whole-message keyword (folded) -> intent */

    struct strmap stems[LANG_COUNT]; /* stem -> id (1-based) */
    /* While the model is built, memos into memo_pool (the examples and phrases say the
     * same words again and again, and each text is read by add_phrase,
     * build_language_odds and build_similarity): word -> offset of its stem; text -> its
     * vocab_words; word -> its feature ids (see example_features); a phrase word -> its
     * stem id (not in memo_pool). Freed once the model is built; memo_pool is NULL after. */
    struct strmap stem_memo[LANG_COUNT];
    struct strmap stem_id_memo[LANG_COUNT];
    struct strmap words_memo;
    struct strmap features_memo;
    char *memo_pool;
    size_t n_memo_pool, cap_memo_pool;
    uint32_t n_stems[LANG_COUNT];

    struct phrase *phrases;
    size_t n_phrases, cap_phrases; /* cap_phrases: of phrases and phrase_texts */

    /* Crisis rules of lexicon.json: concepts by index (bit i of a mask is concept i). */
    char **concept_names;
    int n_concepts;
    struct strmap concept_ids; /* name -> index + 1 */
    struct rule {
        char *name;
        int intent;
        int window;
        int n_slots;
        concept_mask slot[RULE_MAX_SLOTS]; /* the concepts that meet each slot */
        concept_mask unless;               /* concepts that set the rule aside */
        int unless_accident, unless_away;
    } * rules;
    int n_rules;
    /* Concepts that make a colour a mark's (calm_marks, calm_procedure), and those that
     * keep it a sign (limb_numb, limb_severe); the stems of vital_words. */
    concept_mask colour_calm, colour_sign;
    /* By intent, the calm concepts that set aside a weak sign of that crisis in their
     * sentence (see weak_calm_names). */
    concept_mask weak_calm[INTENT_COUNT];
    /* The calm concept that sets aside a goodbye (calm_trip): see goodbye_words. */
    concept_mask goodbye_calm;
    /* By intent, the concepts of its crisis rules, for the safety net. */
    concept_mask danger[INTENT_COUNT];
    /* Concepts a date does not make past (means_got: "bought a gun last week"). */
    concept_mask past_proof, dated_context;
    /* See seen_names: a question over what one is looking at (seen_ask), things that "die"
     * (calm_thing), a life grown weary of its ways (weary_life) and a wish to change
     * (calm_quit). */
    concept_mask seen_ask, thing_calm, weary_life, change_calm, elapsed;
    /* A school, a course or the news (calm_study), a question about whom the center treats
     * (calm_services): see seen_names. */
    concept_mask study_calm, services_calm;
    uint32_t vital[LANG_COUNT][MAX_VITAL];
    char **phrase_texts;
    /* By stem id: the phrases whose rarest stem (the one fewest phrases of the language
     * use) it is, with their signatures side by side so that rejecting a candidate reads
     * memory in order. A text looks only at the candidates of the stems it says: keyed by
     * their first stem, the candidates of "i", "my" or "to" were most of the work, and
     * most of them lack a rarer word of theirs. A stem's candidates are
     * keyed[l][key_start[l][id] .. key_start[l][id + 1]); key_start has n_stems + 2
     * entries. */
    struct candidate {
        uint64_t mask[4];
        uint32_t phrase;
        uint32_t first; /* the stem of the phrase's first word */
    } * keyed[LANG_COUNT];
    uint32_t *key_start[LANG_COUNT];
    size_t n_candidates[LANG_COUNT];

    /* Known words: for typo correction and language odds. */
    struct strmap vocab; /* word -> index into vocab_info */
    struct vocab_entry {
        char *word;
        uint32_t count;
        uint32_t in_lang[LANG_COUNT]; /* occurrences in example texts and phrases */
        unsigned used_in;             /* 1 << lang: the languages whose phrases or texts use it */
        float lang_odds;
    } * vocab_info;
    size_t n_vocab, cap_vocab;
    struct strmap known;   /* correctly spelled words from the dictionaries: never corrected */
    uint64_t *known_bloom; /* a Bloom filter of known (KNOWN_BLOOM_BITS), NULL for none */
    struct strmap deletes; /* a word with one letter deleted -> first vocab index + 1 */
    uint32_t *delete_next; /* chains of vocab indexes that share a deletion */
    size_t n_delete_links, cap_delete_links;
    uint32_t *delete_vocab;

    /* Similarity model: features are character trigrams and word stems. */
    struct strmap features; /* feature key -> id (1-based) */
    uint32_t n_features;
    float *idf;      /* by feature id */
    float *centroid; /* [feature id][intent], L2-normalised per intent */
    /* Nearest example: each feature's postings (example, weight) over the L2-normalised
     * TF-IDF vectors of the example texts. */
    uint32_t *post_start; /* by feature id, n_features + 2 entries */
    uint32_t *post_example;
    float *post_weight;
    uint32_t n_examples;
    uint8_t *example_intent;

    /* Memoised stage 2. */
    struct strmap word_cache;
    struct word_info *cache;
    size_t n_cache, cap_cache;
    float *sim_pool;
    size_t n_sim_pool, cap_sim_pool;
    struct word_dot {
        uint32_t example;
        float dot;
    } * word_dots;
    size_t n_word_dots, cap_word_dots;

    /* Scratch for one text: phrases already found, stamped with the text's number, and
     * the dot product with each example. */
    uint32_t *phrase_seen;
    uint32_t text_stamp;
    uint64_t *passed[LANG_COUNT]; /* find_phrases' surviving candidates: first stem, phrase */
    float *example_dot;
    uint32_t *examples_touched;

    /* Memoised readings of tokens (matcher_reading): token -> offset in reading_pool. */
    struct strmap reading_memo;
    char *reading_pool;
    size_t n_reading_pool, cap_reading_pool;

    /* The learned safety net (urgency.h): the one trained from replies, and the one in use
     * (that one, another the caller keeps, or NULL: rules only). */
    struct urgency_model *urgency_own;
    const struct urgency_model *urgency;
};

/* ---------------------------------------------------------------------------------- */
/* Stage 1: folding and splitting.                                                     */

struct token {
    char raw[MAX_WORD];
    int sentence;
    int clause; /* a new one at each comma, colon, bracket or sentence end */
};

/*
 * The folding of the two-byte code points (U+0080 to U+07FF: Latin accents, Greek,
 * Cyrillic...), worked out once per process: the word lists and replies/ fold tens of
 * thousands of accented letters, and utf8proc_decompose_char costs hundreds of
 * instructions each. nd is what utf8proc_decompose_char returned; an entry with nd above
 * FOLD_CACHED is left to utf8proc.
 */
#define FOLD_FIRST 0x80
#define FOLD_END 0x800
#define FOLD_CACHED 4
static struct {
    utf8proc_ssize_t nd;
    utf8proc_int32_t dec[FOLD_CACHED];
} fold_table[FOLD_END - FOLD_FIRST];
static pthread_once_t fold_table_once = PTHREAD_ONCE_INIT;

static utf8proc_ssize_t fold_char(utf8proc_int32_t cp, utf8proc_int32_t dec[24])
{
    int boundclass = 0;
    return utf8proc_decompose_char(cp, dec, 24,
                                   UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD |
                                       UTF8PROC_STRIPMARK | UTF8PROC_IGNORE | UTF8PROC_LUMP,
                                   &boundclass);
}

static void fold_table_fill(void)
{
    for (utf8proc_int32_t cp = FOLD_FIRST; cp < FOLD_END; cp++) {
        utf8proc_int32_t dec[24];
        utf8proc_ssize_t nd = fold_char(cp, dec);
        fold_table[cp - FOLD_FIRST].nd = nd;
        if (nd >= 0 && nd <= FOLD_CACHED)
            memcpy(fold_table[cp - FOLD_FIRST].dec, dec, (size_t)nd * sizeof dec[0]);
    }
}

/*
 * Folds text: compatibility decomposition, case folding, accents and other marks
 * stripped, look-alike punctuation lumped to ASCII ("don’t" -> "don't"), invalid bytes and
 * NUL dropped. One code point at a time, because stripping every mark makes the
 * canonical reordering and recomposition of a full utf8proc_map pointless work.
 * Returns a new NUL-terminated string.
 */
static char *fold(const char *s, size_t len)
{
    pthread_once(&fold_table_once, fold_table_fill);
    /* A code point folds to at most a few (U+FDFA to 18): 4 bytes each, with room. */
    char *out = xrealloc(NULL, len * 4 + 32);
    size_t n = 0;
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    size_t i = 0;
    while (i < len) {
        unsigned char c = p[i];
        if (c < 0x80) {
            if (c)
                out[n++] = (char)tolower(c);
            i++;
            continue;
        }
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
        if (k <= 0) {
            i++;
            continue;
        }
        i += (size_t)k;
        utf8proc_int32_t dec[24];
        utf8proc_ssize_t nd;
        if (cp >= FOLD_FIRST && cp < FOLD_END && fold_table[cp - FOLD_FIRST].nd <= FOLD_CACHED) {
            nd = fold_table[cp - FOLD_FIRST].nd;
            if (nd > 0)
                memcpy(dec, fold_table[cp - FOLD_FIRST].dec, (size_t)nd * sizeof dec[0]);
        } else {
            nd = fold_char(cp, dec);
        }
        if (nd < 0 || nd > 24)
            continue;
        for (utf8proc_ssize_t d = 0; d < nd && n + 4 < len * 4 + 32; d++)
            n += (size_t)utf8proc_encode_char(dec[d], (utf8proc_uint8_t *)out + n);
    }
    out[n] = '\0';
    return out;
}

static int is_sentence_end(utf8proc_int32_t cp)
{
    return cp == '.' || cp == '?' || cp == '!' || cp == ';' || cp == '\n' || cp == 0xBF ||
           cp == 0xA1;
}

/*
 * Splits folded text into words. Letters and digits make words; apostrophes join
 * ("don't" -> "dont"); an emoji or other symbol is a word of its own; everything
 * else separates. Returns the number of tokens.
 */
static int split_words(const char *folded, struct token *toks, int max)
{
    int n = 0, sentence = 0, clause = 0;
    char cur[MAX_WORD];
    size_t curlen = 0;
    int overlong = 0;
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)folded;
    size_t len = strlen(folded), i = 0;

#define FLUSH()                                                                                    \
    do {                                                                                           \
        if (curlen && !overlong && n < max) {                                                      \
            memcpy(toks[n].raw, cur, curlen);                                                      \
            toks[n].raw[curlen] = '\0';                                                            \
            toks[n].sentence = sentence;                                                           \
            toks[n].clause = clause;                                                               \
            n++;                                                                                   \
        }                                                                                          \
        curlen = 0;                                                                                \
        overlong = 0;                                                                              \
    } while (0)

    while (i < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k;
        utf8proc_category_t cat;
        int letter, digit;
        if (p[i] < 0x80) {
            /* ASCII: no table lookups. Its only symbols (^ and `) just separate. */
            cp = p[i];
            k = 1;
            letter = isalpha(cp);
            digit = isdigit(cp);
            cat = UTF8PROC_CATEGORY_PO;
        } else {
            k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
            if (k <= 0) {
                i++;
                continue;
            }
            cat = utf8proc_category(cp);
            letter = cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO;
            digit = cat == UTF8PROC_CATEGORY_ND;
        }
        if (letter || digit) {
            if (curlen + (size_t)k < MAX_WORD) {
                memcpy(cur + curlen, p + i, (size_t)k);
                curlen += (size_t)k;
            } else {
                overlong = 1;
            }
        } else if (cp == '\'') {
            /* Kept inside a word so that lexicon.json may name "od'd"; words are looked up
             * without it otherwise ("don't" -> "dont"). */
            if (curlen && curlen + 1 < MAX_WORD)
                cur[curlen++] = '\'';
        } else if (cat == UTF8PROC_CATEGORY_SO || cat == UTF8PROC_CATEGORY_SK) {
            FLUSH();
            if (n < max && (size_t)k < MAX_WORD) {
                memcpy(toks[n].raw, p + i, (size_t)k);
                toks[n].raw[k] = '\0';
                toks[n].sentence = sentence;
                toks[n].clause = clause;
                n++;
            }
        } else {
            FLUSH();
            if (is_sentence_end(cp))
                sentence++;
            if (is_sentence_end(cp) || cp == ',' || cp == ':' || cp == '(' || cp == ')')
                clause++;
        }
        i += (size_t)k;
    }
    FLUSH();
#undef FLUSH
    return n;
}

/* Removes apostrophes from a word in place: "don't" -> "dont". Returns 1 if it had any. */
static int strip_apostrophes(char *w)
{
    char *out = w;
    int had = 0;
    for (const char *in = w; *in; in++) {
        if (*in == '\'')
            had = 1;
        else
            *out++ = *in;
    }
    *out = '\0';
    return had;
}

/* Collapses runs of three or more of one letter to `keep` letters. */
static void collapse_runs(const char *in, char *out, int keep)
{
    size_t o = 0;
    for (size_t i = 0; in[i];) {
        size_t j = i;
        while (in[j] == in[i])
            j++;
        size_t run = j - i;
        size_t emit = (run >= 3 && isalpha((unsigned char)in[i])) ? (size_t)keep : run;
        for (size_t k = 0; k < emit && o + 1 < MAX_WORD; k++)
            out[o++] = in[i];
        i = j;
    }
    out[o] = '\0';
}

static int has_run(const char *s)
{
    for (size_t i = 0; s[i] && s[i + 1] && s[i + 2]; i++)
        if (s[i] == s[i + 1] && s[i] == s[i + 2] && isalpha((unsigned char)s[i]))
            return 1;
    return 0;
}

/* ---------------------------------------------------------------------------------- */
/* Stage 2: words.                                                                     */

/* Copies n bytes into the build-time memo pool (4-byte aligned); returns their offset. */
static uint32_t memo_add(struct matcher *m, const void *bytes, size_t n)
{
    size_t at = (m->n_memo_pool + 3) & ~(size_t)3;
    if (at + n > m->cap_memo_pool) {
        while (at + n > m->cap_memo_pool)
            m->cap_memo_pool *= 2;
        m->memo_pool = xrealloc(m->memo_pool, m->cap_memo_pool);
    }
    memcpy(m->memo_pool + at, bytes, n);
    m->n_memo_pool = at + n;
    return (uint32_t)at;
}

static void stem_word(struct matcher *m, enum lang lang, const char *word, char *out)
{
    uint32_t off;
    if (m->memo_pool && strmap_find(&m->stem_memo[lang], word, &off)) {
        memcpy(out, m->memo_pool + off, strlen(m->memo_pool + off) + 1);
        return;
    }
    const sb_symbol *s =
        sb_stemmer_stem(m->stemmer[lang], (const sb_symbol *)word, (int)strlen(word));
    int n = s ? sb_stemmer_length(m->stemmer[lang]) : 0;
    if (!s || n <= 0 || n >= MAX_WORD) {
        set_word(out, word);
    } else {
        memcpy(out, s, (size_t)n);
        out[n] = '\0';
    }
    if (m->memo_pool)
        strmap_put(&m->stem_memo[lang], word, memo_add(m, out, strlen(out) + 1));
}

/* Optimal string alignment distance, bounded: returns max+1 when above max. */
static int edit_distance(const char *a, const char *b, int max)
{
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (abs(la - lb) > max)
        return max + 1;
    int d[MAX_WORD + 1][MAX_WORD + 1];
    for (int i = 0; i <= la; i++)
        d[i][0] = i;
    for (int j = 0; j <= lb; j++)
        d[0][j] = j;
    for (int i = 1; i <= la; i++) {
        int rowmin = max + 1;
        for (int j = 1; j <= lb; j++) {
            int cost = a[i - 1] != b[j - 1];
            int v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v)
                v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
            if (v < rowmin)
                rowmin = v;
        }
        if (rowmin > max)
            return max + 1;
    }
    return d[la][lb];
}

/* Words with one byte deleted at each position, and the word itself. */
static int deletions(const char *w, char out[][MAX_WORD], int max)
{
    int n = 0;
    size_t len = strlen(w);
    set_word(out[n++], w);
    for (size_t i = 0; i < len && n < max; i++) {
        memcpy(out[n], w, i);
        memcpy(out[n] + i, w + i + 1, len - i);
        n++;
    }
    return n;
}

/* Links vocab_index into the chain of a deletion (len bytes, hashed by hash_bytes). */
static void deletes_add(struct matcher *m, const char *del, size_t len, uint32_t hash,
                        uint32_t vocab_index)
{
    if (m->n_delete_links == m->cap_delete_links) {
        m->cap_delete_links = m->cap_delete_links ? m->cap_delete_links * 2 : 1024;
        m->delete_next = xrealloc(m->delete_next, m->cap_delete_links * sizeof(uint32_t));
        m->delete_vocab = xrealloc(m->delete_vocab, m->cap_delete_links * sizeof(uint32_t));
    }
    uint32_t *head = strmap_ref_hashed(&m->deletes, del, len, hash); /* 0 when new */
    uint32_t link = (uint32_t)m->n_delete_links++;
    m->delete_vocab[link] = vocab_index;
    m->delete_next[link] = *head; /* 0 ends the chain: links are stored 1-based */
    *head = link + 1;
}

static int is_ascii_word(const char *w)
{
    for (; *w; w++)
        if ((unsigned char)*w >= 0x80 || !isalnum((unsigned char)*w))
            return 0;
    return 1;
}

/*
 * Keyboard neighbours on a QWERTY layout: keys side by side in a row, or in the row above
 * or below within three quarters of a key (the rows are staggered by a quarter and a
 * half): "s" touches "w e a d z x". A slip of the finger lands on one of them.
 */
static int keyboard_neighbours(char a, char b)
{
    static const char *const rows[] = {"qwertyuiop", "asdfghjkl", "zxcvbnm"};
    static const int offset[] = {0, 1, 3}; /* in quarters of a key */
    int ra = -1, rb = -1, xa = 0, xb = 0;
    for (int r = 0; r < 3; r++) {
        const char *pa = strchr(rows[r], a), *pb = strchr(rows[r], b);
        if (a && pa) {
            ra = r;
            xa = (int)(pa - rows[r]) * 4 + offset[r];
        }
        if (b && pb) {
            rb = r;
            xb = (int)(pb - rows[r]) * 4 + offset[r];
        }
    }
    if (ra < 0 || rb < 0 || a == b)
        return 0;
    int dx = abs(xa - xb);
    return ra == rb ? dx == 4 : abs(ra - rb) == 1 && dx <= 3;
}

/* Whether the first letter of `a` and of `b` sound alike in English or Spanish, the
 * misspelling of one who knows a word by ear: "signa" for "cigna", "boy" for "voy",
 * "kaiser" for "caiser"; c and s or z only before e or i, g and j too. */
static int first_sound_alike(const char *a, const char *b)
{
    static const char *const pairs[] = {"cs", "cz", "sz", "ck", "kq", "bv", "iy", "gj"};
    char x = a[0], y = b[0], next = a[1];
    if (!x || !y || next != b[1])
        return 0;
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        if (!((x == pairs[i][0] && y == pairs[i][1]) || (x == pairs[i][1] && y == pairs[i][0])))
            continue;
        if (i <= 2 || i == 7)
            return next == 'e' || next == 'i' || (i <= 2 && next == 'y');
        return 1;
    }
    return 0;
}

/*
 * What typing `typed` for `word` costs, in tenths of an edit: a weighted Damerau-
 * Levenshtein distance (optimal string alignment: two letters swapped are one edit) that
 * charges less for the slips of a hurried thumb than for other edits. A swap
 * ("rbeathing"), a letter left out ("breating"), a neighbouring key hit instead of the
 * right one ("wuiero") and a letter typed twice or beside its neighbour ("steppinng",
 * "wasntf") cost 8; one of a double letter left out ("kils") 7, as does a first letter
 * that sounds alike ("signa"); any other edit 10. A changed first letter costs 4 more,
 * but for a swap or a sound-alike: texters rarely get the first letter wrong. Returns at
 * most limit + 1.
 */
static int typo_cost(const char *typed, const char *word, int limit)
{
    int la = (int)strlen(typed), lb = (int)strlen(word);
    int d[MAX_WORD + 1][MAX_WORD + 1];
    int extra[MAX_WORD + 1];
    for (int i = 1; i <= la; i++) {
        /* A letter typed that the word lacks: cheap beside its own double or a neighbour. */
        char a = typed[i - 1];
        int slip = (i > 1 && (typed[i - 2] == a || keyboard_neighbours(typed[i - 2], a))) ||
                   (i < la && (typed[i] == a || keyboard_neighbours(typed[i], a)));
        extra[i] = slip ? 8 : 10;
    }
    /* A letter of the word left out: one of a double most easily ("kils"). */
    int missing[MAX_WORD + 1];
    for (int j = 1; j <= lb; j++)
        missing[j] =
            (j > 1 && word[j - 2] == word[j - 1]) || (j < lb && word[j] == word[j - 1]) ? 7 : 8;
    d[0][0] = 0;
    for (int i = 1; i <= la; i++)
        d[i][0] = d[i - 1][0] + extra[i];
    for (int j = 1; j <= lb; j++)
        d[0][j] = d[0][j - 1] + missing[j];
    for (int i = 1; i <= la; i++) {
        char a = typed[i - 1];
        for (int j = 1; j <= lb; j++) {
            char b = word[j - 1];
            int sub = a == b                                               ? 0
                      : i == 1 && j == 1 && first_sound_alike(typed, word) ? 7
                      : keyboard_neighbours(a, b)                          ? 8
                                                                           : 10;
            int v = d[i - 1][j - 1] + sub;
            if (d[i - 1][j] + extra[i] < v)
                v = d[i - 1][j] + extra[i];
            if (d[i][j - 1] + missing[j] < v)
                v = d[i][j - 1] + missing[j];
            if (i > 1 && j > 1 && a == word[j - 2] && typed[i - 2] == b && a != b &&
                d[i - 2][j - 2] + 8 < v)
                v = d[i - 2][j - 2] + 8;
            d[i][j] = v;
        }
    }
    int cost = d[la][lb];
    if (typed[0] != word[0] && !first_sound_alike(typed, word) &&
        !(la > 1 && lb > 1 && typed[0] == word[1] && typed[1] == word[0]))
        cost += 4;
    return cost > limit ? limit + 1 : cost;
}

/* Whether a and b start with the same letter, or with the same two swapped ("awnna"). */
static int same_start(const char *a, const char *b)
{
    return a[0] == b[0] || (a[0] && b[0] && a[0] == b[1] && a[1] == b[0]);
}

static int stem_is_known(struct matcher *m, const char *word);

/* The best correction found so far: a vocabulary word (vocab >= 0) or a dictionary word. */
struct correction {
    long vocab; /* a vocabulary index, or n_vocab + a text-speak index */
    char word[MAX_WORD];
    int cost;
    uint32_t count;
};

/* Considers e, one edit from the typo w, as its correction: a dictionary word that replies/
 * does not use but whose stem its phrases do ("slitting", "stepping"), when the typo is a
 * slip of it (typo_cost 8 at most: "reathing" is not "reaching" for a replaced letter) and
 * cheaper than the best so far (a vocabulary word wins a tie). */
/* A Bloom filter in front of the word lists: typo correction asks them about a few
 * hundred strings per unknown word (dictionary_candidates), nearly all of them no word,
 * and the map's slots are megabytes away from the cache. */
#define KNOWN_BLOOM_BITS (1u << 22)

static inline uint32_t bloom_bit2(uint32_t h)
{
    return (h * 0x9E3779B1u) >> 10; /* a second 22-bit index from the same hash */
}

static void known_bloom_build(struct matcher *m)
{
    free(m->known_bloom);
    m->known_bloom = NULL;
    if (!m->known.n)
        return;
    m->known_bloom = xcalloc(KNOWN_BLOOM_BITS / 64, sizeof *m->known_bloom);
    for (size_t i = 0; i < m->known.cap; i++) {
        if (!m->known.slots[i].key)
            continue;
        uint32_t h = m->known.slots[i].hash, a = h & (KNOWN_BLOOM_BITS - 1), b = bloom_bit2(h);
        m->known_bloom[a >> 6] |= 1ull << (a & 63);
        m->known_bloom[b >> 6] |= 1ull << (b & 63);
    }
}

/* 0 when e is surely not in the word lists. */
static int maybe_known(const struct matcher *m, const char *e)
{
    if (!m->known_bloom)
        return 1;
    uint32_t h = hash_bytes(e, strlen(e)), a = h & (KNOWN_BLOOM_BITS - 1), b = bloom_bit2(h);
    return (m->known_bloom[a >> 6] >> (a & 63) & 1) && (m->known_bloom[b >> 6] >> (b & 63) & 1);
}

static void consider_dictionary_word(struct matcher *m, const char *w, const char *e,
                                     struct correction *best)
{
    if (!maybe_known(m, e) || !strmap_find(&m->known, e, NULL) || strmap_find(&m->vocab, e, NULL))
        return;
    int cost = typo_cost(w, e, best->cost);
    if (cost >= best->cost || cost > 8 || !stem_is_known(m, e))
        return;
    best->vocab = -1;
    set_word(best->word, e);
    best->cost = cost;
    best->count = 0;
}

/* Every string one edit from w (a letter deleted, swapped, replaced or inserted) that is a
 * dictionary word, as a correction: a few hundred look-ups, once per unknown word. */
static void dictionary_candidates(struct matcher *m, const char *w, struct correction *best)
{
    size_t n = strlen(w);
    if (n + 2 > MAX_WORD)
        return;
    char e[MAX_WORD];
    for (size_t i = 0; i <= n; i++) {
        if (i < n) {
            memcpy(e, w, i);
            memcpy(e + i, w + i + 1, n - i);
            consider_dictionary_word(m, w, e, best);
        }
        if (i + 1 < n && w[i] != w[i + 1]) {
            memcpy(e, w, n + 1);
            e[i] = w[i + 1];
            e[i + 1] = w[i];
            consider_dictionary_word(m, w, e, best);
        }
        for (char c = 'a'; c <= 'z'; c++) {
            memcpy(e, w, i);
            e[i] = c;
            memcpy(e + i + 1, w + i, n - i + 1);
            consider_dictionary_word(m, w, e, best);
            if (i < n && c != w[i]) {
                memcpy(e, w, n + 1);
                e[i] = c;
                consider_dictionary_word(m, w, e, best);
            }
        }
    }
}

/*
 * The known word closest to an unknown one, by typo_cost within a budget that grows with
 * the word: none under 4 letters (too many words are an edit apart), one edit up to 6
 * letters, two from 7 ("typicle"); a changed first letter (but for a swap or a sound-alike)
 * from 5 letters only ("natar", "nding"). The candidates are the vocabulary words that
 * share a deletion with the typo (the symmetric-delete index of matcher_new: every word
 * one edit away, and many two away), the text-speak words of the same first letter for
 * typos of 5 letters or more ("ureslf"), and the dictionary words one slip away whose
 * stem phrases use ("slittign"); a vocabulary word of the typo's own stem ("rayé" is
 * "raya") is cheaper than any typo. Among equally cheap candidates, the word replies/ uses
 * most. Writes the correction to out (a text-speak word's index + 1 to *shorthand) and
 * returns 1, or returns 0.
 */
static int correct_typo(struct matcher *m, const char *w, char *out, float *lang_odds,
                        uint32_t *shorthand)
{
    size_t len = strlen(w);
    if (len < 4 || !is_ascii_word(w) || isdigit((unsigned char)w[0]))
        return 0;
    int max_edits = len >= 7 ? 2 : 1;
    int limit = len >= 7 ? 18 : len >= 5 ? 12 : 10;
    char dels[MAX_WORD + 1][MAX_WORD];
    int nd = deletions(w, dels, MAX_WORD + 1);
    struct correction best = {.vocab = -1, .cost = limit + 1};
    char stem[LANG_COUNT][MAX_WORD];
    for (int l = 0; l < LANG_COUNT; l++)
        stem_word(m, (enum lang)l, w, stem[l]);
    for (int i = 0; i < nd; i++) {
        uint32_t link;
        if (!strmap_find(&m->deletes, dels[i], &link))
            continue;
        for (; link; link = m->delete_next[link - 1]) {
            uint32_t vi = m->delete_vocab[link - 1];
            const char *target;
            uint32_t count;
            if (vi < m->n_vocab) {
                target = m->vocab_info[vi].word;
                count = m->vocab_info[vi].count;
            } else if (len < 5 || !same_start(w, m->shorthand_from[vi - m->n_vocab])) {
                continue; /* "oing" is "doing", and "iding" "hiding", more likely than "oding" */
            } else {
                /* A text-speak word is as frequent as the first word it stands for. */
                target = m->shorthand_from[vi - m->n_vocab];
                char first[MAX_WORD];
                const char *to = m->shorthand_to[vi - m->n_vocab];
                size_t fl = strcspn(to, " ");
                uint32_t fi;
                memcpy(first, to, fl < MAX_WORD ? fl : MAX_WORD - 1);
                first[fl < MAX_WORD ? fl : MAX_WORD - 1] = '\0';
                count = strmap_find(&m->vocab, first, &fi) ? m->vocab_info[fi].count : 0;
            }
            if ((long)vi == best.vocab || edit_distance(w, target, max_edits) > max_edits)
                continue;
            int cost = typo_cost(w, target, limit);
            if (cost > limit)
                continue;
            /* Another form of the word in a language that uses it, cheaper than any typo:
             * "rayé" is "raya", not "rate". */
            for (int l = 0; l < LANG_COUNT && cost > 6 && vi < m->n_vocab; l++) {
                if (!(m->vocab_info[vi].used_in & (1u << l)))
                    continue; /* "signa" is no Spanish form of "sign" */
                char target_stem[MAX_WORD];
                stem_word(m, (enum lang)l, target, target_stem);
                if (strlen(stem[l]) >= 3 && strcmp(stem[l], target_stem) == 0)
                    cost = 6;
            }
            if (cost < best.cost || (cost == best.cost && count > best.count)) {
                best.vocab = vi;
                best.cost = cost;
                best.count = count;
            }
        }
    }
    /* No dictionary word is cheaper than another form, or a doubled letter typed once. */
    if (best.cost > 7)
        dictionary_candidates(m, w, &best);
    if (best.vocab >= (long)m->n_vocab) {
        set_word(out, m->shorthand_from[best.vocab - (long)m->n_vocab]);
        *shorthand = (uint32_t)(best.vocab - (long)m->n_vocab) + 1;
        return 1;
    }
    if (best.vocab >= 0) {
        set_word(out, m->vocab_info[best.vocab].word);
        *lang_odds = m->vocab_info[best.vocab].lang_odds;
        return 1;
    }
    if (best.cost > limit)
        return 0;
    uint32_t bits = 0;
    strmap_find(&m->known, best.word, &bits);
    set_word(out, best.word);
    *lang_odds = bits == KNOWN_ES ? 0.7f : bits == KNOWN_EN ? -0.7f : 0.0f;
    return 1;
}

static uint32_t feature_id(const struct matcher *m, const char *key)
{
    uint32_t id = 0;
    strmap_find(&m->features, key, &id);
    return id;
}

/* Emits the feature keys of a word: "w:<english stem>" and its padded trigrams. */
typedef void (*feature_fn)(void *ctx, const char *key);

static void word_features(const char *word, const char *en_stem, feature_fn fn, void *ctx)
{
    char key[MAX_WORD + 4];
    if (en_stem) {
        size_t sl = strnlen(en_stem, MAX_WORD - 1);
        key[0] = 'w';
        key[1] = ':';
        memcpy(key + 2, en_stem, sl);
        key[2 + sl] = '\0';
        fn(ctx, key);
    }
    char padded[MAX_WORD + 3];
    size_t wl = strnlen(word, MAX_WORD - 1);
    padded[0] = ' ';
    memcpy(padded + 1, word, wl);
    padded[wl + 1] = ' ';
    padded[wl + 2] = '\0';
    int n = (int)wl + 2;
    for (int i = 0; i + 3 <= n; i++) {
        key[0] = 't';
        key[1] = ':';
        memcpy(key + 2, padded + i, 3);
        key[5] = '\0';
        fn(ctx, key);
    }
}

/* The features of one word being memoised, with their counts. */
struct word_feature_ctx {
    struct matcher *m;
    uint32_t id[MAX_WORD + 4];
    float tf[MAX_WORD + 4];
    int n, unknown;
};

static void on_word_feature(void *ctx, const char *key)
{
    struct word_feature_ctx *c = ctx;
    uint32_t id = feature_id(c->m, key);
    if (!id) {
        c->unknown++;
        return;
    }
    for (int i = 0; i < c->n; i++) {
        if (c->id[i] == id) {
            c->tf[i] += 1;
            return;
        }
    }
    if (c->n < (int)(sizeof c->id / sizeof c->id[0])) {
        c->id[c->n] = id;
        c->tf[c->n++] = 1;
    }
}

/*
 * A word's share of the text's similarity to each intent: its TF-IDF features dotted
 * with every centroid, and its squared length. Summing these over the words of a text
 * gives the cosine numerator exactly, and its length with features repeated across
 * words counted once per word; memoising them makes similarity a few additions a word.
 */
static void word_similarity(struct matcher *m, const char *word, const char *en_stem,
                            struct word_info *wi)
{
    struct word_feature_ctx c = {.m = m};
    word_features(word, en_stem, on_word_feature, &c);
    if (m->n_sim_pool + INTENT_COUNT > m->cap_sim_pool) {
        m->cap_sim_pool = m->cap_sim_pool ? m->cap_sim_pool * 2 : 64 * 1024;
        m->sim_pool = xrealloc(m->sim_pool, m->cap_sim_pool * sizeof *m->sim_pool);
    }
    wi->sim_off = (uint32_t)m->n_sim_pool;
    float *v = &m->sim_pool[m->n_sim_pool];
    m->n_sim_pool += INTENT_COUNT;
    for (int k = 0; k < INTENT_COUNT; k++)
        v[k] = 0;
    double sq = 0;
    uint32_t ntouched = 0;
    for (int i = 0; i < c.n; i++) {
        float w = c.tf[i] * m->idf[c.id[i]];
        /* The word's dot product with every example that shares a feature, merged over
         * its features: a word's trigrams mostly meet the same examples. */
        for (uint32_t p = m->post_start[c.id[i]]; p < m->post_start[c.id[i] + 1]; p++) {
            uint32_t e = m->post_example[p];
            if (m->example_dot[e] == 0)
                m->examples_touched[ntouched++] = e;
            m->example_dot[e] += w * m->post_weight[p];
        }
        sq += (double)w * w;
        const float *row = &m->centroid[(size_t)c.id[i] * INTENT_COUNT];
        for (int k = 0; k < INTENT_COUNT; k++)
            v[k] += w * row[k];
    }
    /* Unseen features count towards the length: a text that is mostly about something
     * else (a pizza order) is less similar to everything. */
    double max_idf = m->n_features ? log(1.0 + (double)m->n_features) : 1.0;
    sq += c.unknown * max_idf * max_idf * 0.25;
    wi->sq_norm = (float)sq;

    if (m->n_word_dots + ntouched > m->cap_word_dots) {
        m->cap_word_dots = (m->cap_word_dots ? m->cap_word_dots * 2 : 64 * 1024) + ntouched;
        m->word_dots = xrealloc(m->word_dots, m->cap_word_dots * sizeof *m->word_dots);
    }
    wi->dot_off = (uint32_t)m->n_word_dots;
    wi->n_dot = ntouched;
    for (uint32_t t = 0; t < ntouched; t++) {
        uint32_t e = m->examples_touched[t];
        m->word_dots[m->n_word_dots++] = (struct word_dot){e, m->example_dot[e]};
        m->example_dot[e] = 0;
    }
}

/* Forgets every memoised word, to bound memory; called between texts only. */
static void word_cache_reset(struct matcher *m)
{
    strmap_free(&m->word_cache);
    m->n_cache = 0;
    m->n_sim_pool = 0;
    m->n_word_dots = 0;
}

/* Collapses every doubled letter of a short word; returns 1 if it had any. */
static int undouble(const char *in, char *out)
{
    size_t len = strlen(in), o = 0;
    if (len > 6)
        return 0;
    int had = 0;
    for (size_t i = 0; i < len; i++) {
        if (i > 0 && in[i] == in[i - 1]) {
            had = 1;
            continue;
        }
        out[o++] = in[i];
    }
    out[o] = '\0';
    return had;
}

/* "goin", "feelin", "nothin": a final g dropped, as said. Writes the word with it to out;
 * returns 1 when that is a known word. */
static int g_dropped(const struct matcher *m, const char *w, char *out)
{
    size_t n = strlen(w);
    if (n < 4 || n + 2 > MAX_WORD || strcmp(w + n - 2, "in") != 0)
        return 0;
    memcpy(out, w, n);
    out[n] = 'g';
    out[n + 1] = '\0';
    return strmap_find(&m->vocab, out, NULL) || strmap_find(&m->known, out, NULL);
}

/* Whether a word's stem, in either language, is one that phrases use. */
static int stem_is_known(struct matcher *m, const char *word)
{
    for (int l = 0; l < LANG_COUNT; l++) {
        char stem[MAX_WORD];
        stem_word(m, (enum lang)l, word, stem);
        if (strlen(stem) >= 4 && strmap_find(&m->stems[l], stem, NULL))
            return 1;
    }
    return 0;
}

/* Words that deny what follows, and the words that may stand between them and it: "not
 * suicidal", "not going to kill myself", "no me quiero matar", "no voy a matarme". */
static const char *const articles[] = {"a",  "an", "the", "un",  "una",
                                       "el", "la", "los", "las", NULL};
static const char *const negations[] = {"not", "no", "never", "nunca", "jamas", NULL};
enum { CLAUSE_OPENS = 1, CLAUSE_AND = 2, CLAUSE_SUBJECT = 4 };
/* Words that open a clause of their own, and "and" words that do before a subject. */
static const char *const clause_words[] = {"but",    "because", "although", "though", "pero",
                                           "porque", "aunque",  "pq",       "except", NULL};
static const char *const and_words[] = {"and", "y", "then", "luego", "despues", NULL};
static const char *const subject_words[] = {
    "i",     "he",  "she",   "they",  "we",   "you",     "it",       "my", "his", "her",
    "their", "our", "yo",    "el",    "ella", "ellos",   "ellas",    "mi", "su",  "sus",
    "mis",   "now", "ahora", "today", "hoy",  "tonight", "nosotros", NULL};
/* A present verb after a subject, and the words after which that subject opens no clause
 * ("WHAT IF SHES NOT BREATHING"): see analyse. */
static const char *const run_on_verbs[] = {"is", "are", "am", "esta", "estan", NULL};
static const char *const run_on_after[] = {"if",   "when", "si",  "cuando", "que",  "that",
                                           "case", "what", "how", "where",  "como", NULL};
static const char *const negation_fillers[] = {
    "going",    "to",       "really", "even",   "ever",     "actually", "trying",
    "planning", "want",     "gonna",  "would",  "will",     "voy",      "a",
    "quiero",   "me",       "pienso", "planeo", "trato",    "de",       "intento",
    "really",   "thinking", "about",  "estoy",  "pensando", "en",       NULL};

static int word_in(const char *w, const char *const *list)
{
    for (; *list; list++)
        if (w[0] == (*list)[0] && strcmp(w, *list) == 0) /* most words differ at once */
            return 1;
    return 0;
}

/* Whether w is laughter made of syllables of c and a vowel ("jajaja", "jejeje"), four
 * letters or more. */
static int is_laugh(const char *w, char c)
{
    size_t n = strlen(w);
    if (n < 4)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (i % 2 == 0 ? w[i] != c : !strchr("aei", w[i]))
            return 0;
    return 1;
}

/*
 * A contraction that text-speak does not list ("who've", "he'll", "she'd"), whose word
 * before the apostrophe is known: cuts word (its surface form, apostrophe included) to
 * that word and returns what the ending stands for; NULL otherwise. Written without its
 * apostrophe it may be another word ("hell", "shed") or look like a typo ("whove" of
 * "whole"). An "'s" returns "" (is, has or a possessive), and only when the word without
 * it is unknown ("doctor's" stays "doctors"). stripped is word without the apostrophe.
 */
static const char *contraction(const struct matcher *m, const char *stripped, char *word)
{
    static const char *const endings[][2] = {{"ve", "have"}, {"ll", "will"}, {"re", "are"},
                                             {"d", "would"}, {"m", "am"},    {"s", ""}};
    char *apostrophe = strrchr(word, '\'');
    if (!apostrophe || apostrophe == word)
        return NULL;
    for (size_t i = 0; i < sizeof endings / sizeof endings[0]; i++) {
        if (strcmp(apostrophe + 1, endings[i][0]) != 0)
            continue;
        /* "he'll" is not "hell", but "doctor's" may stay "doctors". */
        if (!endings[i][1][0] &&
            (strmap_find(&m->vocab, stripped, NULL) || strmap_find(&m->known, stripped, NULL)))
            return NULL;
        *apostrophe = '\0';
        if (strchr(word, '\'') ||
            (!strmap_find(&m->vocab, word, NULL) && !strmap_find(&m->known, word, NULL) &&
             !strmap_find(&m->shorthand, word, NULL))) {
            *apostrophe = '\'';
            return NULL;
        }
        return endings[i][1];
    }
    return NULL;
}

/* Stage 2 for one word (after shorthand), memoised. */
static uint32_t word_lookup(struct matcher *m, const char *raw)
{
    uint32_t idx;
    if (strmap_find(&m->word_cache, raw, &idx))
        return idx;

    struct word_info wi;
    memset(&wi, 0, sizeof wi);
    uint32_t vi;
    const char *word = raw;
    char collapsed[MAX_WORD], with_g[MAX_WORD], corrected[MAX_WORD];
    if (!strmap_find(&m->vocab, raw, &vi) && has_run(raw)) {
        char two[MAX_WORD];
        collapse_runs(raw, two, 2);
        collapse_runs(raw, collapsed, 1);
        /* "hiii" is "hi" and "helppp" "help"; "goood" is "good" only if "god" is unknown. */
        if (!strmap_find(&m->vocab, collapsed, &vi) && strmap_find(&m->vocab, two, &vi))
            set_word(collapsed, two);
        word = collapsed;
    }
    if (is_laugh(word, 'j')) {
        word = "jaja"; /* "jajajaja", "jejeje": Spanish laughter, however long */
        wi.lang_odds = strmap_find(&m->vocab, word, &vi) ? m->vocab_info[vi].lang_odds : 1.0f;
    } else if (strmap_find(&m->vocab, word, &vi)) {
        wi.lang_odds = m->vocab_info[vi].lang_odds;
    } else if (strmap_find(&m->known, word, &vi)) {
        /* A real word that replies/ does not use ("selling", "doing"): keep it, and let
         * the dictionaries it is in say which language it leans to. */
        wi.lang_odds = vi == KNOWN_ES ? 0.7f : vi == KNOWN_EN ? -0.7f : 0.0f;
    } else if (undouble(word, collapsed) && strmap_find(&m->vocab, collapsed, &vi)) {
        /* "hii", "heyy": a doubled letter of emphasis, short of a run of three. */
        word = collapsed;
        wi.lang_odds = m->vocab_info[vi].lang_odds;
    } else if (g_dropped(m, word, with_g)) {
        word = with_g;
        wi.lang_odds = strmap_find(&m->vocab, word, &vi) ? m->vocab_info[vi].lang_odds : -0.7f;
        wi.corrected = 1;
    } else if (stem_is_known(m, word)) {
        /* Another form of a word replies/ uses ("sanen" of "sanar"): not a typo. */
    } else {
        if (correct_typo(m, word, corrected, &wi.lang_odds, &wi.shorthand)) {
            word = corrected;
            wi.corrected = 1;
        }
    }
    set_word(wi.word, word);
    if (strmap_find(&m->known, wi.word, &vi)) {
        wi.known = vi;
        uint32_t used;
        if (strmap_find(&m->vocab, wi.word, &used))
            wi.known &= ~((m->vocab_info[used].used_in & (1u << LANG_EN) ? KNOWN_ES : 0) |
                          (m->vocab_info[used].used_in & (1u << LANG_ES) ? KNOWN_EN : 0));
    }
    wi.negation = word_in(wi.word, negations);
    wi.negation_filler = word_in(wi.word, negation_fillers);
    wi.article = word_in(wi.word, articles);
    wi.clause = (word_in(wi.word, clause_words) ? CLAUSE_OPENS : 0) |
                (word_in(wi.word, and_words) ? CLAUSE_AND : 0) |
                (word_in(wi.word, subject_words) ? CLAUSE_SUBJECT : 0);
    char en_stem[MAX_WORD];
    for (int l = 0; l < LANG_COUNT; l++) {
        char stem[MAX_WORD];
        stem_word(m, (enum lang)l, wi.word, stem);
        strmap_find(&m->stems[l], stem, &wi.stem[l]);
        if (l == LANG_EN)
            set_word(en_stem, stem);
    }
    word_similarity(m, wi.word, en_stem, &wi);

    if (m->n_cache == m->cap_cache) {
        m->cap_cache = m->cap_cache ? m->cap_cache * 2 : 1024;
        m->cache = xrealloc(m->cache, m->cap_cache * sizeof *m->cache);
    }
    m->cache[m->n_cache] = wi;
    strmap_put(&m->word_cache, raw, (uint32_t)m->n_cache);
    return (uint32_t)m->n_cache++;
}

/* A word as the analysis sees it. */
struct word {
    /* Into the memo table, set once every word of the text is in it (the table may move
     * while words are added). */
    const struct word_info *info;
    uint32_t cached;    /* its index in the memo table */
    int from_shorthand; /* part of a text-speak expansion: no language evidence */
    int sentence;
    int clause; /* see clause_words: where a time cue's reach ends */
};

/*
 * The first steps of reading a token (raw, changed in place), shared by analyse() and
 * read_token(): a text-speak word, with or without its apostrophes ("od'd"); else an
 * unlisted contraction, whose two words go to head and *tail ("who've": "who" "have";
 * *tail "" for a bare possessive); else the word with its runs collapsed ("plzzz").
 * Returns 1 with *si when a text-speak word was found; *tail is NULL but for a
 * contraction.
 */
static int token_shorthand(const struct matcher *m, char *raw, char head[MAX_WORD], uint32_t *si,
                           const char **tail)
{
    *tail = NULL;
    int found = strmap_find(&m->shorthand, raw, si);
    if (!found && strchr(raw, '\'')) {
        set_word(head, raw);
        strip_apostrophes(raw);
        found = strmap_find(&m->shorthand, raw, si);
        if (!found && raw[0])
            *tail = contraction(m, raw, head);
    }
    if (!found && !*tail && raw[0] && has_run(raw)) {
        char collapsed[MAX_WORD];
        collapse_runs(raw, collapsed, 1);
        found = strmap_find(&m->shorthand, collapsed, si);
    }
    return found;
}

struct analysis {
    struct token toks[MAX_TOKENS];
    int ntoks;
    struct word words[MAX_TOKENS];
    int nwords;
    int nsentences;
    double lang_odds;
};

/* Folds, splits, expands shorthand and looks every word up. */
static void analyse(struct matcher *m, const char *text, size_t len, struct analysis *a)
{
    if (len > MAX_TEXT_BYTES)
        len = MAX_TEXT_BYTES;
    if (m->n_cache >= CACHE_LIMIT)
        word_cache_reset(m);
    char *folded = fold(text, len);
    a->ntoks = split_words(folded, a->toks, MAX_TOKENS);
    a->nwords = 0;
    a->nsentences = 0;
    a->lang_odds = 0;
    /* Accents and inverted marks are strong Spanish evidence; they are gone after folding,
     * so look at the original bytes. */
    for (size_t i = 0; i + 1 < len; i++) {
        unsigned char c0 = (unsigned char)text[i], c1 = (unsigned char)text[i + 1];
        if (c0 == 0xC3 && (c1 == 0xA1 || c1 == 0xAD || c1 == 0xB3 || c1 == 0xBA || c1 == 0xB1))
            a->lang_odds += 1.5; /* á í ó ú ñ */
        if (c0 == 0xC2 && (c1 == 0xBF || c1 == 0xA1))
            a->lang_odds += 2.0; /* ¿ ¡ */
    }
    free(folded);

    for (int t = 0; t < a->ntoks && a->nwords < MAX_TOKENS; t++) {
        char *raw = a->toks[t].raw;
        uint32_t si;
        char head[MAX_WORD];
        const char *tail;
        int found = token_shorthand(m, raw, head, &si, &tail);
        if (!raw[0])
            continue;
        if (tail) {
            /* "who've": "who" "have", not a typo of "whole". */
            const char *parts[2] = {head, tail};
            for (int k = 0; k < (tail[0] ? 2 : 1) && a->nwords < MAX_TOKENS; k++) {
                a->words[a->nwords].cached = word_lookup(m, parts[k]);
                a->words[a->nwords].from_shorthand = k;
                a->words[a->nwords].sentence = a->toks[t].sentence;
                a->words[a->nwords].clause = a->toks[t].clause;
                a->nwords++;
            }
            continue;
        }
        uint32_t cached = 0;
        if (!found) {
            cached = word_lookup(m, raw);
            /* A typo of a text-speak word ("wnana") stands for what that word does. */
            if (m->cache[cached].shorthand) {
                found = 1;
                si = m->cache[cached].shorthand - 1;
            }
        }
        if (found) {
            /* The expansion is stored folded and space-separated. */
            char buf[256];
            snprintf(buf, sizeof buf, "%s", m->shorthand_to[si]);
            for (char *save = NULL, *w = strtok_r(buf, " ", &save); w && a->nwords < MAX_TOKENS;
                 w = strtok_r(NULL, " ", &save)) {
                a->words[a->nwords].cached = word_lookup(m, w);
                /* "asap" in a Spanish text is not four English words. */
                a->words[a->nwords].from_shorthand = 1;
                a->words[a->nwords].sentence = a->toks[t].sentence;
                a->words[a->nwords].clause = a->toks[t].clause;
                a->nwords++;
            }
            continue;
        }
        a->words[a->nwords].cached = cached;
        a->words[a->nwords].from_shorthand = 0;
        a->words[a->nwords].sentence = a->toks[t].sentence;
        a->words[a->nwords].clause = a->toks[t].clause;
        a->nwords++;
    }
    /* A conjunction opens a clause: "but", "porque" always; "and", "y" before a subject of
     * its own ("...if he wasnt around and he bought a gun"), not before a second verb of
     * the same one ("he overdosed and almost died last year"). */
    /* A run-on text in capitals ("HOW DO I USE NARCAN SHES NOT BREATHING") opens a clause
     * at a new subject with a present verb of its own. */
    int caps = 0, lower = 0;
    for (size_t i = 0; i < len; i++) {
        caps += isupper((unsigned char)text[i]) != 0;
        lower += islower((unsigned char)text[i]) != 0;
    }
    caps = caps >= 8 && lower == 0;
    for (int w = 0, extra = 0; w < a->nwords; w++) {
        a->words[w].info = &m->cache[a->words[w].cached];
        int cl = a->words[w].info->clause;
        if (w > 0 &&
            ((cl & CLAUSE_OPENS) || ((cl & CLAUSE_AND) && w + 1 < a->nwords &&
                                     (m->cache[a->words[w + 1].cached].clause & CLAUSE_SUBJECT))))
            extra++;
        else if (caps && w > 0 && (cl & CLAUSE_SUBJECT) && w + 1 < a->nwords &&
                 a->words[w].sentence == a->words[w - 1].sentence &&
                 word_in(m->cache[a->words[w + 1].cached].word, run_on_verbs) &&
                 !word_in(m->cache[a->words[w - 1].cached].word, run_on_after) &&
                 !(m->cache[a->words[w - 1].cached].clause & (CLAUSE_AND | CLAUSE_OPENS)))
            extra++;
        a->words[w].clause += extra;
        if (!a->words[w].from_shorthand)
            a->lang_odds += a->words[w].info->lang_odds;
        if (a->words[w].sentence + 1 > a->nsentences)
            a->nsentences = a->words[w].sentence + 1;
    }
}

/* ---------------------------------------------------------------------------------- */
/* Stage 3: evidence.                                                                  */

struct phrase_hit {
    int phrase;
    int start, end; /* word positions, end inclusive */
};

/*
 * Whether word w of a text plainly in one language cannot stand for a word of phrase p in
 * the other: a word only the text's own dictionary knows. Stems cross languages ("quit"
 * stems like Spanish "quitarse", "pills" like nothing Spanish), words do not.
 */
static int foreign_word(const struct phrase *p, const struct analysis *a, int w)
{
    unsigned known = a->words[w].info->known;
    if (p->lang == LANG_ES)
        return known == KNOWN_EN && a->lang_odds <= -LANG_SURE_ODDS;
    return known == KNOWN_ES && a->lang_odds >= LANG_SURE_ODDS;
}

/* Finds phrase p starting at word i; fills the span. */
static int phrase_at(const struct matcher *m, const struct phrase *p, const struct analysis *a,
                     int i, struct phrase_hit *hit)
{
    (void)m;
    int pos = i, gaps = 0;
    if (foreign_word(p, a, i))
        return 0;
    /* Idioms are said word for word ("is killing me", not "is unbearable, kill me"), and
     * time cues nearly so ("hace dos años", "in the past"; not "using, we need to"). */
    int max_gap = MAX_GAP;
    if (p->intent < 0 && p->cue == CUE_IDIOM)
        max_gap = 0;
    else if (p->intent < 0 && (p->cue == CUE_PAST || p->cue == CUE_PRESENT))
        max_gap = 1;
    for (int k = 1; k < p->ntoks; k++) {
        int next = -1;
        int reach = max_gap;
        for (int j = pos + 1; j < a->nwords && j <= pos + 1 + reach; j++) {
            if (a->words[j].info->stem[p->lang] == p->toks[k] && !foreign_word(p, a, j)) {
                next = j;
                break;
            }
            if (a->words[j].info->negation)
                break; /* "i am suicidal" is not in "i am not suicidal" */
            if (max_gap == 0 && a->words[j].info->article)
                reach++; /* word for word, but for articles ("me corto el pelo") */
        }
        if (next < 0)
            return 0;
        gaps += next - pos - 1;
        if (gaps > MAX_GAP + 1)
            return 0;
        pos = next;
    }
    hit->start = i;
    hit->end = pos;
    return 1;
}

#define MAX_HITS 128

static void mask_set(uint64_t *mask, uint32_t stem)
{
    uint32_t bit = (stem * 2654435761u) >> 24;
    mask[bit >> 6] |= (uint64_t)1 << (bit & 63);
}

/* Finds the phrases of intents and cues in hits (returned: how many), and the concepts of
 * the crisis rules in concept_hits (*nconcepts of them; *said: a bit per concept). */
/* Sorts a few numbers in place (the candidates one text keeps are a few dozen). */
static void sort_small(uint64_t *v, int n)
{
    for (int i = 1; i < n; i++) {
        uint64_t x = v[i];
        int j = i;
        for (; j > 0 && v[j - 1] > x; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

static int find_phrases(struct matcher *m, const struct analysis *a, struct phrase_hit *hits,
                        struct phrase_hit *concept_hits, int *nconcepts, concept_mask *said)
{
    int nhits = 0;
    *nconcepts = 0;
    *said = 0;
    uint32_t stamp = ++m->text_stamp;
    /* Most candidates lack one of their words entirely: the stems' signature rejects
     * them before any walk through the text. */
    uint64_t text_mask[LANG_COUNT][4] = {{0}};
    for (int i = 0; i < a->nwords; i++)
        for (int l = 0; l < LANG_COUNT; l++)
            if (a->words[i].info->stem[l])
                mask_set(text_mask[l], a->words[i].info->stem[l]);
    /* The candidates of the stems the text says whose signature it has, sorted by their
     * first stem and then phrase: the order the phrases are tried in below, word by word
     * and for each word in the order they were added (see matcher.keyed). */
    int npassed[LANG_COUNT];
    for (int l = 0; l < LANG_COUNT; l++) {
        const uint64_t *tm = text_mask[l];
        uint32_t stems[MAX_TOKENS];
        int nstems = 0;
        for (int i = 0; i < a->nwords; i++)
            if (a->words[i].info->stem[l])
                stems[nstems++] = a->words[i].info->stem[l];
        for (int i = 1; i < nstems; i++) { /* sorted, to skip a stem said twice */
            uint32_t x = stems[i];
            int j = i;
            for (; j > 0 && stems[j - 1] > x; j--)
                stems[j] = stems[j - 1];
            stems[j] = x;
        }
        uint64_t *passed = m->passed[l];
        int n = 0;
        for (int k = 0; k < nstems; k++) {
            if (k > 0 && stems[k] == stems[k - 1])
                continue;
            const struct candidate *c = &m->keyed[l][m->key_start[l][stems[k]]];
            const struct candidate *end = &m->keyed[l][m->key_start[l][stems[k] + 1]];
            for (; c < end; c++)
                if (!((c->mask[0] & ~tm[0]) | (c->mask[1] & ~tm[1]) | (c->mask[2] & ~tm[2]) |
                      (c->mask[3] & ~tm[3])))
                    passed[n++] = (uint64_t)c->first << 32 | c->phrase;
        }
        sort_small(passed, n);
        npassed[l] = n;
    }
    for (int i = 0; i < a->nwords; i++) {
        for (int l = 0; l < LANG_COUNT; l++) {
            uint32_t id = a->words[i].info->stem[l];
            if (!id)
                continue;
            /* The survivors that start with this word's stem: from the first at or after
             * (id, 0) on. */
            const uint64_t *passed = m->passed[l];
            int k = 0, n = npassed[l];
            while (k < n) {
                int mid = k + (n - k) / 2;
                if (passed[mid] >> 32 < id)
                    k = mid + 1;
                else
                    n = mid;
            }
            for (; k < npassed[l] && passed[k] >> 32 == id && nhits < MAX_HITS; k++) {
                int pi = (int)(uint32_t)passed[k];
                const struct phrase *p = &m->phrases[pi];
                /* A concept counts wherever it is said: rules look for it near the others. */
                int concept = p->concept >= 0;
                if (concept ? *nconcepts >= MAX_HITS : m->phrase_seen[pi] == stamp)
                    continue;
                struct phrase_hit h;
                if (!phrase_at(m, p, a, i, &h))
                    continue;
                h.phrase = pi;
                if (concept) {
                    concept_hits[(*nconcepts)++] = h;
                    *said |= (concept_mask)1 << p->concept;
                } else {
                    hits[nhits++] = h;
                    m->phrase_seen[pi] = stamp;
                }
            }
        }
    }
    return nhits;
}

/* Cosine similarity of the text to every intent's centroid, from the memoised shares
 * of its words. */
static void similarity(struct matcher *m, const struct analysis *a, double *sim, double *nearest)
{
    float acc[INTENT_COUNT] = {0};
    double sq = 0;
    uint32_t ntouched = 0;
    for (int i = 0; i < a->nwords; i++) {
        const struct word_info *wi = a->words[i].info;
        const float *v = &m->sim_pool[wi->sim_off];
        for (int k = 0; k < INTENT_COUNT; k++)
            acc[k] += v[k];
        sq += wi->sq_norm;
        for (uint32_t d = 0; d < wi->n_dot; d++) {
            const struct word_dot *wd = &m->word_dots[wi->dot_off + d];
            if (m->example_dot[wd->example] == 0)
                m->examples_touched[ntouched++] = wd->example;
            m->example_dot[wd->example] += wd->dot;
        }
    }
    double norm = sq > 0 ? sqrt(sq) : 1;
    for (int k = 0; k < INTENT_COUNT; k++) {
        sim[k] = acc[k] / norm;
        nearest[k] = 0;
    }
    /* The best dot product of each intent, divided by the text's norm once. */
    float best_dot[INTENT_COUNT] = {0};
    for (uint32_t t = 0; t < ntouched; t++) {
        uint32_t e = m->examples_touched[t];
        float dot = m->example_dot[e];
        m->example_dot[e] = 0;
        if (dot > best_dot[m->example_intent[e]])
            best_dot[m->example_intent[e]] = dot;
    }
    for (int k = 0; k < INTENT_COUNT; k++)
        nearest[k] = best_dot[k] / norm;
}

/* ---------------------------------------------------------------------------------- */
/* Stage 4: decision.                                                                  */

static int sentence_slot(int sentence)
{
    return sentence < MAX_SENTENCES ? sentence : MAX_SENTENCES - 1;
}

/* intent_escalation() == ESCALATE_URGENT, without a call: it is asked in every loop below. */
static inline int is_urgent(int intent)
{
    return intent == INTENT_CRISIS_SUICIDE || intent == INTENT_CRISIS_OVERDOSE ||
           intent == INTENT_MEDICAL_URGENT;
}

/* Appends the strings to the explanation, truncating at its end. */
static void append_reason(struct match_explain *why, const char *a, const char *b, const char *c)
{
    if (!why)
        return;
    size_t used = strlen(why->reason);
    if (used + 1 >= sizeof why->reason)
        return;
    snprintf(why->reason + used, sizeof why->reason - used, "%s%s%s", a, b ? b : "", c ? c : "");
}

/* A cue found in the text: where it stands, and what it says. */
struct span {
    int cue;
    int start, end; /* word positions, end inclusive */
    const char *text;
    int bounded; /* a past cue that dates its own clause only: see time_anchor */
};

/*
 * Whether a past cue is a date ("last week", "in 2019", "hace un año", "when i was
 * using"): it dates the clause it stands in, not the whole sentence ("he keeps saying
 * we'd be better off without him, and he bought a gun last week"). Past cues that tell
 * how a story ended ("is fine now", "saved his life", "dieron de alta") still cover
 * their sentence.
 */
static int time_anchor(const char *text)
{
    static const char *const anchors[] = {
        "last ",   "ago",      "year",     "month",    "week",  "back in",  "back then",
        "used to", "when i",   "in ",      "on ",      "at ",   "over the", "this past",
        "a while", "previous", "as a ",    "hace ",    "pasad", "cuando",   "solia",
        "en ",     "desde ",   "de joven", "entonces", "solía", NULL};
    for (int i = 0; anchors[i]; i++)
        if (strncmp(text, anchors[i], strlen(anchors[i])) == 0 ||
            (strstr(text, anchors[i]) && anchors[i][strlen(anchors[i]) - 1] != ' '))
            return 1;
    return 0;
}

/* Whether a present cue ("now", "rn", "ahora") stands between words lo and hi: a calm
 * context told before it ("my gf left, and rn im sitting on the rail of the bridge") is
 * another moment than the sign after it. */
static int present_between(const struct span *spans, int n, int lo, int hi)
{
    for (int i = 0; i < n; i++)
        if (spans[i].cue == CUE_PRESENT && spans[i].start > lo && spans[i].end < hi)
            return 1;
    return 0;
}

/* Whether a clause says little but its date ("last year, ...", "that was in 2019"). */
static int bare_clause(const struct analysis *a, const struct span *cue)
{
    static const char *const fillers[] = {"that", "this", "it",   "was", "is",   "like", "so",
                                          "all",  "eso",  "esto", "fue", "era",  "pues", "and",
                                          "y",    "but",  "pero", "um",  "well", "back", "once",
                                          "only", "solo", "just", NULL};
    int c = a->words[cue->start].clause;
    for (int w = 0; w < a->nwords; w++)
        if (a->words[w].clause == c && (w < cue->start || w > cue->end) &&
            !word_in(a->words[w].info->word, fillers) &&
            !isdigit((unsigned char)a->words[w].info->word[0]))
            return 0;
    return 1;
}

/*
 * Whether an idiom of preference ("rather die than", "prefiero morir que") goes on with
 * living itself ("id rather die than keep living like this"): that is no figure of speech.
 * The complements of "than"/"que" that make it one are everything else ("than sit through
 * another family zoom", "than give up her pills").
 */
static int prefers_death_to_life(const struct analysis *a, const struct span *idiom)
{
    static const char *const life[] = {
        "live",      "living", "alive",    "exist",   "existing",  "wake",   "waking", "suffer",
        "suffering", "vivir",  "viviendo", "existir", "despertar", "seguir", "sufrir", NULL};
    size_t tl = strlen(idiom->text);
    if (!((tl > 5 && strcmp(idiom->text + tl - 5, " than") == 0) ||
          (tl > 4 && strcmp(idiom->text + tl - 4, " que") == 0)))
        return 0;
    int sn = a->words[idiom->end].sentence;
    for (int w = idiom->end + 1; w < a->nwords && w <= idiom->end + 3; w++)
        if (a->words[w].sentence == sn && word_in(a->words[w].info->word, life))
            return 1;
    return 0;
}

/*
 * Whether an idiom goes on with the world, a body or forever ("ya no quiero vivir en este
 * mundo", "me voy a dormir para siempre"): then it says what it seems to, no figure of
 * speech ("ya no quiero vivir en Santa Ana", "ya me voy a dormir, gracias").
 */
static int idiom_gone_literal(const struct analysis *a, const struct span *idiom)
{
    static const char *const literal[] = {"world", "mundo",    "forever", "planet", "planeta",
                                          "earth", "body",     "cuerpo",  "pain",   "dolor",
                                          "hell",  "infierno", NULL};
    int sn = a->words[idiom->end].sentence;
    for (int w = idiom->end + 1; w < a->nwords && w <= idiom->end + 3; w++) {
        if (a->words[w].sentence != sn)
            break;
        const char *word = a->words[w].info->word;
        if (word_in(word, literal) ||
            (strcmp(word, "siempre") == 0 && strcmp(a->words[w - 1].info->word, "para") == 0))
            return 1;
    }
    return 0;
}

/* The idiom a crisis sign is part of ("this heat is killing me"), or NULL. */
static const char *idiom_over(const struct analysis *a, const struct span *spans, int n,
                              const struct phrase_hit *hit)
{
    int sn = a->words[hit->start].sentence;
    for (int i = 0; i < n; i++)
        if (spans[i].cue == CUE_IDIOM && a->words[spans[i].start].sentence == sn &&
            spans[i].start <= hit->end && hit->start <= spans[i].end &&
            !prefers_death_to_life(a, &spans[i]) && !idiom_gone_literal(a, &spans[i]))
            return spans[i].text;
    return NULL;
}

/* Whether a phrase hit overlaps a concept hit of one of the concepts of mask. */
static int concept_over(const struct matcher *m, const struct phrase_hit *concept_hits, int n,
                        const struct phrase_hit *hit, concept_mask mask)
{
    for (int g = 0; g < n; g++)
        if ((mask >> m->phrases[concept_hits[g].phrase].concept & 1) &&
            concept_hits[g].start <= hit->end && hit->start <= concept_hits[g].end)
            return 1;
    return 0;
}

/* Whether a sentence says "now" ("what do I do if someone isn't breathing right now"):
 * then its question is about a crisis happening, not about crises in general. */
static int happening_now(const struct analysis *a, const struct span *spans, int n, int sentence)
{
    for (int i = 0; i < n; i++)
        if (spans[i].cue == CUE_PRESENT &&
            sentence_slot(a->words[spans[i].start].sentence) == sentence &&
            (strstr(spans[i].text, "now") || strstr(spans[i].text, "ahor") ||
             strstr(spans[i].text, "momento") || strstr(spans[i].text, "moment") ||
             strstr(spans[i].text, "currently")))
            return 1;
    return 0;
}

/*
 * Whether a crisis sign's clause asserts a present state of a specific person: a subject
 * ("she", "my brother", "mi hermano") with a present verb ("is", "has", "está") just before
 * the sign ("HOW DO I USE NARCAN SHES NOT BREATHING"), or a Spanish sign that is its own
 * verb ("no respira", "está ido"). A question frame or a calm context elsewhere in the text
 * does not set such a sign aside; only a hypothetical or generic marker right before it
 * does ("what if she is not breathing", "si alguien no respira", "in case my son is").
 * Returns the position of its subject, or -1.
 */
static int asserted_now(const struct analysis *a, const struct span *spans, int n,
                        const struct phrase_hit *hit)
{
    static const char *const subjects[] = {"i",     "he",  "she", "they",  "we",    "el",
                                           "ella",  "my",  "mi",  "his",   "her",   "our",
                                           "their", "mis", "sus", "ellos", "ellas", NULL};
    static const char *const verbs[] = {"is",    "are",   "am",    "has", "have", "looks",
                                        "seems", "keeps", "will",  "can", "does", "esta",
                                        "estan", "tiene", "sigue", "se",  "no",   NULL};
    static const char *const pronouns[] = {"i", "he", "she", "they", "we", "el", "ella", NULL};
    static const char *const own_verbs[] = {"respira", "despierta", "responde", "reacciona",
                                            "se",      "mueve",     NULL};
    static const char *const governors[] = {
        "if",      "when",   "whenever", "case",    "si",        "cuando", "que",
        "someone", "anyone", "somebody", "alguien", "terrified", "afraid", "scared",
        "worried", "worry",  "fear",     "miedo",   "imagine",   "people", NULL};
    int sn = a->words[hit->start].sentence, cl = a->words[hit->start].clause, subject = -1;
    for (int s = hit->start; s >= 0 && s >= hit->start - 5 && subject < 0; s--) {
        if (a->words[s].sentence != sn || a->words[s].clause != cl)
            break;
        if (s < hit->start && word_in(a->words[s].info->word, subjects)) {
            /* "she not breathing", "my son unresponsive": no verb needed. */
            int verb = hit->start - s == 1 ||
                       (hit->start - s == 2 && !word_in(a->words[s].info->word, pronouns));
            for (int v = s + 1; v <= hit->start && v <= s + 3 && !verb; v++)
                verb = word_in(a->words[v].info->word, verbs);
            if (verb)
                subject = s;
        }
    }
    /* "no respira", "está ido": the sign is the verb, its subject unsaid. */
    const char *w0 = a->words[hit->start].info->word;
    if (subject < 0 && (strcmp(w0, "esta") == 0 || strcmp(w0, "estoy") == 0 ||
                        (strcmp(w0, "no") == 0 && hit->start < hit->end &&
                         word_in(a->words[hit->start + 1].info->word, own_verbs))))
        subject = hit->start;
    if (subject < 0)
        return -1;
    for (int w = subject - 1; w >= 0 && a->words[w].clause == a->words[subject].clause; w--)
        if (word_in(a->words[w].info->word, governors))
            return -1;
    for (int i = 0; i < n; i++)
        if (spans[i].cue == CUE_HYPOTHETICAL && a->words[spans[i].start].sentence == sn &&
            spans[i].end < subject && spans[i].end >= subject - 3)
            return -1;
        else if (spans[i].cue == CUE_UNREAL && spans[i].start >= subject &&
                 a->words[spans[i].start].clause == a->words[subject].clause)
            return -1; /* "my dad snores like that every night" */
    return subject;
}

/* Whether word pos is part of the clause an assertion opens at subject: not a calm or
 * "unreal" cue before it ("how do i use narcan she is not breathing"). */
static int in_assertion(const struct analysis *a, int subject, int pos)
{
    return pos >= subject && pos < a->nwords && a->words[pos].clause == a->words[subject].clause;
}

/*
 * Whether a crisis sign is denied: a negation before it in its sentence, with nothing but
 * fillers between ("not suicidal", "not going to kill myself", "no me quiero matar"),
 * and not "no reason not to".
 */
static int denied(const struct analysis *a, const struct phrase_hit *hit)
{
    int sn = a->words[hit->start].sentence;
    for (int w = hit->start - 1; w >= 0 && w >= hit->start - NEGATION_REACH; w--) {
        const struct word_info *wi = a->words[w].info;
        if (a->words[w].sentence != sn)
            return 0;
        if (wi->negation) {
            const char *before = w > 0 ? a->words[w - 1].info->word : "";
            return strcmp(before, "reason") != 0 && strcmp(before, "why") != 0 &&
                   strcmp(before, "razon") != 0;
        }
        if (!wi->negation_filler)
            return 0;
    }
    return 0;
}

/*
 * Whether a crisis sign tells of a past event: a past cue in its sentence ("last year",
 * "in 2019") with no present cue between the two. "He overdosed last year" is past;
 * "he overdosed last year and now he is not breathing" and "I tried to kill myself in
 * 2020 and I want to do it again tonight" report a danger now.
 */
static int past_event(const struct analysis *a, const struct span *spans, int n,
                      const struct phrase_hit *hit)
{
    int sn = a->words[hit->start].sentence;
    int clause = a->words[hit->start].clause, last = a->words[hit->end].clause;
    /* "my dad keeps saying...": someone keeps saying or doing it, whatever the date; not
     * what goes on after the event ("overdosed in 2019 and hasn't stopped using since"). */
    for (int j = 0; j < n; j++)
        if (spans[j].cue == CUE_ONGOING && spans[j].start < hit->start &&
            a->words[spans[j].start].clause >= clause && a->words[spans[j].start].clause <= last &&
            strcmp(spans[j].text, "kept") != 0 && strcmp(spans[j].text, "always") != 0 &&
            strcmp(spans[j].text, "siempre") != 0)
            return 0;
    for (int i = 0; i < n; i++) {
        if (spans[i].cue != CUE_PAST || a->words[spans[i].start].sentence != sn)
            continue;
        /* A date covers its own clause, or the next one when it stands alone ("last
         * year, he overdosed") or the one before ("he overdosed, that was in 2019"). */
        if (spans[i].bounded) {
            int c = a->words[spans[i].start].clause;
            int reach = c >= clause && c <= last;
            if (!reach && (c == clause - 1 || c == last + 1) && bare_clause(a, &spans[i]))
                reach = 1;
            if (!reach)
                continue;
        }
        /* "ya está bien abierta": a present cue that starts inside the past one and goes
         * on past it is the better reading ("bien abierta", wide open). */
        int longer = 0;
        for (int j = 0; j < n && !longer; j++)
            longer = spans[j].cue == CUE_PRESENT && spans[j].start > spans[i].start &&
                     spans[j].start <= spans[i].end && spans[j].end > spans[i].end;
        if (longer)
            continue;
        /* The words between the past cue and the sign, and the sign's own words. */
        int from, to;
        if (spans[i].end < hit->start) {
            from = spans[i].end + 1;
            to = hit->end;
        } else if (spans[i].start > hit->end) {
            from = hit->start;
            to = spans[i].start - 1;
        } else {
            return 1; /* the sign is part of the past cue */
        }
        int now = 0;
        for (int j = 0; j < n && !now; j++)
            now = spans[j].cue == CUE_PRESENT && spans[j].start >= from && spans[j].start <= to;
        /* "i tried to kill myself in 2019 and im thinking about it again tonight": a later
         * clause that says it happens tonight, or that "it" happens again ("want to do it
         * again"; not "now she's using again"). */
        for (int j = 0; j < n && !now; j++) {
            int c = a->words[spans[j].start].clause;
            if (spans[j].cue != CUE_PRESENT || spans[j].start <= spans[i].end ||
                spans[j].start <= hit->end || a->words[spans[j].start].sentence != sn ||
                c <= a->words[spans[i].end].clause)
                continue;
            static const char *const it[] = {"it", "that", "lo", "eso", NULL};
            int again = 0;
            for (int w = 0; w < a->nwords && !again; w++)
                again = a->words[w].clause == c && word_in(a->words[w].info->word, it);
            now = strstr(spans[j].text, "tonight") || strstr(spans[j].text, "esta noche") ||
                  (again && (strstr(spans[j].text, "again") || strstr(spans[j].text, "otra vez") ||
                             strstr(spans[j].text, "de nuevo")));
        }
        if (!now)
            return 1;
    }
    return 0;
}

/*
 * Whether a goodbye sign is only an absence with an ordinary reason: the sign says little
 * more than an absence cue over it (one word: "won't be here tomorrow" over "will not be
 * here", not "won't be around much longer") and its sentence gives a reason to be away
 * ("I won't be around this weekend, going camping", "can you call me Thursday instead").
 */
static int away_for_a_reason(const struct analysis *a, const struct span *spans, int n,
                             const struct phrase *p, const struct phrase_hit *hit,
                             int cue_pos[][MAX_SENTENCES])
{
    int sn = a->words[hit->start].sentence;
    if (cue_pos[CUE_AWAY][sentence_slot(sn)] == MAX_TOKENS)
        return 0;
    for (int i = 0; i < n; i++) {
        if (spans[i].cue != CUE_ABSENCE || a->words[spans[i].start].sentence != sn ||
            spans[i].start > hit->end || hit->start > spans[i].end)
            continue;
        /* The phrase's own words outside the absence, but for its subject. */
        int outside = 0;
        for (int w = hit->start; w <= hit->end; w++) {
            const struct word_info *wi = a->words[w].info;
            if ((w >= spans[i].start && w <= spans[i].end) || strcmp(wi->word, "i") == 0 ||
                strcmp(wi->word, "yo") == 0)
                continue;
            for (int t = 0; t < p->ntoks; t++)
                if (wi->stem[p->lang] == p->toks[t]) {
                    outside++;
                    break;
                }
        }
        if (outside <= 1)
            return 1;
    }
    return 0;
}

/*
 * Whether a colour alone ("is purple") in sentence slot sn is the colour of a mark: the
 * sentence is about marks, bruises or a procedure, and says no vital word (lips, face,
 * fingertips, he, breathing...) and no numbness or a limb dying. See colour_words.
 */
static int mark_colour(const struct matcher *m, const struct analysis *a,
                       const concept_mask said_in[MAX_SENTENCES], int sn)
{
    if (!(said_in[sn] & m->colour_calm) || (said_in[sn] & m->colour_sign))
        return 0;
    for (int w = 0; w < a->nwords; w++) {
        if (sentence_slot(a->words[w].sentence) != sn)
            continue;
        for (int l = 0; l < LANG_COUNT; l++)
            for (int v = 0; v < MAX_VITAL && m->vital[l][v]; v++)
                if (a->words[w].info->stem[l] == m->vital[l][v])
                    return 0;
    }
    return 1;
}

/*
 * Calm concepts of lexicon.json that set aside a weak crisis sign ("cold", "numb", "for
 * good", "pills") in their sentence: an ordinary reason for a limb to be cold or numb, a
 * body's ordinary trouble (anxiety, withdrawal), overdoses in stories, classes and kits,
 * and quitting drugs. Thoughts of suicide keep their broad words otherwise: "hopeless"
 * next to "rehab" is still heard.
 */
static const struct {
    int intent;
    const char *concept;
} weak_calm_names[] = {
    {INTENT_MEDICAL_URGENT, "calm_limb"},
    {INTENT_MEDICAL_URGENT, "calm_body"},
    {INTENT_CRISIS_OVERDOSE, "calm_overdose"},
    {INTENT_CRISIS_SUICIDE, "calm_quit"},
};

/*
 * The safety net's danger signs: concepts of lexicon.json that tell of a danger by
 * themselves (a means, a method, an ending, an overdose sign, a limb dying, bleeding, a
 * dose to not wake up), unlike the contexts that complete a rule (a time, a drug, a limb).
 */
static const struct {
    int intent;
    const char *concept;
} net_names[] = {
    {INTENT_CRISIS_SUICIDE, "means_lethal"}, {INTENT_CRISIS_SUICIDE, "method_act"},
    {INTENT_CRISIS_SUICIDE, "ending"},       {INTENT_CRISIS_SUICIDE, "no_wake"},
    {INTENT_CRISIS_SUICIDE, "farewell"},     {INTENT_CRISIS_SUICIDE, "decided"},
    {INTENT_CRISIS_SUICIDE, "burden"},       {INTENT_CRISIS_OVERDOSE, "od_sign"},
    {INTENT_CRISIS_OVERDOSE, "revive_try"},  {INTENT_MEDICAL_URGENT, "limb_severe"},
    {INTENT_MEDICAL_URGENT, "bleeding"},     {INTENT_MEDICAL_URGENT, "deep_wound"},
    {INTENT_MEDICAL_URGENT, "stroke"},       {INTENT_MEDICAL_URGENT, "crackle"},
    {INTENT_MEDICAL_URGENT, "cough_blood"},
};

/* Concepts whose danger lasts: a means bought, got or found last week is at hand now, so a
 * rule that meets one is not set aside by a date ("he bought a gun last week"); a method
 * asked about ("which vein do you hit so you don't survive it") is asked now. */
static const char *const past_proof_names[] = {"means_got", "method_which"};

/* Contexts a date belongs to without making the rule past: "quit drinking 2 days ago and he
 * just had a seizure" dates the last drink, not the seizure (the other slots still may be
 * past: "had a seizure years ago when he quit drinking"). */
static const char *const dated_context_names[] = {"withdrawal"};

/*
 * Concepts of four more set-asides and their exceptions, in this order. seen_ask ("is it
 * normal", "is that bad", "es normal que"): people ask it about what they are looking at,
 * so a danger sign of an overdose or a medical crisis (a danger concept: not breathing, a
 * breath every 15 seconds, grey, won't wake up, a limb gone dark) in its sentence is not set
 * aside as a question about nobody when the text shows a real person or a moment anywhere
 * (a personal or third-party cue: "hes not answering me", "my friend"; a present cue: "rn";
 * or time gone by, the elapsed concept: "its been like 20 min"), in a sentence that is not
 * itself about another time ("my dad snores like that every night"); only "if", "what happens
 * if"... (a hypothetical cue), an "unreal" cue, a date or a calm concept still do. calm_thing (a
 * plant, a phone, a battery, "el celular"): "dying" alone said in its sentence is of that thing, as
 * laughter makes it a figure. weary_life ("tired of living like this", "cansada de vivir así"): a
 * suicide phrase inside it is set aside when the text also says a wish to change (calm_quit:
 * "want to get clean", "quiero dejar las drogas"): it is a wish to live otherwise.
 */
static const char *const seen_names[] = {"seen_ask", "calm_thing", "weary_life",   "calm_quit",
                                         "elapsed",  "calm_study", "calm_services"};

/* A concept said in the text, for the crisis rules. */
struct concept_hit {
    int hit; /* into the text's concept hits */
    int concept;
    int start, end;
};

/*
 * The first hit that meets each of rule's slots, all within its window of words (from the
 * first one's start to the last one's end), anchored on each hit of the first slot in
 * turn; for every other slot, the hit that keeps the span shortest. Fills chosen (indexes
 * into ch) and returns 1 when the rule is met.
 */
static int rule_met(const struct rule *rule, const struct concept_hit *ch, int nch, int from,
                    int chosen[RULE_MAX_SLOTS])
{
    for (int a = from; a < nch; a++) {
        if (!(rule->slot[0] >> ch[a].concept & 1))
            continue;
        int lo = ch[a].start, hi = ch[a].end, ok = 1;
        chosen[0] = a;
        for (int s = 1; s < rule->n_slots && ok; s++) {
            int best = -1, best_span = 1 << 30;
            for (int b = 0; b < nch; b++) {
                if (b == a || !(rule->slot[s] >> ch[b].concept & 1))
                    continue;
                /* Words said once meet one slot: "nodded out" and "keeps nodding" over the
                 * same words are not two signs. */
                int overlaps = 0;
                for (int t = 0; t < s && !overlaps; t++)
                    overlaps = ch[b].start <= ch[chosen[t]].end && ch[chosen[t]].start <= ch[b].end;
                if (overlaps)
                    continue;
                int l = ch[b].start < lo ? ch[b].start : lo;
                int h = ch[b].end > hi ? ch[b].end : hi;
                if (h - l < best_span) {
                    best_span = h - l;
                    best = b;
                }
            }
            if (best < 0 || best_span + 1 > rule->window) {
                ok = 0;
                break;
            }
            chosen[s] = best;
            if (ch[best].start < lo)
                lo = ch[best].start;
            if (ch[best].end > hi)
                hi = ch[best].end;
        }
        if (ok)
            return a + 1;
    }
    return 0;
}

/* Whole-message keyword: the folded words joined by one space, nothing else. */
static int keyword_intent(const struct matcher *m, const struct analysis *a)
{
    if (a->ntoks == 0 || a->ntoks > 3)
        return -1;
    char joined[3 * MAX_WORD + 3] = "";
    for (int i = 0; i < a->ntoks; i++) {
        if (i)
            strcat(joined, " ");
        strcat(joined, a->toks[i].raw);
    }
    uint32_t intent;
    if (strmap_find(&m->keywords, joined, &intent))
        return (int)intent;
    return -1;
}

/* The analysis of the text classify_text read last on this thread, and what the safety
 * net needs of its reading (unless it was a keyword): whether crisis words were set aside
 * for an ordinary reason (laughter is none: see matcher_classify), and the scores. */
static _Thread_local const struct analysis *last_analysis;
struct net_facts {
    int held;
    double score[INTENT_COUNT];
};
static _Thread_local struct net_facts last_facts;

/* The words of an analysis as the safety net reads them (urgency_set_add_reading):
 * corrected, text-speak expanded, space-separated. Returns the length written. */
static size_t reading_of(const struct analysis *a, char *out, size_t cap)
{
    size_t used = 0;
    for (int i = 0; i < a->nwords; i++) {
        const char *w = a->words[i].info->word;
        size_t n = strlen(w);
        if (used + n + 2 > cap)
            break;
        if (used)
            out[used++] = ' ';
        memcpy(out + used, w, n);
        used += n;
    }
    if (cap)
        out[used] = '\0';
    return used;
}

/* One reading of the whole text; *crisis_words gets whether any crisis phrase or danger
 * concept was seen in it, taken or set aside. */
static void classify_text(struct matcher *m, const char *text, size_t len, struct match_result *out,
                          struct match_explain *why, int *crisis_words)
{
    static _Thread_local struct analysis a;
    *crisis_words = 0;
    analyse(m, text, len, &a);
    last_analysis = &a;
    if (why) {
        memset(why, 0, sizeof *why);
        size_t used = 0;
        for (int i = 0; i < a.nwords && used + 2 < sizeof why->normalized; i++) {
            const struct word_info *wi = a.words[i].info;
            int n = snprintf(why->normalized + used, sizeof why->normalized - used, "%s%s%s",
                             i ? " " : "", wi->word, wi->corrected ? "*" : "");
            if (n < 0)
                break;
            used += (size_t)n;
        }
        if (used >= sizeof why->normalized)
            why->normalized[sizeof why->normalized - 1] = '\0';
    }
    out->lang = a.lang_odds > 0.5 ? LANG_ES : LANG_EN;
    out->lang_sure = fabs(a.lang_odds) >= LANG_SURE_ODDS;
    out->keyword = 0;

    int kw = keyword_intent(m, &a);
    if (kw >= 0) {
        out->intent = (enum intent)kw;
        out->confidence = 1.0;
        out->keyword = 1;
        if (out->lang == LANG_ES && a.lang_odds < 2.0)
            out->lang = LANG_EN; /* a bare keyword is English unless clearly Spanish */
        append_reason(why, "whole-message keyword", NULL, NULL);
        return;
    }

    struct phrase_hit hits[MAX_HITS], concept_hits[MAX_HITS];
    int nconcepts;
    concept_mask said;
    int nhits = find_phrases(m, &a, hits, concept_hits, &nconcepts, &said);
    *crisis_words = (said & (m->danger[INTENT_CRISIS_SUICIDE] | m->danger[INTENT_CRISIS_OVERDOSE] |
                             m->danger[INTENT_MEDICAL_URGENT])) != 0;
    for (int h = 0; h < nhits && !*crisis_words; h++)
        *crisis_words = hits[h].phrase >= 0 && is_urgent(m->phrases[hits[h].phrase].intent);
    /* The concepts said in each sentence, for the rules' "unless" and the colours of marks;
     * a concept inside a longer one of another concept is part of that one: "bruised" in
     * "toes like bruised grapes" is no bruise. */
    concept_mask said_in[MAX_SENTENCES] = {0};
    unsigned char part_of_longer[MAX_HITS] = {0};
    for (int h = 0; h < nconcepts; h++) {
        const struct phrase_hit *hit = &concept_hits[h];
        const struct phrase *p = &m->phrases[hit->phrase];
        int inside = 0;
        for (int g = 0; g < nconcepts && !inside; g++) {
            const struct phrase_hit *o = &concept_hits[g];
            /* ...but not a word the longer one skipped over: "money" in "enough money to"
             * is no part of "enough to". */
            inside = m->phrases[o->phrase].concept != p->concept && o->start <= hit->start &&
                     o->end >= hit->end && o->end - o->start > hit->end - hit->start &&
                     (o->end - o->start + 1 == m->phrases[o->phrase].ntoks ||
                      o->start == hit->start || o->end == hit->end);
        }
        part_of_longer[h] = (unsigned char)inside;
        if (!inside)
        said_in[sentence_slot(a.words[hit->start].sentence)] |= (concept_mask)1 << p->concept;
    }

    /* Cues, by sentence: where each first appears, and whether the sentence opens
     * with a question word. */
    int cue_pos[CUE_COUNT][MAX_SENTENCES];
    int first_word[MAX_SENTENCES];
    for (int sn = 0; sn < MAX_SENTENCES; sn++) {
        first_word[sn] = -1;
        for (int c = 0; c < CUE_COUNT; c++)
            cue_pos[c][sn] = MAX_TOKENS;
    }
    for (int w = a.nwords - 1; w >= 0; w--)
        first_word[sentence_slot(a.words[w].sentence)] = w;
    int opens_question[MAX_SENTENCES] = {0};
    /* Past events, present markers and idioms, as spans: what they say depends on where
     * they stand ("overdosed last year and now he is not breathing"). */
    struct span cue_spans[MAX_HITS + MAX_TOKENS];
    int ncue_spans = 0;
    for (int h = 0; h < nhits; h++) {
        const struct phrase *p = &m->phrases[hits[h].phrase];
        if (p->intent != -1)
            continue; /* cues only */
        int sn = sentence_slot(a.words[hits[h].start].sentence);
        if (hits[h].start < cue_pos[p->cue][sn])
            cue_pos[p->cue][sn] = hits[h].start;
        if (p->cue == CUE_PAST || p->cue == CUE_PRESENT || p->cue == CUE_IDIOM ||
            p->cue == CUE_ABSENCE || p->cue == CUE_ONGOING || p->cue == CUE_HYPOTHETICAL ||
            p->cue == CUE_UNREAL)
            cue_spans[ncue_spans++] = (struct span){p->cue, hits[h].start, hits[h].end, p->text,
                                                    p->cue == CUE_PAST && time_anchor(p->text)};
        /* "can't breathe" opens with "can" but asks nothing. */
        if (p->cue == CUE_QUESTION && hits[h].start == first_word[sn] &&
            !(hits[h].end + 1 < a.nwords &&
              (strcmp(a.words[hits[h].end + 1].info->word, "not") == 0 ||
               strcmp(a.words[hits[h].end + 1].info->word, "no") == 0)))
            opens_question[sn] = 1;
    }
    /* "in 2019", "since 2021": a year makes a past event. */
    for (int w = 1; w < a.nwords; w++) {
        const char *word = a.words[w].info->word;
        const char *prev = a.words[w - 1].info->word;
        if (strlen(word) == 4 && (strncmp(word, "19", 2) == 0 || strncmp(word, "20", 2) == 0) &&
            isdigit((unsigned char)word[2]) && isdigit((unsigned char)word[3]) &&
            (strcmp(prev, "in") == 0 || strcmp(prev, "since") == 0 || strcmp(prev, "en") == 0 ||
             strcmp(prev, "desde") == 0)) {
            int sn = sentence_slot(a.words[w].sentence);
            if (w - 1 < cue_pos[CUE_PAST][sn])
                cue_pos[CUE_PAST][sn] = w - 1;
            cue_spans[ncue_spans++] = (struct span){CUE_PAST, w - 1, w, "in <year>", 1};
        }
    }
    /* Sentences that name a sign known from a class ("the snoring they warned us about"),
     * and reports that a state goes on ("its been hours and they're still like that"). */
    int learned[MAX_SENTENCES], goes_on[MAX_SENTENCES] = {0};
    for (int sn = 0; sn < MAX_SENTENCES; sn++)
        learned[sn] = cue_pos[CUE_LEARNED][sn] < MAX_TOKENS;
    /* "narcan training taught us about blue lips": what a class was about, not a sign seen
     * now, unless a sign comes first ("the snoring they warned us about"). */
    for (int h = 0; h < nhits; h++) {
        const struct phrase *p = &m->phrases[hits[h].phrase];
        size_t tl = strlen(p->text);
        int sn = sentence_slot(a.words[hits[h].start].sentence), before = 0;
        if (p->intent != -1 || p->cue != CUE_LEARNED || tl < 5 || strcmp(p->text + tl - 5, "about"))
            continue;
        int od_sign = -1;
        for (int c = 0; c < m->n_concepts && od_sign < 0; c++)
            if (strcmp(m->concept_names[c], "od_sign") == 0)
                od_sign = c;
        for (int g = 0; g < nconcepts && !before; g++)
        before = concept_hits[g].start < hits[h].start &&
                 sentence_slot(a.words[concept_hits[g].start].sentence) == sn &&
                 m->phrases[concept_hits[g].phrase].concept == od_sign;
        if (!before)
            learned[sn] = 0;
    }
    for (int i = 0; i < ncue_spans; i++) {
        const char *t = cue_spans[i].text;
        int sn = sentence_slot(a.words[cue_spans[i].start].sentence);
        if (cue_spans[i].cue == CUE_PRESENT && !opens_question[sn] &&
            cue_pos[CUE_HYPOTHETICAL][sn] == MAX_TOKENS && cue_pos[CUE_UNREAL][sn] == MAX_TOKENS &&
            (strstr(t, "still") || strstr(t, "todav") || strstr(t, "hours") || strstr(t, "horas") ||
             strstr(t, "like th") || strstr(t, "asi") || strstr(t, "así") || strstr(t, "igual")))
            goes_on[sn] = 1;
    }
    /* "is it normal for someone to be this limp? he doesnt answer when i shake him": a
     * sentence that tells of a real person now, with a danger sign of its own, makes the
     * question about nobody in another sentence a report. */
    int told_now[MAX_SENTENCES] = {0}, any_told_now = 0;
    for (int sn = 0; sn < MAX_SENTENCES; sn++) {
        told_now[sn] =
            !opens_question[sn] && cue_pos[CUE_HYPOTHETICAL][sn] == MAX_TOKENS &&
            cue_pos[CUE_UNREAL][sn] == MAX_TOKENS && cue_pos[CUE_PAST][sn] == MAX_TOKENS &&
            (cue_pos[CUE_PERSONAL][sn] < MAX_TOKENS || cue_pos[CUE_THIRD_PARTY][sn] < MAX_TOKENS) &&
            (said_in[sn] &
             (m->danger[INTENT_CRISIS_OVERDOSE] | m->danger[INTENT_MEDICAL_URGENT])) != 0 &&
            !(said_in[sn] &
              (m->weak_calm[INTENT_CRISIS_OVERDOSE] | m->weak_calm[INTENT_MEDICAL_URGENT]));
        any_told_now += told_now[sn];
    }
    /* "is it normal for someone to turn grey after they use??", "his breathing is like once
     * every 10 seconds is that bad": a question over what one is looking at (see seen_names)
     * does not set a danger sign aside, but for a hypothetical one ("what happens if"). */
    int seen[MAX_SENTENCES], real_now = 0;
    const concept_mask severe =
        m->danger[INTENT_CRISIS_OVERDOSE] | m->danger[INTENT_MEDICAL_URGENT];
    for (int sn = 0; sn < MAX_SENTENCES; sn++)
        real_now |=
            cue_pos[CUE_UNREAL][sn] == MAX_TOKENS && cue_pos[CUE_PAST][sn] == MAX_TOKENS &&
            (cue_pos[CUE_PERSONAL][sn] < MAX_TOKENS || cue_pos[CUE_THIRD_PARTY][sn] < MAX_TOKENS ||
             cue_pos[CUE_PRESENT][sn] < MAX_TOKENS || (said_in[sn] & m->elapsed) != 0);
    /* "is it bad if someone's eyes are half open... thats my sister rn": the "if" of the
     * frame itself ("is it bad if", "es malo que") supposes nothing. */
    int hyp_free[MAX_SENTENCES];
    for (int sn = 0; sn < MAX_SENTENCES; sn++)
        hyp_free[sn] = cue_pos[CUE_HYPOTHETICAL][sn] == MAX_TOKENS;
    for (int i = 0; i < ncue_spans; i++) {
        if (cue_spans[i].cue != CUE_HYPOTHETICAL)
            continue;
        int sn = sentence_slot(a.words[cue_spans[i].start].sentence), framed = 0;
        for (int g = 0; g < nconcepts && !framed; g++)
            framed = (m->seen_ask >> m->phrases[concept_hits[g].phrase].concept & 1) &&
                     concept_hits[g].start <= cue_spans[i].start &&
                     concept_hits[g].end >= cue_spans[i].start &&
                     sentence_slot(a.words[concept_hits[g].start].sentence) == sn;
        if (!framed)
            hyp_free[sn] = -1; /* a hypothetical of its own */
        else if (hyp_free[sn] == 0)
            hyp_free[sn] = 1;
    }
    for (int sn = 0; sn < MAX_SENTENCES; sn++)
        seen[sn] = real_now && (said_in[sn] & m->seen_ask) != 0 && hyp_free[sn] == 1;

    /* A phrase inside a longer phrase is part of that one: "blue" in "blue cross" is not
     * a crisis sign, and "tracks" in "track marks" is not said twice. */
    for (int h = 0; h < nhits; h++) {
        const struct phrase *p = &m->phrases[hits[h].phrase];
        for (int g = 0; g < nhits && p->intent >= 0; g++) {
            if (hits[g].phrase < 0)
                continue;
            const struct phrase *q = &m->phrases[hits[g].phrase];
            if (q->intent >= 0 && q->ntoks > p->ntoks && hits[g].start <= hits[h].start &&
                hits[g].end >= hits[h].end) {
                hits[h].phrase = -1;
                break;
            }
            /* ...and a crisis sign whose first or last word is a word of a calm phrase at
             * least as long that runs on past it: "is [anthem] blue" in "my insurance is
             * anthem blue cross" is the carrier, not a colour. (Not a shorter one: "if i
             * was gone" + "gone for good" is still gone.) */
            if (q->intent >= 0 && is_urgent(p->intent) && !is_urgent(q->intent) && q->ntoks >= 2 &&
                q->ntoks >= p->ntoks &&
                ((hits[g].start <= hits[h].end && hits[h].end < hits[g].end &&
                  hits[g].start > hits[h].start) ||
                 (hits[g].start < hits[h].start && hits[h].start <= hits[g].end &&
                  hits[g].end < hits[h].end))) {
                hits[h].phrase = -1;
                break;
            }
        }
    }

    double score[INTENT_COUNT] = {0};
    double strong[INTENT_COUNT] = {0}, weak[INTENT_COUNT] = {0};
    int greets = 0; /* a greeting opens the text ("good morning" ends "ride tomorrow morning") */
    double asked_about_crisis = 0;
    int crisis_signs = 0;         /* crisis phrases that count: not past, asked about or idioms */
    int set_aside = 0;            /* crisis phrases that were idioms or denied */
    int laughed_aside = 0;        /* ...of them, set aside by laughter alone (see the net) */
    int opt_out_about_others = 0; /* opt-out phrases whose subject is a third party */
    int opt_out_asked = 0;        /* opt-out phrases addressed to the line */
    /* Phrase evidence by sentence: weak crisis signs are weighed against the question in
     * their own sentence, not against one asked in another ("do you take anthem? my arm
     * is red up to the elbow and i have a fever"). */
    double weak_in_sentence[INTENT_COUNT][MAX_SENTENCES] = {{0}};
    /* The words of crisis phrases that count, a bit per intent: a rule over them adds no
     * score of its own. */
    uint32_t crisis_said[MAX_TOKENS];
    memset(crisis_said, 0, (size_t)a.nwords * sizeof crisis_said[0]);
    double calm_in_sentence[INTENT_COUNT][MAX_SENTENCES] = {{0}};
    for (int h = 0; h < nhits; h++) {
        if (hits[h].phrase < 0)
            continue;
        const struct phrase *p = &m->phrases[hits[h].phrase];
        if (p->intent < 0)
            continue;
        int sn = sentence_slot(a.words[hits[h].start].sentence);
        /* "my mom won't stop texting me", "mi ex no deja de mandarme mensajes": someone
         * else keeps texting the texter, so the sentence tells of them and asks the line
         * nothing. Both are needed, the third party and the "keeps doing it" between it
         * and the phrase: "my husband says stop texting him" and "this is my daughter's
         * phone, please stop texting" are opt-outs (revocation by any reasonable means),
         * and a missed opt-out is the worse error here. */
        int third = cue_pos[CUE_THIRD_PARTY][sn], ongoing = cue_pos[CUE_ONGOING][sn];
        if (p->intent == INTENT_OPT_OUT && third < hits[h].start && ongoing >= third &&
            ongoing <= hits[h].start) {
            append_reason(why, "about someone else: '", p->text, "'; ");
            opt_out_about_others++;
            continue;
        }
        if (is_urgent(p->intent)) {
            /*
             * Is the sentence reporting a crisis, or asking about one? A past event
             * ("overdosed last year") is not a crisis now. A sentence about nobody in
             * particular that asks ("what does an overdose look like?") or supposes
             * ("what happens if someone ODs", "I heard blood can get infected, can it")
             * is information. Thoughts of suicide are
             * never explained away by the question form: "how many pills would it take
             * to not wake up" is a crisis.
             */
            const char *idiom = idiom_over(&a, cue_spans, ncue_spans, &hits[h]);
            if (!idiom && p->laughing && cue_pos[CUE_LAUGH][sn] < MAX_TOKENS) {
                idiom = "laughing";
                laughed_aside++;
            }
            /* "the plant i bought is dying", "se me está muriendo el celular". */
            if (!idiom && p->laughing && (said_in[sn] & m->thing_calm))
                idiom = "said of a thing";
            /* "im so tired of living like this. i want to get clean": a wish to change. */
            if (!idiom && p->intent == INTENT_CRISIS_SUICIDE && (said & m->change_calm) &&
                concept_over(m, concept_hits, nconcepts, &hits[h], m->weary_life))
                idiom = "a wish to change";
            /* "mi viejo dice 'me quiero morir' cada vez que pierde el America jajaja": said by
             * someone else, every time, with laughter. */
            if (!idiom && p->intent == INTENT_CRISIS_SUICIDE &&
                cue_pos[CUE_LAUGH][sn] < MAX_TOKENS && cue_pos[CUE_UNREAL][sn] < MAX_TOKENS &&
                cue_pos[CUE_THIRD_PARTY][sn] < hits[h].start)
                idiom = "a saying, laughed at";
            /* "a course on suicide prevention", "vi en las noticias que subieron los suicidios":
             * the topic word alone, in a sentence about a class, a course or the news. */
            if (!idiom && p->intent == INTENT_CRISIS_SUICIDE && p->ntoks == 1 &&
                (said_in[sn] & m->study_calm))
                idiom = "a topic of study or the news";
            /* "do you treat people who have depression and suicidal thoughts?" */
            if (!idiom && p->intent == INTENT_CRISIS_SUICIDE && (said_in[sn] & m->services_calm))
                idiom = "a question about whom the center treats";
            if (idiom) {
                append_reason(why, "a figure of speech: '", idiom, "'; ");
                set_aside++;
                continue;
            }
            if (denied(&a, &hits[h])) {
                append_reason(why, "denied: '", p->text, "'; ");
                set_aside++;
                continue;
            }
            if (p->colour && mark_colour(m, &a, said_in, sn)) {
                append_reason(why, "the colour of a mark: '", p->text, "'; ");
                set_aside++;
                continue;
            }
            /* "my hands go cold and purple in the winter", "slept on my arm, now it's
             * numb", "threw away my stash, done for good": a weak sign with an ordinary
             * reason in its sentence. Strong signs and the rules still hold. */
            if (!p->strong && (said_in[sn] & m->weak_calm[p->intent]) &&
                !(learned[sn] && p->intent == INTENT_CRISIS_OVERDOSE)) {
                append_reason(why, "an ordinary reason: '", p->text, "'; ");
                set_aside++;
                continue;
            }
            if (p->intent == INTENT_CRISIS_SUICIDE && p->injury &&
                cue_pos[CUE_ACCIDENT][sn] < MAX_TOKENS) {
                append_reason(why, "an accident: '", p->text, "'; ");
                set_aside++;
                continue;
            }
            /* "said goodbye to everyone at the airport, she is moving to spain", "wrote the
             * kids a letter before his deployment": a parting with an ordinary reason. */
            if (p->intent == INTENT_CRISIS_SUICIDE && p->goodbye &&
                ((said_in[sn] & m->goodbye_calm) || cue_pos[CUE_AWAY][sn] < MAX_TOKENS)) {
                append_reason(why, "an ordinary parting: '", p->text, "'; ");
                set_aside++;
                continue;
            }
            if (p->intent == INTENT_CRISIS_SUICIDE &&
                away_for_a_reason(&a, cue_spans, ncue_spans, p, &hits[h], cue_pos)) {
                append_reason(why, "away for a reason: '", p->text, "'; ");
                set_aside++;
                continue;
            }
            int past = past_event(&a, cue_spans, ncue_spans, &hits[h]);
            int personal =
                cue_pos[CUE_PERSONAL][sn] < MAX_TOKENS || cue_pos[CUE_THIRD_PARTY][sn] < MAX_TOKENS;
            int now = happening_now(&a, cue_spans, ncue_spans, sn);
            int asking = (opens_question[sn] || cue_pos[CUE_HYPOTHETICAL][sn] < MAX_TOKENS) &&
                         !now && any_told_now == told_now[sn];
            /* "es normal que alguien no despierte? mi novio está así ahorita": another
             * sentence says a real person is in that state now. */
            for (int s2 = 0; s2 < MAX_SENTENCES && asking; s2++)
                asking = s2 == sn || !goes_on[s2];
            if (asking && seen[sn] && p->intent != INTENT_CRISIS_SUICIDE &&
                concept_over(m, concept_hits, nconcepts, &hits[h], severe))
                asking = 0;
            /* "in case my son ever ODs", "his hands go blue all the time": about real
             * people, but not happening now. */
            int unreal = cue_pos[CUE_UNREAL][sn] < MAX_TOKENS && !now && !learned[sn];
            /* "HOW DO I USE NARCAN SHES NOT BREATHING": a sign asserted of a real person now
             * is no question, and an "unreal" cue in another clause does not reach it. */
            int subject = p->intent != INTENT_CRISIS_SUICIDE && (asking || unreal)
                              ? asserted_now(&a, cue_spans, ncue_spans, &hits[h])
                              : -1;
            if (subject >= 0) {
                asking = 0;
                unreal = unreal && in_assertion(&a, subject, cue_pos[CUE_UNREAL][sn]);
            }
            if (past || (p->intent != INTENT_CRISIS_SUICIDE && ((asking && !personal) || unreal))) {
                /* Asking about a crisis is asking about risks; a little, so that a later
                 * sentence that reports one still outweighs it. */
                asked_about_crisis = fmax(asked_about_crisis, p->weight * 0.5);
                append_reason(why, past ? "a past event: '" : "a question about: '", p->text,
                              "'; ");
                continue;
            }
            crisis_signs++;
            for (int w = hits[h].start; w <= hits[h].end; w++)
                crisis_said[w] |= 1u << p->intent;
            if (p->strong)
                strong[p->intent] += p->weight;
            else
                weak[p->intent] += p->weight;
            if (!p->strong)
                weak_in_sentence[p->intent][sn] += p->weight;
        } else if (p->intent != INTENT_FALLBACK && p->intent != INTENT_GREETING) {
            /* A greeting asks nothing: "hey. od happening rn". Thanks stay: "thanks, bye". */
            calm_in_sentence[p->intent][sn] += p->weight;
            opt_out_asked += p->intent == INTENT_OPT_OUT;
        }
        score[p->intent] += p->weight;
        if (p->intent == INTENT_GREETING && hits[h].start <= 1)
            greets = 1;
        append_reason(why, "'", p->text, "' ");
    }

    /*
     * Crisis rules: concepts met together ("burning" + "my forearm", "tonight" + "wrote
     * a letter", "hand" + "turned dark" + "hit a vein"). A concept denied or part of an
     * idiom does not count; a rule is set aside by its "unless" cues in the sentences it
     * spans, by its "unless" concepts in its own clauses or within its window with no
     * present cue between (see present_between), by a past event, and (but for suicide) by a
     * question about nobody in particular or an "unreal" cue, as phrases are.
     */
    /* Only when every slot of some rule has one of its concepts in the text. */
    int rule_possible = 0;
    for (int r = 0; r < m->n_rules && !rule_possible; r++) {
        rule_possible = 1;
        for (int s = 0; s < m->rules[r].n_slots; s++)
            rule_possible &= (m->rules[r].slot[s] & said) != 0;
    }
    if (rule_possible) {
        struct concept_hit ch[MAX_HITS];
        int nch = 0;
        for (int h = 0; h < nconcepts; h++) {
            const struct phrase_hit *hit = &concept_hits[h];
            const struct phrase *p = &m->phrases[hit->phrase];
            if (idiom_over(&a, cue_spans, ncue_spans, hit) || denied(&a, hit))
                continue;
            ch[nch++] = (struct concept_hit){h, p->concept, hit->start, hit->end};
        }
        for (int r = 0; r < m->n_rules && nch >= 2; r++) {
            const struct rule *rule = &m->rules[r];
            int chosen[RULE_MAX_SLOTS];
            for (int from = 0; (from = rule_met(rule, ch, nch, from, chosen)) > 0;) {
                const char *why_not = NULL;
                int calm_aside = 0; /* set aside by a calm concept or cue, not by time */
                int sn0 = sentence_slot(a.words[ch[chosen[0]].start].sentence);
                int lasting = 0; /* a means got: no date makes it past */
                for (int s = 0; s < rule->n_slots; s++)
                    lasting |= (m->past_proof >> ch[chosen[s]].concept & 1) != 0;
                /* A sign asserted of a real person now ("...SHES NOT BREATHING"): only a calm
                 * context in its own clause sets an overdose rule aside, and no question. */
                int firm = -1;
                for (int s = 0;
                     s < rule->n_slots && firm < 0 && rule->intent != INTENT_CRISIS_SUICIDE; s++)
                    if (m->danger[rule->intent] >> ch[chosen[s]].concept & 1)
                        firm = asserted_now(&a, cue_spans, ncue_spans,
                                            &concept_hits[ch[chosen[s]].hit]);
                /* The clauses the rule's own concepts span, and the words: a calm concept
                 * sets the rule aside in those clauses or within the rule's window of its
                 * words, not from a far clause of a long run-on ("was doing ok, relapsed in
                 * june, ... and rn im sitting on the rail of the bridge"). */
                int first = MAX_TOKENS, last = -1;
                for (int s = 0; s < rule->n_slots; s++) {
                    first = ch[chosen[s]].start < first ? ch[chosen[s]].start : first;
                    last = ch[chosen[s]].end > last ? ch[chosen[s]].end : last;
                }
                int reach = rule->window;
                for (int s = 0; s < rule->n_slots && !why_not; s++) {
                    const struct phrase_hit *hit = &concept_hits[ch[chosen[s]].hit];
                    int sn = sentence_slot(a.words[hit->start].sentence);
                    int calm_here = 0;
                    for (int g = 0; g < nconcepts && !calm_here && (said_in[sn] & rule->unless);
                         g++) {
                        const struct phrase_hit *o = &concept_hits[g];
                        if (part_of_longer[g] ||
                            !(rule->unless >> m->phrases[o->phrase].concept & 1) ||
                            sentence_slot(a.words[o->start].sentence) != sn)
                            continue;
                        int c = a.words[o->start].clause;
                        int lo = o->end < first ? o->end : last,
                            hi = o->end < first ? first : o->start;
                        calm_here = (c >= a.words[first].clause && c <= a.words[last].clause) ||
                                    (o->end >= first - reach && o->start <= last + reach &&
                                     !present_between(cue_spans, ncue_spans, lo, hi));
                    }
                    if (calm_here && firm >= 0 && rule->intent == INTENT_CRISIS_OVERDOSE) {
                        calm_here = 0;
                        for (int g = 0; g < nconcepts && !calm_here; g++)
                            calm_here =
                                (rule->unless >> m->phrases[concept_hits[g].phrase].concept & 1) &&
                                in_assertion(&a, firm, concept_hits[g].start);
                    }
                    if (calm_here && !(learned[sn] && rule->intent == INTENT_CRISIS_OVERDOSE))
                        why_not = "a calm context", calm_aside = 1;
                    else if (rule->unless_accident && cue_pos[CUE_ACCIDENT][sn] < MAX_TOKENS)
                        why_not = "an accident", calm_aside = 1;
                    else if (rule->unless_away && cue_pos[CUE_AWAY][sn] < MAX_TOKENS)
                        why_not = "away for a reason", calm_aside = 1;
                    else if (!lasting && !(m->dated_context >> ch[chosen[s]].concept & 1) &&
                             past_event(&a, cue_spans, ncue_spans, hit))
                        why_not = "a past event";
                }
                if (!why_not && rule->intent != INTENT_CRISIS_SUICIDE) {
                    int personal = cue_pos[CUE_PERSONAL][sn0] < MAX_TOKENS ||
                                   cue_pos[CUE_THIRD_PARTY][sn0] < MAX_TOKENS;
                    int now = happening_now(&a, cue_spans, ncue_spans, sn0);
                    int asking =
                        (opens_question[sn0] || cue_pos[CUE_HYPOTHETICAL][sn0] < MAX_TOKENS) &&
                        !now && any_told_now == told_now[sn0];
                    int unreal = cue_pos[CUE_UNREAL][sn0] < MAX_TOKENS && !now && !learned[sn0];
                    for (int s = 0; s < rule->n_slots && asking && seen[sn0]; s++)
                        if (m->danger[rule->intent] >> ch[chosen[s]].concept & 1)
                            asking = 0;
                    if (firm >= 0) {
                        asking = 0;
                        unreal = unreal && in_assertion(&a, firm, cue_pos[CUE_UNREAL][sn0]);
                    }
                    if (asking && !personal)
                        why_not = "a question";
                    /* "is it normal for your fingers to go white after shooting? its been
                     * hours and they're still like that": another sentence tells that it
                     * goes on. */
                    for (int sn = 0; sn < MAX_SENTENCES && why_not; sn++)
                        if (sn != sn0 && goes_on[sn])
                            why_not = NULL;
                    /* "can injecting cause numbness in your hands long term? my dad ... still
                     * complains about it": not happening now in its own sentence, whatever
                     * another sentence says goes on. */
                    if (!why_not && unreal)
                        why_not = "not happening now";
                }
                append_reason(why, "rule ", rule->name, why_not ? " (" : ": ");
                for (int s = 0; s < rule->n_slots; s++)
                    append_reason(why, s ? " + '" : "'",
                                  m->phrases[concept_hits[ch[chosen[s]].hit].phrase].text, "'");
                append_reason(why, why_not ? ", set aside: " : "", why_not, why_not ? "); " : "; ");
                if (why_not) {
                    /* Like a sign set aside: the text reads like a crisis only because
                     * of those words ("my chest hurts from coughing"). */
                    set_aside += calm_aside;
                    if (rule->intent != INTENT_CRISIS_SUICIDE)
                        asked_about_crisis = fmax(asked_about_crisis, WEIGHT_WEAK);
                    continue;
                }
                /* Raises the crisis as a strong sign does, but scores as half of one:
                 * when another crisis has its own signs ("took 10 xanax and can't feel my
                 * legs"), the more specific phrases choose which crisis it is; and nothing
                 * when its words are all in crisis phrases of its intent already. */
                int new_words = 0;
                for (int s = 0; s < rule->n_slots; s++)
                    for (int w = ch[chosen[s]].start; w <= ch[chosen[s]].end; w++)
                        new_words += !(crisis_said[w] >> rule->intent & 1);
                strong[rule->intent] += WEIGHT_STRONG;
                if (new_words)
                    score[rule->intent] += RULE_SCORE;
                crisis_signs++;
                break;
            }
        }
    }

    /* The danger concepts said in earnest, for the safety net: not denied, an idiom, a past
     * event, a question about nobody in particular or not happening now. */
    concept_mask earnest = 0;
    for (int h = 0; h < nconcepts; h++) {
        const struct phrase_hit *hit = &concept_hits[h];
        concept_mask bit = (concept_mask)1 << m->phrases[hit->phrase].concept;
        int sn = sentence_slot(a.words[hit->start].sentence);
        if (!(bit & (m->danger[INTENT_CRISIS_SUICIDE] | m->danger[INTENT_CRISIS_OVERDOSE] |
                     m->danger[INTENT_MEDICAL_URGENT])) ||
            (earnest & bit))
            continue;
        int personal =
            cue_pos[CUE_PERSONAL][sn] < MAX_TOKENS || cue_pos[CUE_THIRD_PARTY][sn] < MAX_TOKENS;
        int now = happening_now(&a, cue_spans, ncue_spans, sn);
        int asking = (opens_question[sn] || cue_pos[CUE_HYPOTHETICAL][sn] < MAX_TOKENS) && !now &&
                     !(seen[sn] && (bit & severe));
        int unreal = cue_pos[CUE_UNREAL][sn] < MAX_TOKENS && !now;
        int subject = asking || unreal ? asserted_now(&a, cue_spans, ncue_spans, hit) : -1;
        if (subject >= 0) {
            asking = 0;
            unreal = unreal && in_assertion(&a, subject, cue_pos[CUE_UNREAL][sn]);
        }
        if (idiom_over(&a, cue_spans, ncue_spans, hit) || denied(&a, hit) ||
            past_event(&a, cue_spans, ncue_spans, hit) || (asking && !personal) || unreal)
            continue;
        earnest |= bit;
    }

    score[INTENT_HEALTH_RISKS] += asked_about_crisis;
    double sim[INTENT_COUNT], nearest[INTENT_COUNT];
    similarity(m, &a, sim, nearest);
    for (int k = 0; k < INTENT_COUNT; k++) {
        if (k == INTENT_HELP_KEYWORD || k == INTENT_OPT_IN)
            continue; /* keywords only */
        score[k] += SIM_WEIGHT * ((1 - NEAREST_SHARE) * sim[k] + NEAREST_SHARE * nearest[k]);
    }

    /* The opt-out examples read like such a text only because of those words. */
    if (opt_out_about_others && !opt_out_asked)
        score[INTENT_OPT_OUT] = 0;

    /* The calm evidence a weak crisis sign must outweigh: what the text asks or says, not
     * the greeting it opens with ("hey. od happening rn"). */
    double best_calm = 0;
    for (int k = 0; k < INTENT_COUNT; k++)
        if (!is_urgent(k) && k != INTENT_GREETING && score[k] > best_calm)
            best_calm = score[k];

    /* Safety first: a strong crisis sign wins over anything else in the text. Weak signs
     * ("blue", "pills", "fever") need company: two of them, or one and a text that reads
     * like the crisis examples, and not a text plainly about something else; or two in a
     * sentence of their own. */
    /* The strongest calm intent of each sentence the text has, once for all crises. */
    int nslots = a.nsentences < MAX_SENTENCES ? a.nsentences : MAX_SENTENCES;
    double calm_max[MAX_SENTENCES];
    for (int sn = 0; sn < nslots; sn++) {
        double calm = 0;
        for (int c = 0; c < INTENT_COUNT; c++)
            if (calm_in_sentence[c][sn] > calm)
                calm = calm_in_sentence[c][sn];
        calm_max[sn] = calm;
    }
    int best_crisis = -1, best_firm = 0;
    for (int k = 0; k < INTENT_COUNT; k++) {
        if (!is_urgent(k))
            continue;
        int weak_enough = weak[k] >= 2 * WEIGHT_WEAK || (weak[k] > 0 && sim[k] >= SIM_CRISIS / 2);
        int sentence_of_signs = 0;
        for (int sn = 0; sn < nslots && !sentence_of_signs; sn++)
            sentence_of_signs = weak_in_sentence[k][sn] >= 2 * WEIGHT_WEAK &&
                                weak_in_sentence[k][sn] >= calm_max[sn];
        /* A text whose only crisis words were an idiom or denied reads like a crisis only
         * because of those words: its similarity does not raise one. */
        int by_similarity = !(set_aside && crisis_signs == 0) &&
                            (sim[k] >= SIM_CRISIS || nearest[k] >= NEAREST_CRISIS);
        /* The safety net: one danger concept of this crisis's rules, said in earnest, in a
         * text that reads like its examples. */
        int net = !set_aside && (earnest & m->danger[k]) &&
                  (nearest[k] >= NET_NEAREST || sim[k] >= NET_SIM);
        int firm = net || strong[k] > 0 || sentence_of_signs || by_similarity;
        int raised = firm || (weak[k] > 0 && score[k] >= best_calm) ||
                     (weak_enough && score[k] >= WEAK_CRISIS_SHARE * best_calm);
        if (raised && (best_crisis < 0 || score[k] > score[best_crisis]))
            best_crisis = k, best_firm = firm;
    }
    if (why) {
        memcpy(why->score, score, sizeof score);
        why->set_aside = set_aside;
        why->laughed_aside = laughed_aside;
    }
    last_facts.held = set_aside > laughed_aside;
    memcpy(last_facts.score, score, sizeof score);
    if (best_crisis >= 0) {
        out->intent = (enum intent)best_crisis;
        out->confidence = fmin(1.0, score[best_crisis] / (2 * WEIGHT_STRONG));
        append_reason(why, "-> a crisis sign wins", NULL, NULL);
        *crisis_words = best_firm ? 2 : 1;
        return;
    }

    int best = -1;
    double total = 0;
    for (int k = 0; k < INTENT_COUNT; k++) {
        if (is_urgent(k) || k == INTENT_GREETING || k == INTENT_THANKS)
            continue;
        total += score[k];
        if (best < 0 || score[k] > score[best])
            best = k;
    }
    /* Greetings and thanks only when nothing else is asked, and a greeting only when the
     * text opens with one. */
    if (!greets)
        score[INTENT_GREETING] = 0;
    if (best < 0 || score[best] < FALLBACK_BELOW) {
        int small =
            score[INTENT_GREETING] >= score[INTENT_THANKS] ? INTENT_GREETING : INTENT_THANKS;
        if (score[small] >= FALLBACK_BELOW)
            best = small;
        else
            best = INTENT_FALLBACK;
    }
    out->intent = (enum intent)best;
    out->confidence = best == INTENT_FALLBACK ? 0.0 : fmin(1.0, score[best] / (total + 1.0));
}

/* ---------------------------------------------------------------------------------- */
/* Building the model.                                                                 */

/* Folded, split, shorthand-expanded words of a vocabulary string. Returns the count. */
static int vocab_words_of(struct matcher *m, const char *text, char words[][MAX_WORD], int max)
{
    char *folded = fold(text, strlen(text));
    struct token toks[64];
    int nt = split_words(folded, toks, 64);
    free(folded);
    int n = 0;
    for (int i = 0; i < nt && n < max; i++) {
        uint32_t si;
        int found = strmap_find(&m->shorthand, toks[i].raw, &si);
        if (!found && strip_apostrophes(toks[i].raw))
            found = strmap_find(&m->shorthand, toks[i].raw, &si);
        if (!toks[i].raw[0])
            continue;
        if (found) {
            char buf[256];
            snprintf(buf, sizeof buf, "%s", m->shorthand_to[si]);
            for (char *save = NULL, *w = strtok_r(buf, " ", &save); w && n < max;
                 w = strtok_r(NULL, " ", &save))
                set_word(words[n++], w);
        } else if (has_run(toks[i].raw)) {
            /* An example written "hiii" teaches "hi", as texts are read. */
            collapse_runs(toks[i].raw, words[n++], 1);
        } else {
            set_word(words[n++], toks[i].raw);
        }
    }
    return n;
}

/*
 * vocab_words_of, memoised by text while the model is built: add_phrase,
 * build_language_odds and build_similarity each read the same phrases and examples.
 * The memo keeps all the words (up to MAX_TOKENS); a smaller max takes the first max,
 * which is where vocab_words_of would have stopped. Entry: a uint32_t count, then the
 * words one after the other, each with its NUL.
 */
static int vocab_words(struct matcher *m, const char *text, char words[][MAX_WORD], int max)
{
    uint32_t off;
    if (!strmap_find(&m->words_memo, text, &off)) {
        char all[MAX_TOKENS][MAX_WORD];
        char entry[sizeof(uint32_t) + sizeof all];
        uint32_t n = (uint32_t)vocab_words_of(m, text, all, MAX_TOKENS);
        size_t len = sizeof n;
        memcpy(entry, &n, sizeof n);
        for (uint32_t i = 0; i < n; i++) {
            size_t wl = strlen(all[i]) + 1;
            memcpy(entry + len, all[i], wl);
            len += wl;
        }
        off = memo_add(m, entry, len);
        strmap_put(&m->words_memo, text, off);
    }
    uint32_t n;
    memcpy(&n, m->memo_pool + off, sizeof n);
    const char *w = m->memo_pool + off + sizeof n;
    int got = 0;
    for (; got < max && (uint32_t)got < n; got++) {
        size_t wl = strlen(w) + 1;
        memcpy(words[got], w, wl);
        w += wl;
    }
    return got;
}

static void vocab_add(struct matcher *m, const char *word, enum lang lang, int count_lang)
{
    size_t known = m->vocab.n;
    uint32_t *slot = strmap_ref(&m->vocab, word); /* one probe, found or inserted */
    uint32_t vi = *slot;
    if (m->vocab.n > known) {
        vi = (uint32_t)m->n_vocab++;
        if (m->n_vocab > m->cap_vocab) {
            m->cap_vocab = m->cap_vocab ? 2 * m->cap_vocab : 4096;
            m->vocab_info = xrealloc(m->vocab_info, m->cap_vocab * sizeof *m->vocab_info);
        }
        m->vocab_info[vi].word = xstrdup(word);
        m->vocab_info[vi].count = 0;
        m->vocab_info[vi].in_lang[LANG_EN] = m->vocab_info[vi].in_lang[LANG_ES] = 0;
        m->vocab_info[vi].lang_odds = 0;
        m->vocab_info[vi].used_in = 0;
        *slot = vi;
    }
    m->vocab_info[vi].count++;
    m->vocab_info[vi].used_in |= 1u << lang;
    if (count_lang)
        m->vocab_info[vi].in_lang[lang]++;
}

/* The id of a phrase word's stem, numbered when new; memoised by word (stem_id_memo). */
static uint32_t stem_id_for(struct matcher *m, enum lang lang, const char *word)
{
    uint32_t *memo = strmap_ref(&m->stem_id_memo[lang], word); /* 0 when new */
    if (!*memo) {
        char stem[MAX_WORD];
        stem_word(m, lang, word, stem);
        uint32_t *id = strmap_ref(&m->stems[lang], stem);
        if (!*id)
            *id = ++m->n_stems[lang];
        *memo = *id;
    }
    return *memo;
}

static void add_phrase(struct matcher *m, const char *text, enum lang lang, int intent, int cue,
                       int strong)
{
    char words[MAX_PHRASE_TOKENS][MAX_WORD];
    int n = vocab_words(m, text, words, MAX_PHRASE_TOKENS);
    /* Articles inside a phrase are left to the gaps: "bought a rope" also finds "bought
     * rope", and "took the whole bottle" finds "took my whole bottle". */
    int is_article[MAX_PHRASE_TOKENS] = {0}, others = 0;
    for (int i = 0; i < n; i++) {
        is_article[i] = word_in(words[i], articles);
        others += !is_article[i];
    }
    /* ...but for a pronoun before a verb of love: "los quiero mucho" (to you all) is not
     * "te quiero mucho". */
    static const char *const love_verbs[] = {"quiero", "amo", "extrano", NULL};
    if (n >= 2 && is_article[0] && word_in(words[1], love_verbs))
        is_article[0] = 0;
    /* ...unless that leaves one word: "el láser" is written so because "láser" alone
     * stems like the article "las". */
    if (others >= 2) {
        int kept = 0;
        for (int i = 0; i < n; i++)
            if (!is_article[i])
                memmove(words[kept++], words[i], MAX_WORD);
        n = kept;
    }
    if (n == 0)
        return;
    if (m->n_phrases == m->cap_phrases) {
        m->cap_phrases = m->cap_phrases ? 2 * m->cap_phrases : 1024;
        m->phrases = xrealloc(m->phrases, m->cap_phrases * sizeof *m->phrases);
        m->phrase_texts = xrealloc(m->phrase_texts, m->cap_phrases * sizeof(char *));
    }
    struct phrase *p = &m->phrases[m->n_phrases];
    memset(p, 0, sizeof *p);
    for (int i = 0; i < n; i++) {
        vocab_add(m, words[i], lang, 0);
        p->toks[i] = stem_id_for(m, lang, words[i]);
        mask_set(p->mask, p->toks[i]);
    }
    p->ntoks = n;
    p->concept = -1;
    p->intent = intent;
    p->cue = cue;
    p->lang = lang;
    p->strong = strong;
    /* Longer phrases are more specific. */
    p->weight = (strong ? WEIGHT_STRONG : WEIGHT_WEAK) * (1.0 + 0.15 * (n - 1));
    m->phrase_texts[m->n_phrases] = xstrdup(text);
    m->n_phrases++;
}

/* Phrases listed by several intents share their weight. */
static void share_phrase_weights(struct matcher *m)
{
    /* Key: language and stem ids; value: its slot in bits + 1, a bit per intent that lists
     * the phrase. */
    struct strmap owners = {0};
    uint32_t *bits = xcalloc(m->n_phrases + 1, sizeof *bits);
    uint32_t *slot = xcalloc(m->n_phrases + 1, sizeof *slot); /* by phrase: its key's slot */
    uint32_t nbits = 0;
    for (size_t i = 0; i < m->n_phrases; i++) {
        struct phrase *p = &m->phrases[i];
        p->text = m->phrase_texts[i];
        if (p->intent < 0)
            continue;
        /* The key spells the language and each stem id in base 64 with the digits '0'
         * to 'o', six digits an id (ids are under 2^32): no NUL inside, and no two keys
         * alike; snprintf was most of this function. */
        char key[1 + MAX_PHRASE_TOKENS * 6 + 1], *k = key;
        *k++ = (char)('0' + p->lang);
        for (int t = 0; t < p->ntoks; t++)
            for (int shift = 30; shift >= 0; shift -= 6)
                *k++ = (char)('0' + ((p->toks[t] >> shift) & 63));
        *k = '\0';
        uint32_t *value = strmap_ref(&owners, key); /* slot + 1; 0 when new */
        if (!*value)
            *value = ++nbits;
        slot[i] = *value - 1;
        bits[slot[i]] |= 1u << p->intent;
    }
    for (size_t i = 0; i < m->n_phrases; i++) {
        struct phrase *p = &m->phrases[i];
        if (p->intent < 0)
            continue;
        int others = __builtin_popcount(bits[slot[i]] & ~(1u << p->intent));
        p->weight /= 1 + others;
    }
    free(slot);
    free(bits);
    strmap_free(&owners);
}

struct build_ctx {
    struct matcher *m;
    double *vec; /* dense scratch, by feature id, grows with n_features */
    size_t cap;
    uint32_t *touched;
    size_t ntouched, cap_touched;
};

/* Counts one occurrence of feature id in the document being read. */
static void count_feature(struct build_ctx *b, uint32_t id)
{
    if (id >= b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap <= id)
            cap *= 2;
        b->vec = xrealloc(b->vec, cap * sizeof *b->vec);
        memset(b->vec + b->cap, 0, (cap - b->cap) * sizeof *b->vec);
        b->cap = cap;
    }
    if (b->vec[id] == 0) {
        if (b->ntouched == b->cap_touched) {
            b->cap_touched = b->cap_touched ? b->cap_touched * 2 : 256;
            b->touched = xrealloc(b->touched, b->cap_touched * sizeof *b->touched);
        }
        b->touched[b->ntouched++] = id;
    }
    b->vec[id] += 1;
}

/* The feature ids of one word, in the order word_features emits them (a stem and at most
 * MAX_WORD - 1 trigrams), after their count: entry[0]. */
struct word_ids {
    struct matcher *m;
    uint32_t entry[1 + MAX_WORD + 4];
};

/* Numbers a feature not seen before. */
static void on_build_feature(void *ctx, const char *key)
{
    struct word_ids *w = ctx;
    uint32_t id = feature_id(w->m, key);
    if (!id) {
        id = ++w->m->n_features;
        strmap_put(&w->m->features, key, id);
    }
    w->entry[++w->entry[0]] = id;
}

/*
 * The features of an example text, as the query side would see them. A word's feature
 * ids are memoised (features_memo: a word_ids entry): its stem and trigrams
 * depend on the word alone, and a feature keeps the id it was first given, so a word
 * seen again counts the same ids in the same order.
 */
static void example_features(struct matcher *m, struct build_ctx *b, const char *text)
{
    char words[MAX_TOKENS][MAX_WORD];
    int n = vocab_words(m, text, words, MAX_TOKENS);
    for (int i = 0; i < n; i++) {
        uint32_t off;
        if (!strmap_find(&m->features_memo, words[i], &off)) {
            struct word_ids w = {.m = m};
            char stem[MAX_WORD];
            stem_word(m, LANG_EN, words[i], stem);
            word_features(words[i], stem, on_build_feature, &w);
            off = memo_add(m, w.entry, (1 + w.entry[0]) * sizeof w.entry[0]);
            strmap_put(&m->features_memo, words[i], off);
        }
        const uint32_t *entry = (const uint32_t *)(m->memo_pool + off);
        for (uint32_t k = 1; k <= entry[0]; k++)
            count_feature(b, entry[k]);
    }
}

/* A document of the similarity model (an example text or a phrase) and its features. */
struct doc_feature {
    uint32_t id;
    float count;
};
struct doc {
    int intent;
    int is_example;
    size_t first, n;
};

/*
 * The postings of the example texts (not the phrases), for the nearest example. Features
 * in more than one example in POSTING_MAX_SHARE carry little and cost most (" th"), so
 * they count towards lengths but get no postings.
 */
static void build_postings(struct matcher *m, const struct doc *docs, size_t ndocs,
                           const struct doc_feature *feats)
{
    m->post_start = xcalloc(m->n_features + 2, sizeof *m->post_start);
    uint32_t *in_examples = xcalloc(m->n_features + 1, sizeof *in_examples);
    uint32_t n_examples = 0;
    for (size_t d = 0; d < ndocs; d++) {
        if (!docs[d].is_example)
            continue;
        n_examples++;
        for (size_t t = 0; t < docs[d].n; t++)
            in_examples[feats[docs[d].first + t].id]++;
    }
    uint32_t max_postings = n_examples / POSTING_MAX_SHARE + 1;
    size_t total = 0;
    for (size_t d = 0; d < ndocs; d++) {
        if (!docs[d].is_example)
            continue;
        m->n_examples++;
        for (size_t t = 0; t < docs[d].n; t++) {
            uint32_t id = feats[docs[d].first + t].id;
            if (in_examples[id] <= max_postings) {
                m->post_start[id + 1]++;
                total++;
            }
        }
    }
    for (uint32_t f = 1; f <= m->n_features + 1; f++)
        m->post_start[f] += m->post_start[f - 1];
    m->post_example = xcalloc(total + 1, sizeof *m->post_example);
    m->post_weight = xcalloc(total + 1, sizeof *m->post_weight);
    m->example_intent = xcalloc(m->n_examples + 1, 1);
    uint32_t *fill = xcalloc(m->n_features + 1, sizeof *fill);
    uint32_t e = 0;
    for (size_t d = 0; d < ndocs; d++) {
        if (!docs[d].is_example)
            continue;
        const struct doc_feature *f = &feats[docs[d].first];
        double norm = 0;
        for (size_t t = 0; t < docs[d].n; t++) {
            double w = f[t].count * m->idf[f[t].id];
            norm += w * w;
        }
        norm = norm > 0 ? sqrt(norm) : 1;
        for (size_t t = 0; t < docs[d].n; t++) {
            if (in_examples[f[t].id] > max_postings)
                continue;
            uint32_t at = m->post_start[f[t].id] + fill[f[t].id]++;
            m->post_example[at] = e;
            m->post_weight[at] = (float)(f[t].count * m->idf[f[t].id] / norm);
        }
        m->example_intent[e++] = (uint8_t)docs[d].intent;
    }
    free(fill);
    free(in_examples);
}

static void build_similarity(struct matcher *m, const struct replies *r)
{
    struct build_ctx b = {.m = m};
    /* Pass 1: each document's features (kept for pass 2) and the document frequencies.
     * Documents are the examples and the phrases of each intent. */
    struct doc_feature *feats = NULL;
    size_t nfeats = 0, cap_feats = 0;
    struct doc *docs = NULL;
    size_t ndocs = 0, cap_docs = 0;
    for (int k = 0; k < INTENT_COUNT; k++) {
        const struct replies_intent *ri = &r->intents[k];
        for (size_t e = 0; e < ri->n_examples + ri->n_phrases; e++) {
            const char *text =
                e < ri->n_examples ? ri->examples[e].text : ri->phrases[e - ri->n_examples].text;
            b.ntouched = 0;
            example_features(m, &b, text);
            if (ndocs == cap_docs) {
                cap_docs = cap_docs ? cap_docs * 2 : 1024;
                docs = xrealloc(docs, cap_docs * sizeof *docs);
            }
            if (nfeats + b.ntouched > cap_feats) {
                cap_feats = (cap_feats ? cap_feats * 2 : 16384) + b.ntouched;
                feats = xrealloc(feats, cap_feats * sizeof *feats);
            }
            docs[ndocs++] = (struct doc){k, e < ri->n_examples, nfeats, b.ntouched};
            for (size_t t = 0; t < b.ntouched; t++) {
                feats[nfeats++] = (struct doc_feature){b.touched[t], (float)b.vec[b.touched[t]]};
                b.vec[b.touched[t]] = 0;
            }
        }
    }
    uint32_t *df = xcalloc(m->n_features + 1, sizeof *df);
    for (size_t i = 0; i < nfeats; i++)
        df[feats[i].id]++;
    m->idf = xcalloc(m->n_features + 1, sizeof *m->idf);
    for (uint32_t f = 1; f <= m->n_features; f++)
        m->idf[f] = (float)log(1.0 + (double)ndocs / (double)(df[f] ? df[f] : 1));
    free(df);

    /* Pass 2: centroids of the L2-normalised TF-IDF vectors of each intent's documents. */
    m->centroid = xcalloc((size_t)(m->n_features + 1) * INTENT_COUNT, sizeof *m->centroid);
    for (size_t d = 0; d < ndocs; d++) {
        const struct doc_feature *f = &feats[docs[d].first];
        double norm = 0;
        for (size_t t = 0; t < docs[d].n; t++) {
            double w = f[t].count * m->idf[f[t].id];
            norm += w * w;
        }
        norm = norm > 0 ? sqrt(norm) : 1;
        for (size_t t = 0; t < docs[d].n; t++)
            m->centroid[(size_t)f[t].id * INTENT_COUNT + docs[d].intent] +=
                (float)(f[t].count * m->idf[f[t].id] / norm);
    }
    build_postings(m, docs, ndocs, feats);
    free(docs);
    free(feats);
    /* Each intent's length, summed in feature order as before but in one pass over the
     * table for all intents (row by row, as it lies in memory). */
    double norm[INTENT_COUNT] = {0};
    for (uint32_t f = 1; f <= m->n_features; f++)
        for (int k = 0; k < INTENT_COUNT; k++) {
            double c = m->centroid[(size_t)f * INTENT_COUNT + k];
            norm[k] += c * c;
        }
    float scale[INTENT_COUNT];
    for (int k = 0; k < INTENT_COUNT; k++)
        scale[k] = norm[k] > 0 ? (float)sqrt(norm[k]) : 1; /* an empty intent stays 0 */
    for (uint32_t f = 1; f <= m->n_features; f++)
        for (int k = 0; k < INTENT_COUNT; k++)
            m->centroid[(size_t)f * INTENT_COUNT + k] /= scale[k];
    free(b.vec);
    free(b.touched);
}

/* Spanish/English log-odds per known word, from the example texts. */
static void build_language_odds(struct matcher *m, const struct replies *r)
{
    for (int k = 0; k < INTENT_COUNT; k++) {
        const struct replies_intent *ri = &r->intents[k];
        for (size_t e = 0; e < ri->n_examples; e++) {
            char words[MAX_TOKENS][MAX_WORD];
            int n = vocab_words(m, ri->examples[e].text, words, MAX_TOKENS);
            for (int i = 0; i < n; i++)
                vocab_add(m, words[i], ri->examples[e].lang, 1);
        }
        for (size_t p = 0; p < ri->n_phrases; p++) {
            char words[MAX_PHRASE_TOKENS][MAX_WORD];
            int n = vocab_words(m, ri->phrases[p].text, words, MAX_PHRASE_TOKENS);
            for (int i = 0; i < n; i++)
                vocab_add(m, words[i], ri->phrases[p].lang, 1);
        }
    }
    /* Naive Bayes: the log of how much likelier the word is in Spanish text than in
     * English text, smoothed and bounded, so that a word seen 20 times in Spanish only
     * weighs more than one seen once, and the larger English side does not dominate. */
    double total[LANG_COUNT] = {0};
    for (size_t i = 0; i < m->n_vocab; i++)
        for (int l = 0; l < LANG_COUNT; l++)
            total[l] += m->vocab_info[i].in_lang[l];
    double v_size = (double)m->n_vocab + 1;
    for (size_t i = 0; i < m->n_vocab; i++) {
        struct vocab_entry *v = &m->vocab_info[i];
        double p_es = (v->in_lang[LANG_ES] + 0.5) / (total[LANG_ES] + 0.5 * v_size);
        double p_en = (v->in_lang[LANG_EN] + 0.5) / (total[LANG_EN] + 0.5 * v_size);
        v->lang_odds = (float)fmax(-3.0, fmin(3.0, log(p_es / p_en)));
    }
}

/* The index of a concept name, added when new (at most MAX_CONCEPTS). */
static int concept_index(struct matcher *m, const char *name)
{
    /* By name (index + 1), not a scan of concept_names: lexicon.json names a concept once
     * for each of its 4,500 phrases. */
    uint32_t found;
    if (strmap_find(&m->concept_ids, name, &found))
        return (int)found - 1;
    if (m->n_concepts >= MAX_CONCEPTS)
        return -1;
    m->concept_names = xrealloc(m->concept_names, (m->n_concepts + 1) * sizeof(char *));
    m->concept_names[m->n_concepts] = xstrdup(name);
    strmap_put(&m->concept_ids, name, (uint32_t)m->n_concepts + 1);
    return m->n_concepts++;
}

/* Concepts become phrases of intent -2; rules refer to them by bit. */
static void build_rules(struct matcher *m, const struct replies *r)
{
    for (size_t i = 0; i < r->n_concepts; i++) {
        int c = concept_index(m, r->concepts[i].name);
        size_t before = m->n_phrases;
        if (c < 0)
            continue;
        add_phrase(m, r->concepts[i].text, r->concepts[i].lang, -2, -1, 0);
        if (m->n_phrases > before)
        m->phrases[before].concept = c;
    }
    m->rules = xcalloc(r->n_rules, sizeof *m->rules);
    for (size_t i = 0; i < r->n_rules; i++) {
        const struct replies_rule *src = &r->rules[i];
        struct rule *rule = &m->rules[m->n_rules];
        memset(rule, 0, sizeof *rule);
        int ok = src->n_slots >= 1;
        for (int s = 0; s < src->n_slots; s++) {
            for (int a = 0; a < src->n_alts[s]; a++) {
                int c = concept_index(m, src->slot[s][a]);
                if (c >= 0)
                    rule->slot[s] |= (concept_mask)1 << c;
            }
            ok &= rule->slot[s] != 0;
        }
        for (int u = 0; u < src->n_unless; u++) {
            if (strcmp(src->unless[u], "accident") == 0) {
                rule->unless_accident = 1;
            } else if (strcmp(src->unless[u], "away") == 0) {
                rule->unless_away = 1;
            } else {
                int c = concept_index(m, src->unless[u]);
                if (c >= 0)
                    rule->unless |= (concept_mask)1 << c;
            }
        }
        if (!ok)
            continue;
        rule->name = xstrdup(src->name);
        rule->intent = (int)src->intent;
        rule->window = src->window;
        rule->n_slots = src->n_slots;
        m->n_rules++;
    }
}

/* The matcher of replies r but its safety net, which job trains meanwhile. */
static struct matcher *matcher_build(const struct replies *r)
{
    struct matcher *m = xcalloc(1, sizeof *m);
    m->stemmer[LANG_EN] = sb_stemmer_new("english", NULL);
    m->stemmer[LANG_ES] = sb_stemmer_new("spanish", NULL);
    if (!m->stemmer[LANG_EN] || !m->stemmer[LANG_ES]) {
        matcher_free(m);
        return NULL;
    }

    m->cap_memo_pool = 256 * 1024;
    m->memo_pool = xcalloc(m->cap_memo_pool, 1);

    /* Shorthand first: phrases and examples are expanded the same way as texts. */
    m->shorthand_to = xcalloc(r->n_shorthand, sizeof(char *));
    m->shorthand_from = xcalloc(r->n_shorthand, sizeof(char *));
    for (size_t i = 0; i < r->n_shorthand; i++) {
        char *from = fold(r->shorthand[i].from, strlen(r->shorthand[i].from));
        char *to = fold(r->shorthand[i].to, strlen(r->shorthand[i].to));
        struct token toks[16];
        int nt = split_words(to, toks, 16);
        char joined[256] = "";
        for (int t = 0; t < nt; t++) {
            if (strlen(joined) + strlen(toks[t].raw) + 2 > sizeof joined)
                break;
            if (t)
                strcat(joined, " ");
            strcat(joined, toks[t].raw);
        }
        struct token key[2];
        if (split_words(from, key, 2) == 1 && nt > 0) {
            m->shorthand_to[m->n_shorthand] = xstrdup(joined);
            m->shorthand_from[m->n_shorthand] = xstrdup(key[0].raw);
            strmap_put(&m->shorthand, key[0].raw, (uint32_t)m->n_shorthand);
            m->n_shorthand++;
        }
        free(from);
        free(to);
    }

    for (int k = 0; k < INTENT_COUNT; k++) {
        const struct replies_intent *ri = &r->intents[k];
        for (size_t i = 0; i < ri->n_keywords; i++) {
            char *folded = fold(ri->keywords[i], strlen(ri->keywords[i]));
            struct token toks[4];
            int nt = split_words(folded, toks, 4);
            char joined[4 * MAX_WORD] = "";
            for (int t = 0; t < nt; t++) {
                if (t)
                    strcat(joined, " ");
                strcat(joined, toks[t].raw);
            }
            if (nt > 0 && nt <= 3)
                strmap_put(&m->keywords, joined, (uint32_t)k);
            free(folded);
        }
        if (k == INTENT_HELP_KEYWORD || k == INTENT_OPT_IN)
            continue; /* only ever whole-message keywords */
        for (size_t i = 0; i < ri->n_phrases; i++)
            add_phrase(m, ri->phrases[i].text, ri->phrases[i].lang, k, 0,
                       ri->phrases[i].strength == PHRASE_STRONG);
    }
    for (size_t i = 0; i < r->n_cues; i++) {
        for (int c = 0; c < CUE_COUNT; c++)
            if (strcmp(r->cues[i].name, cue_names[c]) == 0)
                add_phrase(m, r->cues[i].text, r->cues[i].lang, -1, c, 0);
    }
    for (size_t i = 0; i < sizeof builtin_cues / sizeof builtin_cues[0]; i++)
        add_phrase(m, builtin_cues[i].text, builtin_cues[i].lang, -1, builtin_cues[i].cue, 0);
    build_rules(m, r);
    for (size_t i = 0; i < m->n_phrases; i++) {
        struct phrase *p = &m->phrases[i];
        if ((p->intent != INTENT_CRISIS_SUICIDE && p->intent != INTENT_CRISIS_OVERDOSE) ||
            p->ntoks > 3)
            continue;
        int all = 1, dying = 0;
        for (int t = 0; t < p->ntoks && all; t++) {
            int found = 0;
            for (int w = 0; laughing_words[p->lang][w] && !found; w++) {
                char stem[MAX_WORD];
                uint32_t id;
                stem_word(m, p->lang, laughing_words[p->lang][w], stem);
                found = strmap_find(&m->stems[p->lang], stem, &id) && id == p->toks[t];
                dying |= found && w < laughing_dying[p->lang];
            }
            all = found;
        }
        p->laughing = all && dying;
    }
    /* The stem ids of injury_words and goodbye_words (0: a stem no phrase uses), then one
     * pass over the phrases rather than one for each word. */
    uint32_t flag_ids[LANG_COUNT][2][12] = {{{0}}};
    for (int l = 0; l < LANG_COUNT; l++) {
        for (int list = 0; list < 2; list++) {
            const char *const *words = list ? goodbye_words[l] : injury_words[l];
            for (int w = 0; words[w]; w++) {
                char stem[MAX_WORD];
                stem_word(m, (enum lang)l, words[w], stem);
                strmap_find(&m->stems[l], stem, &flag_ids[l][list][w]);
            }
        }
    }
    for (size_t i = 0; i < m->n_phrases; i++) {
        struct phrase *p = &m->phrases[i];
        if (p->intent != INTENT_CRISIS_SUICIDE)
            continue;
        for (int t = 0; t < p->ntoks; t++) {
            for (int w = 0; w < 12; w++) {
                p->injury |= flag_ids[p->lang][0][w] && flag_ids[p->lang][0][w] == p->toks[t];
                p->goodbye |= flag_ids[p->lang][1][w] && flag_ids[p->lang][1][w] == p->toks[t];
            }
        }
    }
    uint32_t colour_ids[LANG_COUNT][32] = {{0}};
    for (int l = 0; l < LANG_COUNT; l++) {
        int nv = 0, nc = 0;
        char stem[MAX_WORD];
        uint32_t id;
        for (int w = 0; vital_words[l][w]; w++) {
            stem_word(m, (enum lang)l, vital_words[l][w], stem);
            if (strmap_find(&m->stems[l], stem, &id))
                m->vital[l][nv++] = id;
        }
        for (int w = 0; colour_words[l][w]; w++) {
            stem_word(m, (enum lang)l, colour_words[l][w], stem);
            if (strmap_find(&m->stems[l], stem, &id))
                colour_ids[l][nc++] = id;
        }
    }
    for (size_t i = 0; i < m->n_phrases; i++) {
        struct phrase *p = &m->phrases[i];
        if (p->intent != INTENT_CRISIS_OVERDOSE && p->intent != INTENT_MEDICAL_URGENT)
            continue;
        int colour = 0, vital = 0;
        for (int t = 0; t < p->ntoks; t++) {
            for (int w = 0; w < 32 && colour_ids[p->lang][w]; w++)
                colour |= colour_ids[p->lang][w] == p->toks[t];
            for (int v = 0; v < MAX_VITAL && m->vital[p->lang][v]; v++)
                vital |= m->vital[p->lang][v] == p->toks[t];
        }
        p->colour = colour && !vital;
    }
    for (int c = 0; c < m->n_concepts; c++)
        if (strcmp(m->concept_names[c], "calm_trip") == 0)
            m->goodbye_calm |= (concept_mask)1 << c;
    static const char *const calm_names[] = {"calm_marks", "calm_procedure"};
    static const char *const sign_names[] = {"limb_numb", "limb_severe"};
    for (int c = 0; c < m->n_concepts; c++)
        for (int k = 0; k < 2; k++) {
            if (strcmp(m->concept_names[c], calm_names[k]) == 0)
                m->colour_calm |= (concept_mask)1 << c;
            if (strcmp(m->concept_names[c], sign_names[k]) == 0)
                m->colour_sign |= (concept_mask)1 << c;
        }
    for (size_t k = 0; k < sizeof weak_calm_names / sizeof weak_calm_names[0]; k++)
        for (int c = 0; c < m->n_concepts; c++)
            if (strcmp(m->concept_names[c], weak_calm_names[k].concept) == 0)
                m->weak_calm[weak_calm_names[k].intent] |= (concept_mask)1 << c;
    for (size_t k = 0; k < sizeof net_names / sizeof net_names[0]; k++)
        for (int c = 0; c < m->n_concepts; c++)
            if (strcmp(m->concept_names[c], net_names[k].concept) == 0)
                m->danger[net_names[k].intent] |= (concept_mask)1 << c;
    for (size_t k = 0; k < sizeof past_proof_names / sizeof past_proof_names[0]; k++)
        for (int c = 0; c < m->n_concepts; c++)
            if (strcmp(m->concept_names[c], past_proof_names[k]) == 0)
                m->past_proof |= (concept_mask)1 << c;
    for (size_t k = 0; k < sizeof dated_context_names / sizeof dated_context_names[0]; k++)
        for (int c = 0; c < m->n_concepts; c++)
            if (strcmp(m->concept_names[c], dated_context_names[k]) == 0)
                m->dated_context |= (concept_mask)1 << c;
    concept_mask *const seen_masks[] = {&m->seen_ask,     &m->thing_calm, &m->weary_life,
                                        &m->change_calm,  &m->elapsed,    &m->study_calm,
                                        &m->services_calm};
    for (size_t k = 0; k < sizeof seen_masks / sizeof seen_masks[0]; k++)
        for (int c = 0; c < m->n_concepts; c++)
            if (strcmp(m->concept_names[c], seen_names[k]) == 0)
                *seen_masks[k] |= (concept_mask)1 << c;
    share_phrase_weights(m);
    build_language_odds(m, r);
    /* Every known word can be a typo-correction target, and every text-speak word (which
     * is then expanded: "wnana" -> "want to"). Its deletions are listed first,
     * with their hashes, then linked in the same order while the slot of the one
     * DELETES_AHEAD places on is fetched: like the word lists' map, this one (every
     * deletion of every known word) outgrows the caches, and each insertion waited for
     * its slot. */
    struct pending_delete {
        uint32_t off, len, hash, vocab; /* the deletion is pool[off...off + len] */
    } *pending = NULL;
    size_t n_pending = 0, cap_pending = 0, n_pool = 0, cap_pool = 0;
    char *pool = NULL;
    /* Every known word, then every text-speak word (as n_vocab + its index). */
    for (size_t i = 0; i < m->n_vocab + m->n_shorthand; i++) {
        const char *w = i < m->n_vocab ? m->vocab_info[i].word : m->shorthand_from[i - m->n_vocab];
        if (strlen(w) < 3 || !is_ascii_word(w))
            continue;
        char dels[MAX_WORD + 1][MAX_WORD];
        int nd = deletions(w, dels, MAX_WORD + 1);
        for (int d = 0; d < nd; d++) {
            size_t len = strlen(dels[d]);
            if (n_pending == cap_pending) {
                cap_pending = cap_pending ? 2 * cap_pending : 1 << 16;
                pending = xrealloc(pending, cap_pending * sizeof *pending);
            }
            if (n_pool + len + 1 > cap_pool) {
                cap_pool = cap_pool ? 2 * cap_pool : 1 << 20;
                pool = xrealloc(pool, cap_pool);
            }
            memcpy(pool + n_pool, dels[d], len + 1);
            pending[n_pending++] = (struct pending_delete){(uint32_t)n_pool, (uint32_t)len,
                                                           hash_bytes(dels[d], len), (uint32_t)i};
            n_pool += len + 1;
        }
    }
    strmap_reserve(&m->deletes, n_pending); /* no growth while slots are being fetched */
#define DELETES_AHEAD 8
    for (size_t k = 0; k < n_pending; k++) {
        if (k + DELETES_AHEAD < n_pending)
            strmap_prefetch(&m->deletes, pending[k + DELETES_AHEAD].hash);
        const struct pending_delete *d = &pending[k];
        deletes_add(m, pool + d->off, d->len, d->hash, d->vocab);
    }
    free(pending);
    free(pool);

    for (int l = 0; l < LANG_COUNT; l++) {
        /* How many of the language's phrases use each stem, then each phrase's key. */
        uint32_t *uses = xcalloc(m->n_stems[l] + 2, sizeof *uses);
        uint32_t *key = xcalloc(m->n_phrases + 1, sizeof *key);
        for (size_t i = 0; i < m->n_phrases; i++)
            if (m->phrases[i].lang == (enum lang)l)
                for (int k = 0; k < m->phrases[i].ntoks; k++)
                    uses[m->phrases[i].toks[k]]++;
        m->key_start[l] = xcalloc(m->n_stems[l] + 2, sizeof *m->key_start[l]);
        m->n_candidates[l] = 0;
        for (size_t i = 0; i < m->n_phrases; i++) {
            const struct phrase *p = &m->phrases[i];
            if (p->lang != (enum lang)l)
                continue;
            key[i] = p->toks[0];
            for (int k = 1; k < p->ntoks; k++)
                if (uses[p->toks[k]] < uses[key[i]])
                    key[i] = p->toks[k];
            m->key_start[l][key[i] + 1]++;
            m->n_candidates[l]++;
        }
        for (uint32_t id = 1; id <= m->n_stems[l] + 1; id++)
            m->key_start[l][id] += m->key_start[l][id - 1];
        m->keyed[l] = xcalloc(m->n_candidates[l] + 1, sizeof *m->keyed[l]);
        uint32_t *fill = xcalloc(m->n_stems[l] + 1, sizeof *fill);
        memcpy(fill, m->key_start[l], (m->n_stems[l] + 1) * sizeof *fill);
        for (size_t i = 0; i < m->n_phrases; i++) {
            const struct phrase *p = &m->phrases[i];
            if (p->lang != (enum lang)l)
                continue;
            struct candidate *c = &m->keyed[l][fill[key[i]]++];
            memcpy(c->mask, p->mask, sizeof c->mask);
            c->phrase = (uint32_t)i;
            c->first = p->toks[0];
        }
        free(fill);
        free(key);
        free(uses);
    }

    build_similarity(m, r);
    for (int l = 0; l < LANG_COUNT; l++) {
        strmap_free(&m->stem_memo[l]);
        strmap_free(&m->stem_id_memo[l]);
    }
    strmap_free(&m->words_memo);
    strmap_free(&m->features_memo);
    free(m->memo_pool);
    m->memo_pool = NULL;
    m->n_memo_pool = m->cap_memo_pool = 0;
    m->phrase_seen = xcalloc(m->n_phrases, sizeof *m->phrase_seen);
    for (int l = 0; l < LANG_COUNT; l++)
        m->passed[l] = xcalloc(m->n_candidates[l] + 1, sizeof *m->passed[l]);
    m->example_dot = xcalloc(m->n_examples + 1, sizeof *m->example_dot);
    m->examples_touched = xcalloc(m->n_examples + 1, sizeof *m->examples_touched);
    return m;
}

/* Readings of the safety net's training texts [from, to) (see net_finish). */
struct reading_job {
    struct matcher *m;
    const struct replies *r;
    struct urgency_job *net;
    size_t from, to;
};

static void *read_texts(void *arg)
{
    struct reading_job *job = arg;
    char buf[MAX_READING];
    for (size_t i = job->from; i < job->to; i++) {
        const char *text = urgency_text(job->r, i, NULL, NULL);
        size_t n = matcher_reading(job->m, text, strlen(text), buf, sizeof buf);
        urgency_read(job->net, i, buf, n);
    }
    return NULL;
}

/*
 * The safety net's last epochs, with the readings of its training texts (typos
 * corrected, text-speak expanded: urgency_read), which need the whole matcher and its
 * word lists: half of them read here, half by a clone on a second thread.
 */
static void net_finish(struct matcher *m, const struct replies *r, struct urgency_job *net)
{
    size_t n = urgency_text_count(r);
    struct reading_job half[2] = {{m, r, net, 0, n / 2}, {NULL, r, net, n / 2, n}};
    pthread_t tid;
    half[1].m = matcher_clone(m);
    int threaded = half[1].m && pthread_create(&tid, NULL, read_texts, &half[1]) == 0;
    if (!threaded)
        half[0].to = n;
    read_texts(&half[0]);
    if (threaded)
        pthread_join(tid, NULL);
    matcher_free(half[1].m);
    strmap_free(&m->reading_memo); /* start-up's: the rest of the time reads little */
    free(m->reading_pool);
    m->reading_pool = NULL;
    m->n_reading_pool = m->cap_reading_pool = 0;
    m->urgency = m->urgency_own = urgency_finish(net);
}

struct matcher *matcher_new(const struct replies *r)
{
    struct urgency_job *job = urgency_start(r); /* trains while the matcher builds */
    struct matcher *m = matcher_build(r);
    if (!m) {
        urgency_free(urgency_finish(job));
        return NULL;
    }
    net_finish(m, r, job);
    return m;
}

void matcher_set_urgency_model(struct matcher *m, const struct urgency_model *model)
{
    m->urgency = model;
}

const struct urgency_model *matcher_urgency_model(const struct matcher *m)
{
    return m->urgency_own;
}

/* Reads one word list into a known-words map (see matcher_new_with_dictionaries). */
static int read_word_list(struct strmap *known, const char *path, enum lang lang)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    /* The whole list at once (about 1 MB): line by line through stdio was a good part of
     * start-up. */
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        fclose(f);
        return -1;
    }
    for (;;) {
        if (len == cap) {
            cap *= 2;
            buf = xrealloc(buf, cap + 1);
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    int failed = ferror(f);
    fclose(f);
    buf[len] = '\0';
    strmap_reserve(known, known->n + 150000); /* Debian's lists hold about 100,000 */
    uint32_t bit = lang == LANG_ES ? KNOWN_ES : KNOWN_EN;
    /* Two passes: the words, folded, with their hashes; then into the map, asking for the
     * slot of the word WORD_LIST_AHEAD places on while this one goes in. The map (8 MB)
     * is far bigger than the caches, and waiting for each slot in turn was most of the
     * time the lists took. A folded word was allocated by fold() (owned: freed after). */
    struct list_word {
        const char *word;
        size_t len;
        uint32_t hash;
        int owned;
    } *words = NULL;
    size_t n_words = 0, cap_words = 0;
    for (char *line = buf, *next; line < buf + len; line = next) {
        char *eol = memchr(line, '\n', (size_t)(buf + len - line));
        if (!eol)
            eol = buf + len;
        next = eol + 1;
        size_t n = (size_t)(eol - line);
        if (n && line[n - 1] == '\r')
            n--;
        line[n] = '\0';
        /* Proper nouns and possessives are not words a texter misspells. */
        if (n < 4 || isupper((unsigned char)line[0]) || memchr(line, '\'', n))
            continue;
        /* Most lines are plain ASCII words, already folded but for case: lowered in place. */
        struct list_word w = {.word = line, .len = n};
        if (n < MAX_WORD && is_ascii_word(line)) {
            for (size_t i = 0; i < n; i++)
                line[i] = (char)tolower((unsigned char)line[i]);
        } else {
            w.word = fold(line, n);
            w.len = strlen(w.word);
            w.owned = 1;
            if (w.len >= MAX_WORD) {
                free((char *)w.word);
                continue;
            }
        }
        w.hash = hash_bytes(w.word, w.len);
        if (n_words == cap_words) {
            cap_words = cap_words ? 2 * cap_words : 1 << 16;
            words = xrealloc(words, cap_words * sizeof *words);
        }
        words[n_words++] = w;
    }
#define WORD_LIST_AHEAD 8
    for (size_t i = 0; i < n_words; i++) {
        if (i + WORD_LIST_AHEAD < n_words)
            strmap_prefetch(known, words[i + WORD_LIST_AHEAD].hash);
        *strmap_ref_hashed(known, words[i].word, words[i].len, words[i].hash) |= bit;
        if (words[i].owned)
            free((char *)words[i].word);
    }
    free(words);
    free(buf);
    return failed ? -1 : 0;
}

/* Reads every list of a colon-separated list into known; returns how many failed. */
static int read_word_lists(struct strmap *known, const char *list)
{
    if (!list)
        list = getenv("HOTLINE_DICTIONARIES");
    if (!list || !*list)
        list = MATCHER_DEFAULT_DICTIONARIES;
    char *copy = xstrdup(list);
    int failed = 0;
    for (char *save = NULL, *path = strtok_r(copy, ":", &save); path;
         path = strtok_r(NULL, ":", &save)) {
        /* Debian names its lists by language: .../spanish, .../american-english. */
        enum lang lang = strstr(path, "spanish") || strstr(path, "espanol") ? LANG_ES : LANG_EN;
        if (read_word_list(known, path, lang) < 0) {
            fprintf(stderr,
                    "hotline: warning: cannot read the word list %s; typo correction "
                    "will be less careful (apt-get install wamerican wspanish)\n",
                    path);
            failed++;
        }
    }
    free(copy);
    return failed;
}

struct dictionary_job {
    const char *list;
    struct strmap known;
    int failed;
};

static void *read_word_lists_thread(void *arg)
{
    struct dictionary_job *job = arg;
    job->failed = read_word_lists(&job->known, job->list);
    return NULL;
}

struct matcher *matcher_new_with_dictionaries(const struct replies *replies, const char *list,
                                              int *failed)
{
    /* The word lists do not depend on the model: read them while it is built. */
    struct dictionary_job job = {.list = list};
    pthread_t tid;
    int threaded = pthread_create(&tid, NULL, read_word_lists_thread, &job) == 0;
    struct urgency_job *net = urgency_start(replies); /* trains while the matcher builds */
    struct matcher *m = matcher_build(replies);
    if (threaded)
        pthread_join(tid, NULL);
    else
        read_word_lists_thread(&job);
    if (failed)
        *failed = job.failed;
    if (!m) {
        urgency_free(urgency_finish(net));
        strmap_free(&job.known);
        return NULL;
    }
    strmap_free(&m->known);
    m->known = job.known;
    known_bloom_build(m);
    word_cache_reset(m);
    net_finish(m, replies, net); /* its readings need the word lists */
    return m;
}

struct matcher *matcher_clone(const struct matcher *orig)
{
    struct matcher *m = xcalloc(1, sizeof *m);
    *m = *orig;
    m->is_clone = 1;
    m->stemmer[LANG_EN] = sb_stemmer_new("english", NULL);
    m->stemmer[LANG_ES] = sb_stemmer_new("spanish", NULL);
    memset(&m->word_cache, 0, sizeof m->word_cache);
    m->cache = NULL;
    m->n_cache = m->cap_cache = 0;
    m->sim_pool = NULL;
    m->n_sim_pool = m->cap_sim_pool = 0;
    m->phrase_seen = xcalloc(m->n_phrases + 1, sizeof *m->phrase_seen);
    m->text_stamp = 0;
    for (int l = 0; l < LANG_COUNT; l++)
        m->passed[l] = xcalloc(m->n_candidates[l] + 1, sizeof *m->passed[l]);
    m->word_dots = NULL;
    m->n_word_dots = m->cap_word_dots = 0;
    memset(&m->reading_memo, 0, sizeof m->reading_memo);
    m->reading_pool = NULL;
    m->n_reading_pool = m->cap_reading_pool = 0;
    m->example_dot = xcalloc(m->n_examples + 1, sizeof *m->example_dot);
    m->examples_touched = xcalloc(m->n_examples + 1, sizeof *m->examples_touched);
    if (!m->stemmer[LANG_EN] || !m->stemmer[LANG_ES]) {
        matcher_free(m);
        return NULL;
    }
    return m;
}

void matcher_free(struct matcher *m)
{
    if (!m)
        return;
    for (int l = 0; l < LANG_COUNT; l++)
        if (m->stemmer[l])
            sb_stemmer_delete(m->stemmer[l]);
    strmap_free(&m->word_cache);
    free(m->cache);
    free(m->sim_pool);
    free(m->phrase_seen);
    for (int l = 0; l < LANG_COUNT; l++)
        free(m->passed[l]);
    free(m->word_dots);
    free(m->example_dot);
    free(m->examples_touched);
    strmap_free(&m->reading_memo);
    free(m->reading_pool);
    if (m->is_clone) {
        free(m);
        return;
    }
    free(m->memo_pool);
    strmap_free(&m->words_memo);
    strmap_free(&m->features_memo);
    for (int l = 0; l < LANG_COUNT; l++) {
        strmap_free(&m->stem_memo[l]);
        strmap_free(&m->stem_id_memo[l]);
        free(m->keyed[l]);
        free(m->key_start[l]);
        strmap_free(&m->stems[l]);
    }
    for (size_t i = 0; i < m->n_shorthand; i++) {
        free(m->shorthand_to[i]);
        free(m->shorthand_from[i]);
    }
    free(m->shorthand_to);
    free(m->shorthand_from);
    strmap_free(&m->shorthand);
    strmap_free(&m->keywords);
    for (size_t i = 0; i < m->n_phrases; i++)
        free(m->phrase_texts[i]);
    free(m->phrase_texts);
    free(m->phrases);
    for (int i = 0; i < m->n_concepts; i++)
        free(m->concept_names[i]);
    free(m->concept_names);
    strmap_free(&m->concept_ids);
    for (int i = 0; i < m->n_rules; i++)
        free(m->rules[i].name);
    free(m->rules);
    for (size_t i = 0; i < m->n_vocab; i++)
        free(m->vocab_info[i].word);
    free(m->vocab_info);
    strmap_free(&m->vocab);
    strmap_free(&m->deletes);
    strmap_free(&m->known);
    free(m->known_bloom);
    free(m->delete_next);
    free(m->delete_vocab);
    strmap_free(&m->features);
    free(m->idf);
    free(m->centroid);
    free(m->post_start);
    free(m->post_example);
    free(m->post_weight);
    free(m->example_intent);
    urgency_free(m->urgency_own);
    free(m);
}

/* Intents that ask about something other than a crisis: how to pay, reach us, get the
 * book or a person; a greeting, thanks, or nothing we know. */
static int asks_something_else(enum intent k)
{
    return k == INTENT_INSURANCE || k == INTENT_CONTACT || k == INTENT_FREE_BOOK ||
           k == INTENT_GREETING || k == INTENT_THANKS || k == INTENT_HUMAN || k == INTENT_FALLBACK;
}

/* The length of a word that turns to another topic mid-sentence at text[i] ("... like
 * this also what are ur hours"), 0 when there is none. */
static size_t topic_turn(const char *text, size_t len, size_t i)
{
    static const char *const turns[] = {"also",    "btw",     "anyway",     "anyways",
                                        "tambien", "también", "por cierto", "otra cosa"};
    if (i > 0 && (isalnum((unsigned char)text[i - 1]) || (text[i - 1] & 0x80)))
        return 0;
    for (size_t t = 0; t < sizeof turns / sizeof turns[0]; t++) {
        size_t n = strlen(turns[t]);
        if (i + n <= len && strncasecmp(text + i, turns[t], n) == 0 &&
            (i + n == len || !(isalnum((unsigned char)text[i + n]) || (text[i + n] & 0x80))))
            return n;
    }
    /* "found my daughter unconscious ... and what time do you open": "and" before a
     * question about something else; the question keeps its own words. */
    static const char *const ands[] = {"and ", "y "};
    static const char *const asks[] = {
        "what time",     "when do you",    "when are you",  "where are you", "where do you",
        "do you",        "are you open",   "how much",      "a que hora",    "a qué hora",
        "cuanto cuesta", "cuánto cuesta",  "donde estan",   "dónde están",   "aceptan",
        "tienen",        "hasta que hora", "hasta qué hora"};
    for (size_t t = 0; t < sizeof ands / sizeof ands[0]; t++) {
        size_t n = strlen(ands[t]);
        if (i + n > len || strncasecmp(text + i, ands[t], n) != 0)
            continue;
        for (size_t q = 0; q < sizeof asks / sizeof asks[0]; q++) {
            size_t k = strlen(asks[q]);
            if (i + n + k <= len && strncasecmp(text + i + n, asks[q], k) == 0 &&
                (i + n + k == len ||
                 !(isalnum((unsigned char)text[i + n + k]) || (text[i + n + k] & 0x80))))
                return n - 1;
        }
    }
    return 0;
}

/*
 * The whole text first. When it reads as a question about something else but has crisis
 * words, it is read again without the sentences that alone ask about something else: a
 * crisis is not diluted by a question it follows or precedes ("do u take cigna? said bye to
 * my mom. its time"). A question about the same things ("hiding pills from my wife. is
 * that a sign?") reads as need_treatment_signs and stays the context its sentence is read
 * in.
 */
static void classify_rules(struct matcher *m, const char *text, size_t len,
                           struct match_result *out, struct match_explain *why, int *crisis_seen,
                           struct net_facts *facts, char *reading, size_t *reading_len)
{
    int crisis_words;
    classify_text(m, text, len, out, why, &crisis_words);
    *crisis_seen = crisis_words;
    /* What the safety net needs of the whole text's reading, while it is at hand. */
    if (reading && !is_urgent((int)out->intent) && !out->keyword) {
        *facts = last_facts;
        *reading_len = reading_of(last_analysis, reading, MAX_READING);
    }
    if (!crisis_words || is_urgent((int)out->intent) || out->keyword ||
        !asks_something_else(out->intent) || len > MAX_SECOND_READING)
        return;
    char rest[MAX_SECOND_READING + 1];
    size_t used = 0, start = 0;
    int dropped = 0;
    for (size_t i = 0; i <= len; i++) {
        size_t skip = i < len ? topic_turn(text, len, i) : 0;
        if (i < len && !skip && text[i] != '.' && text[i] != '!' && text[i] != '?' &&
            text[i] != '\n' && text[i] != ';')
            continue;
        if (i > start) {
            struct match_result alone;
            int words;
            classify_text(m, text + start, i - start, &alone, NULL, &words);
            if (!words && asks_something_else(alone.intent)) {
                dropped++;
            } else {
                memcpy(rest + used, text + start, i - start);
                used += i - start;
                rest[used++] = i < len && !skip ? text[i] : '.';
            }
        }
        start = i + (skip ? skip : 1);
        i = start - 1;
    }
    if (!dropped || used == 0)
        return;
    struct match_result second;
    int words;
    classify_text(m, rest, used, &second, NULL, &words);
    if (!is_urgent((int)second.intent))
        return;
    out->intent = second.intent;
    out->confidence = second.confidence;
    append_reason(why, "-> read again without the question about something else: a crisis", NULL,
                  NULL);
}

/*
 * The rules first (classify_rules); then the learned safety net (urgency.h) for a text
 * they did not read as a crisis, compliance keywords aside. It reads the text as written
 * and as the matcher reads it (typos corrected, text-speak expanded: "tookk" is "took").
 * Past URGENCY_THRESHOLD it is the crisis that the matcher's own scores of the whole text
 * favour; past URGENCY_THRESHOLD_WORDS when the rules saw crisis words in it and found
 * them too weak or set them aside by a question frame or laughter. Not when the rules set
 * crisis words aside for an ordinary reason the model cannot see (a figure of speech, a
 * denial, an accident, away for a reason: "i wont be here tomorrow, going camping").
 */
void matcher_classify(struct matcher *m, const char *text, size_t len, struct match_result *out,
                      struct match_explain *why)
{
    static _Thread_local char reading[MAX_READING];
    size_t reading_len = 0;
    int crisis_words;
    struct net_facts facts = {.held = 1}; /* set by classify_rules when the net is asked */
    classify_rules(m, text, len, out, why, &crisis_words, &facts, m->urgency ? reading : NULL,
                   &reading_len);
    if (!m->urgency || is_urgent((int)out->intent) || out->keyword)
        return;
    double p = urgency_score_reading(m->urgency, text, len, reading, reading_len);
    double threshold = crisis_words ? URGENCY_THRESHOLD_WORDS : URGENCY_THRESHOLD;
    if (why) {
        why->urgency = p;
        why->urgency_threshold = threshold;
        why->crisis_words = crisis_words != 0;
    }
    if (p < threshold)
        return;
    if (facts.held) {
        append_reason(why, "-> the learned safety net held back: crisis words set aside", NULL,
                      NULL);
        return;
    }
    int best = INTENT_CRISIS_SUICIDE;
    for (int k = 0; k < INTENT_COUNT; k++)
        if (is_urgent(k) && facts.score[k] > facts.score[best])
            best = k;
    out->intent = (enum intent)best;
    out->confidence = p;
    if (why) {
        why->net = 1;
        struct urgency_word words[4];
        int n = urgency_explain_reading(m->urgency, text, len, reading, reading_len, words, 4);
        for (int i = 0; i < n; i++) {
            size_t used = strlen(why->net_words);
            snprintf(why->net_words + used, sizeof why->net_words - used, "%s%s", i ? ", " : "",
                     words[i].word);
        }
        append_reason(why, "-> the learned safety net: a crisis", NULL, NULL);
    }
}

/* What stage 2 makes of one surface word (after text-speak), as word_lookup would, but
 * with no stems or similarity for a word that is known as it is: enough for a reading. */
static void reading_word(struct matcher *m, const char *raw, char *out)
{
    uint32_t vi;
    if (!is_laugh(raw, 'j') &&
        (strmap_find(&m->vocab, raw, &vi) || (!has_run(raw) && strmap_find(&m->known, raw, &vi)))) {
        set_word(out, raw);
        return;
    }
    uint32_t idx = word_lookup(m, raw); /* before m->cache is read: it may move */
    const struct word_info *wi = &m->cache[idx];
    if (wi->shorthand) { /* a typo of a text-speak word ("wnana"): what that word stands for */
        char buf[256];
        snprintf(buf, sizeof buf, "%s", m->shorthand_to[wi->shorthand - 1]);
        set_word(out, buf);
        return;
    }
    set_word(out, wi->word);
}

/* Appends a word to a reading; 0 when it is full. */
static int reading_put(char *out, size_t cap, size_t *used, const char *w)
{
    size_t n = strlen(w);
    if (!n)
        return 1;
    if (*used + n + 2 > cap)
        return 0;
    if (*used)
        out[(*used)++] = ' ';
    memcpy(out + *used, w, n);
    *used += n;
    out[*used] = '\0';
    return 1;
}

/* The reading of one token of split_words (raw, changed in place) into out (space-
 * separated words), by analyse()'s steps. */
static void read_token(struct matcher *m, char *raw, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    uint32_t si;
    char word[MAX_WORD], head[MAX_WORD];
    const char *tail;
    int found = token_shorthand(m, raw, head, &si, &tail);
    if (!raw[0])
        return;
    if (tail) {
        reading_word(m, head, word);
        if (reading_put(out, cap, &used, word) && tail[0]) {
            reading_word(m, tail, word);
            reading_put(out, cap, &used, word);
        }
        return;
    }
    if (!found) {
        reading_word(m, raw, word);
        reading_put(out, cap, &used, word);
        return;
    }
    char buf[256];
    snprintf(buf, sizeof buf, "%s", m->shorthand_to[si]);
    for (char *save = NULL, *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        reading_word(m, w, word);
        if (!reading_put(out, cap, &used, word))
            break;
    }
}

/*
 * The reading of a text without the analysis (the words of analyse(), as reading_of gives
 * them, by the same steps): no stems or similarity for a known word, and each token's
 * reading memoised (reading_memo), so that the safety net's thousands of training texts
 * read in milliseconds.
 */
size_t matcher_reading(struct matcher *m, const char *text, size_t len, char *out, size_t cap)
{
    if (cap)
        out[0] = '\0';
    if (len > MAX_TEXT_BYTES)
        len = MAX_TEXT_BYTES;
    if (m->n_cache >= CACHE_LIMIT)
        word_cache_reset(m);
    if (m->reading_memo.n >= CACHE_LIMIT) {
        strmap_free(&m->reading_memo);
        m->n_reading_pool = 0;
    }
    static _Thread_local struct token toks[MAX_TOKENS];
    char *folded = fold(text, len);
    int ntoks = split_words(folded, toks, MAX_TOKENS);
    free(folded);
    size_t used = 0;
    int room = cap > 0;
    for (int t = 0; t < ntoks && room; t++) {
        const char *raw = toks[t].raw;
        uint32_t at;
        if (!strmap_find(&m->reading_memo, raw, &at)) {
            char token[MAX_WORD], read[4 * MAX_WORD];
            set_word(token, raw);
            read_token(m, token, read, sizeof read);
            size_t n = strlen(read) + 1;
            if (m->n_reading_pool + n > m->cap_reading_pool) {
                m->cap_reading_pool = (m->cap_reading_pool + n) * 2 + 4096;
                m->reading_pool = xrealloc(m->reading_pool, m->cap_reading_pool);
            }
            at = (uint32_t)m->n_reading_pool;
            memcpy(m->reading_pool + at, read, n);
            m->n_reading_pool += n;
            strmap_put(&m->reading_memo, raw, at);
        }
        room = reading_put(out, cap, &used, m->reading_pool + at);
    }
    return used;
}
