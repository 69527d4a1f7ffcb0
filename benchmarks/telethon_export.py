"""How fast the local side of `chatlikeme telegram export` is, next to what Telegram lets through.

Builds N real Telethon messages (text with entities, replies, stickers, photos, forwards, service
messages), then times each local stage of an export: converting TL objects to Desktop JSON, appending them
to the journal, and assembling the final `result.json`. Telegram serves history 100 messages per request;
Telethon pauses 1 s between requests outside a takeout session, so the network side tops out near
100 messages/s there: the local stages should be far above that and never be the bottleneck.

    python benchmarks/telethon_export.py [--messages 50000]

Prints a table and writes benchmarks/results/telethon_export.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from telethon.tl import types

from ingest.telegram.convert import message_to_desktop
from ingest.telegram.fields import PeerDirectory
from ingest.telegram.journal import ExportJournal, JournalMeta, PlannedChat

ME, BOB = 1000, 2001
T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
TELEGRAM_MESSAGES_PER_S = 100  # 100 per request, 1 s apart (Telethon's default pause outside takeout)


def build_messages(count: int) -> list[types.TypeMessage]:
    peer = types.PeerUser(BOB)
    sticker = types.MessageMediaDocument(
        document=types.Document(
            id=1, access_hash=1, file_reference=b"", date=T0, mime_type="image/webp", size=20_000, dc_id=2,
            attributes=[types.DocumentAttributeSticker(alt="😂", stickerset=types.InputStickerSetEmpty())],
        )
    )  # fmt: skip
    photo = types.MessageMediaPhoto(
        photo=types.Photo(
            id=2, access_hash=1, file_reference=b"", date=T0, dc_id=2,
            sizes=[types.PhotoSize(type="x", w=1280, h=960, size=90_000)],
        )
    )  # fmt: skip
    messages: list[types.TypeMessage] = []
    for i in range(1, count + 1):
        date = T0 + dt.timedelta(seconds=37 * i)
        out = i % 2 == 0
        fields: dict = {"out": out, "from_id": types.PeerUser(ME) if out else None}
        kind = i % 10
        if kind == 0:
            messages.append(
                types.MessageService(
                    id=i, peer_id=peer, date=date, action=types.MessageActionPhoneCall(call_id=i, duration=60)
                )
            )
            continue
        text = f"ciao 😀 messaggio numero {i}, vediamo https://example.org **ok**"
        if kind == 1:
            fields["media"] = sticker
            text = ""
        elif kind == 2:
            fields["media"] = photo
        elif kind == 3:
            fields["reply_to"] = types.MessageReplyHeader(reply_to_msg_id=i - 1)
        elif kind == 4:
            fields["fwd_from"] = types.MessageFwdHeader(date=date, from_name="Someone")
        entities = [
            types.MessageEntityUrl(offset=30, length=19),
            types.MessageEntityBold(offset=50, length=6),
        ]
        messages.append(
            types.Message(id=i, peer_id=peer, date=date, message=text, entities=entities, **fields)
        )
    return messages


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    count = parser.parse_args().messages

    messages = build_messages(count)
    directory = PeerDirectory(names={f"user{ME}": "Ada", f"user{BOB}": "Bob"})

    def convert():
        return [message_to_desktop(m, directory=directory, self_id=ME, tz=dt.UTC) for m in messages]

    entries, convert_s = timed(convert)
    with tempfile.TemporaryDirectory() as tmp:
        journal = ExportJournal(Path(tmp) / "result.json")
        meta = journal.start(
            JournalMeta(
                {},
                ME,
                {"user_id": ME},
                [PlannedChat(f"user{BOB}", {"name": "Bob", "type": "personal_chat", "id": BOB})],
            )
        )

        def append():
            with journal.writer(f"user{BOB}") as writer:
                for entry in entries:
                    writer.write(entry)

        _, journal_s = timed(append)
        out, assemble_s = timed(journal.assemble, meta)
        size_mb = out.stat().st_size / 1e6
        _, parse_s = timed(lambda: json.loads(out.read_text()))

    rows = [
        ("convert TL -> Desktop JSON", convert_s),
        ("append to journal", journal_s),
        ("assemble result.json", assemble_s),
        ("local total", convert_s + journal_s + assemble_s),
    ]
    print(f"{count} messages, result.json {size_mb:.1f} MB (json.load of it: {parse_s:.2f} s)\n")
    print(f"{'stage':28} {'seconds':>8} {'messages/s':>12} {'x Telegram rate':>16}")
    results = {
        "messages": count,
        "result_json_mb": round(size_mb, 2),
        "telegram_messages_per_s": TELEGRAM_MESSAGES_PER_S,
    }
    for name, seconds in rows:
        rate = count / seconds
        print(f"{name:28} {seconds:8.2f} {rate:12.0f} {rate / TELEGRAM_MESSAGES_PER_S:15.0f}x")
        results[name] = {"seconds": round(seconds, 3), "messages_per_s": round(rate)}
    path = Path(__file__).parent / "results" / "telethon_export.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten {path}")


if __name__ == "__main__":
    main()
