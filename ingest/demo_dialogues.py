"""What the people of the demo export say: topics, each speaker's register, and the persona's voice.

The persona (Marco) has a style a small model can learn in minutes: always lowercase, short, no final
period, "ahah", "daje", "boh", "cmq", "vabbè", "ci sta", a few emoji. He answers what he was asked (a
question about tonight gets a plan, a question about food gets food). The contacts are clearly different:
Giulia writes standard Italian with capitals and punctuation, Tommi is all slang and CAPS laughter, Paola is
formal (she is the landlord), Sarah writes English (Marco answers her in his lowercase english), Mamma
worries, and the five-a-side football group talks about Thursday's match.

A topic is a short exchange: the contact opens (`opener`), Marco answers (`reply`), the contact follows up
(`follow`), Marco answers again (`answer`); or Marco opens (`persona_opener`) and the contact responds
(`response`). Every list is keyed by register ("friend", "slang", "formal", "english", "mamma", "group");
Marco's lines by language ("it", "en"), and by register where he talks differently to someone (his mother,
the landlord). `{slot}` placeholders are filled from `SLOTS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Lines = dict[str, list[str]]


@dataclass(frozen=True)
class Topic:
    name: str
    opener: Lines
    reply: Lines
    follow: Lines = field(default_factory=dict)
    answer: Lines = field(default_factory=dict)
    persona_opener: Lines = field(default_factory=dict)
    response: Lines = field(default_factory=dict)


SLOTS: dict[str, list[str]] = {
    "time": ["alle 9", "alle 8 e mezza", "verso le 8", "alle 21", "dopo cena", "alle 7"],
    "day": ["sabato", "domenica", "venerdì", "giovedì", "domani"],
    "place": ["al solito posto", "da pippo", "in centro", "a trastevere", "al pub", "da luca"],
    "food": ["pizza", "sushi", "carbonara", "amatriciana", "kebab", "hamburger", "lasagne"],
    "team": ["roma", "lazio", "inter", "milan", "juve", "napoli"],
    "film": ["dune", "oppenheimer", "the bear", "stranger things", "il nuovo di sorrentino"],
    "city": ["napoli", "firenze", "bologna", "lisbona", "barcellona", "berlino"],
    "friend": ["Luca", "Chiara", "Francesca", "Matteo"],
    "en_day": ["saturday", "sunday", "friday", "tomorrow"],
    "en_food": ["pizza", "carbonara", "gelato", "sushi", "cacio e pepe"],
}

# Marco's short reactions, used to split a reply over two messages or to close a conversation.
PERSONA_FILLERS = [
    "ahah",
    "ahahah",
    "daje",
    "boh",
    "vabbè",
    "ok",
    "top",
    "ci sta",
    "😂",
    "👍",
    "💪",
    "ahah ok",
]
PERSONA_FILLERS_EN = ["ahah", "ahahah", "ok", "cool", "😂", "👍", "ahah yes"]
# Marco's reaction when the contact answers a question he asked.
PERSONA_REACTIONS: Lines = {
    "it": ["ahah si", "daje", "ahah top", "ok perfetto 👍", "ci sta", "ahah ok", "boh vediamo", "vabbè dai"],
    "en": ["ahah yes", "cool 👍", "ahah ok", "perfect", "boh we'll see"],
}
PERSONA_EMOJI = ["😂", "👍", "💪", "😅", "🍕", "🔥", "😎", "🙏", "🍻", "⚽"]

CLOSERS: Lines = {
    "friend": [
        "Perfetto, a dopo!",
        "Ok, ci sentiamo!",
        "Va bene, buona serata!",
        "Grazie mille!",
        "Ottimo 😊",
    ],
    "slang": ["bella zio", "top fra", "SIUUUM", "kk", "bella raga ci si vede"],
    "formal": ["Grazie, buona giornata.", "Perfetto, cordiali saluti.", "La ringrazio, a presto."],
    "english": ["Great, see you then!", "Perfect 😊", "Sounds good!", "Awesome, thanks!"],
    "mamma": ["Va bene tesoro. Un bacio", "Ok amore, copriti!", "Bravo. Ti voglio bene ❤️"],
    "group": ["perfetto", "ok ci siamo", "grandi", "👍", "daje raga"],
}
PERSONA_CLOSERS: Lines = {
    "it": ["a dopo 👋", "👍", "daje", "ci sentiamo", "ok top", "ahah a dopo", "😘", "bella"],
    "en": ["see you 👋", "👍", "ahah ok", "cool, see you", "perfect"],
}

TOPICS: list[Topic] = [
    Topic(
        "stasera",
        opener={
            "friend": [
                "Che fai stasera?",
                "Stasera usciamo? Ci sono anche gli altri.",
                "Hai programmi per stasera?",
            ],
            "slang": ["zio stasera che si fa", "bro stasera esci??", "fra stasera birretta o no"],
            "english": [
                "Any plans for tonight?",
                "Are you up for drinks tonight?",
                "What are you doing tonight?",
            ],
            "mamma": ["Stasera passi a cena? Ho fatto il brodo.", "Che fai stasera? Vieni a cena da noi?"],
            "group": ["raga stasera che facciamo?", "stasera birra dopo il lavoro?", "chi c'è stasera?"],
        },
        reply={
            "it": [
                "boh niente, divano e netflix ahah",
                "daje usciamo 🍻",
                "stasera non posso, cmq domani ci sta",
                "ahah dipende, tu che fai?",
                "io ci sono 💪",
                "mi sa che resto a casa, sono distrutto 😅",
                "si ci sta, dove?",
                "boh vediamo, cmq sentiamoci dopo",
            ],
            "en": [
                "ahah nothing special, netflix and sofa",
                "yes sure 🍻 where?",
                "boh idk, maybe, i'm so tired 😅",
                "tonight i can't, tomorrow yes",
                "ahah depends, what do you want to do?",
            ],
        },
        follow={
            "friend": ["Dai vieni, siamo {place} {time}.", "Ci vediamo {place}?", "Facciamo {time}?"],
            "slang": ["{place} {time} nn mancare", "dai fra {time} {place}", "raga {time} {place} SIUM"],
            "english": ["We're meeting {place}, come!", "How about 9pm?", "Come on, it'll be fun!"],
            "mamma": ["Allora ti aspetto {time}. Porta il pane.", "Va bene, ma mangia qualcosa!"],
            "group": ["{place} {time}?", "ok allora {time} {place}", "chi porta la macchina?"],
        },
        answer={
            "it": [
                "ok ci sono 👍",
                "daje {time}",
                "vabbè arrivo ahah",
                "perfetto, porto anche {friend}",
                "ok ma non faccio tardi che domani lavoro",
                "ahah va bene dai",
                "top ci vediamo li",
            ],
            "en": [
                "ok i'm in 👍",
                "ahah ok ok, i come",
                "perfect, see you there",
                "ok but not too late ahah",
            ],
        },
        persona_opener={
            "it": [
                "oh stasera che fate?",
                "stasera birretta?",
                "ci sta un giro stasera?",
                "raga stasera ci siete?",
            ],
            "en": ["hey what are you doing tonight?", "drinks tonight? 🍻"],
        },
        response={
            "friend": [
                "Io ci sono! Dove andiamo?",
                "Stasera non riesco, scusa. Domani?",
                "Sì dai! A che ora?",
            ],
            "slang": ["SIUUUM ci sto", "zio nn posso stasera sbatti", "bella raga io ci sono!!"],
            "english": ["Yes! Where should we go?", "Sorry, not tonight. Tomorrow?", "Sure, what time?"],
            "mamma": ["Stasera c'è papà a casa, vieni a cena?", "Io guardo la tv amore. Tu esci? Copriti."],
            "group": ["io ci sono", "stasera no raga", "dipende dall'orario", "io si!!"],
        },
    ),
    Topic(
        "weekend",
        opener={
            "friend": [
                "Cosa fai questo weekend?",
                "Sabato andiamo al mare?",
                "Hai impegni nel fine settimana?",
            ],
            "slang": ["zio weekend che si fa", "fra sabato festa da {friend} ci sei??", "weekend gita? 🚗"],
            "english": ["What are your plans for the weekend?", "Do you want to go hiking on Saturday?"],
            "mamma": [
                "Domenica vieni a pranzo? Faccio le lasagne.",
                "Il fine settimana ci sei? Viene la zia.",
            ],
            "group": ["raga weekend partitella?", "sabato chi c'è per il mare?", "domenica grigliata da me?"],
        },
        reply={
            "it": [
                "boh ancora niente, tu?",
                "sabato si, domenica no ahah",
                "daje mare 🌊",
                "weekend tranqui, cmq ci sto",
                "mi sa che vado da mia madre domenica",
                "ci sta, chi viene?",
                "ahah si ma non troppo presto",
            ],
            "en": [
                "boh nothing yet, you?",
                "saturday yes, sunday i'm at my mom's ahah",
                "yes hiking 💪 where?",
                "ahah ok but not too early",
            ],
        },
        follow={
            "friend": [
                "Partiamo {day} mattina?",
                "Vengono anche {friend} e gli altri.",
                "Allora ci organizziamo!",
            ],
            "slang": ["fra partenza {day} mattina presto", "porta le casse zio", "raga nn fate i pacchi"],
            "english": ["We could leave on {en_day} morning.", "Great! I'll bring snacks.", "Let's do it!"],
            "mamma": ["Allora ti aspetto domenica all'una.", "Porta anche qualcosa da bere."],
            "group": ["allora {day}?", "porto io la carne", "chi ha la macchina?"],
        },
        answer={
            "it": [
                "ok daje",
                "ahah va bene, io porto le birre 🍻",
                "perfetto ci sono",
                "vabbè ma non alle 7 ahah",
                "si si tranqui",
            ],
            "mamma": ["ok all'una ci sono 😘", "ok porto il vino"],
            "en": ["ok deal 👍", "ahah perfect, i bring the beers", "yes yes, sounds good", "ok cool"],
        },
        persona_opener={
            "it": ["sabato che fate?", "weekend ci sta un giro al mare?", "domenica partitella?"],
            "en": ["hey any plans for the weekend?", "saturday we go to the beach?"],
        },
        response={
            "friend": ["Sabato sono libera! Che idea hai?", "Questo weekend lavoro, purtroppo."],
            "slang": ["zio ci stoooo", "sabato nn posso fra", "mare?? SIUUUM"],
            "english": ["I'm free on Saturday! What's the plan?", "This weekend I'm working, sorry."],
            "mamma": ["Domenica vieni da noi allora!", "Sabato c'è il mercato, vieni?"],
            "group": ["io ci sono", "domenica no", "ci sto!!"],
        },
    ),
    Topic(
        "cibo",
        opener={
            "friend": [
                "Hai già cenato?",
                "Stasera ordiniamo qualcosa?",
                "Conosci un buon ristorante in zona?",
            ],
            "slang": ["fame chimica zio", "fra kebab??", "zio {food} stasera si o no"],
            "english": ["I'm starving. Any food recommendations?", "Where can I get a real carbonara?"],
            "mamma": [
                "Hai mangiato?",
                "Hai mangiato qualcosa di sano oggi?",
                "Ti ho messo da parte le polpette.",
            ],
            "group": ["dopo la partita {food}?", "raga stasera {food}?", "chi ordina?"],
        },
        reply={
            "it": [
                "no ancora, ci sta una {food} 🍕",
                "daje {food}",
                "boh io prenderei {food}",
                "ahah si ho una fame",
                "cmq da pippo fanno una {food} assurda",
                "gia mangiato, cmq ci sto per un dolce ahah",
            ],
            "mamma": ["si mamma tutto ok 😘", "si mamma ho mangiato tranqui", "ahah si, pasta al volo"],
            "en": [
                "ahah you have to try {en_food} 🍕",
                "boh for carbonara go to trastevere, cmq i can show you",
                "yes let's get {en_food}",
                "ahah i'm hungry too",
            ],
        },
        follow={
            "friend": ["Allora ordino io, {food} va bene?", "Ci vediamo da Pippo {time}?", "Dividiamo?"],
            "slang": ["ordino io fra", "zio la {food} con doppia mozzarella", "chi paga stavolta AHAHAH"],
            "english": ["Deal! Your treat? 😄", "Is it expensive?", "Where exactly?"],
            "mamma": ["Bravo. Ma mangia anche la verdura!", "Domenica ti faccio le lasagne allora."],
            "group": ["ok ordino io", "{food} per tutti?", "io doppia mozzarella"],
        },
        answer={
            "it": [
                "si perfetto 🍕",
                "ahah ok offro io stavolta",
                "daje dividiamo",
                "top, io la prendo piccante 🔥",
                "ok {time} ci sta",
            ],
            "mamma": ["si mamma la verdura ahah 😘", "daje lasagne 😍", "ok mamma grazie 😘"],
            "en": [
                "ahah ok my treat",
                "no it's cheap, don't worry",
                "near piazza navona, i send you the map",
                "ok 👍",
            ],
        },
        persona_opener={
            "it": ["raga {food} stasera?", "ho una fame assurda 😅", "ordiniamo?", "ci sta una {food}?"],
            "en": ["hungry? 🍕", "want to get {en_food}?"],
        },
        response={
            "friend": ["Sì! Ordina tu?", "Ho già mangiato, scusa!", "Dai, che ore?"],
            "slang": ["ZIO SI", "fame chimica pure io AHAHAH", "kebab meglio fra"],
            "english": ["Yes please! 😋", "I just ate, sorry!", "Always hungry for Italian food ahah"],
            "mamma": ["Vieni qui che ti preparo qualcosa.", "Mangia bene mi raccomando."],
            "group": ["si io ci sto", "già mangiato", "{food}!!"],
        },
    ),
    Topic(
        "calcio",
        opener={
            "friend": ["Hai visto la partita ieri?", "Stasera c'è il derby, lo guardiamo insieme?"],
            "slang": ["ZIO LA PARTITA", "fra hai visto che gol", "la {team} fa pena zio"],
            "english": [
                "I watched my first Serie A game! Who do you support?",
                "Is football a religion here?",
            ],
            "group": [
                "giovedì calcetto chi c'è?",
                "raga manca uno per giovedì",
                "campo prenotato alle 21",
                "la {team} ieri imbarazzante",
            ],
        },
        reply={
            "it": [
                "ahah si che partita ⚽",
                "io ci sono 💪",
                "daje forza roma",
                "boh la {team} quest'anno non si capisce",
                "ci sta, da me o da te?",
                "ahah non me ne parlare",
                "si ci sono, porto il pallone io",
            ],
            "en": [
                "ahah roma of course ⚽ forza roma",
                "yes it's a religion ahah",
                "boh for me roma, but it's suffering ahah",
            ],
        },
        follow={
            "friend": ["Allora da me {time}, porta le birre.", "Secondo te chi vince?"],
            "slang": ["zio {time} da me", "scommettiamo?", "la {team} vince 3-0 fidati"],
            "english": ["Haha, I'll learn. Can you take me to a game?", "Why Roma?"],
            "group": [
                "ok siamo in 9",
                "chi porta le pettorine?",
                "{time} al campo, puntuali!",
                "serve un portiere",
            ],
        },
        answer={
            "it": [
                "ok porto le birre 🍻",
                "ahah 2-1 per noi",
                "daje ci vediamo li",
                "io faccio il portiere ahah",
                "si puntuale stavolta giuro 😅",
                "boh secondo me pareggio",
            ],
            "en": ["yes we go to the olimpico together 💪", "ahah because my dad ahah", "ok i take you ⚽"],
        },
        persona_opener={
            "it": [
                "avete visto la partita?",
                "raga giovedì ci siamo?",
                "che gol ieri ⚽",
                "chi c'è giovedì?",
            ],
            "en": ["did you see the game? ⚽"],
        },
        response={
            "friend": ["Sì, che emozione!", "No, me la sono persa. Com'è finita?"],
            "slang": ["ZIO CHE GOL", "nn me ne parlare fra", "AHAHAHAH vergogna"],
            "english": ["No, I don't really follow football 😅", "Yes! Amazing atmosphere!"],
            "group": ["io ci sono", "presente", "giovedì no raga", "ci sono ma arrivo tardi"],
        },
    ),
    Topic(
        "lavoro",
        opener={
            "friend": ["Com'è andata la riunione?", "Come va al lavoro?", "Hai finito il progetto?"],
            "slang": ["zio ancora in ufficio?", "fra il capo ti ha rotto?"],
            "english": ["How is work going?", "How was your presentation today?"],
            "mamma": ["Come va il lavoro? Non stancarti troppo.", "Ti hanno pagato gli straordinari?"],
            "group": ["raga io esco tardi dal lavoro", "giornata infinita in ufficio"],
        },
        reply={
            "it": [
                "boh lunga, cmq bene",
                "tutto ok dai, un po' stanco 😅",
                "ahah il capo oggi era fuori di testa",
                "bene bene, finalmente finito",
                "uff giornata infinita",
            ],
            "mamma": ["si mamma tutto bene, tranqui", "ahah si pagati tranqui"],
            "en": ["boh long day, but ok", "ahah good, the boss liked it 💪", "ok ok, a lot of work 😅"],
        },
        follow={
            "friend": ["Dai che domani è venerdì!", "Ti meriti una birra allora.", "E il nuovo collega?"],
            "slang": ["zio licenziati AHAHAH", "serve una birra fra"],
            "english": ["You deserve a break!", "Nice! Let's celebrate?"],
            "mamma": ["Riposati allora. Ti chiamo domani.", "Mangia e vai a letto presto."],
            "group": ["tieni duro", "birra dopo?"],
        },
        answer={
            "it": [
                "ahah si serve proprio 🍻",
                "daje che manca poco",
                "boh simpatico dai",
                "cmq venerdì festeggiamo",
            ],
            "mamma": ["ok mamma 😘", "si si tranqui, notte 😘"],
            "en": ["ahah yes i need it 🍻", "yes friday we celebrate", "ok 👍"],
        },
        persona_opener={
            "it": ["oggi giornata assurda a lavoro", "finalmente finito di lavorare 💪", "uff che giornata"],
            "en": ["finally finished work 💪"],
        },
        response={
            "friend": ["Racconta! Cos'è successo?", "Dai, ora riposati."],
            "slang": ["zio sbatti", "birra??"],
            "english": ["Oh no, what happened?", "Congrats! 🎉"],
            "mamma": ["Riposati tesoro.", "Hai mangiato almeno?"],
            "group": ["grande", "idem raga"],
        },
    ),
    Topic(
        "serie",
        opener={
            "friend": [
                "Hai visto l'ultima puntata di {film}?",
                "Mi consigli una serie?",
                "Andiamo al cinema?",
            ],
            "slang": ["zio {film} è una bomba", "fra film stasera?"],
            "english": ["Have you watched {film}?", "Any good Italian movies to recommend?"],
            "group": ["qualcuno ha visto {film}?"],
        },
        reply={
            "it": [
                "si bellissima 🔥",
                "non ancora, niente spoiler ahah",
                "boh a me non è piaciuta tanto",
                "daje cinema ci sta",
                "cmq guarda {film}, assurda",
            ],
            "en": [
                "yes amazing 🔥",
                "not yet, no spoilers ahah",
                "boh watch la grande bellezza, it's beautiful",
            ],
        },
        follow={
            "friend": ["Allora andiamo {day}?", "Il finale mi ha distrutta.", "Lo spettacolo è {time}."],
            "slang": ["zio il finale AHAHAH", "popcorn li porto io"],
            "english": ["Ok I'll watch it this weekend!", "Is it with subtitles?"],
            "group": ["io l'ho mollata dopo due puntate"],
        },
        answer={
            "it": ["ok {day} ci sta", "ahah si anche a me", "perfetto prendo i biglietti", "daje popcorn 🍿"],
            "en": ["yes with subtitles ahah", "ok tell me after 👍"],
        },
        persona_opener={
            "it": ["consigliatemi una serie", "stasera cinema?", "ho finito {film}, assurda"],
            "en": ["any good series to watch?"],
        },
        response={
            "friend": ["Guarda {film}, è bellissima!", "Cinema sì, che film?"],
            "slang": ["zio {film}", "cinema SIUUUM"],
            "english": ["Watch {film}! So good.", "I love that show!"],
            "group": ["{film} tutta la vita", "io ci sono per il cinema"],
        },
    ),
    Topic(
        "viaggio",
        opener={
            "friend": ["Alla fine vai a {city}?", "Hai prenotato per l'estate?"],
            "slang": ["zio viaggetto a {city}??", "fra estate dove si va"],
            "english": ["I'm coming to Rome next month! Any tips?", "Have you ever been to London?"],
            "mamma": ["Quando parti? Fammi sapere quando arrivi.", "Hai preso tutto per il viaggio?"],
            "group": ["raga viaggio di gruppo a {city}?"],
        },
        reply={
            "it": [
                "si parto {day} ✈️",
                "boh ancora non so, cmq forse {city}",
                "daje {city} ci sta",
                "ancora niente, sono in ritardo come sempre 😅",
            ],
            "mamma": ["ahah si mamma ti scrivo appena arrivo", "si si tutto pronto tranqui"],
            "en": [
                "yesss 💪 trastevere at night, trust me",
                "ahah yes once, too expensive",
                "boh avoid the colosseum in august ahah",
            ],
        },
        follow={
            "friend": ["Che invidia! Quanti giorni?", "Mandami le foto!"],
            "slang": ["porta un souvenir fra", "zio vengo pure io"],
            "english": ["Thanks! Where should I eat?", "Can we meet when I'm there?"],
            "mamma": ["Mandami un messaggio quando atterri.", "Porta la giacca che lì fa freddo."],
            "group": ["io ci sto", "quanto costa?"],
        },
        answer={
            "it": ["4 giorni, poco ma ci sta", "si ti mando tutto 📸", "daje vieni anche tu"],
            "mamma": ["ok mamma 😘", "si la porto tranqui"],
            "en": ["of course, i show you rome 😎", "ahah go to roscioli, carbonara top", "yes sure 👍"],
        },
        persona_opener={
            "it": ["raga ho trovato voli a 30 euro per {city}", "estate si va a {city}?"],
            "en": ["when do you arrive in rome?"],
        },
        response={
            "friend": ["Dai! Io ci sto!", "Quando?"],
            "slang": ["PRENOTA ZIO", "ci stoooo"],
            "english": ["On the 14th! Can't wait!", "Next month, I'll tell you the date."],
            "mamma": ["Stai attento. Fammi sapere.", "Bello! Con chi vai?"],
            "group": ["io ci sono", "quando?"],
        },
    ),
    Topic(
        "casa",
        opener={
            "formal": [
                "Buongiorno Marco, le scrivo per la manutenzione della caldaia. Giovedì alle 10 va bene?",
                "Gentile Marco, le ricordo che il canone di questo mese scade venerdì.",
                "Buonasera, il tecnico passerà domani mattina per il contatore. Sarà in casa?",
                "Buongiorno, ha ricevuto la mia e-mail riguardo al rinnovo del contratto?",
            ],
            "mamma": ["Hai pagato l'affitto?", "Hai chiamato l'idraulico per il lavandino?"],
            "friend": ["Alla fine il proprietario ti ha sistemato la caldaia?"],
        },
        reply={
            "formal": [
                "buongiorno, si certo va benissimo 👍",
                "si si tutto ok, grazie mille 🙏",
                "ok perfetto, ci sono",
                "si certo, nessun problema",
                "buonasera, si tutto chiaro grazie",
            ],
            "mamma": ["si mamma pagato ieri", "boh ancora no 😅 domani lo chiamo"],
            "friend": ["ahah si finalmente", "boh ancora no 😅 fa un freddo"],
        },
        follow={
            "formal": [
                "Perfetto. Le lascio il numero del tecnico: 333 123 4567.",
                "La ringrazio. Per il bonifico l'IBAN è IT60 X054 2811 1010 0000 0123 456.",
                "Bene, il tecnico si chiama {friend}, mi faccia sapere com'è andata.",
                "Per qualsiasi cosa può scrivermi a paola.ferri@studioferri.it.",
            ],
            "mamma": ["Bravo. Ricordati anche della bolletta.", "Ti mando il numero: 347 765 4321."],
            "friend": ["Che storia 😅"],
        },
        answer={
            "formal": ["ok grazie mille 🙏", "perfetto, buona giornata", "ricevuto grazie 👍"],
            "mamma": ["si mamma tranqui", "ok ok 😘"],
            "friend": ["ahah già", "boh vediamo"],
        },
        persona_opener={
            "it": [
                "buongiorno, il lavandino perde di nuovo 😅 quando può passare qualcuno?",
                "buonasera, ho fatto il bonifico dell'affitto 👍",
            ],
        },
        response={
            "formal": [
                "Buongiorno, grazie per la segnalazione. Mando qualcuno entro giovedì.",
                "Ricevuto, la ringrazio. Buona serata.",
            ],
        },
    ),
    Topic(
        "salute",
        opener={
            "friend": ["Come stai? Ieri eri distrutto.", "Vieni in palestra domani?"],
            "slang": ["zio palestra domani??", "fra ancora vivo dopo ieri sera AHAHAH"],
            "english": ["Are you feeling better?", "Do you want to go running tomorrow?"],
            "mamma": ["Come stai? Hai ancora la febbre?", "Copriti che fa freddo!", "Hai preso la medicina?"],
            "group": ["raga io giovedì ho la caviglia andata"],
        },
        reply={
            "it": [
                "meglio dai, cmq ancora un po' stanco",
                "ahah sopravvissuto 😅",
                "palestra si, alle 7 💪",
                "boh un po' di raffreddore",
            ],
            "mamma": ["si mamma sto bene tranqui 😘", "si presa, tutto ok", "ahah si mamma mi copro"],
            "en": ["much better thanks 🙏", "ahah running? maybe, at 8?", "boh a bit tired but ok"],
        },
        follow={
            "friend": ["Riposati allora!", "Ok, ci vediamo lì."],
            "slang": ["zio gambe domani", "nn mollare fra"],
            "english": ["Great! See you at 8 at the park.", "Take care!"],
            "mamma": ["Bevi tanta acqua. Ti chiamo stasera.", "Se serve passo io."],
            "group": ["riposati", "allora serve un cambio"],
        },
        answer={
            "it": ["ok grazie 🙏", "daje ci vediamo li 💪", "ahah ok"],
            "mamma": ["si mamma tranqui 😘", "ok grazie mamma ❤️"],
            "en": ["ok see you 👍", "thanks ahah"],
        },
        persona_opener={
            "it": ["domani palestra?", "raga sono distrutto 😅"],
            "en": ["running tomorrow?"],
        },
        response={
            "friend": ["Sì, a che ora?", "Riposati!"],
            "slang": ["SIUUUM", "zio anche io AHAHAH"],
            "english": ["Sure! 8am?", "Get some rest!"],
            "mamma": ["Cosa ti senti? Vuoi che passo?", "Mangia qualcosa di caldo."],
            "group": ["ahah idem", "forza"],
        },
    ),
    Topic(
        "soldi",
        opener={
            "friend": ["Ti devo ancora i soldi della cena!", "Quanto ti devo per i biglietti?"],
            "slang": ["zio ti giro i 20 euro", "fra ti devo ancora il kebab AHAHAH"],
            "english": ["How much do I owe you for dinner?"],
            "group": [
                "raga il campo costa 60 euro, 6 a testa",
                "mandate i soldi del campo a stefano, iban IT42 L123 4512 3451 2345 6789 012",
            ],
        },
        reply={
            "it": [
                "tranqui fai con calma",
                "ahah 15 euro",
                "boh non mi ricordo, facciamo 20",
                "daje fatto 👍",
            ],
            "en": ["ahah don't worry, next time you pay", "15 euro, no rush"],
        },
        follow={
            "friend": ["Te li mando su satispay, il mio numero è +39 340 555 1234.", "Fatto! Controlla."],
            "slang": ["fatto zio", "ti scrivo su @tommi_greco che qui nn trovo"],
            "english": ["Done! Sent via PayPal to your email.", "Thanks, you're the best!"],
            "group": ["fatto", "mandato", "io pago giovedì in contanti"],
        },
        answer={
            "it": ["arrivati grazie 👍", "top", "ok ricevuto 🙏", "io pago in contanti giovedì"],
            "en": ["received thanks 👍", "ahah ok"],
        },
        persona_opener={
            "it": ["raga chi deve ancora pagare il campo?", "mi giri i soldi della pizza quando puoi?"],
            "en": ["can you send me the 15 euro when you can?"],
        },
        response={
            "friend": ["Certo, te li mando subito!", "Scusa, me ne ero dimenticata."],
            "slang": ["zio subito", "oops AHAHAH"],
            "english": ["Sure, sending now!", "Sorry, I forgot!"],
            "group": ["io pagato", "io giovedì", "fatto"],
        },
    ),
    Topic(
        "daje",
        opener={
            "english": [
                "What does 'daje' mean? Everyone says it!",
                "Why do Italians say 'boh' so much?",
                "Can you teach me some Roman slang?",
            ],
            "friend": ["Indovina chi ho incontrato oggi!", "Hai sentito di {friend}?"],
            "slang": ["zio indovina chi ho visto", "fra nn ci crederai"],
        },
        reply={
            "it": ["chi?? ahah", "boh no, dimmi", "noo racconta 😂", "ahah chi"],
            "en": [
                "ahah daje is like come on, let's go 💪",
                "boh means i don't know ahah, we use it all the time",
                "ahah ok lesson one: daje, boh, cmq",
            ],
        },
        follow={
            "friend": ["{friend}! Si sposa a giugno!", "Ha cambiato lavoro, va a Milano."],
            "slang": ["{friend} ZIO AHAHAHAH", "il prof di mate AHAHAH"],
            "english": ["Haha, and what does 'cmq' mean?", "Daje! I love it."],
        },
        answer={
            "it": ["noo assurdo 😂", "ahah non ci credo", "daje sono contento per lui", "boh pazzesco"],
            "en": ["cmq is comunque, like anyway ahah", "ahah daje 💪", "you're learning fast 😂"],
        },
    ),
    Topic(
        "auguri",  # Marco's birthday
        opener={
            "friend": ["Auguri!!! 🎉", "Buon compleanno Marco! Come festeggi?"],
            "slang": ["zio AUGURIIII 🎉🎉", "AUGURI FRA 🎂"],
            "english": ["Happy birthday Marco!! 🎂", "Happy birthday! Any plans? 🎉"],
            "mamma": ["Auguri amore mio! ❤️ 30 anni!", "Buon compleanno tesoro! ❤️"],
            "group": ["auguri marco!!! 🎉", "auguri vecchio 🎂"],
        },
        reply={
            "it": [
                "grazie mille ❤️",
                "ahah grazie 😂",
                "grazie!! stasera si festeggia 🍻",
                "ahah grazie, vecchio si 😅",
            ],
            "mamma": ["grazie mamma ❤️", "grazie mamma 😘 ti voglio bene"],
            "group": ["grazie raga 🍻", "ahah grazie ragazzi ❤️"],
            "en": ["ahah thank you 🙏", "grazie ahah, i mean thanks", "thanks!! drinks tonight 🍻"],
        },
        follow={
            "friend": ["Festa da te?", "Stasera offri tu allora!"],
            "slang": ["stasera si beve zio", "torta portata"],
            "english": ["Where are we celebrating?", "Cake for everyone! 🎂"],
            "mamma": ["Vieni a cena che ti faccio la torta.", "Papà ti saluta."],
            "group": ["offre marco!!", "stasera si festeggia"],
        },
        answer={
            "it": ["ahah ok offro io", "daje alle 9 al pub", "arrivo 🍻", "si da me, porta le birre"],
            "mamma": ["grazie mamma 😘", "daje torta 🎂"],
            "en": ["at the pub at 9 🍻", "ahah cake 🎂 top", "👍"],
        },
    ),
    Topic(
        "regalo",  # someone else's birthday
        opener={
            "friend": [
                "Sabato è il compleanno di {friend}, facciamo un regalo insieme?",
                "Cosa regaliamo a {friend}?",
            ],
            "slang": ["fra regalo per {friend}?", "zio colletta per {friend}?"],
            "english": ["It's my birthday on Friday, are you coming?", "Party at my place on Saturday! 🎉"],
            "mamma": [
                "Ricordati del compleanno della zia domenica.",
                "Hai chiamato la nonna per gli auguri?",
            ],
        },
        reply={
            "it": [
                "daje regalo insieme, cosa pensavi?",
                "boh non so cosa prendergli 😅",
                "ci sta, dividiamo?",
            ],
            "mamma": ["si mamma me lo ricordo tranqui", "ahah si la chiamo stasera"],
            "en": ["yes of course, i come 🎉", "ahah sure, what do you want as a gift?", "daje, i'm in 🎉"],
        },
        follow={
            "friend": ["Pensavo a un libro o una cena.", "Facciamo 20 euro a testa?"],
            "slang": ["zio 10 euro a testa", "una maglia della {team}?"],
            "english": ["Just bring yourself! 😄", "Starts at 8, bring friends!"],
            "mamma": ["Bravo. Portale un dolce.", "Ti aspettiamo all'una."],
        },
        answer={
            "it": ["cena ci sta 👍", "ok 20 euro ci sta", "ahah perfetto", "daje"],
            "mamma": ["ok mamma 😘", "si porto le paste"],
            "en": ["ok at 8 i'm there", "ahah ok 👍", "perfect, see you"],
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
