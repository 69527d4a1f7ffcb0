"""Who the bot imitates: resolved from ids whenever an id is available, never from a display name alone.

1. `--persona user123` (or `123`): that sender id; `channel123` for a channel posting as itself (its own
   posts, or an anonymous admin of a group).
2. `--persona "Marco Rossi"`: the sender(s) with that display name, case-insensitive; two ids with that name
   is an error that lists them (pick one with `--persona user<ID>`).
3. Otherwise the owner of the full-account export(s) (`personal_information.user_id`).

WhatsApp exports have no ids: their senders' ids are made from their names (`wa<hash>`). A WhatsApp sender
named like the persona (case-insensitive) is the persona too: with a Telegram export in the same run, the
Telegram id is the persona's id and the WhatsApp ids with that name are its `aliases` (a name found only in
WhatsApp, with one full-account Telegram export in the run, is that export's owner).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.errors import ChatLikeMeError
from ingest.telegram.desktop import Export
from ingest.whatsapp_export import SENDER_PREFIX as WHATSAPP_PREFIX


@dataclass(frozen=True)
class Persona:
    id: str  # "user123"
    name: str | None  # their display name
    how: str  # how it was resolved, for the report
    aliases: tuple[str, ...] = ()  # WhatsApp sender ids with the persona's name (other than `id`)


def resolve_persona(exports: list[Export], messages: pa.Table, requested: str | None = None) -> Persona:
    """Who the bot imitates, with the WhatsApp senders of the same name as `aliases`."""
    senders = _sender_table(messages)
    persona = _resolve(exports, senders, requested)
    owners = {e.owner_id: e for e in exports if e.owner_id}
    if persona.id.startswith(WHATSAPP_PREFIX) and len(owners) == 1:
        # a name found only in WhatsApp, with a full Telegram export in the run: its owner is that person
        owner_id = next(iter(owners))
        how = f"{persona.how}, the owner of the Telegram export"
        persona = Persona(owner_id, persona.name, how, (persona.id,))
    names = {n.casefold() for n in (persona.name, requested) if n}
    aliases = tuple(
        sorted(
            {
                sid
                for sid, (name, _) in senders.items()
                if sid.startswith(WHATSAPP_PREFIX) and sid != persona.id and name and name.casefold() in names
            }
            | set(persona.aliases)
        )
    )
    return Persona(persona.id, persona.name, persona.how, aliases) if aliases else persona


def _resolve(
    exports: list[Export], senders: dict[str, tuple[str | None, int]], requested: str | None
) -> Persona:
    owners = {e.owner_id: e for e in exports if e.owner_id}
    where = ", ".join(str(e.path) for e in exports)
    if requested:
        requested = requested.strip()
        if requested in senders and requested.startswith(WHATSAPP_PREFIX):
            return Persona(requested, senders[requested][0], f"--persona {requested}")
        if re.fullmatch(r"(?:user|channel|chat)?\d+", requested):
            persona_id = _sender_id(requested, senders)
            if persona_id not in senders and persona_id not in owners:
                raise ChatLikeMeError(f"{where}: persona {persona_id} sent no message; {_top(senders)}")
            return Persona(persona_id, _name(senders, owners, persona_id), f"--persona {requested}")
        wanted = requested.casefold()
        named = sorted(sid for sid, (name, _) in senders.items() if name and name.casefold() == wanted)
        if not named:
            raise ChatLikeMeError(
                f"{where}: no sender is named {requested!r}; {_suggest(requested, senders)}"
            )
        # WhatsApp ids are made from names: one name is one WhatsApp sender, the same person as a Telegram id
        matches = [sid for sid in named if not sid.startswith(WHATSAPP_PREFIX)] or named
        if len(matches) > 1:
            listed = ", ".join(f"{sid} ({senders[sid][1]} messages)" for sid in matches)
            raise ChatLikeMeError(
                f"{where}: persona {requested!r} is ambiguous: {listed}; pass one of these ids as --persona"
            )
        return Persona(matches[0], senders[matches[0]][0], f"--persona {requested!r} (display name)")
    if len(owners) > 1:
        raise ChatLikeMeError(
            f"{where}: the exports belong to different accounts ({', '.join(sorted(owners))}); "
            "pass --persona user<ID>"
        )
    if owners:
        owner_id, export = next(iter(owners.items()))
        name = senders.get(owner_id, (None, 0))[0] or export.owner_name
        return Persona(owner_id, name, "personal_information.user_id of the export")
    raise ChatLikeMeError(
        f"{where}: a single-chat export does not say whose account it is; pass --persona with a sender id or "
        f"name ({_top(senders)})"
    )


def _sender_id(requested: str, senders: dict[str, tuple[str | None, int]]) -> str:
    """`user123` / `channel123` as given; a bare number is a user, or the channel of that number that sent."""
    if not requested.isdigit():
        return requested
    if f"user{requested}" not in senders and f"channel{requested}" in senders:
        return f"channel{requested}"
    return f"user{requested}"


def _sender_table(messages: pa.Table) -> dict[str, tuple[str | None, int]]:
    """sender id -> (latest display name, message count)."""
    ids = messages["sender_id"].combine_chunks()
    if len(ids) == 0:
        return {}
    encoded = pc.dictionary_encode(ids)
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
    valid = codes >= 0
    counts = np.bincount(codes[valid], minlength=len(encoded.dictionary))
    reversed_codes = codes[::-1]
    uniq, first_rev = np.unique(reversed_codes, return_index=True)
    last_rows = len(codes) - 1 - first_rev[uniq >= 0]
    names = pc.take(messages["sender_name"].combine_chunks(), pa.array(last_rows)).to_pylist()
    ids_list = encoded.dictionary.to_pylist()
    return {
        ids_list[code]: (name, int(counts[code])) for code, name in zip(uniq[uniq >= 0], names, strict=True)
    }


def _name(senders: dict[str, tuple[str | None, int]], owners: dict, persona_id: str) -> str | None:
    if persona_id in senders and senders[persona_id][0]:
        return senders[persona_id][0]
    export = owners.get(persona_id)
    return export.owner_name if export else None


def _top(senders: dict[str, tuple[str | None, int]], k: int = 5) -> str:
    if not senders:
        return "the export has no messages with a sender"
    top = sorted(senders.items(), key=lambda item: -item[1][1])[:k]
    return "most active senders: " + ", ".join(
        f"{sid} {name or '(no name)'!r} ({n})" for sid, (name, n) in top
    )


def _suggest(requested: str, senders: dict[str, tuple[str | None, int]]) -> str:
    """The closest sender names (difflib), then the most active senders."""
    names = {name.casefold(): name for name, _ in senders.values() if name}
    close = difflib.get_close_matches(requested.casefold(), list(names), n=3, cutoff=0.5)
    if not close:
        return _top(senders)
    return "did you mean " + " or ".join(repr(names[c]) for c in close) + "? " + _top(senders)
