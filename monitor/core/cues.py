"""Negation and hedge cues: the words that turn "attack" into "no desire to attack" or "could attack".

A cue damps the escalation (or de-escalation) terms in its scope: negation keeps NEGATION_FACTOR of a
term's value, hedging or speculation keeps HEDGE_FACTOR. The scope, in the manner of NegEx, is a number of
words after the cue ("pre": "denied any intention to initiate hostilities"), before it ("post": "attack
plans were denied") or both, and never crosses a sentence end or a "but" (see scoring.clause_break).

Cues are matched like watchlist terms (folded, whole words, trailing `*` as a prefix wildcard), by the
same automaton and in the same pass. Apostrophes split words, so "won't" is the two words "won t".

COOPERATION_STEMS sorts the terms that lower a score into cooperation ("talks", "truce") and benign frames ("crash",
"court"), which context cues and acts of force treat apart (explain.py); it is looked up once per watchlist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

NEGATION_FACTOR = 0.2
HEDGE_FACTOR = 0.5
CONTEXT_FACTOR = 0.3  # the act a headline mentions as its background, not the one it reports

CueKind = Literal["negation", "hedge", "context"]
Direction = Literal["pre", "post", "both"]


@dataclass(frozen=True, slots=True)
class Cue:
    phrase: str
    kind: CueKind
    direction: Direction
    window: int  # words between cue and term, at most
    languages: tuple[str, ...]
    initial: bool = False  # counts only as the first word of the item ("How ..." opens a feature)

    @property
    def factor(self) -> float:
        return _FACTORS[self.kind]


_FACTORS = {"negation": NEGATION_FACTOR, "hedge": HEDGE_FACTOR, "context": CONTEXT_FACTOR}


# (languages, kind, direction, window, phrases). Short, frequent negators get short windows: "no war"
# is negated, "no one doubts that war" is not.
_TABLE: tuple[tuple[tuple[str, ...], CueKind, Direction, int, str], ...] = (
    # English
    (("en",), "negation", "pre", 2, "no | not | never | nor"),
    (("en",), "negation", "pre", 8, "will not | won't | would not | wouldn't | does not | doesn't | do not | don't"
     " | did not | didn't | is not | isn't | are not | aren't | was not | wasn't | has no | have no | had no"
     " | no intention | no intention of | no intention to | no plans | no plan to | no desire | no desire to"
     " | no interest in | not planning | not seeking | not going to | has never | denied | denies | deny"
     " | denying | rules out | ruled out | rule out | ruling out | dismissed | dismisses | dismissing"
     " | rejected claims | rejects claims | rejected reports | rejects reports | refuted | refutes"
     " | unlikely | no threat | no reason to | no grounds for | no evidence of | not true that"),
    (("en",), "negation", "post", 6, "denied | ruled out | dismissed | rejected | refuted | unlikely | not true"
     " | false | fake | unfounded | baseless | nonsense | absurd | a myth | out of the question | no longer"
     " | averted | called off"),
    # a truce or talks that failed: the term just before ("ceasefire process stalled", "truce collapsed")
    (("en",), "negation", "post", 2, "stalled | collapsed | collapses | broke down | breaks down | in tatters"),
    (("en",), "negation", "pre", 4, "collapse of | breakdown of | failure of"),
    (("en",), "hedge", "pre", 3, "may"),
    (("en",), "hedge", "pre", 8, "could | might | would | possible | possibly | potential | potentially"
     " | perhaps | maybe | if | whether | hypothetical | hypothetically | speculat* | rumou?r | rumors | rumours"
     " | allegedly | alleged | purported | purportedly | likely | scenario | scenarios | in the future | one day"
     " | in the coming years | in the long term | long term | fears of | fear of | risk of | risks of"
     " | danger of | simulat* | suggested | suggests | predicts | predicted | forecast | seemingly | apparently"
     " | appears to | appeared to | seems to | seemed to"),
    (("en",), "hedge", "post", 8, "scenario | hypothetical | in the future | one day | in the coming years"
     " | within years | within a decade | in the long term | speculation | rumours | rumors"),
    # Background: the act a headline mentions as the setting of what it reports ("Nike leaves Russia after the
    # invasion", "dolphins starve since the war began", "Ukraine war live: ..."), and frames that name an act
    # without reporting it ("warns Putin against invading", "braces for attack")
    (("en",), "context", "pre", 5, "after | since | following | amid | amidst | during | despite | in the wake of"
     " | because of | due to | in response to | anniversary of | years after | months after | aftermath of"
     " | since the start of | since the beginning of | in memory of | survivors of | legacy of | history of"
     " | at the start of | at the beginning of | at the outbreak of | years of | months of | years into"
     " | months into | trauma of | memories of | memory of | story of | stories of"),
    (("en",), "context", "pre", 3, "over"),
    # reactions: the act others respond to, mourn or comment on ("weighs in on the drone incursion")
    (("en",), "context", "pre", 8, "reacts to | react to | reacted to | reaction to | reactions to | responds to"
     " | respond to | responded to | weighs in on | weighed in on | comments on | mourn | mourns | mourned"
     " | mourning | condolences | tributes to | vigil for | vigils for | pays tribute | paid tribute"),
    # courts: the act a trial or sentence is about is a past one judged ("jailed for killing a soldier"); rubric: a
    # trial for a past act is 1, ordinary crime 0
    (("en",), "context", "pre", 6, "jailed for | sentenced for | convicted of | convicted over | charged with"
     " | charged over | on trial for | trial over | trial for | guilty of | acquitted of | pleads guilty to"
     " | pleaded guilty to"),
    (("ru",), "context", "pre", 6, "осужден* за | приговорил* к | приговор* по делу | суд над | обвиняем* в"
     " | признал* виновн*"),
    (("uk",), "context", "pre", 6, "засуджен* за | засудил* до | вирок за | суд над | обвинувачен* у"),
    (("de",), "context", "pre", 6, "verurteilt wegen | angeklagt wegen | prozess um | prozess gegen | schuldig"
     " | haftstrafe fur | haftstrafe wegen"),
    (("fr",), "context", "pre", 6, "condamne pour | condamnee pour | juge pour | jugee pour | proces de"
     " | proces pour"),
    # a work about an act is culture, not the act (rubric: "a film about the war" is 0)
    (("en",), "context", "pre", 6, "film about | films about | movie about | documentary about | documentary on"
     " | book about | novel about | memoir about | play about | series about | exhibition about | song about"),
    (("ru",), "context", "pre", 6, "фильм* о | фильм* об | фильм* про | книг* о | книг* об | книг* про | сериал* о"
     " | сериал* про | спектакл* о | спектакл* про | выставк* о | выставк* про | песн* о | песн* про"),
    (("uk",), "context", "pre", 6, "фільм* про | книг* про | серіал* про | вистав* про | пісн* про"),
    (("de",), "context", "pre", 6, "film uber | dokumentation uber | doku uber | buch uber | roman uber"
     " | ausstellung uber | theaterstuck uber | lied uber"),
    (("fr",), "context", "pre", 6, "film sur | documentaire sur | livre sur | roman sur | exposition sur"
     " | piece sur | serie sur"),
    # the Soviet era: history, whatever it reports ("thousands of Soviet citizens witnessed the massacre")
    (("en",), "context", "both", 8, "soviet | ussr"),
    (("ru", "uk"), "context", "both", 8, "ссср | советск* | радянськ*"),
    (("de",), "context", "both", 8, "sowjet* | udssr"),
    (("en",), "context", "post", 2, "live | anniversary | remembered | commemorat*"),
    (("en",), "hedge", "pre", 6, "warns against | warned against | warn against | warning against | warns of"
     " | warned of | warn of | warning of | to prevent | to avoid | to deter | deter | prepare for | prepares for"
     " | preparing for | braces for | bracing for | ready for | fear | fears | feared | to end | end to | ending"),
    (("en",), "hedge", "pre", 3, "against"),
    # Russian and Ukrainian (Cyrillic; inflected forms as prefixes)
    (("ru", "uk"), "negation", "pre", 3, "не | нет | ни | ні"),
    (("ru",), "negation", "pre", 8, "никогда | отрица* | опроверг* | исключил* | исключает | исключают"
     " | не намерен* | не собира* | не планиру* | нет планов | нет намерения | не хочет | не хотим"
     " | не будет | не будем | отверг*"),
    (("uk",), "negation", "pre", 8, "ніколи | запереч* | спростов* | виключи* | виключає | не має наміру"
     " | не збира* | не план* | немає планів | не хоче | не буде | відкин*"),
    (("ru",), "negation", "post", 6, "исключен* | опровергл* | опровергнут* | отрицают | ложь | фейк* | абсурд*"
     " | вымысел | чушь | не будет"),
    (("uk",), "negation", "post", 6, "виключен* | спростува* | заперечують | брехня | фейк* | абсурд* | не буде"),
    (("ru",), "hedge", "pre", 8, "может | могут | мог | могла | могли | могло | возможн* | вероятн* | если"
     " | бы | якобы | предположительно | гипотетическ* | сценари* | в будущем | когда-нибудь | риск*"
     " | опасени* | видимо | по-видимому | похоже"),
    (("uk",), "hedge", "pre", 8, "може | можуть | міг | могла | могли | могло | можлив* | ймовірн* | якщо | б"
     " | би | нібито | імовірно | гіпотетичн* | сценарі* | у майбутньому | колись | ризик* | побоюван* | схоже"
     " | мабуть"),
    (("ru",), "context", "pre", 8, "отреагировал* на | реагиру* на | реакци* на | соболезнован* | почтил* память"
     " | скорб*"),
    (("uk",), "context", "pre", 8, "відреагува* на | реагу* на | реакці* на | співчутт* | вшанува* пам ять"),
    (("ru",), "context", "pre", 5, "после | с начала | на фоне | из-за | в ходе | во время | несмотря на"
     " | в ответ на | спустя | в связи с | в память о | годовщин* | в начале | два года | три года | четыре года"
     " | полтора года | пять лет | годы"),
    (("ru",), "hedge", "pre", 6, "предупредил* о | предупреждает о | предупреждают о | предостерег* | против"
     " | чтобы не допустить | для предотвращения | опасается | опасаются | готовится к | готовятся к"
     " | прекращени* | завершени* | окончани*"),
    (("uk",), "context", "pre", 5, "після | з початку | на тлі | під час | попри | у відповідь на | через"
     " | в пам ять | річниц*"),
    (("uk",), "hedge", "pre", 6, "попередив* про | попереджає про | застеріг* | проти | щоб не допустити"
     " | готується до | готуються до | побоюється | побоюються | припинення | завершення"),
    # German
    (("de",), "negation", "pre", 3, "nicht | kein* | nie | niemals"),
    (("de",), "negation", "pre", 8, "dementiert | dementierte | dementieren | bestreitet | bestritt | bestreiten"
     " | weist zuruck | wies zuruck | schließt aus | schloss aus | keine absicht | kein interesse"
     " | will nicht | wird nicht | werde nicht"),
    (("de",), "negation", "post", 6, "ausgeschlossen | dementiert | zuruckgewiesen | bestritten | unwahrscheinlich"
     " | unsinn | absurd | falsch | erfunden"),
    (("de",), "hedge", "pre", 8, "konnte | konnten | mochte | moglich* | moglicherweise | womoglich | vielleicht"
     " | falls | wenn | ob | angeblich | mutmaßlich* | wahrscheinlich | eventuell | hypothetisch* | szenario*"
     " | in zukunft | eines tages | gefahr eines | gefahr einer | risiko eines | befurchtung* | anscheinend"
     " | scheinbar"),
    (("de",), "context", "both", 8, "reagiert | reagieren | reagierte | reaktion auf | reaktionen auf | trauert"
     " | trauern | trauer um | gedenkt | gedenken | beileid"),
    (("de",), "context", "pre", 5, "nach | seit | wegen | angesichts | wahrend | trotz | infolge | jahrestag"
     " | als reaktion auf | zu beginn | beginn des | beginn der | jahre | jahren | monaten"),
    (("de",), "hedge", "pre", 6, "warnt vor | warnte vor | warnen vor | gegen | angst vor | sorge vor"
     " | befurchtet | befurchten | ende des | ende der | beenden"),
    # French
    (("fr",), "negation", "pre", 4, "ne | n | pas | jamais | aucun | aucune | ni"),
    (("fr",), "negation", "pre", 8, "dement | dementi | dementent | nie | nient | exclut | exclu | rejette"
     " | rejettent | pas l intention | aucune intention | n a pas l intention | ne veut pas | ne compte pas"),
    (("fr",), "negation", "post", 6, "dementi | exclu | exclue | rejete | rejetee | improbable | absurde | faux"
     " | infonde | infondee"),
    (("fr",), "hedge", "pre", 8, "pourrait | pourraient | possible | possiblement | eventuel* | peut etre | peut"
     " | si | hypothetique* | scenario* | presume* | selon des rumeurs | a l avenir | un jour | risque d | apparemment"
     " | semble | semblent"
     " | risque de | craintes d | craintes de"),
    (("fr",), "context", "pre", 5, "apres | depuis | pendant | malgre | a cause de | en raison de | face a | suite a"
     " | en reponse a | anniversaire"),
    (("fr",), "hedge", "pre", 6, "met en garde contre | mettent en garde contre | contre | pour eviter"
     " | pour empecher | se prepare a | craint | craignent | fin de | mettre fin"),
)

# "by 2030": a date years ahead is speculation ("might find itself in a war with Russia by 2030"). The
# years are a fixed range (no clock in the core); both directions, since the year may come first.
_YEARS = range(2026, 2061)
_YEAR_CUES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("en",), "by"), (("ru", "uk"), "к"), (("ru", "uk"), "до"), (("de",), "bis"), (("fr",), "d ici"),
)


# "day 100 of the invasion", "1000-й день войны": a count of days is the war as the setting, not a new act.
# ({number} is any run of digits; "-й день" follows only an ordinal written in digits.)
_DAY_CUES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("en",), "day {number} of"), (("ru", "uk"), "й день"), (("ru", "uk"), "день {number}"),
    (("de",), "tag {number}"), (("fr",), "jour {number}"),
)


# Features and explainers open with a question word: "How corruption stalks Ukraine's war dead" is about the war,
# not a new act in it. Only as the item's first word ("Russia says how many drones ..." is a report).
_INITIAL: tuple[tuple[tuple[str, ...], str], ...] = (
    (("en",), "how | why | what | who | inside | explainer | analysis | opinion | podcast | interview | review"
              " | essay | letters | quiz | photos | in pictures | watch"),
    (("ru",), "как | почему | зачем | что | кто | чем | интервью | мнение | анализ | подкаст | колонка"),
    (("uk",), "як | чому | навіщо | що | хто | інтерв ю | думка | аналіз | подкаст | колонка"),
    (("de",), "wie | warum | was | wer | wieso | weshalb | interview | analyse | kommentar | podcast | meinung"),
    (("fr",), "comment | pourquoi | que | qui | quoi | entretien | analyse | tribune | podcast | editorial"),
)
# "in 1944", "1941 год": a year before this service's time is history. A fixed range (no clock in the core).
_PAST_YEARS = range(1800, 2020)


# Cooperation (CAMEO 03-08: truces, talks, agreements, meetings, aid, prisoner exchanges, withdrawals): of the terms
# that lower a score, the ones that name what the parties do. The other lowering terms are benign frames, which say what
# kind of story an item is: another cause of death or damage (a crash, a fire, a storm, an illness), a court, culture,
# sport, markets. The two are weighed apart (explain.py): a context cue ("after", "since") makes cooperation background
# but not a frame ("15 killed after plane crashes": the crash is the cause, not the setting), and cooperation named in
# the sentence of a clear act of force is that act's setting ("shells Kharkiv as peace talks open"). A lowering keyword
# is cooperation when its folded term starts with one of these stems (folded, lower case), in any language; a lowering
# term not listed is a frame, the cautious side (it lowers a score wherever it stands). A stem ending in "*" is the
# term as written ("invest*", not "investigation").
_COOPERATION = (
    # English
    "ceasefire | cease-fire | cease fire | truce | armistice | peace | talks | negotiat | mediat | diplomac"
    " | diplomatic | agree | accord | deal | signs | signed | summit | meets | meeting | visit | cooperat | partnership"
    " | alliance | reconcil | humanitarian | aid | relief | evacuat | rescue | prisoner swap | prisoner exchange"
    " | exchange of prisoners | released | freed | withdraws troops | withdrawal of troops | troop withdrawal"
    " | pull back troops | de-escalat | deescalat | non-aggression | trade | invest* | dialogue | detente"
    " | arms control | confidence-building | security guarantees | strike a deal | strike deal | strikes a deal"
    " | strikes deal | struck a deal"
    # German
    " | waffenruhe | feuerpause | waffenstillstand | frieden | verhandlung | gesprache | vermittl | diplomat"
    " | abkommen | einigung | gipfel | treffen | besuch | zusammenarbeit | humanitar | hilfe | gefangenenaustausch"
    " | deeskal | dialog | rustungskontrolle"
    # French
    " | cessez-le-feu | treve | pourparlers | negociation | paix | plan de paix | mediation | sommet | humanitaire"
    " | aide | echange de prisonniers | desescalade"
    # Hungarian
    " | tuzszunet | beke | targyalas | megallapodas | csucstalalkozo"
    # Russian and Ukrainian
    " | перемир | прекращени | припинен | мир | переговор | посредни | посередн | дипломат | соглашени | договорил"
    " | договоренност | домовил | домовленост | угод | подписал | підписа | саммит | саміт | встреч | зустріч | визит"
    " | візит | сотрудничеств | співпрац | гуманитарн | гуманітарн | помощ | допомог | эвакуаци | евакуац | обмен"
    " | обмін | освобожден | вернул | повернул | деэскалаци | деескалац | урегулировани | врегулюван | отвод"
    " | диалог | діалог | контрол"
)
COOPERATION_STEMS: tuple[str, ...] = tuple(stem.strip() for stem in _COOPERATION.split("|"))


def is_cooperation(folded_term: str) -> bool:
    """Whether a lowering term (folded) names cooperation rather than a benign frame (COOPERATION_STEMS)."""
    return folded_term.startswith(COOPERATION_STEMS)


def _build() -> tuple[Cue, ...]:
    cues: list[Cue] = []
    for languages, kind, direction, window, phrases in _TABLE:
        for phrase in phrases.split("|"):
            for variant in _variants(phrase.strip()):
                cues.append(Cue(variant, kind, direction, window, languages))
    for languages, word in _YEAR_CUES:
        cues.extend(Cue(f"{word} {year}", "hedge", "both", 10, languages) for year in _YEARS)
    for languages, phrases in _INITIAL:
        cues.extend(Cue(phrase.strip(), "hedge", "pre", 12, languages, initial=True) for phrase in phrases.split("|"))
    cues.extend(Cue(str(year), "context", "both", 8, ()) for year in _PAST_YEARS)  # "in 1944", "1941 год"
    cues.extend(Cue(phrase, "context", "pre", 4, languages) for languages, phrase in _DAY_CUES)
    return tuple(cues)


def _variants(phrase: str) -> tuple[str, ...]:
    """"rumou?r" -> rumour, rumor: the one optional-letter shorthand the table uses."""
    if "?" not in phrase:
        return (phrase,)
    i = phrase.index("?")
    return (phrase[: i - 1] + phrase[i + 1 :], phrase[:i] + phrase[i + 1 :])


CUES: tuple[Cue, ...] = _build()
