"""Builders of small WhatsApp "Export chat" files, written the way the phones write them (made-up people).

Style          how one platform/locale writes a line's date and time, and its special lines
Line           one message: when, who (None: a system line), what (may span several lines)
render(lines, style) -> str          the `_chat.txt` / `WhatsApp Chat with X.txt` text
write_chat(path, lines, style, media={"IMG-...jpg": b"..."}) -> path   text, or a zip when `path` ends
                                      in .zip (the chat text inside, plus media files)
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

LRM = "\u200e"  # iOS: before attachments and system lines
NNBSP = "\u202f"  # narrow no-break space: before am/pm, after "~" of non-contacts
ME = "Marco Rossi"
CONTACT = "Giulia Bianchi"
BASE = datetime(2024, 5, 13, 18, 0)  # day 13 > 12: the date order shows in every message of the first day


@dataclass(frozen=True)
class Style:
    """How a phone writes a message line. `order`: "dmy", "mdy" or "ymd"; `clock12`: "10:05 pm"."""

    ios: bool
    order: str = "dmy"
    year_digits: int = 4
    seconds: bool = True
    clock12: bool = False
    date_sep: str = "/"
    ampm_space: str = NNBSP
    ampm_upper: bool = False
    name: str = field(default="", compare=False)

    def header(self, when: datetime) -> str:
        year = f"{when.year:04d}" if self.year_digits == 4 else f"{when.year % 100:02d}"
        parts = {"d": f"{when.day:02d}", "m": f"{when.month:02d}", "y": year}
        date = self.date_sep.join(parts[c] for c in self.order)
        if self.clock12:
            hour = when.hour % 12 or 12
            ampm = (
                ("AM" if self.ampm_upper else "am") if when.hour < 12 else ("PM" if self.ampm_upper else "pm")
            )
            clock = f"{hour}:{when.minute:02d}" + (f":{when.second:02d}" if self.seconds else "")
            clock += self.ampm_space + ampm
        else:
            clock = f"{when.hour:02d}:{when.minute:02d}" + (f":{when.second:02d}" if self.seconds else "")
        return f"[{date}, {clock}] " if self.ios else f"{date}, {clock} - "

    # the special lines, as each platform writes them (the text after "Name: ")
    def media_omitted(self, what: str = "image") -> str:
        return f"{LRM}{what} omitted" if self.ios else "<Media omitted>"

    def attached(self, file_name: str) -> str:
        return f"{LRM}<attached: {file_name}>" if self.ios else f"{file_name} (file attached)"

    def deleted(self, mine: bool = False) -> str:
        if mine:
            return f"{LRM}You deleted this message." if self.ios else "You deleted this message"
        return f"{LRM}This message was deleted." if self.ios else "This message was deleted"

    def edited(self, text: str) -> str:
        return f"{text} {LRM}<This message was edited>" if self.ios else f"{text} <This message was edited>"

    def poll(self, question: str, options: list[str]) -> str:
        mark = LRM if self.ios else ""
        lines = [f"{mark}POLL:", f"{mark}{question}"]
        lines += [f"{mark}OPTION: {o} ({i} vote{'s' if i != 1 else ''})" for i, o in enumerate(options)]
        return "\n".join(lines)

    def location(self) -> str:
        if self.ios:
            return f"{LRM}Location: https://maps.google.com/?q=45.464200,9.190000"
        return "location: https://maps.google.com/?q=45.4642,9.19"


IOS = Style(ios=True, name="ios 24h dd/mm/yyyy hh:mm:ss")
IOS_US = Style(ios=True, order="mdy", year_digits=2, clock12=True, ampm_upper=True, name="ios 12h m/d/yy")
IOS_DOTS = Style(ios=True, date_sep=".", year_digits=2, name="ios 24h dd.mm.yy")
ANDROID = Style(ios=False, year_digits=2, seconds=False, name="android 24h dd/mm/yy")
ANDROID_US = Style(
    ios=False, order="mdy", year_digits=2, seconds=False, clock12=True, name="android 12h m/d/yy"
)
ANDROID_4 = Style(
    ios=False, year_digits=4, seconds=False, clock12=True, ampm_space=" ", name="android 12h yyyy"
)
ANDROID_YMD = Style(ios=False, order="ymd", date_sep="-", seconds=False, name="android 24h yyyy-mm-dd")
STYLES = [IOS, IOS_US, IOS_DOTS, ANDROID, ANDROID_US, ANDROID_4, ANDROID_YMD]


@dataclass(frozen=True)
class Line:
    when: datetime  # local time on the phone
    sender: str | None  # None: a system line
    text: str


def render(lines: list[Line], style: Style, chat_name: str = CONTACT) -> str:
    """The chat text. iOS writes system lines as '<chat name>: \u200e<text>', Android without a sender."""
    out = []
    for line in lines:
        head = style.header(line.when)
        if line.sender is None:
            out.append(f"{head}{chat_name}: {LRM}{line.text}" if style.ios else f"{head}{line.text}")
        else:
            out.append(f"{head}{line.sender}: {line.text}")
    return "\n".join(out) + "\n"


def write_chat(
    path: Path,
    lines: list[Line],
    style: Style,
    media: dict[str, bytes] | None = None,
    chat_name: str = CONTACT,
) -> Path:
    """Write the chat text at `path`, or a zip (when `path` ends in .zip) as the phone shares it."""
    text = render(lines, style, chat_name)
    if path.suffix != ".zip":
        path.write_text(text, encoding="utf-8")
        return path
    inner = "_chat.txt" if style.ios else f"WhatsApp Chat with {chat_name}.txt"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(inner, text.encode("utf-8"))
        for name, data in (media or {}).items():
            archive.writestr(name, data)
    return path


def dialogue(
    n_pairs: int, start: datetime = BASE, gap_minutes: float = 1, me: str = ME, contact: str = CONTACT
) -> list[Line]:
    """Alternating contact / persona messages, `gap_minutes` apart."""
    out = []
    for i in range(n_pairs):
        t = start + timedelta(minutes=2 * i * gap_minutes)
        out.append(Line(t, contact, f"domanda {i}?"))
        out.append(Line(t + timedelta(minutes=gap_minutes), me, f"risposta {i} ahah"))
    return out


def sessions(n: int, pairs: int = 4, me: str = ME, contact: str = CONTACT) -> list[Line]:
    """`n` conversations a day apart, each `pairs` question/answer pairs."""
    out = []
    for s in range(n):
        out += [
            replace(line, text=f"{line.text} (giorno {s})")
            for line in dialogue(pairs, BASE + timedelta(days=s), me=me, contact=contact)
        ]
    return out


def utc(local: datetime) -> datetime:
    return local.replace(tzinfo=UTC)
