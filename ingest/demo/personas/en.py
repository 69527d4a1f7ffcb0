"""Emma Clarke, the second demo persona: English, a Londoner from Manchester (her lines: `en_dialogues`)."""

from __future__ import annotations

from ingest.demo.personas import ChatSpec, DemoPersona, GroupStart, Person
from ingest.demo.personas import en_dialogues as d

EMMA = Person(563018274, "Emma Clarke", "persona")
PRIYA = Person(640215593, "Priya Shah", "friend")
JAKE = Person(711482036, "Jake 🍺", "slang")
DAVID = Person(325907714, "David Hughes", "formal")
MUM = Person(158830467, "Mum 💕", "mum")
DELETED = Person(977205118, None, "friend")
TOM = Person(90217735, "Tom Baker", "friend")
SOPHIE = Person(419936207, "Sophie Green", "group")
HANNAH = Person(386120459, "Hannah O'Brien", "group")
ZOE = Person(527740318, "Zoë 👩‍🔬 Ward", "group")  # a ZWJ sequence in a name
AISHA = Person(693358021, "Aisha عائشة Khan", "group")  # right-to-left script in a name

CHATS = (
    ChatSpec(PRIYA.user_id, PRIYA.name, "personal_chat", 0.24, PRIYA),
    ChatSpec(JAKE.user_id, JAKE.name, "personal_chat", 0.13, JAKE),
    ChatSpec(MUM.user_id, MUM.name, "personal_chat", 0.13, MUM),
    ChatSpec(DAVID.user_id, DAVID.name, "personal_chat", 0.08, DAVID),
    ChatSpec(1844203917, "Netball Tuesdays 🏐", "private_supergroup", 0.27),
    ChatSpec(DELETED.user_id, None, "personal_chat", 0.03, DELETED),
    ChatSpec(5120937745, "Weather Bot", "bot_chat", 0.02, session_size=2),
    ChatSpec(EMMA.user_id, None, "saved_messages", 0.02, session_size=1),
    ChatSpec(TOM.user_id, TOM.name, "personal_chat", 0.04, TOM, old_format=True, section="left_chats"),
    ChatSpec(1093385120, "The Londoner", "public_channel", 0.03, section="left_chats", session_size=1),
)

PERSONA = DemoPersona(
    name="en",
    lang="en",
    persona=EMMA,
    personal_information={
        "user_id": EMMA.user_id,
        "first_name": "Emma",
        "last_name": "Clarke",
        "phone_number": "+44 7700 900461",
        "username": "@emmaclarke",
        "bio": "mcr → ldn ✨ netball & telly",
    },
    contact_names=[
        ("Priya", "Shah"),
        ("Jake", "Turner"),
        ("David", "Hughes"),
        ("Sophie", "Green"),
        ("Hannah", "O'Brien"),
        ("Zoë", "Ward"),
        ("Aisha", "Khan"),
        ("Tom", "Baker"),
        ("Ollie", "Price"),
        ("Mum", ""),
    ],
    phone=lambda i: f"+44 7700 9{i * 7919 % 100000:05d}",
    chats=CHATS,
    group_members=(SOPHIE, HANNAH, ZOE, AISHA, PRIYA),
    group_start=GroupStart(SOPHIE, AISHA, "Netball", "made a group for netball! 🏐", "yay!! ✨"),
    languages={"formal": "formal"},  # to her manager she writes properly: lines of their own
    slots=d.SLOTS,
    topics=d.TOPICS,
    closers=d.CLOSERS,
    persona_closers=d.PERSONA_CLOSERS,
    stray_lines=d.STRAY_LINES,
    late_answers=d.LATE_ANSWERS,
    photo_captions={**d.PHOTO_CAPTIONS, "formal": ["", "The venue for the offsite."]},
    photo_replies={**d.PHOTO_REPLIES, "formal": ["Looks [great|lovely], thanks for sharing"]},
    persona_captions={**d.PERSONA_CAPTIONS, "formal": ["", "The whiteboard from today's session"]},
    map_link_texts={**d.MAP_LINK_TEXTS, "formal": ["The address: "]},
    fillers={"en": d.FILLERS, "formal": ["Hi David,", "Morning,", "Sure,"]},
    reactions={**d.REACTIONS, "formal": ["Noted", "Sounds good"]},
    emoji=d.EMOJI,
    persona_stickers=["😂", "🙈", "💕", "✨"],
    contact_stickers=["😊", "👋", "💕", "🤣"],
    photo_comments=["Gorgeous!", "Omg 😍", "HAHAHAHA", "Love it"],
    forwards=[
        "Northern line: no service between Camden Town and Kennington this weekend.",
        "Two-for-one pizzas every Tuesday, call 020 7946 0321 to book!",
        "Yellow weather warning for rain across London tomorrow.",
    ],
    channel=(1093385120, "The Londoner", "Today's headlines", "\nThe day in brief."),
    bot=("/weather", " london", "🌦 London: {degrees}°C, light rain.", "@WeatherBot"),
    saved_notes=["shopping: oat milk, bread, eggs", "council tax ref to check", "wifi password: kettle2024!"],
    group_fallback="girls",
    default_messages=8000,
    split=0.3,
    plain=frozenset({"formal"}),
    tail=0.25,
    tails=[
        " tbh",
        " lol",
        " ha",
        "!!",
        "...",
        " 🙈",
        " 💀",
    ],  # short: no word a model could copy from any context
    sign_off={"friend": (0.2, " x"), "slang": (0.05, " x")},
)
