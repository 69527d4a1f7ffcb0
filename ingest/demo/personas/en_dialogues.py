# ruff: noqa: E501  (dialogue templates read best one a line)
"""What the people of Emma's demo export say (template syntax: `ingest.demo.dialogues`).

Emma Clarke is the English demo persona, a Londoner from Manchester, with her own recognisable style: all
lowercase, "i" included, no apostrophes ("im", "dont", "cant"), "haha", "omg", "tbh", "proper", "well", "!!"
for excitement and "..." for doubt, a kiss ("x") to her mum and her best friend, now and then a reply sent
as two messages (split at its comma), and her own emoji (🙈 ✨ 💀 🥲). Her contacts sound different: Priya
(standard English with capitals), Jake (banter, CAPS laughter), David Hughes (her manager: formal; she
answers him properly), Mum (worries, signs her messages) and the Tuesday netball group.

As for Marco, each contact line is a `Beat` with Emma's answers to exactly that line, and the values a
conversation names are drawn once per conversation, so her replies depend on what they answer.
"""

from __future__ import annotations

from ingest.demo.dialogues import Beat, Lines, Topic

SLOTS: dict[str, list[str]] = {
    "hour": ["7", "half 7", "8", "half 8", "6", "9", "half 6"],  # after "at" / "about"
    "day": ["saturday", "sunday", "friday", "thursday", "tuesday", "monday", "wednesday"],
    "place": [
        "at the crown",
        "in shoreditch",
        "at borough market",
        "in peckham",
        "at the red lion",
        "in camden",
        "on brick lane",
        "in brixton",
        "at dishoom",
    ],
    "food": ["curry", "pizza", "a roast", "fish and chips", "ramen", "tacos", "dim sum", "pad thai", "bao"],
    "show": ["bake off", "love island", "the traitors", "strictly", "fleabag", "slow horses", "the crown"],
    "city": ["edinburgh", "lisbon", "amsterdam", "brighton", "paris", "dublin", "bath", "york"],
    "friend": ["Priya", "Sophie", "Hannah", "Aisha", "Tom", "Ollie", "Ben", "Chloe"],
    "meeting": ["client pitch", "quarterly review", "team meeting", "budget call"],
    "amount": ["10", "15", "20", "25", "30", "12", "40"],
    "score": ["12-9", "15-11", "8-14", "10-10", "17-6", "9-13"],
    "team": ["the falcons", "hackney hawks", "the otters", "the kestrels", "the comets"],
}

# Emma's pure fillers: a short reaction before her answer (a message of its own, same turn).
FILLERS = ["haha", "hahaha", "omg", "lol", "ahh", "oh god", "😂", "🙈", "haha ok"]
REACTIONS: Lines = {"en": ["haha yes", "omg", "lol ok", "ahh ok ✨", "fair enough", "haha well..."]}
EMOJI = ["😂", "🙈", "✨", "💀", "🥲", "🙃", "💕"]
LATE_ANSWERS: Lines = {
    "en": [
        "[sorry |omg sorry, |]only just seen this[ 🙈|, been manic at work|, whats up?|, was at netball]",
        "[sorry |ahh sorry ]my phone died[ 🥲|, all ok?|]",
    ],
    "formal": ["Hi David, sorry, only just seen this[, I was in a meeting|. Is it still needed?]"],
}

CLOSERS: list[Beat] = [
    Beat(
        ask={"friend": ["Great, see you later!", "Perfect, see you then x"], "slang": ["sound, laters"]},
        reply={
            "en": [
                "[yes |ok |]see you [later|then|in a bit|{place}|at {hour}][ x| ✨|]",
                "see you {place}[ x|!!|]",
                "[ok |]{hour} then[ x|, dont be late|]",
            ],
        },
    ),
    Beat(
        ask={"friend": ["Speak soon!"], "slang": ["right, laters"], "mum": ["Speak soon love. Mum x"]},
        reply={
            "en": ["[yes |ok |]speak [soon|later|tomorrow][ x|]", "[ok |]speak on {day}[ x|]"],
            "mum": [
                "[speak soon|love you|night night] mum[ xx| x|, ring you {day} xx]",
                "[ok |]ill ring you [on {day}|{day} night|after work] mum xx",
            ],
        },
    ),
    Beat(
        ask={"friend": ["Thanks so much!", "You're a star x"], "slang": ["cheers for that"]},
        reply={
            "en": ["[no worries|anytime|dont be daft|any time lovely|its nothing][ x|!!| 💕|, see you {day}]"]
        },
    ),
    Beat(
        ask={"friend": ["Lovely 😊"], "slang": ["mint", "LETS GOOO"], "group": ["amazing", "👍", "yess"]},
        reply={
            "en": [
                "[ok |yay |]{day} then[ ✨|!!|]",
                "[ok |perfect, ]{place} then[ x|]",
                "[yay|woo|ok] see you [then|{day}|at {hour}]!!",
            ],
        },
    ),
    Beat(
        ask={"formal": ["Thanks Emma, have a good evening.", "Great, thank you."]},
        reply={
            "formal": [
                "[You too|Same to you][!|, see you tomorrow|, see you at the {meeting}]",
                "[Have a good one|Enjoy your evening], [see you tomorrow|see you on {day}]",
            ]
        },
    ),
    Beat(
        ask={"mum": ["Ok love. Wrap up warm! Mum x", "Night night love x"]},
        reply={
            "mum": [
                "[night|love you|night night|love you lots] mum[ xx| x][, speak {day}|, ring you tomorrow|]",
                "[i will|yes mum] [promise|dont worry] xx",
            ]
        },
    ),
]
PERSONA_CLOSERS: Lines = {
    "formal": ["Speak tomorrow", "Have a good evening", "Will do", "Noted"],
    "mum": [
        "love you xx",
        "night mum xx",
        "night night xx",
        "love you lots xx",
        "speak tomorrow mum xx",
        "ok mum xx",
    ],
    "en": [
        "see you x",
        "👍",
        "haha ok",
        "ok speak soon",
        "✨",
        "laters x",
        "night x",
        "ttyl x",
        "ok lovely",
        "byee",
        "cheers x",
        "speak tomorrow x",
    ],
}

PHOTO_CAPTIONS: Lines = {"en": ["", "", "Look at this view!", "Guess where I am 😎"]}
PHOTO_REPLIES: Lines = {
    "en": [
        "[omg |wow |]that view[, where is that?| 😍|!!]",
        "[so jealous|stunning], [where are you??|send more pics]",
        "[omg |]thats gorgeous, [when are you back?|where is it?]",
    ],
}
PERSONA_CAPTIONS: Lines = {"en": ["", "look haha", "tonights dinner 🍜"]}
MAP_LINK_TEXTS: Lines = {"en": ["its here ", "this is the place "]}

TOPICS: list[Topic] = [
    Topic(
        "tonight",
        openers=[
            Beat(
                ask={
                    "friend": ["What are you up to tonight?", "Any plans tonight?"],
                    "slang": ["oi whats the plan tonight", "u out tonight or what"],
                    "group": ["anyone about tonight?"],
                },
                reply={
                    "en": [
                        "[honestly |]nothing, [sofa and {show}|im knackered|early night][ haha| 🙈|]",
                        "[was thinking|maybe] {place}, [you coming?|fancy it?|you in?]",
                        "{place} with {friend}[, come!!| haha|]",
                        "[haha |]depends, what do you fancy?",
                    ],
                },
            ),
            Beat(
                ask={
                    "friend": ["Drinks {place} tonight? The others are coming.", "Fancy a drink {place}?"],
                    "slang": ["pint {place} tonight?", "mate {place} tonight u in??"],
                    "group": ["drinks {place} after?", "whos coming {place} tonight?"],
                },
                reply={
                    "en": [
                        "[yes |ooh |]{place} im in[ 🍻|, what time?|!!]",
                        "[yes |]{place} sounds good[, what time?| ✨|]",
                        "cant tonight, [tomorrow|{day}] [though?|defo]",
                        "[haha |]ok but {place} and home by 11",
                    ],
                },
            ),
            Beat(
                ask={
                    "friend": ["Tonight {place} or {place2}?"],
                    "slang": ["{place} or {place2} tonight"],
                    "group": ["{place} or {place2} after the match?"],
                },
                reply={
                    "en": [
                        "{place}[ obviously| tbh| 🍻|]",
                        "{place2}, {place} is always rammed",
                        "[hmm |]{place2}[, like always| every time]",
                    ],
                },
            ),
            Beat(
                ask={"mum": ["Are you eating properly? Come for tea tonight if you like. Mum x"]},
                reply={
                    "mum": [
                        "[yes mum|i am mum] [ill come about {hour}|ill be there after work][ xx|]",
                        "cant tonight mum, [{day}?|im out with {friend}] xx",
                    ]
                },
            ),
        ],
        follows=[
            Beat(
                ask={
                    "friend": ["What time shall we meet?", "What time works?"],
                    "slang": ["what time", "time?"],
                    "group": ["what time?"],
                    "mum": ["What time will you get here love?"],
                },
                reply={
                    "en": ["[about|at] {hour}[?| ok?|]", "[lets say |]{hour}[ then| ✨|]"],
                    "mum": ["[about|around] {hour} mum[ xx|]"],
                },
            ),
            Beat(
                ask={
                    "friend": ["Come on, we're {place} at {hour}!", "See you {place} at {hour}?"],
                    "slang": ["{place} {hour} dont bottle it", "{hour} {place} yeah?"],
                    "group": ["{place} at {hour}?", "right {hour} {place} then"],
                    "mum": ["I'll do a roast for {hour}. Bring some milk."],
                },
                reply={
                    "en": [
                        "[ok |yes |]{hour} {place}[ im there| x|]",
                        "{place} [is perfect|works], [see you at {hour}|ill be a bit late]",
                        "[ok but|omg] {hour} is [so early|proper late] haha",
                    ],
                    "mum": [
                        "[ok |]{hour} with the milk xx",
                        "[yes mum|ok mum|yes] ill bring [the milk|milk and biscuits|milk and flowers][ dont worry| promise|] xx",
                    ],
                },
            ),
            Beat(
                ask={"friend": ["Is {friend} coming too?"], "slang": ["bring {friend}"]},
                reply={
                    "en": [
                        "[yes |]{friend} [is coming|is coming later][ i think|!!|]",
                        "not sure about {friend}, [ill text her|ill ask]",
                        "[yes |]ask {friend}[ haha|, the more the merrier]",
                    ],
                },
            ),
        ],
        persona_opener={
            "en": [
                "[oi |]whats everyone doing tonight?",
                "drinks {place} tonight?? 🍻",
                "anyone about tonight?",
            ],
        },
        responses=[
            Beat(
                ask={
                    "friend": ["I'm in! Where?", "Yes please! Where shall we go?"],
                    "slang": ["go on then, where"],
                    "group": ["im in, where?"],
                },
                reply={"en": ["{place}[?| 🍻| obviously]", "{place} or {place2}, [you pick|up to you]"]},
            ),
            Beat(
                ask={
                    "friend": ["Yes! What time?"],
                    "slang": ["LETS GO what time"],
                    "group": ["depends what time"],
                },
                reply={"en": ["{hour} [ok?|work?]", "[about|at] {hour} {place}"]},
            ),
            Beat(
                ask={
                    "friend": ["Can't tonight, sorry! Tomorrow?"],
                    "slang": ["cant mate skint"],
                    "group": ["not tonight sorry"],
                },
                reply={
                    "en": ["[ahh |]no worries, [tomorrow|{day}] then[ x|]", "[ok |]{day} instead[ ✨|]"],
                },
            ),
            Beat(
                ask={"mum": ["Your dad's home tonight, come for tea?"]},
                reply={"mum": ["[yes |ok mum ]ill come about {hour} xx", "not tonight mum, {day}? xx"]},
            ),
        ],
        closer={
            "en": [
                "[ok |yay |]see you {place}[ x|!!|]",
                "[right |ok |]{hour} then[ x|, dont be late]",
                "{place} at {hour}[ 🍻|, cant wait]",
                "[ok |]ill bring {friend}[ x|]",
            ],
        },
    ),
    Topic(
        "weekend",
        openers=[
            Beat(
                ask={
                    "friend": ["Plans for the weekend?", "What are you doing this weekend?"],
                    "slang": ["weekend plans?"],
                    "mum": ["Are you coming home this weekend?"],
                },
                reply={
                    "en": [
                        "[honestly |]nothing, [sleeping|recovering][ haha| 🙈|]",
                        "going to {city} on {day}[!!| ✨|]",
                        "{friend} is coming down, [well|proper] excited",
                    ],
                    "mum": [
                        "[not this one mum|cant this weekend], [next one?|im in {city}] xx",
                        "yes mum, {day} xx",
                    ],
                },
            ),
            Beat(
                ask={
                    "friend": [
                        "Shall we go to {city} for the weekend?",
                        "Weekend in {city}? Trains are cheap.",
                    ],
                    "slang": ["{city} this weekend, u in"],
                },
                reply={
                    "en": [
                        "[omg |]{city} [yes|yes please][!!| ✨|]",
                        "[ooh |]{city}... [cant afford it|im skint] tbh",
                        "[yes |]but not {day}, [cant|i work]",
                    ],
                },
            ),
            Beat(
                ask={
                    "friend": ["{city} or {city2} for my birthday weekend?"],
                    "slang": ["{city} or {city2}"],
                },
                reply={
                    "en": [
                        "{city}[ obviously| 100%| tbh]",
                        "{city2}, {city} is too far",
                        "[hmm |]{city2}[, never been| ✨]",
                    ],
                },
            ),
        ],
        follows=[
            Beat(
                ask={
                    "friend": ["How much are the trains to {city}?", "Is {city} expensive?"],
                    "slang": ["how much is it"],
                    "mum": ["How much is the train love? I can help."],
                },
                reply={
                    "en": [
                        "[about|only|like] {amount} quid[ each| return| if we book now|]",
                        "[honestly |]{amount} quid[ if we book now|, not bad| to {city}|, bargain]",
                    ],
                    "mum": ["its fine mum, only {amount} quid xx", "dont be daft mum, {amount} quid xx"],
                },
            ),
            Beat(
                ask={
                    "friend": ["Which day shall we go?"],
                    "slang": ["when"],
                    "mum": ["Which day are you coming?"],
                },
                reply={
                    "en": [
                        "{day}[?| works for me| ✨| is good| if thats ok]",
                        "[maybe |]{day}, [after work|first thing|about {hour}]",
                    ],
                    "mum": ["{day} mum[, about {hour}|] xx"],
                },
            ),
        ],
        persona_opener={"en": ["whats everyone up to this weekend?", "fancy {city} on {day}?? ✨"]},
        responses=[
            Beat(
                ask={"friend": ["Nothing yet! What are you thinking?"], "slang": ["nowt, why"]},
                reply={"en": ["[thinking |]{city} on {day}[!!|]", "{place} on {day}, [you in?|come!!]"]},
            ),
            Beat(
                ask={"friend": ["I'm in {city} all weekend, sorry!"], "slang": ["away this weekend"]},
                reply={"en": ["[ahh |]{city}!! [so jealous|have fun][ x|]", "[ok |]next weekend then[ 🥲|]"]},
            ),
        ],
        closer={"en": ["[ok |yay |]{city} on {day}[!!| ✨]", "[ok |]ill book the train[ x|]"]},
    ),
    Topic(
        "food",
        openers=[
            Beat(
                ask={
                    "friend": ["What shall we eat tonight?", "I'm starving. Dinner?"],
                    "slang": ["scran?", "im starving"],
                    "group": ["food after training?"],
                },
                reply={
                    "en": [
                        "[ooh |]{food}[?| obviously| tbh]",
                        "{food} {place}[, i know a place|!!|]",
                        "[honestly |]anything but {food}[ haha|]",
                    ],
                },
            ),
            Beat(
                ask={
                    "friend": ["{food} or {food2}?"],
                    "slang": ["{food} or {food2}"],
                    "group": ["{food} or {food2} after?"],
                    "mum": ["Shall I do {food} or {food2} on Sunday?"],
                },
                reply={
                    "en": [
                        "{food}[ obviously| 100%| ✨]",
                        "{food2}, had {food} yesterday",
                        "[hmm |]{food2} tbh",
                    ],
                    "mum": ["{food} mum[ please| xx]", "{food2} mum, [yours is the best|i miss it] xx"],
                },
            ),
            Beat(
                ask={
                    "friend": ["Have you tried the new {food} place {place}?"],
                    "slang": ["{food} {place} is mint"],
                },
                reply={
                    "en": [
                        "[no |not yet, ]is it good?[ lets go| {day}?|]",
                        "[yes |omg yes ]{food} {place} is [unreal|so good][!!|]",
                        "[haha |]{food} again? [go on then|fine]",
                    ],
                },
            ),
        ],
        follows=[
            Beat(
                ask={"friend": ["Shall I book?", "Should we book a table?"], "slang": ["book it?"]},
                reply={"en": ["[yes |]book for {hour}[ x|!!|]", "[yes please|go on], {hour} {place}"]},
            ),
            Beat(
                ask={"friend": ["How much was it?"], "slang": ["how much do i owe u"]},
                reply={"en": ["{amount} [each|quid each][ x|]", "[dont worry|its fine], {amount} quid"]},
            ),
        ],
        persona_opener={"en": ["[ok |]{food} tonight?", "craving {food} so bad 🙈"]},
        responses=[
            Beat(
                ask={"friend": ["Yes!! Where?"], "slang": ["always, where"], "group": ["yes where"]},
                reply={"en": ["{place}[?| ✨|]", "{place} or {place2}, [you pick|up to you]"]},
            ),
            Beat(
                ask={"friend": ["I had {food} for lunch 😅"], "slang": ["had {food} for lunch"]},
                reply={"en": ["[haha |]ok {food2} then", "[fine|ok], {food2} {place}"]},
            ),
        ],
        closer={"en": ["[ok |]{food} {place}[ x|!!]", "[ok |yay ]{food} at {hour}[ ✨|]"]},
    ),
    Topic(
        "telly",
        openers=[
            Beat(
                ask={
                    "friend": ["Have you watched {show}?", "Are you watching {show}?"],
                    "slang": ["u seen {show}"],
                    "mum": ["Did you see {show} last night?"],
                },
                reply={
                    "en": [
                        "[omg |]{show} is [so good|unreal|the best thing on][!!| ✨|]",
                        "[not yet|no], [no spoilers|is it good?][ 🙈|]",
                        "{show}... [gave up tbh|its a bit rubbish now]",
                    ],
                    "mum": [
                        "[yes mum|i did] {show} was [lovely|so good] xx",
                        "[not yet mum|no], no spoilers xx",
                    ],
                },
            ),
            Beat(
                ask={"friend": ["{show} or {show2} tonight?"], "slang": ["{show} or {show2}"]},
                reply={
                    "en": [
                        "{show}[ obviously| 100%]",
                        "{show2}, finished {show} already",
                        "[hmm |]{show2} tbh",
                    ]
                },
            ),
        ],
        follows=[
            Beat(
                ask={"friend": ["Did you see the ending?? 😱"], "slang": ["THAT ENDING", "the ending tho"]},
                reply={
                    "en": [
                        "[omg |]the ending!! [cried|screamed|still not over it|didnt see it coming][ 💀| 🥲|, {show} is unreal]",
                        "[not yet|no|not yet no] [dont tell me|no spoilers|im on episode 2|im on episode 4][ 🙈|!!| please]",
                    ],
                },
            ),
            Beat(
                ask={"friend": ["Want to watch it at mine on {day}?"], "slang": ["watch it at mine {day}"]},
                reply={"en": ["[yes |omg yes ]{day} at yours[!!| ✨]", "{day} i cant, [{day2}?|next week?]"]},
            ),
        ],
        persona_opener={"en": ["are you watching {show}??", "{show} tonight... [so excited|cant wait] ✨"]},
        responses=[
            Beat(
                ask={"friend": ["Obsessed!! Where are you up to?"], "slang": ["its mint"]},
                reply={
                    "en": ["episode [3|4|5] of {show}[ 🙈|]", "nearly finished {show}[, dont tell me| 🥲]"]
                },
            ),
            Beat(
                ask={"friend": ["Not yet, is it good?"], "slang": ["nah is it good"]},
                reply={
                    "en": [
                        "[omg |]{show} is [so good|brilliant], watch it[!!|]",
                        "[yes |]watch {show} on {day}",
                    ]
                },
            ),
        ],
        closer={"en": ["[ok |]{show} on {day} then[ ✨|!!]", "[right |]no spoilers for {show}[ x|]"]},
    ),
    Topic(
        "work",
        openers=[
            Beat(
                ask={
                    "friend": ["How's work?", "How was your day?"],
                    "slang": ["work ok?"],
                    "mum": ["How's work love? You sound tired."],
                },
                reply={
                    "en": [
                        "[honestly |ugh |]the {meeting} [ran over|was a nightmare][ 💀|]",
                        "[fine|ok] but [knackered|so busy], {meeting} on {day}",
                        "[actually |]good!! the {meeting} went well[ ✨|]",
                    ],
                    "mum": ["its fine mum, just [busy|tired], {meeting} on {day} xx"],
                },
            ),
            Beat(
                ask={
                    "formal": [
                        "Hi Emma, could you send me the slides for the {meeting} by {day}?",
                        "Morning Emma, are the slides for the {meeting} ready?",
                    ],
                },
                reply={
                    "formal": [
                        "Hi David, yes[, I'll send them over|, they'll be with you] by {day}",
                        "Morning, [nearly|almost] done, [I'll send them|you'll have them] by {day}",
                        "Yes, [I'll share them|attached] before the {meeting}",
                    ],
                },
            ),
            Beat(
                ask={
                    "formal": [
                        "Could we move the {meeting} to {day} at {hour}?",
                        "Are you free on {day} at {hour} to go through the {meeting}?",
                    ],
                },
                reply={
                    "formal": [
                        "Yes, {day} at {hour} [works for me|is fine]",
                        "{day} is tricky, could we do {day2} at {hour}?",
                        "[Of course|Sure], I'll put it in the diary for {day}",
                    ],
                },
            ),
            Beat(
                ask={"formal": ["Can you take a look at the {meeting} numbers when you have a moment?"]},
                reply={
                    "formal": [
                        "[Of course|Sure], I'll look [this afternoon|before {day}]",
                        "Will do, [thanks|on it]",
                    ]
                },
            ),
        ],
        follows=[
            Beat(
                ask={"formal": ["Thanks. Will {friend} join us for the {meeting}?"]},
                reply={
                    "formal": [
                        "I'll [ask|check with] {friend}[, I think so|, I'll confirm by {day}|]",
                        "{friend} is off on {day}, [sorry|I'll cover|I can take notes for them]",
                    ]
                },
            ),
            Beat(
                ask={"friend": ["Is your boss still being a pain?"], "slang": ["boss still a nightmare?"]},
                reply={
                    "en": [
                        "[haha |]david is [fine|ok] tbh, the {meeting} is the problem",
                        "[ugh |]dont ask[ 💀|, the {meeting} on {day}| haha]",
                    ]
                },
            ),
            Beat(
                ask={"mum": ["Don't work too hard love. Are you sleeping?"]},
                reply={
                    "mum": [
                        "[yes mum|i am mum|i am], [early night tonight|promise|in bed by {hour}|dont worry about me] xx"
                    ]
                },
            ),
        ],
        persona_opener={
            "en": ["[ugh |]{meeting} on {day} 🥲", "[omg |]the {meeting} went well!!"],
            "formal": [
                "Hi David, the slides for the {meeting} are in the shared folder",
                "Hi David, could I leave early on {day}?",
            ],
        },
        responses=[
            Beat(
                ask={"friend": ["Good luck!! You'll smash it"], "slang": ["ull smash it"]},
                reply={
                    "en": [
                        "[thank you|ahh thanks|thanks babe][ x| 🥲|], [{day} cant come soon enough|ill let you know how the {meeting} goes|need a drink after]"
                    ]
                },
            ),
            Beat(
                ask={
                    "formal": [
                        "Thanks Emma, I'll have a look before the {meeting}.",
                        "Of course, that's fine.",
                    ]
                },
                reply={
                    "formal": [
                        "[Much appreciated|Brilliant|Perfect][, I'll wait for your notes|, the numbers are in the folder|]",
                        "[Great|Thanks], see you at the {meeting}",
                    ]
                },
            ),
        ],
        closer={
            "en": ["[ok |]{meeting} on {day}, wish me luck[ 🙈|]"],
            "formal": ["See you at the {meeting}", "I'll send them by {day}[ then|]"],
        },
    ),
    Topic(
        "netball",
        openers=[
            Beat(
                ask={
                    "group": [
                        "who's in for tuesday vs {team}?",
                        "match on tuesday against {team}, who's coming?",
                    ],
                    "friend": ["Are you playing on Tuesday against {team}?"],
                },
                reply={
                    "en": [
                        "[im in|me!!] [for {team}|]",
                        "[cant this week|im out], [sorry|work thing] 🥲",
                        "[yes |]if my knee holds up against {team} haha",
                    ],
                },
            ),
            Beat(
                ask={"group": ["what was the score in the end? i left early", "final score?"]},
                reply={
                    "en": ["{score}[ to us!!| to them 🥲| 💀]", "[we lost|we won] {score}[, robbed| ✨|]"],
                },
            ),
            Beat(
                ask={"group": ["GD or WA on tuesday?", "who wants centre?"]},
                reply={
                    "en": [
                        "[ill go|i can do] [GD|WA|centre][ if no one else does|]",
                        "[anything but|not] centre haha",
                    ]
                },
            ),
        ],
        follows=[
            Beat(
                ask={"group": ["warm up at {hour}?", "meet at the court at {hour}?"]},
                reply={
                    "en": [
                        "[ok |yes ]{hour}[ 👍|]",
                        "{hour} is [tight|early] for me, ill be there by the start",
                    ]
                },
            ),
            Beat(
                ask={"group": ["drinks {place} after?"]},
                reply={"en": ["[yes |ooh ]{place}[ 🍻|!!]", "[cant|not me], early start[ 🥲|]"]},
            ),
        ],
        persona_opener={"en": ["whos playing tuesday?", "anyone got a spare bib? 🙈"]},
        responses=[
            Beat(
                ask={"group": ["me!", "i'm in", "count me in"], "friend": ["Me! Same time?"]},
                reply={
                    "en": [
                        "[yay |]thats [seven|enough] then!!",
                        "[perfect|yay], [{hour} at the court|see you there]",
                    ]
                },
            ),
            Beat(
                ask={"group": ["can't this week sorry", "out this week 😩"]},
                reply={"en": ["[ahh |]no worries, [we need one more|anyone else?]"]},
            ),
        ],
        closer={"en": ["[yay |]see you tuesday[!!| ✨]", "[ok |]{hour} at the court[ x|]"]},
    ),
    Topic(
        "home",
        openers=[
            Beat(
                ask={
                    "mum": [
                        "Are you coming up for Sunday dinner? Your nan's coming.",
                        "When are you next home love?",
                    ],
                },
                reply={
                    "mum": [
                        "[yes mum|i will] [ill get the train {day}|ill be there {day}] xx",
                        "[not this time|cant this week] mum, [next month?|work is mad] xx",
                        "[yes |]tell nan ill bring [flowers|cake] xx",
                    ],
                },
            ),
            Beat(
                ask={"mum": ["Did you get my parcel? I put some {food} in.", "Have you rung your nan?"]},
                reply={
                    "mum": [
                        "[yes mum|i did|got it] [thank you|the {food} was lovely|youre the best]!! xx",
                        "[not yet|no|oops no] ill [ring her|do it|call nan] [on {day}|{day} night|after work] xx",
                        "[haha |]mum you didnt need to xx",
                    ],
                },
            ),
            Beat(
                ask={"friend": ["How's your mum doing?"], "slang": ["ur mum alright?"]},
                reply={
                    "en": [
                        "[shes good|shes fine|shes ok] [thanks|ta], [fussing as usual|going to {city} on {day}|asking when im home|obsessed with {show}][ haha| 🙈|]"
                    ]
                },
            ),
        ],
        follows=[
            Beat(
                ask={"mum": ["What time does your train get in?"]},
                reply={
                    "mum": [
                        "[about|around] {hour} mum xx",
                        "{hour} mum, [dont wait up|dad can pick me up?] xx",
                    ]
                },
            ),
            Beat(
                ask={"mum": ["Bring a coat, it's freezing up here."]},
                reply={
                    "mum": [
                        "[yes mum|i will|ok mum] [haha|promise|ive got my big coat|its not that cold in {city}] xx"
                    ]
                },
            ),
        ],
        persona_opener={"mum": ["mum can i come home on {day}? xx", "hi mum!! hows dad? xx"]},
        responses=[
            Beat(
                ask={
                    "mum": [
                        "Of course love! I'll do {food}. Mum x",
                        "He's fine love, asking after you. Mum x",
                    ]
                },
                reply={"mum": ["[yay|love you] mum xx", "[amazing|perfect] mum, see you {day} xx"]},
            ),
        ],
        closer={
            "mum": [
                "see you {day} mum xx",
                "[love you|thanks|night] mum, [{hour} then|train gets in at {hour}] xx",
            ]
        },
    ),
    Topic(
        "gift",
        openers=[
            Beat(
                ask={
                    "friend": [
                        "What shall we get {friend} for her birthday?",
                        "Are we chipping in for {friend}?",
                    ],
                    "slang": ["pressie for {friend}??"],
                    "group": ["collection for {friend}'s birthday?"],
                },
                reply={
                    "en": [
                        "[ooh |]tickets to {city}?[ too much?|]",
                        "[yes |]{amount} each?[ ✨|]",
                        "[honestly |]she [wants|keeps talking about|would love] a [plant|candle|book|new bag|pasta maker][ haha| for her flat|]",
                    ],
                },
            ),
        ],
        follows=[
            Beat(
                ask={"friend": ["Shall I send you my bank details?"], "group": ["how much each?"]},
                reply={
                    "en": [
                        "{amount} [each|quid each|a head][ x|!!| if thats ok|, for {friend}]",
                        "[ill sort it|dont worry|ill get the card], {amount} [quid each|each]",
                    ]
                },
            ),
        ],
        persona_opener={"en": ["{friend}s birthday on {day}!! ideas?", "are we getting {friend} something?"]},
        responses=[
            Beat(
                ask={"friend": ["Yes! {amount} each?"], "group": ["{amount} each?"]},
                reply={
                    "en": [
                        "[yes |]{amount} is [perfect|fine|plenty][ x|, ill get the card|, ill tell {friend}]",
                        "[ok |]{amount} each, ill get the card",
                    ]
                },
            ),
        ],
        closer={"en": ["[ok |]{amount} each, ill get the card[ ✨|]", "[yay |]{friend} will love it!!"]},
    ),
    Topic(
        "running",
        openers=[
            Beat(
                ask={
                    "friend": ["Still up for parkrun on {day}?", "Run on {day} morning?"],
                    "slang": ["gym {day}?", "u still doing the 10k"],
                    "group": ["anyone fancy a run on {day} before training?"],
                },
                reply={
                    "en": [
                        "[yes |ugh yes |]{day} [morning|first thing][, if its not raining| 🏃‍♀️|]",
                        "[cant|not] {day}, [my knee is wrecked|hungover probably|work thing][ 🥲|]",
                        "[haha |]{day} yes but [slowly|no sprinting|coffee after]",
                    ],
                },
            ),
            Beat(
                ask={"friend": ["How was the run? What time did you get?"], "slang": ["whats ur 5k time"]},
                reply={
                    "en": [
                        "[25|26|27|28|29|30|31|32] minutes[!!| haha| 🥲|, personal best]",
                        "[dont ask|awful], [stopped twice|it was boiling|my legs are dead]",
                    ],
                },
            ),
        ],
        follows=[
            Beat(
                ask={
                    "friend": ["Meet at the park gates at {hour}?"],
                    "slang": ["{hour} at the gym?"],
                    "group": ["{hour} at the park?"],
                },
                reply={
                    "en": [
                        "[ok |]{hour} at the [gates|park][ 👍|, dont be late|]",
                        "{hour} is [brutal|so early] but ok[ 🥲|]",
                    ]
                },
            ),
            Beat(
                ask={"friend": ["Coffee after?"], "slang": ["brekkie after?"]},
                reply={
                    "en": [
                        "[yes |obviously ]coffee {place}[ ✨|!!|]",
                        "[yes |]but [youre buying|a quick one][ haha|]",
                    ]
                },
            ),
        ],
        persona_opener={"en": ["parkrun {day}?? 🏃‍♀️", "[ok |]who wants to run on {day}?"]},
        responses=[
            Beat(
                ask={
                    "friend": ["Go on then! What time?"],
                    "slang": ["go on then"],
                    "group": ["im in, what time?"],
                },
                reply={
                    "en": [
                        "{hour} at the park gates[?| ✨|]",
                        "[about|at] {hour}, [coffee after|then brunch {place}]",
                    ]
                },
            ),
            Beat(
                ask={
                    "friend": ["Can't, my legs are still dead from Tuesday 😂"],
                    "slang": ["nah legs are dead"],
                },
                reply={
                    "en": [
                        "[haha |]same tbh, [next week then|{day2} maybe]",
                        "[lightweight|fair] haha, {day2}?",
                    ]
                },
            ),
        ],
        closer={"en": ["[ok |]{day} at {hour}[ 🏃‍♀️|, bring water]", "[right |]park gates at {hour}[ x|]"]},
    ),
    Topic(
        "flat",
        openers=[
            Beat(
                ask={
                    "friend": ["Did the landlord fix the boiler yet?", "How's the new flatmate?"],
                    "slang": ["boiler sorted?", "new flatmate alright?"],
                    "mum": ["Has your landlord fixed the heating yet love?"],
                },
                reply={
                    "en": [
                        "[nope|not yet], [cold showers since {day}|he says {day}][ 💀|🥲|]",
                        "[finally |]yes!! [hot water|heating] since {day}[ ✨|]",
                        "[shes|hes] [lovely|fine] but [leaves dishes everywhere|plays guitar at {hour}] haha",
                    ],
                    "mum": [
                        "[not yet mum|nope], [he says {day}|ive rung him twice] xx",
                        "[yes mum|finally] its warm now xx",
                    ],
                },
            ),
            Beat(
                ask={"friend": ["How much is the rent going up?"], "slang": ["rent going up again?"]},
                reply={
                    "en": [
                        "[another|like] {amount}0 a month[ 💀| tbh|]",
                        "[dont|please dont] talk about rent[ 🥲|, {amount}0 more]",
                    ]
                },
            ),
        ],
        follows=[
            Beat(
                ask={
                    "friend": ["Have you thought about moving to {place2}?"],
                    "slang": ["move to {place2} lol"],
                },
                reply={
                    "en": [
                        "{place2}? [too expensive|maybe tbh|with {friend}?][ haha|]",
                        "[honestly |]{place2} would be a dream",
                    ]
                },
            ),
            Beat(
                ask={"mum": ["You can always come home you know."]},
                reply={"mum": ["[i know mum|thanks mum][ xx|, maybe at christmas xx|, dont worry xx]"]},
            ),
        ],
        persona_opener={"en": ["the boiler is broken AGAIN 💀", "new flatmate plays guitar at {hour} 🙃"]},
        responses=[
            Beat(
                ask={
                    "friend": ["Noooo, come to mine for a shower!"],
                    "slang": ["LMAOOO"],
                    "mum": ["Oh no love. Ring the landlord!"],
                },
                reply={
                    "en": [
                        "[omg |]yes please, [{day}?|tonight?][ x|]",
                        "[haha |]its not funny[, {hour} every night|]",
                    ],
                    "mum": ["[i have mum|ive rung him] [twice|three times], he says {day} xx"],
                },
            ),
        ],
        closer={"en": ["[ok |]see you {day} with my towel haha", "[right |]{day} then[ x|]"]},
    ),
    Topic(
        "date",
        openers=[
            Beat(
                ask={
                    "friend": ["So?? How was the date?", "How did it go with {friend2} from hinge??"],
                    "slang": ["how was the date lol"],
                },
                reply={
                    "en": [
                        "[honestly |][lovely|so nice], we went {place}[ 🙈|!!|]",
                        "[awful|a disaster], [he talked about crypto|she was an hour late] for ages 💀",
                        "[ok i think|not sure], [seeing them again {day}|no spark tbh]",
                    ],
                },
            ),
        ],
        follows=[
            Beat(
                ask={"friend": ["Are you seeing them again?"], "slang": ["round two?"]},
                reply={"en": ["[maybe|yes] {day}[ 🙈|!!|]", "[absolutely not|nope] haha"]},
            ),
            Beat(
                ask={"friend": ["Where did you go?"], "slang": ["where'd u go"]},
                reply={
                    "en": [
                        "{place}, [then {place2}|for {food}][ ✨|]",
                        "{place} for {food}[, was lovely| haha]",
                    ]
                },
            ),
        ],
        persona_opener={"en": ["i have a date on {day} 🙈", "update on the date... 💀"]},
        responses=[
            Beat(
                ask={"friend": ["WHAT. Where??", "Tell me everything"], "slang": ["go on"]},
                reply={"en": ["{place} at {hour}[ 🙈|!!|]", "[ok so |]{place}, then {food}[ haha|]"]},
            ),
        ],
        closer={
            "en": ["[ok |]ill tell you everything {day2}[ x|]", "[wish me luck|pray for me] for {day}[ 🙈|]"]
        },
    ),
]

STRAY_LINES: Lines = {
    "friend": ["Morning! ☀️", "Saw this and thought of you", "Are you alive?"],
    "slang": ["oi", "HAHAHAHA", "look at this"],
    "mum": [
        "Night love x",
        "Ring me when you can. Mum x",
        "I sent the 50 to GB29 NWBK 6016 1331 9268 19 love. Mum x",
    ],
    "formal": [
        "Hi Emma, please remember to submit your timesheet.",
        "Hi Emma, my new number is 07700 900872, and do copy hr@brightside-media.co.uk in.",
    ],
    "group": ["morning all", "who's got the bibs?"],
}
