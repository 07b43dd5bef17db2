"""A small synthetic, labelled corpus (English and some French) for the default model.

It exists so a fresh install can score posts before any real data is
imported. Texts come from templates; the output is identical on every run and
every Python version, because the default model's version is a hash of it.
Benign posts deliberately reuse words from the toxic ones ("killed it",
"vermin in the attic") so the model cannot just key on vocabulary.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable, Sequence

from .scorer import LABELS

_SEED = 20240611

# -- toxic building blocks -----------------------------------------------------

_HARM = [
    "kill you", "hurt you", "beat you up", "break your legs", "smash your face in",
    "make you bleed", "end you", "put you in the hospital", "burn your house down",
    "come after you", "find you and hurt you", "make you disappear",
]
_WHEN = [
    "", " tonight", " tomorrow", " when I find you", " after school",
    " next time I see you", " if you post again", " and nobody will stop me",
]
_THREATS = [
    "I will {harm}{when}", "I'm going to {harm}{when}", "I swear I'll {harm}{when}",
    "keep talking and I will {harm}", "watch your back, I'm going to {harm}",
    "I know where you live and I will {harm}", "you better hide because I will {harm}{when}",
    "one more comment and I'll {harm}", "say that again and I will {harm}",
    "I'm coming to {harm}{when}", "you're dead, I will {harm}",
]
_FR_HARM = [
    "te tuer", "te frapper", "te casser les jambes", "te retrouver", "te faire du mal",
    "brûler ta maison", "te défoncer", "te faire regretter d'être né",
]
_FR_WHEN = ["", " ce soir", " demain", " quand je te trouverai", " à la sortie"]
_FR_THREATS = [
    "je vais {harm}{when}", "je te jure que je vais {harm}{when}",
    "continue comme ça et je vais {harm}", "je sais où tu habites, je vais {harm}",
    "fais gaffe, je vais {harm}{when}", "un mot de plus et je vais {harm}",
]

_INSULT_ADJ = [
    "pathetic", "worthless", "stupid", "brainless", "useless", "clueless",
    "ugly", "disgusting", "miserable", "dumb", "ignorant", "spineless",
]
_INSULT_NOUN = [
    "idiot", "loser", "moron", "clown", "failure", "imbecile", "fool",
    "halfwit", "waste of space", "nobody", "joke", "cretin",
]
_INSULTS = [
    "you are {a_adj} {noun}", "what {a_adj} {noun} you are", "shut up, you {adj} {noun}",
    "nobody cares what you think, you {noun}", "only {a_adj} {noun} would post this",
    "you're too {adj} to understand anything, {noun}", "go away, {noun}",
    "are you really this {adj}? what {a_noun}", "lol imagine being this {adj}, {noun}",
    "@{user} you {adj} {noun}", "your opinion is worthless, you {adj} {noun}",
]
_FR_INSULT_NOUN = [
    "idiot", "imbécile", "crétin", "abruti", "nul", "minable", "bouffon", "débile",
]
_FR_INSULTS = [
    "t'es vraiment un {noun}", "quel {noun} franchement", "ferme-la, espèce {de_noun}",
    "personne ne t'a demandé ton avis, {noun}", "tu es un {noun} fini",
    "pauvre {noun}, retourne jouer", "t'es qu'un gros {noun}",
]

# Groups are described generically on purpose: the corpus needs the pattern
# "group + dehumanising claim", not attacks on any real community.
_GROUPS = [
    "immigrants", "foreigners", "refugees", "people from that country",
    "people from the north", "people from the south", "people of that religion",
    "those people from across the border", "newcomers", "people like them",
]
_DEHUMANISE = [
    "vermin", "animals", "parasites", "a disease", "subhuman", "a plague",
    "rats", "filth", "not even human", "a cancer on this country",
]
_IDENTITY = [
    "{group} are {dehum}", "all {group} are {dehum}",
    "{group} are {dehum} and should be sent back", "I can't stand {group}, they are {dehum}",
    "{group} don't belong here, they are {dehum}", "never trust {group}, they're all {dehum}",
    "{group} are {dehum}, get them out of our country",
]
_FR_GROUPS = [
    "les immigrés", "les étrangers", "les réfugiés", "les gens de ce pays",
    "les gens de cette religion", "les gens du nord",
]
_FR_DEHUMANISE = ["de la vermine", "des parasites", "des animaux", "des rats", "une plaie", "des sous-hommes"]
_FR_IDENTITY = [
    "{group} sont {dehum}", "{group} n'ont rien à faire ici, ce sont {dehum}",
    "je ne supporte pas {group}, c'est {dehum}", "{group}, c'est {dehum}, qu'ils rentrent chez eux",
]

_THINGS = [
    "update", "game", "app", "weather", "meeting", "traffic", "printer",
    "referee", "season finale", "patch", "bus", "wifi",
]
_OBSCENE = [
    "this {thing} is complete bullshit", "what the hell is this shit",
    "damn, this {thing} is crap", "holy shit, the {thing} again",
    "this {thing} is a piece of shit", "I'm so pissed off at this {thing}, damn",
    "well shit, the {thing} ruined my day", "damn it, the {thing} broke again",
    "this {thing} is total crap", "the {thing} sucks ass", "screw this shitty {thing}",
]
_FR_OBSCENE = [
    "putain, le {thing} est encore en panne", "c'est de la merde ce {thing}",
    "merde, j'ai raté le bus", "quelle journée de merde", "putain de {thing}",
    "ce {thing} me fait chier",
]
_FR_THINGS = ["wifi", "métro", "match", "logiciel", "bus", "téléphone"]

_SEVERE = [
    "I will {harm}, you piece of shit", "shut your damn mouth or I will {harm}",
    "I'm going to beat the shit out of you{when}", "I will {harm}{when}, you worthless piece of crap",
    "I swear to hell I'll {harm}", "I'll {harm}, you stupid shit",
    "get the hell out or I'll {harm}",
]
_FR_SEVERE = [
    "je vais {harm}, espèce de merde", "ferme ta putain de gueule ou je vais {harm}",
    "je vais {harm}{when}, sale merde", "putain, je vais {harm}",
]
_INSULT_OBSCENE = [
    "you {adj} piece of shit", "shut the hell up, you {noun}",
    "nobody gives a damn about you, {noun}", "you're a {adj} sack of crap",
    "get your head out of your ass, {noun}", "what a shitty {noun} you are",
]

# -- benign building blocks ----------------------------------------------------

_NAMES = ["Sam", "Alex", "Priya", "Jonas", "Maria", "Kenji", "Amara", "Omar", "Chloé", "Ines"]
_ACTIVITIES = [
    "a morning run", "my first marathon", "the hike", "yoga class", "a long bike ride",
    "gardening", "painting the fence", "a swim", "moving house", "leg day",
]
_MEDIA = ["movie", "album", "book", "series", "podcast", "concert", "show", "game", "play"]
_PERFORMERS = ["band", "drummer", "singer", "team", "chef", "speaker", "cast", "DJ", "goalkeeper"]
_FOODS = ["pizza", "burger", "croissant", "bowl of ramen", "slice of cake", "curry", "taco"]
_PLACES = ["library", "station", "park", "market", "office", "cafe", "gym", "bakery"]
_GOOD = ["amazing", "great", "lovely", "so much fun", "wonderful", "brilliant", "fantastic"]
_EVENTS = ["festival", "match", "recital", "book club", "farmers market", "open mic", "school fair"]

_BENIGN = [
    "the {performer} absolutely killed it at the {event}",
    "this {media} killed it, best one this year",
    "that {food} was to die for",
    "I could murder a {food} right now",
    "traffic is killing me this morning, see you at the {place}",
    "my legs are killing me after {activity}",
    "the {performer} destroyed the competition, what a {event}",
    "break a leg at the {event} tonight!",
    "shoot me a message when you're at the {place}",
    "I'm dying to see the new {media}",
    "the {event} was {good}, thanks {name}!",
    "just finished {activity}, feeling {good}",
    "does anyone know a good {place} near the station?",
    "happy birthday {name}, hope your day is {good}",
    "the {media} was {good}, highly recommend it",
    "can't wait for the {event} this weekend",
    "thanks {name} for the help with the {thing}",
    "reminder: the {event} moved to Saturday",
    "the {thing} finally works after the update, {good}",
    "{name} beat me at chess again, rematch tomorrow",
    "we crushed it at {activity} today",
    "I'll find you a seat near the front at the {event}",
    "the villain in this {media} threatens to destroy the city, so dramatic",
    "the threat of rain didn't stop the {event}",
    "stupid question: where is the {place}?",
    "I hate it when the {thing} is late, but oh well",
    "{name} is a beast at {activity}",
]
_BENIGN_FIXED = [
    "kill the process and restart the server",
    "the battery is dead again, time for a new phone",
    "this recipe is a killer, try it",
    "we need to kill two birds with one stone here",
    "good morning everyone, coffee is ready",
    "please report threats and insults to the moderators",
    "moderators removed the spam from this thread, thanks",
    "insults are not allowed in this forum, be kind",
    "the documentary about rats in the city sewers was fascinating",
    "we found vermin in the attic, calling pest control tomorrow",
    "parasites are eating my tomato plants, any organic tips?",
    "immigrants opened the best bakery on our street",
    "refugees arrived at the station and volunteers brought food",
    "foreigners are welcome at the community dinner on Friday",
    "people from the north are so friendly",
    "people from the south make the best food",
    "people of that religion celebrate a big festival this week",
    "newcomers to the neighbourhood can join our garden club",
    "the clown at the birthday party was hilarious",
    "my dog is a fool for cheese",
    "what a game, the comeback was unreal",
    "the old printer is useless, we are buying a new one",
    "I burned the toast again, classic me",
    "this song is sick, on repeat all day",
    "that was a shot in the dark but it worked",
    "our cat knocked the plant over, chaos at home",
    "is the library open on Sundays?",
    "thank you all for the birthday wishes",
    "looking for a tennis partner this weekend",
    "the sunset tonight is gorgeous",
    "who else is watching the final tonight?",
    "the new bridge finally opened, so much faster",
    "congrats on the new job!",
    "the exam was brutal but I passed",
    "rest in peace to my old laptop, it served me well",
    "the ending of the book hit me hard",
    "can someone explain this tax form to me?",
    "I lost my keys again, I am hopeless",
    "dead tired after work, early night for me",
    "that joke killed me, I can't stop laughing",
    "😂😂😂",
    "❤️ so proud of you",
    "👍",
]
_FR_BENIGN = [
    "bonne journée à tous", "ce film a tout déchiré", "le groupe a mis le feu hier soir",
    "je meurs de faim, on mange où ?", "merci pour ton aide, t'es au top",
    "le match était incroyable", "on se retrouve au marché demain",
    "j'ai adoré ce livre, je recommande", "les réfugiés ont été accueillis par des bénévoles",
    "les gens du sud sont très accueillants", "la batterie est morte, encore",
    "ce gâteau est une tuerie", "quelqu'un connaît une bonne boulangerie près de la gare ?",
    "joyeux anniversaire {name} !", "je suis mort de rire", "le concert de {name} était génial",
    "il fait un temps magnifique aujourd'hui", "le métro est encore en retard, tant pis",
    "les immigrés ont ouvert un super restaurant dans le quartier",
    "on a des rats dans la cave, j'appelle un dératiseur",
    "bravo à toute l'équipe pour la victoire", "à demain à la bibliothèque",
    "qui vient courir dimanche matin ?", "merci {name}, c'était parfait",
]


# -- generation ------------------------------------------------------------------


def _a(phrase: str) -> str:
    return ("an " if phrase[0].lower() in "aeiou" else "a ") + phrase


def _de(noun: str) -> str:
    return ("d'" if noun[0] in "aeiouyé" else "de ") + noun


def _expand(templates: Sequence[str], **slots: Sequence[str]) -> list[str]:
    """Fill every template with every combination of the slots it uses."""
    out = []
    for template in templates:
        used = [k for k in slots if "{" + k + "}" in template]
        for combo in itertools.product(*(slots[k] for k in used)):
            out.append(template.format(**dict(zip(used, combo, strict=True))))
    return out


def _insult_rows() -> list[str]:
    rows = []
    for template in _INSULTS:
        for adj, noun in itertools.product(_INSULT_ADJ, _INSULT_NOUN):
            rows.append(template.format(adj=adj, noun=noun, a_adj=_a(adj), a_noun=_a(noun), user="user123"))
    return rows


class _Picker:
    """Deterministic choices built only on random.random(), whose sequence Python guarantees."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)  # noqa: S311 - a seeded, reproducible corpus, not a secret

    def index(self, n: int) -> int:
        return min(int(self._rng.random() * n), n - 1)

    def sample(self, items: Sequence[str], k: int) -> list[str]:
        pool = list(dict.fromkeys(items))
        for i in range(len(pool) - 1, 0, -1):
            j = self.index(i + 1)
            pool[i], pool[j] = pool[j], pool[i]
        return pool[:k]

    def vary(self, text: str) -> str:
        """Add the surface noise real posts have, equally to toxic and benign ones."""
        roll = self._rng.random()
        if roll < 0.10:
            text = text.upper()
        elif roll < 0.25:
            text = text[:1].upper() + text[1:]
        elif roll < 0.35:
            text = text.lower()
        tail = self._rng.random()
        if tail < 0.15:
            text += "!!!"
        elif tail < 0.25:
            text += "."
        elif tail < 0.30:
            text += " 🙄"
        elif tail < 0.35:
            text += " lol"
        return text


def _labels(*active: str) -> dict[str, int]:
    return {label: int(label in active) for label in LABELS}


def seed_corpus() -> tuple[list[str], list[dict[str, int]]]:
    """Return the deterministic synthetic corpus as (texts, label rows over LABELS)."""
    pick = _Picker(_SEED)
    groups: list[tuple[Iterable[str], dict[str, int]]] = [
        (pick.sample(_expand(_THREATS, harm=_HARM, when=_WHEN), 150), _labels("toxicity", "threat")),
        (pick.sample(_expand(_FR_THREATS, harm=_FR_HARM, when=_FR_WHEN), 40), _labels("toxicity", "threat")),
        (pick.sample(_insult_rows(), 150), _labels("toxicity", "insult")),
        (
            pick.sample([t.format(noun=n, de_noun=_de(n)) for t in _FR_INSULTS for n in _FR_INSULT_NOUN], 40),
            _labels("toxicity", "insult"),
        ),
        (
            pick.sample(_expand(_IDENTITY, group=_GROUPS, dehum=_DEHUMANISE), 130),
            _labels("toxicity", "identity_attack"),
        ),
        (
            pick.sample(_expand(_FR_IDENTITY, group=_FR_GROUPS, dehum=_FR_DEHUMANISE), 35),
            _labels("toxicity", "identity_attack"),
        ),
        (pick.sample(_expand(_OBSCENE, thing=_THINGS), 90), _labels("toxicity", "obscene")),
        (pick.sample(_expand(_FR_OBSCENE, thing=_FR_THINGS), 25), _labels("toxicity", "obscene")),
        (
            pick.sample(_expand(_SEVERE, harm=_HARM, when=_WHEN), 80),
            _labels("toxicity", "severe_toxicity", "threat", "obscene"),
        ),
        (
            pick.sample(_expand(_FR_SEVERE, harm=_FR_HARM, when=_FR_WHEN), 20),
            _labels("toxicity", "severe_toxicity", "threat", "obscene"),
        ),
        (
            pick.sample(_expand(_INSULT_OBSCENE, adj=_INSULT_ADJ, noun=_INSULT_NOUN), 60),
            _labels("toxicity", "insult", "obscene"),
        ),
        (
            pick.sample(
                _expand(
                    _BENIGN, performer=_PERFORMERS, event=_EVENTS, media=_MEDIA, food=_FOODS,
                    place=_PLACES, activity=_ACTIVITIES, good=_GOOD, name=_NAMES, thing=_THINGS,
                ),
                620,
            ),
            _labels(),
        ),
        (_BENIGN_FIXED, _labels()),
        (_expand(_FR_BENIGN, name=_NAMES[:3]), _labels()),
    ]

    texts: list[str] = []
    rows: list[dict[str, int]] = []
    seen: set[str] = set()
    for group_texts, label_row in groups:
        for text in group_texts:
            text = pick.vary(text)
            if text not in seen:
                seen.add(text)
                texts.append(text)
                rows.append(dict(label_row))
    return texts, rows
