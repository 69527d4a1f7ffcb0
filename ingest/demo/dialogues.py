"""What the people of the demo export say: topics, each speaker's register, and the persona's voice.

The persona (Marco) has a style a small model can learn in minutes: always lowercase, short, no final
period, "ahah", "daje", "boh", "cmq", "vabbè", "ci sta", "tranqui", a few emoji. The contacts are clearly
different: Giulia writes standard Italian with capitals and punctuation, Tommi is all slang and CAPS laughter,
Paola is formal (she is the landlord), Sarah writes English (Marco answers her in his lowercase english),
Mamma worries, and the five-a-side football group talks about Thursday's match.

What Marco says depends on what he answers, so that a context-aware evaluation can tell a model that answers
the conversation from one that parrots his stock phrases. Each contact line is a `Beat`: the line (by
register) together with Marco's answers to exactly that line (by language), so a choice gets one of the named
options, "a che ora?" a time, a yes/no question a yes or a no, a request for an opinion an opinion. And the
values a conversation names (a place, a time, a film, a friend...) are drawn once per conversation: the
`{place}` of the contact's invitation is the `{place}` of Marco's answer and of his goodbye.

A topic is a short exchange: the contact opens (`openers`), Marco answers, the contact follows up
(`follows`), Marco answers again; or Marco opens (`persona_opener`), the contact responds (`responses`) and
Marco reacts. Contact lines are keyed by register ("friend", "slang", "formal", "english", "mamma", "group");
Marco's lines by language ("it", "en"), and by register where he talks differently to someone (his mother,
the landlord).

Template syntax, filled by `ingest.demo.export`:
    {slot}    a value of `SLOTS[slot]`, the same one everywhere in a conversation
    {slot2}   a second value of the same slot, different from {slot} (the other option of a choice)
    [a|b|]    one of the alternatives (the empty one: nothing): many small variations of one answer, so
              that a reply rarely repeats verbatim across the export
"""

from __future__ import annotations

from dataclasses import dataclass, field

Lines = dict[str, list[str]]


@dataclass(frozen=True)
class Beat:
    """A contact's line (`ask`, by register) and Marco's answers to it (`reply`, by language or register)."""

    ask: Lines
    reply: Lines


@dataclass(frozen=True)
class Topic:
    name: str
    openers: list[Beat]
    follows: list[Beat] = field(default_factory=list)
    persona_opener: Lines = field(default_factory=dict)
    responses: list[Beat] = field(default_factory=list)
    closer: Lines = field(default_factory=dict)  # Marco's goodbye; used only when its slots were named


SLOTS: dict[str, list[str]] = {
    "hour": ["9", "8 e mezza", "9 e mezza", "8", "21", "7", "10", "7 e mezza"],  # after "alle" / "verso le"
    "day": ["sabato", "domenica", "venerdì", "giovedì", "domani", "lunedì", "martedì"],
    "place": [
        "da pippo",
        "in centro",
        "a trastevere",
        "al pub",
        "da mario",
        "a testaccio",
        "al pigneto",
        "a monti",
        "a san lorenzo",
    ],
    "food": [
        "pizza",
        "sushi",
        "carbonara",
        "amatriciana",
        "kebab",
        "hamburger",
        "cacio e pepe",
        "supplì",
        "gricia",
        "poke",
    ],
    "team": ["roma", "lazio", "juve", "fiorentina", "atalanta"],  # feminine: "la {team}"
    "film": [
        "dune",
        "oppenheimer",
        "the bear",
        "stranger things",
        "severance",
        "gomorra",
        "mare fuori",
        "the last of us",
    ],
    "city": ["napoli", "firenze", "bologna", "lisbona", "barcellona", "berlino", "parigi", "londra"],
    "friend": ["Luca", "Chiara", "Francesca", "Matteo", "Lorenzo", "Stefano"],
    "meeting": ["riunione", "presentazione", "call col cliente"],
    "amount": ["10", "15", "20", "25", "30", "12", "18", "40"],
    "price": ["80", "120", "150", "200"],
    "en_hour": ["8", "9", "7:30", "8:30", "9:30", "10", "7"],
    "en_day": ["saturday", "sunday", "friday", "monday", "thursday"],  # after "on"
    "en_place": [
        "in trastevere",
        "at the pub",
        "in monti",
        "at campo de' fiori",
        "in testaccio",
        "in pigneto",
    ],
    "en_food": ["pizza", "carbonara", "gelato", "sushi", "cacio e pepe", "supplì", "amatriciana", "gricia"],
    "en_meeting": ["presentation", "meeting", "client call"],
}

# Marco's pure fillers: a short reaction before his answer (a message of its own, same turn), and the rare
# reply that is nothing else. Kept a minority: a reply that fits every conversation teaches nothing.
PERSONA_FILLERS = ["ahah", "ahahah", "daje", "boh", "vabbè", "ok", "top", "ci sta", "😂", "👍", "ahah ok"]
PERSONA_FILLERS_EN = ["ahah", "ahahah", "ok", "cool", "😂", "👍", "ahah yes"]
# Marco's reaction when no better answer fits (rarely used).
PERSONA_REACTIONS: Lines = {
    "it": ["ahah si", "daje", "ahah top", "ok perfetto 👍", "ci sta", "boh vediamo", "vabbè dai"],
    "en": ["ahah yes", "cool 👍", "perfect", "boh we'll see"],
}
# Emoji he adds to any line (none tied to a topic, such as 🍕 or ⚽).
PERSONA_EMOJI = ["😂", "👍", "💪", "😅", "🔥", "😎", "🙏"]
# Marco answering, hours later, a message of an earlier conversation.
LATE_ANSWERS: Lines = {
    "it": ["[scusa |ahah scusa, ]ho visto ora[ 😅|, ero al lavoro|, dimmi|, ero in palestra]"],
    "en": ["[sorry |ahah sorry, ]just saw this[ 😅|, i was at work|, tell me]"],
}

# The contact's goodbye and Marco's answer to it, when his topic's `closer` has none that fits.
CLOSERS: list[Beat] = [
    Beat(
        ask={
            "friend": ["Perfetto, a dopo!"],
            "english": ["Great, see you then!"],
            "slang": ["bella raga ci si vede"],
        },
        reply={
            "it": [
                "[ok |daje |]a dopo[ 👋|][, arrivo puntuale|]",
                "ci vediamo {place}[ 👋|]",
                "a dopo, alle {hour}",
            ],
            "en": ["[ok |]see you [then|later|soon][ 👋|]", "see you {en_place}[ 👋|]"],
        },
    ),
    Beat(
        ask={"friend": ["Ok, ci sentiamo!"], "slang": ["kk"], "english": ["Sounds good!"]},
        reply={
            "it": ["[si |ok |]ci sentiamo [dopo|domani|stasera][ 👋|]", "[ok |]ci sentiamo {day}"],
            "en": ["[cool|ok], [talk later|see you][ 👋|]", "[ok |]see you on {en_day}"],
        },
    ),
    Beat(
        ask={"friend": ["Va bene, buona serata!"], "slang": ["bella zio"]},
        reply={"it": ["[grazie, |]buona serata [anche a te|a te][ 👋|]", "[bella|notte], a {day}[ 👋|]"]},
    ),
    Beat(
        ask={"friend": ["Grazie mille!"], "english": ["Awesome, thanks!"]},
        reply={
            "it": ["[figurati|di niente][ 😘| 👍|, a presto]"],
            "en": ["[no problem|you're welcome][ 😎|, see you]"],
        },
    ),
    Beat(
        ask={"friend": ["Ottimo 😊"], "slang": ["top fra", "SIUUUM"], "english": ["Perfect 😊"]},
        reply={
            "it": [
                "[daje |ok |]allora {day}[ 💪|]",
                "[top|perfetto], {place} allora",
                "[top|perfetto], [ci sentiamo|a presto] allora[ 👋|]",
            ],
            "en": ["[ok |cool, ]{en_day} then[ 👍|]", "[perfect|cool], see you [then|soon][ 👍|]"],
        },
    ),
    Beat(
        ask={"formal": ["Grazie, buona giornata.", "Perfetto, cordiali saluti."]},
        reply={"formal": ["[grazie a lei, |]buona giornata[ 🙏|]", "[grazie, |]buona giornata a lei"]},
    ),
    Beat(ask={"formal": ["La ringrazio, a presto."]}, reply={"formal": ["[grazie a lei, |]a presto[ 🙏|]"]}),
    Beat(
        ask={"mamma": ["Va bene tesoro. Un bacio"]},
        reply={"it": ["[un bacio|ciao|notte] mamma[ 😘| ❤️]", "[un bacio|ciao] mamma, passo {day}[ 😘|]"]},
    ),
    Beat(ask={"mamma": ["Ok amore, copriti!"]}, reply={"it": ["[si |ok |]mamma mi copro[ 😘|, tranqui]"]}),
    Beat(
        ask={"mamma": ["Bravo. Ti voglio bene ❤️"]},
        reply={"it": ["[anche io|anche io ti voglio bene|pure io] mamma[ ❤️| 😘][, a {day}|]"]},
    ),
    Beat(
        ask={"group": ["perfetto", "ok ci siamo", "grandi", "👍", "daje raga"]}, reply={"it": ["daje raga"]}
    ),
]
# Marco's stock goodbye: now and then, whatever was said.
PERSONA_CLOSERS: Lines = {
    "formal": ["grazie 🙏", "grazie, buona giornata"],
    "it": ["a dopo 👋", "👍", "daje", "ci sentiamo", "ok top", "ahah a dopo", "😘", "bella"],
    "en": ["see you 👋", "👍", "ahah ok", "cool, see you", "perfect"],
}

# Media exchanges: what a contact writes under a photo, and what Marco answers to a photo.
PHOTO_CAPTIONS: Lines = {
    "it": ["", "", "Guarda che vista!", "Guarda dove sono!"],
    "en": ["", "Look at this!"],
}
PHOTO_REPLIES: Lines = {
    "it": [
        "[wow |ahah |]che vista[, dove sei?| 😍|]",
        "[bellissima|assurda], [dove sei?|dov'è?|manda altre foto]",
        "[che bello|che invidia] 😍 [dove sei?|quando torni?]",
    ],
    "en": ["[wow |]beautiful[, where are you?| 😍]", "[ahah |]so jealous, where is it?"],
}
# Marco's own photo: its caption, and the map link he may send after it.
PERSONA_CAPTIONS: Lines = {
    "it": ["", "guarda qui ahah", "la cena di stasera 🍕"],
    "en": ["", "look ahah", "dinner 🍕"],
}
MAP_LINK_TEXTS: Lines = {
    "it": ["cmq è qui ", "è qui ", "il posto è questo "],
    "en": ["it's here ", "the place: "],
}

TOPICS: list[Topic] = [
    Topic(
        "stasera",
        openers=[
            Beat(
                ask={
                    "friend": ["Che fai stasera?", "Hai programmi per stasera?"],
                    "slang": ["zio stasera che si fa", "fra stasera che fai"],
                    "english": ["Any plans for tonight?", "What are you doing tonight?"],
                    "group": ["raga stasera che facciamo?"],
                },
                reply={
                    "it": [
                        "[boh |]niente, [divano e netflix|resto a casa|sono distrutto][ ahah| 😅|]",
                        "[boh |]pensavo {place}, [vieni?|ci stai?|tu?]",
                        "stasera {place} con {friend}[, vieni?| ahah|]",
                        "[ahah |]dipende, tu che [fai|proponi]?",
                    ],
                    "en": [
                        "[ahah |]nothing, [sofa and netflix|i'm so tired][ 😅|]",
                        "maybe {en_place}, [you come?|join us?]",
                        "[boh |]not sure, you?",
                    ],
                },
            ),
            Beat(
                ask={
                    "friend": ["Stasera vieni {place}? Ci sono anche gli altri.", "Birra {place} stasera?"],
                    "slang": ["fra stasera birretta {place}?", "bro stasera {place} ci sei??"],
                    "english": ["Drinks {en_place} tonight?", "Are you up for drinks {en_place} tonight?"],
                    "group": ["stasera birra {place}?", "chi c'è stasera {place}?"],
                },
                reply={
                    "it": [
                        "[si |daje |]{place} ci sto[ 🍻|, a che ora?|]",
                        "[si |]{place} ci sta[, a che ora?| 💪|]",
                        "stasera [non posso|no], [domani|{day}] [si|ci sta][ dai|]",
                        "[ahah |]si ma {place} non faccio tardi",
                    ],
                    "en": [
                        "[yes |sure |]{en_place}[ 🍻|, what time?|]",
                        "tonight i can't, [tomorrow|{en_day}] yes",
                        "[ahah |]ok but not too late",
                    ],
                },
            ),
            Beat(
                ask={
                    "friend": ["Stasera andiamo {place} o {place2}?"],
                    "slang": ["zio stasera {place} o {place2}"],
                    "english": ["Tonight {en_place} or {en_place2}?"],
                    "group": ["raga stasera {place} o {place2}?"],
                },
                reply={
                    "it": [
                        "[meglio |]{place}[ dai| ci sta| 🍻|]",
                        "[boh |]{place2}, {place} è sempre pieno",
                        "[ahah |]{place2}[, come sempre| tutta la vita]",
                    ],
                    "en": [
                        "{en_place}[, it's better| for sure| 🍻]",
                        "{en_place2}, {en_place} is too crowded",
                    ],
                },
            ),
            Beat(
                ask={"mamma": ["Stasera passi a cena? Ho fatto il brodo.", "Che fai stasera? Vieni a cena?"]},
                reply={
                    "it": [
                        "[si mamma|ok mamma] passo [alle {hour}|dopo il lavoro][ 😘|]",
                        "stasera no mamma, [vengo {day}|esco con {friend}] 😘",
                    ]
                },
            ),
        ],
        follows=[
            Beat(
                ask={
                    "friend": ["A che ora ci vediamo?", "Che ora facciamo?"],
                    "slang": ["a che ora zio", "orario?"],
                    "english": ["What time?", "What time works for you?"],
                    "group": ["a che ora?"],
                    "mamma": ["A che ora arrivi?"],
                },
                reply={
                    "it": [
                        "[verso le|alle] {hour}[ va bene?| ci sta?|]",
                        "[facciamo |]alle {hour}[ dai| 👍|]",
                    ],
                    "mamma": ["[verso le|alle] {hour} mamma[ 😘|]"],
                    "en": ["[around|at] {en_hour}[?| ok?|]", "{en_hour} is good[ 👍|]"],
                },
            ),
            Beat(
                ask={
                    "friend": ["Dai vieni, siamo {place} alle {hour}.", "Ci vediamo {place} alle {hour}?"],
                    "slang": ["{place} alle {hour} nn mancare", "dai fra alle {hour} {place}"],
                    "english": ["We're meeting {en_place} at {en_hour}, come!", "{en_place} at {en_hour}?"],
                    "group": ["{place} alle {hour}?", "ok allora alle {hour} {place}"],
                    "mamma": ["Allora ti aspetto alle {hour}. Porta il pane."],
                },
                reply={
                    "it": [
                        "[ok |daje |]alle {hour} {place}[ ci sono| 👍|]",
                        "{place} [ci sta|perfetto], arrivo [alle {hour}|dopo]",
                        "[ok ma|vabbè ma] alle {hour} è [presto|tardi]",
                    ],
                    "mamma": [
                        "[ok |]alle {hour} col pane 😘",
                        "si mamma porto il pane[ tranqui|]",
                    ],
                    "en": [
                        "[ok |]{en_place} at {en_hour}[, i'm in| 👍|]",
                        "[perfect|cool], see you {en_place}",
                    ],
                },
            ),
            Beat(
                ask={
                    "friend": ["Viene anche {friend}?", "Chiamo anche {friend}?"],
                    "slang": ["porta {friend} zio"],
                    "english": ["Is {friend} coming too?"],
                },
                reply={
                    "it": [
                        "[si |]{friend} [viene|c'è][ di sicuro| dopo|]",
                        "[boh |]{friend} [non so|forse], [ora gli scrivo|glielo chiedo]",
                        "[si |daje |]chiama {friend}[ ahah|]",
                    ],
                    "en": ["[yes |]{friend} [is coming|comes later][ 👍|]", "[boh |]i ask {friend} now"],
                },
            ),
            Beat(
                ask={"group": ["chi porta la macchina?"]},
                reply={"it": ["[io |]porto la macchina[, passo alle {hour}|, 4 posti|]"]},
            ),
        ],
        persona_opener={
            "it": ["[oh |]stasera che fate?", "stasera birretta {place}?", "[raga |]stasera ci siete?"],
            "en": ["hey what are you doing tonight?", "drinks {en_place} tonight? 🍻"],
        },
        responses=[
            Beat(
                ask={
                    "friend": ["Io ci sono! Dove andiamo?", "Sì dai! Dove?"],
                    "slang": ["ci sto zio, dove?"],
                    "english": ["Yes! Where should we go?"],
                    "group": ["io ci sono, dove?"],
                },
                reply={
                    "it": ["{place}[ dai| ci sta| 🍻|]", "[boh |]{place} o {place2}, [decidi tu|vedi tu]"],
                    "en": ["{en_place}[? | 🍻|, i know a place]", "{en_place} or {en_place2}, you choose"],
                },
            ),
            Beat(
                ask={
                    "friend": ["Sì dai! A che ora?"],
                    "slang": ["SIUUUM ci sto, che ora?"],
                    "english": ["Sure, what time?"],
                    "group": ["dipende dall'orario"],
                },
                reply={
                    "it": ["alle {hour} [ci sta|va bene]?", "[verso le|alle] {hour} {place}"],
                    "en": ["at {en_hour}[?| ok?]", "{en_hour} {en_place}[ 🍻|]"],
                },
            ),
            Beat(
                ask={
                    "friend": ["Stasera non riesco, scusa. Domani?"],
                    "slang": ["zio nn posso stasera sbatti"],
                    "english": ["Sorry, not tonight. Tomorrow?"],
                    "group": ["stasera no raga"],
                },
                reply={
                    "it": [
                        "[vabbè |]ok, [domani|{day}] [allora|ci sta][ dai|]",
                        "[tranqui|nessun problema], facciamo {day}[ 👍|]",
                    ],
                    "en": ["[ok |]no problem, {en_day} then[ 👍|]", "ok {en_day} 🍻"],
                },
            ),
            Beat(
                ask={"mamma": ["Stasera c'è papà a casa, vieni a cena?"]},
                reply={
                    "it": [
                        "[si mamma|ok] [passo alle {hour}|vengo a cena][ 😘|]",
                        "stasera no, [domani|{day}] si 😘",
                    ]
                },
            ),
            Beat(
                ask={"mamma": ["Io guardo la tv amore. Tu esci? Copriti."]},
                reply={"it": ["[si |]esco {place}, [mi copro|tranqui] 😘"]},
            ),
        ],
        closer={
            "it": [
                "[ok |daje |]a dopo {place}[ 👋|]",
                "[allora |ok |]alle {hour}[ 👋|, puntuali]",
                "[daje |]ci vediamo {place}[ 🍻|, alle {hour}]",
                "[ok |]porto {friend}[, a dopo|]",
            ],
            "en": ["see you {en_place}[ 👋|]", "[ok |]at {en_hour} then[ 🍻|]"],
        },
    ),
    Topic(
        "weekend",
        openers=[
            Beat(
                ask={
                    "friend": ["Cosa fai questo weekend?", "Hai impegni nel fine settimana?"],
                    "slang": ["zio weekend che si fa"],
                    "english": ["What are your plans for the weekend?"],
                    "group": ["raga weekend che si fa?"],
                },
                reply={
                    "it": [
                        "[boh |]ancora niente, tu?",
                        "{day} [vado|sono] {place}[ con {friend}|], tu?",
                        "[mi sa che |]{day} [da mia madre|lavoro][ 😅|]",
                    ],
                    "en": [
                        "[boh |]nothing yet, you?",
                        "{en_day} i'm at my mom's[ ahah|]",
                    ],
                },
            ),
            Beat(
                ask={
                    "friend": ["Che ne dici del mare {day}?", "Andiamo al mare {day}?"],
                    "slang": ["fra {day} mare??", "zio mare {day} si o no"],
                    "english": ["Do you want to go to the beach on {en_day}?"],
                    "group": ["{day} chi c'è per il mare?"],
                },
                reply={
                    "it": [
                        "[si |daje |]{day} mare ci sta[ 🌊|]",
                        "{day} [non posso|lavoro][ 😅|]",
                        "[ahah |]mare si ma non [troppo presto|alle 7]",
                    ],
                    "en": [
                        "[yes |]beach on {en_day}[ 🌊|, i'm in]",
                        "{en_day} i can't, [next week|the week after] yes",
                    ],
                },
            ),
            Beat(
                ask={
                    "friend": ["C'è la festa di {friend} {day}, vieni?"],
                    "slang": ["fra {day} festa da {friend} ci sei??"],
                    "english": ["Party at {friend}'s on {en_day}, coming?"],
                },
                reply={
                    "it": [
                        "[si |daje |]da {friend} ci sono[ 🎉|]",
                        "{day} festa ci sta[, porto le birre|, a che ora?]",
                    ],
                    "en": ["[yes |]{friend}'s party[ 🎉| for sure|, i'm in]"],
                },
            ),
            Beat(
                ask={"mamma": ["Domenica vieni a pranzo? Faccio le lasagne."]},
                reply={
                    "it": [
                        "[si mamma |]domenica ci sono[, lasagne 😍| 😘]",
                        "[daje |]lasagne, [arrivo all'una|porto il vino]",
                    ]
                },
            ),
            Beat(
                ask={"mamma": ["Il fine settimana ci sei? Viene la zia."]},
                reply={
                    "it": [
                        "[si mamma |]ci sono, [saluta la zia|viene anche lo zio?][ 😘|]",
                        "la zia? ok {day} passo 😘",
                    ]
                },
            ),
        ],
        follows=[
            Beat(
                ask={
                    "friend": ["Partiamo {day} mattina?", "A che ora partiamo {day}?"],
                    "slang": ["fra partenza {day} mattina presto"],
                    "english": ["We could leave on {en_day} morning."],
                    "group": ["allora {day}?"],
                },
                reply={
                    "it": [
                        "{day} [ok|ci sta] ma non [troppo presto|all'alba][ ahah| 😅|]",
                        "[ok |daje |]{day} mattina [passo io|ci sono][ 👍|]",
                    ],
                    "en": [
                        "ok {en_day} but [not before|after] {en_hour}[ ahah|]",
                        "{en_day} at {en_hour}[, deal|]",
                    ],
                },
            ),
            Beat(
                ask={
                    "friend": ["Vengono anche {friend} e gli altri.", "Chiamo anche {friend}?"],
                    "slang": ["porta {friend} zio"],
                    "english": ["Can {friend} come too?"],
                },
                reply={
                    "it": [
                        "[daje |]{friend} [ci sta|porta le casse][ ahah|]",
                        "[si |]chiama {friend}[, più siamo meglio è|]",
                    ],
                    "en": ["[sure |yes |]{friend} [can come|is cool][ 👍|]"],
                },
            ),
            Beat(
                ask={
                    "friend": ["Io porto il pranzo, tu?"],
                    "slang": ["porta le casse zio"],
                    "english": ["I'll bring snacks! You?"],
                    "group": ["porto io la carne, voi?"],
                },
                reply={
                    "it": ["[io |]porto [le birre|da bere|le casse][ 🍻|]"],
                    "en": ["[ok |cool, |]i bring [the beers|drinks|the music][ 🍻|]"],
                },
            ),
            Beat(
                ask={"group": ["chi ha la macchina?"]},
                reply={"it": ["[io |]ho la macchina, [4 posti|passo alle {hour}]"]},
            ),
            Beat(
                ask={"mamma": ["Allora ti aspetto domenica all'una."]},
                reply={"it": ["[ok |si mamma, |]domenica all'una [ci sono|arrivo|sono da voi][ 😘|]"]},
            ),
            Beat(
                ask={"mamma": ["Porta anche qualcosa da bere."]},
                reply={"it": ["[ok |si |]porto [il vino|le birre] mamma[ 😘|]"]},
            ),
        ],
        persona_opener={
            "it": ["{day} che fate?", "weekend ci sta un giro a {city}?", "{day} mare?"],
            "en": ["hey any plans for the weekend?", "{en_day} we go to the beach?"],
        },
        responses=[
            Beat(
                ask={
                    "friend": ["Sono libera! Che idea hai?"],
                    "slang": ["zio ci stoooo, che si fa"],
                    "english": ["I'm free! What's the plan?"],
                    "group": ["io ci sono, che si fa?"],
                },
                reply={
                    "it": [
                        "[pensavo |boh |]{place} [e poi si vede|con {friend}]",
                        "[mare|gita a {city}] [dai|ci sta?]",
                    ],
                    "en": [
                        "[maybe |]{en_place} [with {friend}|and then we see]",
                        "[beach|a trip] [maybe?|ok?]",
                    ],
                },
            ),
            Beat(
                ask={
                    "friend": ["Questo weekend lavoro, purtroppo."],
                    "slang": ["nn posso fra"],
                    "english": ["This weekend I'm working, sorry."],
                    "group": ["questo weekend no"],
                },
                reply={
                    "it": [
                        "[vabbè |]peccato, [il prossimo|la prossima volta][ dai| 😅|]",
                        "[tranqui|ok], sentiamoci [lunedì|dopo][ 👍|]",
                    ],
                    "en": [
                        "[ok |]no problem, [next weekend|another time] then[ 👍|]",
                        "[boh |]ok, maybe next week[ 😅|]",
                    ],
                },
            ),
            Beat(
                ask={"mamma": ["Domenica vieni da noi allora!"]},
                reply={
                    "it": [
                        "[ok |si |]domenica [vengo|ci sono] mamma[ 😘|]",
                        "domenica [a pranzo|all'una] ci sta 😘",
                    ]
                },
            ),
            Beat(
                ask={"mamma": ["Sabato c'è il mercato, vieni?"]},
                reply={"it": ["[si |ok |]mercato sabato [mattina|alle {hour}][ ci sono|]"]},
            ),
        ],
        closer={
            "it": [
                "[ok |]{day} allora[ 👋| 🌊|]",
                "[daje |]{day} alle {hour}[ 👋|]",
                "[ok |]saluta {friend}[ 😘|]",
            ],
            "en": ["ok {en_day} then[ 👋|]"],
        },
    ),
    Topic(
        "cibo",
        openers=[
            Beat(
                ask={
                    "friend": ["Stasera {food} o {food2}?", "Ordiniamo: {food} o {food2}?"],
                    "slang": ["zio {food} o {food2}", "fra stasera {food} o {food2}??"],
                    "english": ["{en_food} or {en_food2} tonight?"],
                    "group": ["raga stasera {food} o {food2}?"],
                },
                reply={
                    "it": [
                        "{food}[ tutta la vita| dai| ovvio][ 🍕|]",
                        "[boh |]{food2}, {food} ieri[ ahah|]",
                        "[ahah |]{food2}, ho una fame",
                    ],
                    "en": [
                        "{en_food}[ of course| obviously|]",
                        "{en_food2}[ ahah|], not {en_food}",
                    ],
                },
            ),
            Beat(
                ask={
                    "friend": ["Hai già cenato?", "Stasera ordiniamo qualcosa?"],
                    "slang": ["fame chimica zio", "zio si mangia?"],
                    "english": ["I'm starving. Dinner?"],
                },
                reply={
                    "it": [
                        "no ancora, [ci sta|ordiniamo] {food}?",
                        "già [mangiato|cenato], [cmq|ma] un dolce ci sta",
                        "[ahah |]si ho una fame, {food}?",
                    ],
                    "en": ["[ahah |]me too, {en_food}?", "[already ate|i just ate], but ok for a gelato"],
                },
            ),
            Beat(
                ask={
                    "friend": ["Conosci un buon posto per la {food}?"],
                    "english": ["Where can I get real {en_food}?", "Any food recommendations?"],
                },
                reply={
                    "it": [
                        "[la {food} più buona è|per la {food} vai] {place}[, fidati| 🔥|]",
                        "[boh |]{place} non è male",
                    ],
                    "en": [
                        "[ahah |]you have to try {en_food} {en_place}",
                        "for {en_food} go {en_place}[, trust me|]",
                    ],
                },
            ),
            Beat(
                ask={"mamma": ["Hai mangiato?", "Hai mangiato qualcosa di sano oggi?"]},
                reply={
                    "it": [
                        "si mamma, [pasta al volo|{food}][ 😘|]",
                        "[si |]ho mangiato[ tranqui| la verdura ahah]",
                    ]
                },
            ),
            Beat(
                ask={"mamma": ["Ti ho messo da parte le polpette."]},
                reply={"it": ["[daje |grazie mamma, ]polpette[ 😍|, passo {day}][ ❤️|]"]},
            ),
            Beat(
                ask={"group": ["dopo la partita {food}?", "raga stasera {food}?"]},
                reply={"it": ["[daje |si |]{food}[ dopo la partita|][ 🍕|]", "{food} ci sta[, ordino io|]"]},
            ),
        ],
        follows=[
            Beat(
                ask={
                    "friend": ["Allora ordino io, {food} va bene?"],
                    "slang": ["ordino io fra, {food}?"],
                    "group": ["{food} per tutti?"],
                    "english": ["Ok, {en_food} for both?"],
                },
                reply={
                    "it": ["[si |]{food} [perfetto|va benissimo][ 🍕|]", "[ok |]{food} per me[, grazie|]"],
                    "en": ["[yes |]{en_food} for both[ 🍕|]"],
                },
            ),
            Beat(
                ask={
                    "friend": ["Dove andiamo a mangiare?"],
                    "slang": ["dove si mangia zio"],
                    "english": ["Where exactly?"],
                    "group": ["dove la prendiamo?"],
                },
                reply={
                    "it": ["[andiamo |]{place}[, fidati| 🍕|]", "{place} o {place2}, [scegli tu|come vuoi]"],
                    "en": ["{en_place}[, i send you the map|, trust me]"],
                },
            ),
            Beat(
                ask={
                    "friend": ["Dividiamo?"],
                    "slang": ["chi paga stavolta AHAHAH"],
                    "english": ["Your treat? 😄"],
                },
                reply={
                    "it": ["[ahah |]offro io stavolta", "[si |]dividiamo, {amount} euro a testa"],
                    "en": ["[ahah |]ok my treat", "[no |]we split, {amount} euro each"],
                },
            ),
            Beat(
                ask={"english": ["Is it expensive?"]},
                reply={"en": ["no it's cheap, [like|around] {amount} euro"]},
            ),
            Beat(
                ask={"mamma": ["Bravo. Ma mangia anche la verdura!"]},
                reply={"it": ["[si mamma|ok mamma|ahah si], [la verdura|anche la verdura][ tranqui|] 😘"]},
            ),
            Beat(
                ask={"mamma": ["Domenica ti faccio le lasagne allora."]},
                reply={"it": ["[daje |top |]lasagne[ 😍|, domenica ci sono|, arrivo presto][ ahah|]"]},
            ),
        ],
        persona_opener={
            "it": ["raga {food} stasera?", "ho una fame assurda 😅", "ordiniamo {food}?"],
            "en": ["hungry? 🍕", "want to get {en_food}?"],
        },
        responses=[
            Beat(
                ask={
                    "friend": ["Sì! Ordina tu?"],
                    "slang": ["ZIO SI"],
                    "english": ["Yes please! 😋"],
                    "group": ["si io ci sto"],
                },
                reply={
                    "it": [
                        "[ok |daje |]ordino io, {food} per tutti?",
                        "[ok |]ordino {food} [alle {hour}|ora][ 🍕|]",
                    ],
                    "en": ["ok i order {en_food}[ 🍕|]", "[ok |]{en_food} at {en_hour}?"],
                },
            ),
            Beat(
                ask={
                    "friend": ["Ho già mangiato, scusa!"],
                    "english": ["I just ate, sorry!"],
                    "group": ["già mangiato"],
                },
                reply={
                    "it": [
                        "[vabbè |]allora {food} [da solo|domani][ ahah|]",
                        "ok [la prossima volta|domani] allora",
                    ],
                    "en": ["[ok |]more {en_food} for me ahah", "no problem, [tomorrow|next time] then"],
                },
            ),
            Beat(
                ask={
                    "slang": ["{food2} meglio fra"],
                    "english": ["{en_food2} is better!"],
                    "group": ["{food2}!!"],
                },
                reply={
                    "it": ["[ok |vabbè |]{food2}[ allora| dai|]"],
                    "en": ["[ok |]{en_food2} then[ ahah|]"],
                },
            ),
            Beat(
                ask={"mamma": ["Vieni qui che ti preparo qualcosa."]},
                reply={"it": ["[ok |]arrivo [alle {hour}|tra poco] mamma 😘"]},
            ),
            Beat(
                ask={"mamma": ["Mangia bene mi raccomando."]},
                reply={"it": ["si mamma[ tranqui| sempre| mangio bene][ 😘| ❤️|]"]},
            ),
        ],
        closer={
            "it": [
                "[daje |]{food} allora[ 🍕|]",
                "[ok |]a dopo {place}[ 👋|]",
                "buon appetito[ 🍕|]",
            ],
            "en": ["enjoy the {en_food}[ 🍕|]", "[ok |]{en_food} {en_place} then"],
        },
    ),
    Topic(
        "calcio",
        openers=[
            Beat(
                ask={
                    "friend": ["Hai visto la {team} ieri?"],
                    "slang": ["ZIO hai visto la {team}", "la {team} fa pena zio"],
                    "english": ["Did you watch the {team} game?"],
                    "group": ["la {team} ieri imbarazzante"],
                },
                reply={
                    "it": [
                        "[si |ahah |]la {team} [imbarazzante|da piangere|assurda][ 😅|]",
                        "[si |]la {team} [ha meritato|non meritava][ ⚽|]",
                        "no, [com'è finita?|ha vinto la {team}?]",
                    ],
                    "en": [
                        "[yes |]the {team} game was [crazy|awful][ ⚽|]",
                        "no i missed it, did {team} win?",
                    ],
                },
            ),
            Beat(
                ask={
                    "friend": ["Stasera c'è {team}-{team2}, la guardiamo insieme?"],
                    "slang": ["fra stasera {team}-{team2} da me?"],
                    "english": ["{team} plays {team2} tonight, watch it together?"],
                },
                reply={
                    "it": [
                        "[si |daje |]{team}-{team2} da me[ o da te?|, porta le birre|]",
                        "[ci sta|si], {place} alle {hour}",
                    ],
                    "en": ["[yes |]{team}-{team2} {en_place}?", "[yes sure|daje], at my place ⚽"],
                },
            ),
            Beat(
                ask={
                    "friend": ["Secondo te chi vince, {team} o {team2}?"],
                    "slang": ["{team} o {team2} zio, chi vince?"],
                    "english": ["Who wins, {team} or {team2}?"],
                },
                reply={
                    "it": [
                        "[boh |]secondo me la [{team}|{team2}][, 2-1| 3-0| ahah|]",
                        "[ahah |]{team}-{team2} pareggio[ 1-1| 2-2][, fidati|]",
                    ],
                    "en": [
                        "[boh |]{team} [2-1|wins][, trust me|]",
                        "{team}-{team2} a draw[, 1-1|, 0-0][ ahah|]",
                    ],
                },
            ),
            Beat(
                ask={"english": ["I watched my first Serie A game! Who do you support?"]},
                reply={"en": ["[ahah |boh |]roma of course[ ⚽|, forza roma|, since i was born]"]},
            ),
            Beat(
                ask={"group": ["giovedì calcetto chi c'è?", "raga manca uno per giovedì"]},
                reply={
                    "it": [
                        "[io |]giovedì ci sono[ 💪|, porto il pallone|]",
                        "[giovedì |]chiamo {friend}[, forse viene|]",
                    ]
                },
            ),
            Beat(
                ask={"group": ["campo prenotato alle {hour}"]},
                reply={
                    "it": ["alle {hour} [ci sono|ok][ 💪|]", "[ok |]alle {hour} [puntuale|arrivo dal lavoro]"]
                },
            ),
        ],
        follows=[
            Beat(
                ask={
                    "friend": ["Allora da me alle {hour}, porta le birre."],
                    "slang": ["zio alle {hour} da me"],
                },
                reply={"it": ["[ok |]alle {hour} da te[ 🍻|]"]},
            ),
            Beat(
                ask={"slang": ["scommettiamo?"], "friend": ["Scommettiamo una pizza?"]},
                reply={"it": ["[ok |ahah ]{amount} euro sulla {team}", "[daje |]pizza sulla {team}[ 🍕|]"]},
            ),
            Beat(
                ask={"english": ["Can you take me to a game?"]},
                reply={"en": ["[yes |]we go to the olimpico [together|on {en_day}][ ⚽|]"]},
            ),
            Beat(
                ask={"english": ["Why Roma?"]},
                reply={"en": ["[ahah |]because [my dad|my family][, roma forever| ahah|]"]},
            ),
            Beat(
                ask={"group": ["chi porta le pettorine?"]},
                reply={"it": ["[le |]pettorine [le porto io|ce le ho io][ 👍|, lavate ahah|]"]},
            ),
            Beat(
                ask={"group": ["serve un portiere"]},
                reply={"it": ["[io |]faccio il portiere[ ahah|, ma solo il primo tempo| stavolta]"]},
            ),
            Beat(
                ask={"group": ["alle {hour} al campo, puntuali!"]},
                reply={"it": ["si puntuale [stavolta|alle {hour}][ giuro 😅|]"]},
            ),
            Beat(
                ask={"group": ["ok siamo in 9"]}, reply={"it": ["[in 9? |]chiamo {friend}[, forse viene|]"]}
            ),
        ],
        persona_opener={
            "it": ["avete visto la {team}?", "[raga |]giovedì ci siamo?", "che gol ieri la {team} ⚽"],
            "en": ["did you see the {team} game? ⚽"],
        },
        responses=[
            Beat(
                ask={
                    "friend": ["Sì, che emozione!"],
                    "slang": ["ZIO CHE GOL"],
                    "english": ["Yes! Amazing atmosphere!"],
                },
                reply={
                    "it": ["[ahah |]la {team} [assurda|da infarto][ ⚽|]"],
                    "en": ["[ahah |]{team} was crazy[ ⚽|]"],
                },
            ),
            Beat(
                ask={
                    "friend": ["No, me la sono persa. Com'è finita?"],
                    "slang": ["nn l'ho vista fra, com'è finita"],
                },
                reply={"it": ["[ha vinto la {team}|pareggio], [2-1|1-1|3-0][ ⚽|]"]},
            ),
            Beat(
                ask={"english": ["No, I don't really follow football 😅"]},
                reply={"en": ["[ahah |]we go to a game on {en_day}"]},
            ),
            Beat(
                ask={"group": ["io ci sono", "presente"]},
                reply={"it": ["[daje |]allora siamo in [8|9|10][, manca {friend}|]"]},
            ),
            Beat(
                ask={"group": ["giovedì no raga", "ci sono ma arrivo tardi"]},
                reply={"it": ["[vabbè |]giovedì chiamo {friend}", "[tranqui|ok], il campo è alle {hour}"]},
            ),
        ],
        closer={
            "it": [
                "[daje |]forza {team}[ ⚽|]",
                "[ok |daje |]alle {hour} al campo[ ⚽|]",
                "[ok |]chiamo {friend}[ ⚽|]",
            ],
            "en": ["[ahah |]forza {team}[ ⚽|]"],
        },
    ),
    Topic(
        "lavoro",
        openers=[
            Beat(
                ask={
                    "friend": ["Com'è andata la {meeting}?"],
                    "english": ["How was your {en_meeting} today?"],
                    "slang": ["zio com'è andata la {meeting}"],
                },
                reply={
                    "it": [
                        "[boh |]la {meeting} lunga, [cmq bene|il capo contento]",
                        "[ahah |]la {meeting} [bene|un disastro][ 😅| 💪|]",
                    ],
                    "en": [
                        "[ahah |]good, the boss liked it[ 💪|]",
                        "[boh |]the {en_meeting} was so long",
                    ],
                },
            ),
            Beat(
                ask={
                    "friend": ["Come va al lavoro?"],
                    "english": ["How is work going?"],
                    "group": ["giornata infinita in ufficio"],
                },
                reply={
                    "it": [
                        "[tutto ok|bene] dai, [un po' stanco|tanto lavoro][ 😅|]",
                        "[uff |]giornata infinita anche qui",
                    ],
                    "en": [
                        "[boh |]long day, but ok[ 😅|]",
                        "[ok ok|good|fine], a lot of work[ 😅|, the boss is crazy|]",
                    ],
                },
            ),
            Beat(
                ask={"friend": ["Hai finito il progetto?"]},
                reply={
                    "it": ["[si |]finito [finalmente|ieri][ 💪|]", "[no |ancora no, ]consegna {day}[ 😅|]"]
                },
            ),
            Beat(
                ask={"slang": ["zio ancora in ufficio?"], "group": ["raga io esco tardi dal lavoro"]},
                reply={"it": ["[si |]esco alle {hour}[ 😅|]", "[ahah |]appena uscito[, birra?|]"]},
            ),
            Beat(
                ask={"slang": ["fra il capo ti ha rotto?"]},
                reply={
                    "it": ["[ahah |]il capo oggi [fuori di testa|insopportabile|peggio del solito][ 😅|]"]
                },
            ),
            Beat(
                ask={"mamma": ["Come va il lavoro? Non stancarti troppo."]},
                reply={"it": ["[tutto bene mamma|si mamma], [tranqui|non mi stanco][ 😘|]"]},
            ),
            Beat(
                ask={"mamma": ["Ti hanno pagato gli straordinari?"]},
                reply={"it": ["[si |ahah si ]pagati[ tranqui|, finalmente| mamma][ 😘|]"]},
            ),
        ],
        follows=[
            Beat(
                ask={"friend": ["Dai che domani è venerdì!"], "english": ["Tomorrow is friday!"]},
                reply={
                    "it": ["[ahah |]venerdì [festeggiamo|birra|si esce][ 🍻|, finalmente|]"],
                    "en": ["[ahah |yes |]friday we celebrate[ 🍻|, drinks {en_place}|]"],
                },
            ),
            Beat(
                ask={
                    "friend": ["Ti meriti una birra {place}."],
                    "slang": ["serve una birra fra, {place}?"],
                    "group": ["birra dopo {place}?"],
                },
                reply={"it": ["[si |daje |]birra {place}[ alle {hour}|][ 🍻|]"]},
            ),
            Beat(
                ask={"friend": ["E il nuovo collega?"]},
                reply={"it": ["[boh |]il collega [simpatico dai|strano ahah|parla troppo][ 😅|]"]},
            ),
            Beat(
                ask={"slang": ["zio licenziati AHAHAH"]},
                reply={"it": ["[ahah |]magari[, domani mi licenzio|, vinco al lotto e mi licenzio|]"]},
            ),
            Beat(
                ask={"english": ["You deserve a break!", "Nice! Let's celebrate?"]},
                reply={"en": ["[yes |]celebrate {en_day}[ 🍻|]", "[ahah |]yes i need a break"]},
            ),
            Beat(
                ask={"mamma": ["Riposati allora. Ti chiamo domani.", "Mangia e vai a letto presto."]},
                reply={"it": ["[ok mamma|si mamma] [a domani|notte][ 😘|]"]},
            ),
            Beat(
                ask={"group": ["tieni duro"]},
                reply={"it": ["[ahah |]grazie, [esco alle {hour}|quasi finito]"]},
            ),
        ],
        persona_opener={
            "it": ["oggi giornata assurda a lavoro", "finalmente finito di lavorare 💪", "uff che giornata"],
            "en": ["finally finished work 💪"],
        },
        responses=[
            Beat(
                ask={"friend": ["Racconta! Cos'è successo?"], "english": ["Oh no, what happened?"]},
                reply={
                    "it": ["[il capo|la {meeting}] [un disastro|3 ore][ 😅|]"],
                    "en": ["[the boss|the {en_meeting}], [3 hours|a disaster][ 😅|]"],
                },
            ),
            Beat(
                ask={"friend": ["Dai, ora riposati."], "english": ["Now rest!"]},
                reply={"it": ["[si |]divano e {film}[ ahah|]"], "en": ["[yes |]sofa and {film}[ ahah|]"]},
            ),
            Beat(
                ask={"slang": ["birra??"], "group": ["birra?"]},
                reply={"it": ["[daje |]birra {place} alle {hour}"]},
            ),
            Beat(
                ask={"english": ["Congrats! 🎉"]},
                reply={"en": ["[ahah |]thanks, [weekend now|beer time][ 🍻|]"]},
            ),
            Beat(
                ask={"mamma": ["Riposati tesoro."]},
                reply={"it": ["si mamma, [stasera divano|a letto presto|doccia e a letto][ 😘|]"]},
            ),
            Beat(
                ask={"mamma": ["Hai mangiato almeno?"]}, reply={"it": ["si mamma, {food}[ al volo|][ 😘|]"]}
            ),
        ],
        closer={
            "it": [
                "[daje |]birra {place}[ 🍻|]",
                "[ok |]notte, domani altra {meeting}[ 😅|]",
                "[ahah |]venerdì birra {place}[ 🍻|]",
            ],
            "en": ["[ok |]{en_day} then 🍻", "[ahah |]back to work tomorrow[ 😅|]"],
        },
    ),
    Topic(
        "serie",
        openers=[
            Beat(
                ask={
                    "friend": ["Hai visto l'ultima puntata di {film}?"],
                    "slang": ["zio {film} è una bomba"],
                    "english": ["Have you watched {film}?"],
                    "group": ["qualcuno ha visto {film}?"],
                },
                reply={
                    "it": [
                        "[si |]{film} [bellissima|assurda][ 🔥|]",
                        "non ancora, no spoiler su {film}[ ahah|]",
                        "[boh |]{film} non mi è piaciuta",
                    ],
                    "en": ["[yes |]{film} is amazing[ 🔥|]", "not yet, no spoilers on {film}[ ahah|]"],
                },
            ),
            Beat(
                ask={
                    "friend": ["Mi consigli una serie?"],
                    "slang": ["fra consigliami una serie"],
                    "english": ["Any good Italian movies to recommend?"],
                },
                reply={
                    "it": [
                        "[guarda |]{film}[, assurda| 🔥|]",
                        "[boh |]{film} o {film2}, [tutte e due belle|vedi tu]",
                    ],
                    "en": ["watch [la grande bellezza|gomorra|il sorpasso][, trust me|, it's beautiful| 🔥]"],
                },
            ),
            Beat(
                ask={
                    "friend": ["Andiamo al cinema {day}? Danno {film}."],
                    "slang": ["fra {film} al cinema {day}?"],
                    "english": ["{film} at the cinema on {en_day}?"],
                },
                reply={
                    "it": [
                        "[si |daje |]{film} {day} ci sta[ 🍿|]",
                        "{day} [non posso|no], [{day2}|settimana prossima]?",
                    ],
                    "en": ["[yes |]{film} on {en_day}[ 🍿|]", "{en_day} i can't, [{en_day2}|next week]?"],
                },
            ),
        ],
        follows=[
            Beat(
                ask={"friend": ["Allora andiamo {day}?"], "english": ["So {en_day}?"]},
                reply={
                    "it": ["[ok |]{day}, prendo i biglietti"],
                    "en": ["[ok |]{en_day}, i buy the tickets"],
                },
            ),
            Beat(
                ask={"friend": ["Il finale mi ha distrutta."], "slang": ["zio il finale AHAHAH"]},
                reply={"it": ["[ahah |]il finale di {film} [assurdo|top]"]},
            ),
            Beat(
                ask={"friend": ["Lo spettacolo è alle {hour}."], "english": ["It starts at {en_hour}."]},
                reply={
                    "it": ["[ok |]alle {hour} [ci sono|davanti al cinema][ 🍿|]"],
                    "en": ["[ok |]{en_hour} at the cinema[ 🍿|]"],
                },
            ),
            Beat(
                ask={"english": ["Is it with subtitles?"]},
                reply={"en": ["[yes |]with [english |]subtitles[ ahah|, don't worry]"]},
            ),
            Beat(
                ask={"english": ["Ok I'll watch it this weekend!"]},
                reply={"en": ["[ok |]tell me after[ 👍|], [it's crazy|the end is top]"]},
            ),
            Beat(ask={"slang": ["popcorn li porto io"]}, reply={"it": ["[daje |]popcorn e {film}[ 🍿|]"]}),
            Beat(
                ask={"group": ["io l'ho mollata dopo due puntate"]},
                reply={"it": ["[noo |]{film} migliora dopo[, fidati|]"]},
            ),
        ],
        persona_opener={
            "it": ["consigliatemi una serie", "stasera cinema?", "ho finito {film}, assurda"],
            "en": ["any good series to watch?"],
        },
        responses=[
            Beat(
                ask={
                    "friend": ["Guarda {film2}, è bellissima!"],
                    "slang": ["zio {film2}"],
                    "english": ["Watch {film2}! So good."],
                    "group": ["{film2} tutta la vita"],
                },
                reply={
                    "it": ["[ok |]{film2} [me la segno|stasera la inizio][ 👍|]"],
                    "en": ["[ok |]{film2} tonight[ 👍|]"],
                },
            ),
            Beat(
                ask={
                    "friend": ["Cinema sì, che film?"],
                    "slang": ["cinema SIUUUM, che film"],
                    "group": ["io ci sono per il cinema"],
                },
                reply={"it": ["[boh |]{film}[ o {film2}|]?", "{film} alle {hour}[ 🍿|]"]},
            ),
        ],
        closer={
            "it": ["[daje |]{film}[ 🍿|, poi mi dici]", "[ok |]{day} cinema[ 🍿|]"],
            "en": ["enjoy {film}[ 🍿|, tell me after]", "[ok |]cinema on {en_day}[ 🍿|]"],
        },
    ),
    Topic(
        "viaggio",
        openers=[
            Beat(
                ask={
                    "friend": ["Alla fine vai a {city}?"],
                    "slang": ["zio viaggetto a {city}??"],
                    "english": ["Have you ever been to {city}?"],
                    "group": ["raga viaggio di gruppo a {city}?"],
                },
                reply={
                    "it": [
                        "[si |]parto {day} per {city}[ ✈️|]",
                        "[boh |]{city} forse, [dipende dai voli|ancora non so]",
                        "[daje |]{city} ci sta[, chi viene?|]",
                    ],
                    "en": [
                        "[yes |]{city} once, [beautiful|too expensive][ ahah|]",
                        "never been to {city}[, you?|]",
                    ],
                },
            ),
            Beat(
                ask={"friend": ["Hai prenotato per l'estate?"], "slang": ["fra estate dove si va"]},
                reply={
                    "it": [
                        "[ancora niente|non ancora], [pensavo|forse] {city}[ 😅|]",
                        "[si |]{city} ad agosto[ ✈️|]",
                    ]
                },
            ),
            Beat(
                ask={"english": ["I'm coming to Rome next month! Any tips?"]},
                reply={
                    "en": ["[yesss |]{en_place} at night, trust me", "[ahah |]avoid the colosseum in august"]
                },
            ),
            Beat(
                ask={"mamma": ["Quando parti? Fammi sapere quando arrivi."]},
                reply={"it": ["[parto |]{day} mamma, ti scrivo[ 😘|]"]},
            ),
            Beat(
                ask={"mamma": ["Hai preso tutto per il viaggio?"]},
                reply={"it": ["[si si |si mamma, |]tutto pronto[ tranqui|, valigia fatta][ 😘|]"]},
            ),
        ],
        follows=[
            Beat(
                ask={"friend": ["Che invidia! Quanti giorni?"], "group": ["quanti giorni?"]},
                reply={
                    "it": ["[solo |]4 giorni[, poco ma ci sta|]", "[una settimana|5 giorni] a {city}[ 😎|]"]
                },
            ),
            Beat(
                ask={"friend": ["Mandami le foto!"]},
                reply={"it": ["[si |]ti mando le foto [di {city}|appena arrivo][ 📸|]"]},
            ),
            Beat(
                ask={"slang": ["porta un souvenir fra", "zio vengo pure io"]},
                reply={"it": ["[ahah |]vieni a {city} [allora|con me][ ✈️|]"]},
            ),
            Beat(
                ask={"english": ["Thanks! Where should I eat?"]},
                reply={"en": ["[ahah |]go to roscioli, {en_food} top", "{en_food} {en_place}[, trust me|]"]},
            ),
            Beat(
                ask={"english": ["Can we meet when I'm there?"]},
                reply={"en": ["[of course|sure], {en_day} i show you [rome|trastevere][ 😎|]"]},
            ),
            Beat(
                ask={"mamma": ["Mandami un messaggio quando atterri."]},
                reply={"it": ["ok mamma, ti scrivo [appena atterro|da {city}] 😘"]},
            ),
            Beat(
                ask={"mamma": ["Porta la giacca che lì fa freddo."]},
                reply={"it": ["[si |ok |]la giacca [la porto|è già in valigia][ tranqui|][ 😘|]"]},
            ),
            Beat(
                ask={"group": ["quanto costa?"]}, reply={"it": ["[boh |]{price} euro[ a testa| col volo|]"]}
            ),
        ],
        persona_opener={
            "it": ["raga ho trovato voli a 30 euro per {city}", "estate si va a {city}?"],
            "en": ["when do you arrive in rome?"],
        },
        responses=[
            Beat(
                ask={
                    "friend": ["Dai! Io ci sto! Quando?"],
                    "slang": ["PRENOTA ZIO, quando?"],
                    "group": ["quando?"],
                },
                reply={
                    "it": [
                        "[parto |]{day}[, prenoto?|]",
                        "[tipo |]a [giugno|settembre], {city} [3 giorni|un weekend]",
                    ]
                },
            ),
            Beat(
                ask={"english": ["On the 14th! Can't wait!", "Next month, I'll tell you the date."]},
                reply={"en": ["[ok |]i pick you up[ 😎|]", "[ok |]dinner {en_place} when you arrive"]},
            ),
            Beat(
                ask={"mamma": ["Stai attento. Fammi sapere.", "Bello! Con chi vai?"]},
                reply={"it": ["[vado |]con {friend}[ mamma| tranqui][ 😘|]"]},
            ),
            Beat(ask={"group": ["io ci sono"]}, reply={"it": ["[daje |]{city}, prenoto per [4|5|6]"]}),
        ],
        closer={
            "it": [
                "[daje |]{city}[ ✈️|, non vedo l'ora]",
                "[ok |]ti scrivo da {city}[ 📸|]",
                "[ok |]parto {day}[ ✈️|]",
            ],
            "en": ["see you in rome[ 😎|]", "[ok |]see you on {en_day}[ 😎|]"],
        },
    ),
    Topic(
        "casa",
        openers=[
            Beat(
                ask={
                    "formal": [
                        "Buongiorno Marco, per la manutenzione della caldaia va bene {day} alle {hour}?",
                    ],
                },
                reply={
                    "formal": [
                        "[buongiorno, |]si {day} alle {hour} va bene[ 👍|]",
                        "{day} [non ci sono|lavoro], va bene {day2}?",
                    ],
                },
            ),
            Beat(
                ask={"formal": ["Gentile Marco, le ricordo che il canone di questo mese scade {day}."]},
                reply={
                    "formal": [
                        "[si |]bonifico [entro {day}|oggi][ 🙏|]",
                        "[si |]bonifico fatto[, grazie|]",
                    ]
                },
            ),
            Beat(
                ask={
                    "formal": ["Buonasera, il tecnico passerà {day} mattina per il contatore. Sarà in casa?"]
                },
                reply={
                    "formal": [
                        "[buonasera, |]si {day} mattina ci sono",
                        "{day} [lavoro|non ci sono], lascio le chiavi",
                    ]
                },
            ),
            Beat(
                ask={"formal": ["Buongiorno, ha ricevuto la mia e-mail riguardo al rinnovo del contratto?"]},
                reply={"formal": ["[buongiorno, |]si [ricevuta|letta][, grazie|]"]},
            ),
            Beat(
                ask={"mamma": ["Hai pagato l'affitto?"]},
                reply={"it": ["[si mamma, |]affitto pagato [ieri|oggi][ tranqui|]"]},
            ),
            Beat(
                ask={"mamma": ["Hai chiamato l'idraulico per il lavandino?"]},
                reply={
                    "it": [
                        "[ancora no|boh no] 😅 [lo chiamo {day}|domani lo chiamo]",
                        "si, viene {day}[ tranqui|]",
                    ]
                },
            ),
            Beat(
                ask={"friend": ["Alla fine il proprietario ti ha sistemato la caldaia?"]},
                reply={
                    "it": [
                        "[ahah |]si la caldaia [finalmente|funziona]",
                        "[boh |]ancora no 😅 [fa un freddo|viene {day}]",
                    ]
                },
            ),
        ],
        follows=[
            Beat(
                ask={"formal": ["Perfetto. Le lascio il numero del tecnico: 333 123 4567."]},
                reply={
                    "formal": [
                        "[ok |]grazie, lo chiamo [{day}|oggi][ 🙏|]",
                        "[ricevuto, |ok, |]chiamo il tecnico [oggi|{day}][ grazie|]",
                    ]
                },
            ),
            Beat(
                ask={"formal": ["La ringrazio. Per il bonifico l'IBAN è IT60 X054 2811 1010 0000 0123 456."]},
                reply={"formal": ["[ok |]grazie, [faccio il|mando il] bonifico [oggi|{day}][ 🙏|]"]},
            ),
            Beat(
                ask={"formal": ["Bene, il tecnico si chiama {friend}, mi faccia sapere com'è andata."]},
                reply={"formal": ["[ok |]sento {friend}[ 👍|]"]},
            ),
            Beat(
                ask={"formal": ["Per qualsiasi cosa può scrivermi a paola.ferri@studioferri.it."]},
                reply={"formal": ["[perfetto, |ok |]le scrivo per mail[, grazie| 🙏|]"]},
            ),
            Beat(
                ask={"mamma": ["Bravo. Ricordati anche della bolletta."]},
                reply={"it": ["[si |]la bolletta [la pago {day}|già pagata][ 😘|]"]},
            ),
            Beat(
                ask={"mamma": ["Ti mando il numero: 347 765 4321."]},
                reply={"it": ["[ok |]grazie mamma, [lo chiamo|gli scrivo] [domani|{day}|stasera][ 😘|]"]},
            ),
            Beat(
                ask={"friend": ["Che storia 😅"]},
                reply={"it": ["[ahah |boh |]già, [un incubo|sempre così|ogni inverno][ 😅|]"]},
            ),
        ],
        persona_opener={
            "it": [
                "buongiorno, il lavandino perde di nuovo 😅 quando può passare qualcuno?",
                "buonasera, ho fatto il bonifico dell'affitto 👍",
            ],
        },
        responses=[
            Beat(
                ask={"formal": ["Buongiorno, grazie per la segnalazione. Mando qualcuno entro {day}."]},
                reply={"formal": ["[ok |]grazie, {day} [ci sono|mattina sono a casa][ 🙏|]"]},
            ),
            Beat(
                ask={"formal": ["Ricevuto, la ringrazio. Buona serata."]},
                reply={
                    "formal": [
                        "[grazie, |]buona serata a lei[ 🙏|]",
                        "[grazie a lei|grazie mille], buona serata",
                    ]
                },
            ),
        ],
        closer={
            "formal": ["[ok |]{day} allora[, grazie| 🙏|]", "[grazie, |]aspetto il tecnico {day}"],
            "mamma": [
                "[ok |]lo chiamo {day}[ 😘|]",
                "[ok |]notte mamma[ 😘| ❤️|]",
                "[ok |]notte mamma, a {day}[ 😘|]",
            ],
        },
    ),
    Topic(
        "salute",
        openers=[
            Beat(
                ask={
                    "friend": ["Come stai? Ieri eri distrutto."],
                    "slang": ["fra ancora vivo dopo ieri sera AHAHAH"],
                    "english": ["Are you feeling better?"],
                },
                reply={
                    "it": [
                        "[meglio dai|sopravvissuto][, ancora un po' stanco| 😅|]",
                        "[ahah |]vivo[, a malapena| 😅]",
                    ],
                    "en": ["[much |]better thanks[ 🙏|, back to work]", "[boh |]a bit tired but ok[ 😅|]"],
                },
            ),
            Beat(
                ask={
                    "friend": ["Vieni in palestra {day}?"],
                    "slang": ["zio palestra {day}??"],
                    "english": ["Do you want to go running {en_day}?"],
                },
                reply={
                    "it": [
                        "[si |]palestra {day} alle {hour}[ 💪|]",
                        "{day} no, [ho la schiena a pezzi|lavoro fino a tardi][ 😅|]",
                    ],
                    "en": ["[ahah |]running {en_day}? [ok at {en_hour}|maybe][ 💪|]"],
                },
            ),
            Beat(
                ask={"mamma": ["Come stai? Hai ancora la febbre?"]},
                reply={
                    "it": [
                        "[no |]la febbre è passata[ mamma|][ tranqui|]",
                        "un po' di febbre[, ma sto meglio|][ 😘|]",
                    ]
                },
            ),
            Beat(
                ask={"mamma": ["Copriti che fa freddo!"]},
                reply={"it": ["[ahah |]si mamma mi copro[ 😘|, giacca e sciarpa]"]},
            ),
            Beat(
                ask={"mamma": ["Hai preso la medicina?"]},
                reply={"it": ["si [presa|la medicina presa][, tutto ok|][ 😘|]"]},
            ),
            Beat(
                ask={"group": ["raga io giovedì ho la caviglia andata"]},
                reply={"it": ["[noo |]la caviglia? [riposati|giovedì chiamo {friend}]"]},
            ),
        ],
        follows=[
            Beat(
                ask={"friend": ["Riposati allora!"]},
                reply={"it": ["[si |]divano e {film}[ ahah|]"]},
            ),
            Beat(
                ask={"friend": ["Ok, ci vediamo lì alle {hour}."]},
                reply={"it": ["[daje |]alle {hour} in palestra[ 💪|]"]},
            ),
            Beat(
                ask={"english": ["Great! See you at {en_hour} at the park."]},
                reply={"en": ["[ok |]{en_hour} at the park[ 💪|]"]},
            ),
            Beat(
                ask={"english": ["Take care!"]},
                reply={"en": ["thanks[ ahah|], [i'll rest|see you soon][ 🙏|]"]},
            ),
            Beat(
                ask={"mamma": ["Bevi tanta acqua. Ti chiamo stasera."]},
                reply={"it": ["[ok mamma|si si], [sentiamoci stasera|a stasera][ 😘|]"]},
            ),
            Beat(
                ask={"mamma": ["Se serve passo io."]},
                reply={"it": ["[no tranqui|non serve] mamma[, sto meglio|][ ❤️|]"]},
            ),
            Beat(
                ask={"slang": ["zio gambe domani"]},
                reply={"it": ["[ahah |]gambe? [domani non cammino|già distrutte|le sento già][ 😅|]"]},
            ),
            Beat(
                ask={"group": ["allora serve un cambio"]},
                reply={"it": ["[chiedo a |]{friend}[ per giovedì|]"]},
            ),
        ],
        persona_opener={"it": ["{day} palestra?", "raga sono distrutto 😅"], "en": ["running {en_day}?"]},
        responses=[
            Beat(
                ask={
                    "friend": ["Sì, a che ora?"],
                    "english": ["Sure! What time?"],
                    "slang": ["SIUUUM, che ora"],
                },
                reply={"it": ["[tipo |]alle {hour}[ 💪|]"], "en": ["at {en_hour}[ at the park|]"]},
            ),
            Beat(
                ask={"friend": ["Riposati!"], "english": ["Get some rest!"], "group": ["riposati"]},
                reply={
                    "it": ["[si |]stasera divano[ e {film}|][ 😅|]"],
                    "en": ["[yes |]sofa and {film} tonight[ ahah|]"],
                },
            ),
            Beat(
                ask={"mamma": ["Cosa ti senti? Vuoi che passo?"]},
                reply={"it": ["[niente, |]un po' di [raffreddore|mal di testa][ 😘|]"]},
            ),
            Beat(
                ask={"mamma": ["Mangia qualcosa di caldo."]},
                reply={"it": ["[si |]brodo [stasera|a cena][ mamma|] 😘"]},
            ),
            Beat(
                ask={"slang": ["zio anche io AHAHAH"], "group": ["ahah idem"]},
                reply={"it": ["[ahah |]vecchi[ siamo|][ 😅|]"]},
            ),
        ],
        closer={
            "it": [
                "[daje |]palestra {day}[ 💪|]",
                "[ok |]alle {hour} allora[ 💪|]",
                "[ok |]notte, domani [palestra|si riparte|sveglia presto][ 😴|]",
            ],
            "en": ["[ok |]{en_day} then 💪", "[ok |]at {en_hour} then[ 💪|]"],
        },
    ),
    Topic(
        "soldi",
        openers=[
            Beat(
                ask={
                    "friend": ["Quanto ti devo per la cena?"],
                    "english": ["How much do I owe you for dinner?"],
                },
                reply={"it": ["{amount} euro[ tranqui|, quando puoi|]"], "en": ["{amount} euro[, no rush|]"]},
            ),
            Beat(
                ask={"slang": ["fra ti devo ancora il kebab AHAHAH"]},
                reply={"it": ["[ahah |]il kebab [lo offro io|me lo paghi giovedì][ 🥙|]"]},
            ),
            Beat(
                ask={"friend": ["Ti devo ancora i soldi della cena!"]},
                reply={
                    "it": [
                        "[tranqui |ahah ]fai con calma[ 👍|]",
                        "[ahah |]la cena [la offro io|me la paghi giovedì]",
                    ]
                },
            ),
            Beat(
                ask={"slang": ["zio ti giro i {amount} euro"]},
                reply={"it": ["[ok |daje |]{amount} euro, [grazie fra|quando vuoi]"]},
            ),
            Beat(
                ask={"group": ["raga il campo costa 60 euro, 6 a testa"]},
                reply={"it": ["[ok |]6 euro [giovedì in contanti|te li giro ora|al campo][ 👍|]"]},
            ),
            Beat(
                ask={
                    "group": ["mandate i soldi del campo a stefano, iban IT42 L123 4512 3451 2345 6789 012"]
                },
                reply={"it": ["[fatto, |]mandati [a stefano|ora][ 👍|]"]},
            ),
        ],
        follows=[
            Beat(
                ask={"friend": ["Te li mando su satispay, il mio numero è +39 340 555 1234."]},
                reply={"it": ["[ok |]su satispay [perfetto|va bene][ 👍|]"]},
            ),
            Beat(
                ask={
                    "friend": ["Fatto! Controlla."],
                    "slang": ["fatto zio"],
                    "english": ["Done! Sent via PayPal to your email."],
                },
                reply={
                    "it": ["[ok |]{amount} euro arrivati[, grazie|][ 👍|]"],
                    "en": ["[paypal |]{amount} euro received[, thanks|][ 👍|]"],
                },
            ),
            Beat(
                ask={"slang": ["ti scrivo su @tommi_greco che qui nn trovo"]},
                reply={"it": ["[ok |]scrivimi [lì|là][ fra| zio][ 👍|]"]},
            ),
            Beat(
                ask={"english": ["Thanks, you're the best!"]},
                reply={"en": ["[ahah |]next dinner is on you[ 😎|]", "[ahah |]no problem[, anytime|]"]},
            ),
            Beat(
                ask={"group": ["fatto", "mandato", "io pago giovedì in contanti"]},
                reply={
                    "it": [
                        "[ok |]giovedì in contanti anch'io[ 👍|]",
                        "[io |]pago [giovedì|al campo] in contanti",
                    ]
                },
            ),
        ],
        persona_opener={
            "it": [
                "raga chi deve ancora pagare il campo?",
                "mi giri i {amount} euro della pizza quando puoi?",
            ],
            "en": ["can you send me the {amount} euro when you can?"],
        },
        responses=[
            Beat(
                ask={
                    "friend": ["Certo, te li mando subito!"],
                    "slang": ["zio subito"],
                    "english": ["Sure, sending now!"],
                },
                reply={
                    "it": ["[grazie |]{amount} euro[ su satispay|][ 🙏|]"],
                    "en": ["[thanks |]{amount} euro, received[ 🙏|]"],
                },
            ),
            Beat(
                ask={
                    "friend": ["Scusa, me ne ero dimenticata."],
                    "slang": ["oops AHAHAH"],
                    "english": ["Sorry, I forgot!"],
                },
                reply={
                    "it": ["[tranqui |ahah ]nessun problema[, quando puoi|, fai con calma|]"],
                    "en": ["[ahah |]no problem, [when you can|no rush|next time][ 👍|]"],
                },
            ),
            Beat(
                ask={"group": ["io pagato", "io giovedì", "fatto"]},
                reply={"it": ["[ok |]segno[, manca solo {friend}|]"]},
            ),
        ],
        closer={
            "it": [
                "[ok |]{amount} euro, [siamo pari|grazie][ 👍|]",
                "[ok |]{amount} euro arrivati[ su satispay|][, grazie| 🙏|]",
            ],
            "en": ["[ok |]{amount} euro, [we're even|thanks][ 👍|]"],
        },
    ),
    Topic(
        "daje",
        openers=[
            Beat(
                ask={"english": ["What does 'daje' mean? Everyone says it!"]},
                reply={"en": ["[ahah |]daje is like [come on|let's go][ 💪|]"]},
            ),
            Beat(
                ask={"english": ["Why do Italians say 'boh' so much?"]},
                reply={"en": ["[ahah |]boh means [i don't know|who knows][, we use it all the time|]"]},
            ),
            Beat(
                ask={"english": ["Can you teach me some Roman slang?"]},
                reply={"en": ["[ahah |]ok lesson one: [daje|boh|cmq][, easy|]"]},
            ),
            Beat(
                ask={
                    "friend": ["Indovina chi ho incontrato {place}!"],
                    "slang": ["zio indovina chi ho visto {place}"],
                },
                reply={
                    "it": [
                        "[chi?? |noo ]dimmi[ ahah|]",
                        "{place}? [chi?|dimmi tutto][ ahah|]",
                        "[boh |]{friend}? {place}?",
                    ]
                },
            ),
            Beat(
                ask={"friend": ["Hai sentito di {friend}?"], "slang": ["fra nn ci crederai, {friend}"]},
                reply={
                    "it": ["[boh |]no, {friend} cosa? [racconta|dimmi]", "[noo |]{friend}? dimmi tutto[ 😂|]"]
                },
            ),
        ],
        follows=[
            Beat(
                ask={"friend": ["{friend}! Si sposa a giugno!"], "slang": ["{friend} ZIO si sposa AHAHAHAH"]},
                reply={"it": ["[noo |]{friend} si sposa?? [assurdo|non ci credo][ 😂|]"]},
            ),
            Beat(
                ask={"friend": ["Ha cambiato lavoro, va a {city}."]},
                reply={"it": ["[noo |]a {city}? [assurdo|pazzesco][, andiamo a trovarlo|]"]},
            ),
            Beat(
                ask={"slang": ["il prof di mate AHAHAH"]},
                reply={"it": ["[ahah |]il prof di mate [ancora vivo|mito|non ci credo]"]},
            ),
            Beat(
                ask={"english": ["Haha, and what does 'cmq' mean?"]},
                reply={"en": ["[ahah |]cmq is comunque, like [anyway|however][ ahah|]"]},
            ),
            Beat(
                ask={"english": ["Daje! I love it."]},
                reply={"en": ["[ahah |]daje[ 💪|], you're learning fast[ 😂|]"]},
            ),
        ],
        closer={
            "it": ["[ahah |]salutami {friend}[ 😂|]", "[ahah |]che storia {friend}[ 😂|]"],
            "en": ["[ahah |]next lesson: [vabbè|cmq|daje][ 😂|]"],
        },
    ),
    Topic(
        "auguri",  # Marco's birthday
        openers=[
            Beat(
                ask={
                    "friend": ["Auguri!!! 🎉", "Buon compleanno Marco! Come festeggi?"],
                    "slang": ["zio AUGURIIII 🎉🎉", "AUGURI FRA 🎂"],
                },
                reply={
                    "it": [
                        "grazie[ mille|][ ❤️| 😂|], stasera {place}[ alle {hour}|]",
                        "[ahah |]grazie, [vecchio si 😅|stasera si festeggia {place}]",
                    ]
                },
            ),
            Beat(
                ask={"english": ["Happy birthday Marco!! 🎂", "Happy birthday! Any plans? 🎉"]},
                reply={
                    "en": [
                        "[ahah |]thank you[ 🙏|][, drinks {en_place} tonight|]",
                        "grazie ahah, i mean thanks[ 🍻|]",
                    ]
                },
            ),
            Beat(
                ask={"mamma": ["Auguri amore mio! ❤️ 30 anni!", "Buon compleanno tesoro! ❤️"]},
                reply={"it": ["grazie mamma[ ❤️| 😘][ ti voglio bene|, passo stasera|]"]},
            ),
            Beat(
                ask={"group": ["auguri marco!!! 🎉", "auguri vecchio 🎂"]},
                reply={"it": ["[ahah |]grazie raga[ 🍻|][, stasera offro io|]"]},
            ),
        ],
        follows=[
            Beat(
                ask={"friend": ["Festa da te?"]},
                reply={"it": ["[si |]da me [alle {hour}|stasera][, porta le birre|]"]},
            ),
            Beat(
                ask={
                    "friend": ["Stasera offri tu allora!"],
                    "slang": ["stasera si beve zio"],
                    "group": ["offre marco!!", "stasera si festeggia"],
                },
                reply={"it": ["[ahah |]offro io, {place}[ 🍻|]"]},
            ),
            Beat(
                ask={"english": ["Where are we celebrating?"]},
                reply={"en": ["{en_place} at {en_hour}[ 🍻|]"]},
            ),
            Beat(
                ask={"english": ["Cake for everyone! 🎂"], "slang": ["torta portata"]},
                reply={
                    "it": ["[ahah |]torta[ top| 🎂|, al cioccolato]"],
                    "en": ["[ahah |]cake [top|yes][ 🎂|]"],
                },
            ),
            Beat(
                ask={"mamma": ["Vieni a cena che ti faccio la torta."]},
                reply={"it": ["[si |]alle {hour} arrivo[ 🎂|]"]},
            ),
            Beat(
                ask={"mamma": ["Papà ti saluta."]},
                reply={"it": ["[salutamelo|salutami papà][ ❤️| 😘][, passo stasera|]"]},
            ),
        ],
        closer={
            "it": ["[daje |]a stasera {place}[ 🍻|]", "[ok |]alle {hour} allora[ 🎉|]"],
            "en": ["see you {en_place}[ 🍻|]", "[ok |]at {en_hour} then[ 🎉|]"],
        },
    ),
    Topic(
        "regalo",  # someone else's birthday
        openers=[
            Beat(
                ask={"friend": ["Il compleanno di {friend} è {day}, facciamo un regalo insieme?"]},
                reply={"it": ["[daje |si |]regalo per {friend}, [idee?|dividiamo?]"]},
            ),
            Beat(
                ask={
                    "friend": ["Cosa regaliamo a {friend}?"],
                    "slang": ["fra regalo per {friend}?", "zio colletta per {friend}?"],
                },
                reply={
                    "it": [
                        "[boh |]per {friend} [un libro|una cena|una maglia della {team}]?",
                        "[ci sta |si, ]{amount} euro a testa?",
                    ]
                },
            ),
            Beat(
                ask={
                    "english": [
                        "It's my birthday on {en_day}, are you coming?",
                        "Party at my place on {en_day}! 🎉",
                    ]
                },
                reply={
                    "en": [
                        "[yes |]of course, {en_day} i'm there[ 🎉|]",
                        "[daje |]{en_day} i'm in[, what do you want as a gift?|]",
                    ]
                },
            ),
            Beat(
                ask={"mamma": ["Ricordati del compleanno della zia {day}."]},
                reply={"it": ["[si mamma, |]la zia {day}[ tranqui|]"]},
            ),
            Beat(
                ask={"mamma": ["Hai chiamato la nonna per gli auguri?"]},
                reply={"it": ["[ahah |]la nonna la chiamo [stasera|adesso][ 😘|]"]},
            ),
        ],
        follows=[
            Beat(
                ask={"friend": ["Pensavo a un libro o una cena."]},
                reply={
                    "it": [
                        "[la |]cena [ci sta|meglio][ 👍|]",
                        "[un |]libro[, la cena la facciamo dopo|, la cena costa troppo][ 👍|]",
                    ]
                },
            ),
            Beat(
                ask={"friend": ["Facciamo {amount} euro a testa?"], "slang": ["zio {amount} euro a testa"]},
                reply={"it": ["[ok |]{amount} euro [ci sta|perfetto][ 👍|]"]},
            ),
            Beat(
                ask={"slang": ["una maglia della {team}?"]},
                reply={"it": ["[ahah |]la maglia della {team} [top|perfetta]"]},
            ),
            Beat(
                ask={"english": ["Just bring yourself! 😄"]},
                reply={"en": ["[ahah |]ok but i bring [wine|dessert|beers][ 🍷|]"]},
            ),
            Beat(
                ask={"english": ["Starts at {en_hour}, bring friends!"]},
                reply={"en": ["[ok |]at {en_hour} i'm there[, with {friend}|]"]},
            ),
            Beat(
                ask={"mamma": ["Bravo. Portale un dolce."]},
                reply={"it": ["[ok |si |]porto [le paste|un dolce] alla zia[ 😘|]"]},
            ),
            Beat(
                ask={"mamma": ["Ti aspettiamo all'una."]},
                reply={"it": ["[ok |si |]all'una [ci sono|arrivo][ 😘|]"]},
            ),
        ],
        closer={
            "it": ["[ok |daje |]regalo per {friend}[ 🎁|]", "[ok |]{amount} euro, ti giro i soldi[ 👍|]"],
            "en": ["see you on {en_day}[ 🎉|]", "[ok |]at {en_hour} then[ 🎉|]"],
        },
    ),
]

# Lines people send out of the blue (no reply expected): they make sessions of one message that has no
# persona turn, which ingest must count and skip.
STRAY_LINES: Lines = {
    "friend": ["Buongiorno! ☀️", "Guarda questo video", "Ci sei?"],
    "slang": ["zio", "AHAHAHAHAH", "guarda sto meme"],
    "english": ["Good morning!", "Miss you guys!"],
    "mamma": ["Buonanotte tesoro ❤️", "Chiamami quando puoi."],
    "formal": ["Buongiorno, la prego di confermare la ricezione della mail."],
    "group": ["buongiorno raga", "chi ha le chiavi del campo?"],
}
