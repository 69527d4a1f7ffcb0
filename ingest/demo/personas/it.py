"""Marco Rossi, the default demo persona: Italian, from Rome (his lines: `ingest.demo.dialogues`)."""

from __future__ import annotations

from ingest.demo import dialogues as d
from ingest.demo.personas import ChatSpec, DemoPersona, GroupStart, Person

MARCO = Person(487201935, "Marco Rossi", "persona")
GIULIA = Person(512330871, "Giulia Conti", "friend")
TOMMI = Person(600142257, "Tommi 🛹", "slang")
PAOLA = Person(298110463, "Avv. Paola Ferri", "formal")
SARAH = Person(731905518, "Sarah Mitchell", "english")
MAMMA = Person(144870022, "Mamma ❤️", "mamma")
DELETED = Person(955001342, None, "friend")
GIORGIO = Person(88213470, "Giorgio Esposito", "friend")
LORENZO = Person(402887119, "Lorenzo Marini", "group")
DAVIDE = Person(377652901, "Davide 👨‍💻 Russo", "group")  # a ZWJ sequence in a name
STEFANO = Person(519004287, "Stefano Gallo", "group")
YASMIN = Person(688320114, "Yasmin ياسمين", "group")  # right-to-left script in a name

CHATS = (
    ChatSpec(GIULIA.user_id, GIULIA.name, "personal_chat", 0.22, GIULIA),
    ChatSpec(TOMMI.user_id, TOMMI.name, "personal_chat", 0.13, TOMMI),
    ChatSpec(SARAH.user_id, SARAH.name, "personal_chat", 0.12, SARAH),
    ChatSpec(MAMMA.user_id, MAMMA.name, "personal_chat", 0.10, MAMMA),
    ChatSpec(PAOLA.user_id, PAOLA.name, "personal_chat", 0.05, PAOLA),
    ChatSpec(1766042871, "Calcetto del giovedì ⚽", "private_supergroup", 0.25),
    ChatSpec(DELETED.user_id, None, "personal_chat", 0.03, DELETED),
    ChatSpec(5064471202, "Meteo Bot", "bot_chat", 0.02, session_size=2),
    ChatSpec(MARCO.user_id, None, "saved_messages", 0.02, session_size=1),
    ChatSpec(
        GIORGIO.user_id, GIORGIO.name, "personal_chat", 0.03, GIORGIO, old_format=True, section="left_chats"
    ),
    ChatSpec(1006503122, "Il Post", "public_channel", 0.03, section="left_chats", session_size=1),
)

PERSONA = DemoPersona(
    name="it",
    lang="it",
    persona=MARCO,
    personal_information={
        "user_id": MARCO.user_id,
        "first_name": "Marco",
        "last_name": "Rossi",
        "phone_number": "+39 333 987 6543",
        "username": "@marcorossi",
        "bio": "roma ⚽ pizza 🍕",
    },
    contact_names=[
        ("Giulia", "Conti"),
        ("Tommaso", "Greco"),
        ("Paola", "Ferri"),
        ("Sarah", "Mitchell"),
        ("Luca", "Bianchi"),
        ("Chiara", "Neri"),
        ("Francesca", "Romano"),
        ("Matteo", "Esposito"),
        ("Lorenzo", "Marini"),
        ("Stefano", "Gallo"),
        ("Giorgio", "Esposito"),
    ],
    phone=lambda i: f"+39 34{i % 10} {1000000 + i * 7919:07d}",
    chats=CHATS,
    group_members=(LORENZO, DAVIDE, STEFANO, YASMIN, TOMMI),
    group_start=GroupStart(
        LORENZO, STEFANO, "Calcetto", "raga ho creato il gruppo per il calcetto", "daje 💪"
    ),
    languages={"english": "en"},
    slots=d.SLOTS,
    topics=d.TOPICS,
    closers=d.CLOSERS,
    persona_closers=d.PERSONA_CLOSERS,
    stray_lines=d.STRAY_LINES,
    late_answers=d.LATE_ANSWERS,
    photo_captions=d.PHOTO_CAPTIONS,
    photo_replies=d.PHOTO_REPLIES,
    persona_captions=d.PERSONA_CAPTIONS,
    map_link_texts=d.MAP_LINK_TEXTS,
    fillers={"it": d.PERSONA_FILLERS, "en": d.PERSONA_FILLERS_EN},
    reactions=d.PERSONA_REACTIONS,
    emoji=d.PERSONA_EMOJI,
    persona_stickers=["😂", "👍", "💪", "😘"],
    contact_stickers=["😊", "👋", "❤️", "🤣"],
    photo_comments=["Che bello!", "Wow 😍", "AHAHAHAH", "Nice!"],
    forwards=[
        "Roma, chiusa la metro A per lavori nel fine settimana.",
        "Offerta: 2 pizze al prezzo di 1 ogni martedì, chiama il 06 5550 1234!",
        "Allerta meteo gialla per domani su tutto il Lazio.",
    ],
    channel=(1006503122, "Il Post", "Le notizie di oggi", "\nIl punto sulla giornata."),
    bot=("/meteo", " roma", "☀️ Roma: {degrees}°C, vento debole.", "@MeteoBot"),
    saved_notes=["lista spesa: latte, pane, uova", "iban affitto da controllare", "password wifi: casa2024!"],
    group_fallback="raga",
)
