"""`chatlikeme pii-check DIR`: personal data left in the datasets the pipeline wrote.

It reads every dataset under DIR (an ingest data folder, a KTO data folder, a run, or a pipeline workdir): SFT
and KTO jsonl files and the models' generations of the eval reports (`generations.jsonl`), and reports two
kinds of hits, each with its file:line and the value masked (`3***`):

- `detector`: what the PII masker (`ingest.pii.PiiMasker.find`) would mask now: phones, e-mails, cards,
  IBANs, URLs with secrets, @usernames;
- `original`: any original value of the pseudonym table ingest writes (`private/pii_mapping.json`): a value
  ingest masked that is there again. Names count only where a model learns to write or wrote them (the
  persona's replies, KTO completions, generations): prompts name the contacts by design (`prompt_names`),
  so a name the row's own prompt shows (its system prompt, a speaker's `name`) is not a hit in its reply
  either: "Dear Tom" after "You are Emma, chatting with Tom" reveals nothing the prompt does not.

The placeholders the masker writes (`<PHONE_1>`) are never hits. `check_texts` runs the same check on a
model's replies (the eval stage's memorisation probe).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import ChatLikeMeError
from ingest.pii import PiiMasker, _normalize

MAPPING_FILE = Path("private") / "pii_mapping.json"
PLACEHOLDER = re.compile(r"<[A-Z]+_\d+>")
# Every jsonl file under DIR is a dataset (SFT and KTO splits, their axolotl copies, eval generations, ...)
# but these logs, and what lies in private/ folders or training checkpoints.
NOT_DATASETS = {"promotions.jsonl"}
SKIPPED_KEYS = {"id", "chat_id", "sample_id", "session", "chat_type", "strategy", "detail", "label", "role"}
# Generation rows: the texts a model wrote, or the persona's own replies.
WRITTEN_KEYS = {"base", "sft", "kto", "real", "shuffled_real", "completion"}


@dataclass(frozen=True)
class Hit:
    path: str
    line: int
    where: str  # the field inside the line: messages[2].content
    source: str  # "original" (a value of the mapping) or "detector"
    category: str  # PHONE, EMAIL, PERSON, ...
    value: str

    def masked(self) -> str:
        return mask_value(self.value)

    def to_dict(self) -> dict:
        return {
            "file": self.path,
            "line": self.line,
            "field": self.where,
            "source": self.source,
            "kind": self.category,
            "value": self.masked(),
        }


@dataclass
class CheckResult:
    files: list[str] = field(default_factory=list)
    lines: int = 0
    mappings: list[str] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Hits per kind: "original PHONE", "detector EMAIL", ..."""
        return dict(sorted(Counter(f"{h.source} {h.category}" for h in self.hits).items()))

    def originals(self) -> list[Hit]:
        return [h for h in self.hits if h.source == "original"]

    def to_dict(self) -> dict:
        return {
            "clean": not self.hits,
            "files": self.files,
            "lines": self.lines,
            "mappings": self.mappings,
            "counts": self.counts(),
            "hits": [h.to_dict() for h in self.hits],
        }


def mask_value(value: str) -> str:
    """The first character and stars: enough to find the value, not enough to read it."""
    return value[:1] + "***"


class PiiChecker:
    """The detectors of the masker plus the original values of a pseudonym table."""

    def __init__(self, mapping: dict[str, list[str]] | None = None) -> None:
        self._masker = PiiMasker()  # no names: the names of the export are the mapping's
        self._originals: set[tuple[str, str]] = set()  # (category, normalized value)
        names, others = [], []
        for placeholder, values in (mapping or {}).items():
            if not PLACEHOLDER.fullmatch(placeholder):
                continue
            category = placeholder[1:].rsplit("_", 1)[0]
            for value in values:
                if len(value.strip()) >= 3:  # as the masker: shorter names are never masked
                    self._originals.add((category, _normalize(category, value)))
                    (names if category == "PERSON" else others).append((value, category))
        self._categories = {v.casefold(): c for v, c in [*names, *others]}
        self._names = _alternation([v for v, _ in names])
        self._others = _alternation([v for v, _ in others])

    def check(
        self, text: str, *, names: bool = True, shown: frozenset[str] = frozenset()
    ) -> list[tuple[str, str, str]]:
        """(source, category, value) of every hit in `text`; `names`: count the mapping's names too, except
        those in `shown` (casefolded: the names the text's prompt shows)."""
        text = PLACEHOLDER.sub(lambda m: " " * len(m.group()), text)
        hits: list[tuple[str, str, str]] = []
        for pattern in (self._others, self._names if names else None):
            for match in pattern.finditer(text) if pattern else ():
                value = match.group()
                category = self._categories.get(value.casefold(), "PERSON")
                if not (category == "PERSON" and value.casefold() in shown):
                    hits.append(("original", category, value))
        for category, value in self._masker.find(text):
            source = "original" if (category, _normalize(category, value)) in self._originals else "detector"
            if not (source == "original" and any(value == h[2] for h in hits)):
                hits.append((source, category, value))
        return hits

    def shown_names(self, texts_: Iterable[str]) -> frozenset[str]:
        """The mapping's names (casefolded) that appear in `texts_` (a prompt's texts and speaker labels)."""
        if self._names is None:
            return frozenset()
        return frozenset(m.group().casefold() for text in texts_ for m in self._names.finditer(text))


def _alternation(values: list[str]) -> re.Pattern[str] | None:
    if not values:
        return None
    unique = sorted({v.casefold(): v for v in values}.values(), key=len, reverse=True)
    return re.compile(r"(?<!\w)(?i:" + "|".join(re.escape(v) for v in unique) + r")(?!\w)")


# --- reading ------------------------------------------------------------------------------------------------


def load_mapping(paths: Iterable[Path]) -> dict[str, list[str]]:
    """The union of pseudonym tables (a workdir has one per ingest run)."""
    merged: dict[str, list[str]] = {}
    for path in paths:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ChatLikeMeError(f"{path}: not a readable pii_mapping.json ({exc})") from None
        if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
            raise ChatLikeMeError(f"{path}: not a pii_mapping.json (pseudonym -> list of original values)")
        for placeholder, values in data.items():
            merged.setdefault(placeholder, []).extend(str(v) for v in values)
    return merged


def find_mappings(root: Path) -> list[Path]:
    """DIR/private/pii_mapping.json, or every one below DIR (a pipeline workdir)."""
    return sorted({p.resolve(): p for p in Path(root).rglob(str(MAPPING_FILE))}.values())


def dataset_files(root: Path) -> list[Path]:
    """The jsonl datasets under `root` (each real file once, links followed)."""
    root = Path(root)
    if root.is_file():
        return [root]
    found: dict[Path, Path] = {}
    for path in sorted(root.rglob("*.jsonl")):
        parts = path.relative_to(root).parts
        skipped = "private" in parts or any(part.startswith("checkpoint-") for part in parts)
        if path.name not in NOT_DATASETS and not skipped:
            found.setdefault(path.resolve(), path)
    return list(found.values())


def texts(value: object, where: str = "", written: bool = False) -> Iterator[tuple[str, str, bool]]:
    """(field, text, written) of every text of a JSON value; `written`: a text a model learns or wrote."""
    if isinstance(value, str):
        yield where, value, written
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from texts(item, f"{where}[{i}]", written)
    elif isinstance(value, dict):
        if isinstance(value.get("content"), str) and "role" in value:  # a chat message: `name` is a label
            yield f"{where}.content", value["content"], written or value["role"] == "assistant"
            return
        for key, item in value.items():
            if key not in SKIPPED_KEYS:
                yield from texts(item, f"{where}.{key}" if where else key, written or key in WRITTEN_KEYS)


def speaker_names(value: object) -> Iterator[str]:
    """The `name` labels of the chat messages in a JSON value."""
    if isinstance(value, list):
        for item in value:
            yield from speaker_names(item)
    elif isinstance(value, dict):
        if "role" in value and isinstance(value.get("name"), str):
            yield value["name"]
        for item in value.values():
            yield from speaker_names(item)


def prompt_texts(row: object) -> list[str]:
    """What a row shows as input: its texts that no model writes, and the speakers' names."""
    return [text for _, text, written in texts(row) if not written] + list(speaker_names(row))


def check_files(files: list[Path], checker: PiiChecker, root: Path | None = None) -> CheckResult:
    result = CheckResult(files=[str(p) for p in files])
    for path in files:
        try:
            handle = path.open(encoding="utf-8")
        except OSError as exc:
            raise ChatLikeMeError(f"{path}: cannot read it ({exc.strerror})") from None
        with handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError:
                    raise ChatLikeMeError(f"{path}:{number}: not a JSON line") from None
                result.lines += 1
                shown = checker.shown_names(prompt_texts(row))
                for where, text, written in texts(row):
                    for source, category, value in checker.check(text, names=written, shown=shown):
                        result.hits.append(Hit(str(path), number, where, source, category, value))
    return result


def pii_check(root: Path, mapping: Path | None = None) -> CheckResult:
    """Scan every dataset under `root` for detector hits and the original values of the mapping(s)."""
    root = Path(root)
    if not root.exists():
        raise ChatLikeMeError(f"{root}: no such file or directory")
    files = dataset_files(root)
    if not files:
        raise ChatLikeMeError(
            f"{root}: no dataset found (SFT/KTO {{train,eval,test}}.jsonl, eval generations.jsonl)"
        )
    if mapping is not None and not Path(mapping).is_file():
        raise ChatLikeMeError(f"{mapping}: mapping file not found")
    mappings = (
        [Path(mapping)] if mapping is not None else find_mappings(root if root.is_dir() else root.parent)
    )
    result = check_files(files, PiiChecker(load_mapping(mappings)))
    result.mappings = [str(p) for p in mappings]
    return result


def check_texts(
    replies: dict[str, list[str]],
    mapping: dict[str, list[str]],
    prompts: dict[str, list[list[str]]] | None = None,
) -> dict[str, dict[str, int]]:
    """Per model: how many of its replies hold an original value of the mapping, and detector hits.
    `prompts[model][i]`: the texts of that reply's prompt (a name it shows is not a leak in the reply)."""
    checker = PiiChecker(mapping)
    out = {}
    for model, texts_ in replies.items():
        originals = detector = 0
        shown = prompts[model] if prompts else [[]] * len(texts_)
        for text, prompt in zip(texts_, shown, strict=True):
            hits = checker.check(text, shown=checker.shown_names(prompt))
            originals += sum(h[0] == "original" for h in hits)
            detector += sum(h[0] == "detector" for h in hits)
        out[model] = {"original_values": originals, "detector_hits": detector}
    return out


def result_text(result: CheckResult) -> str:
    """The terminal report: counts per kind, then each hit's file:line with its value masked."""
    lines = [
        f"pii-check: {len(result.files)} files, {result.lines} lines, "
        f"{len(result.mappings)} pii_mapping.json: {len(result.hits)} hits"
        + ("" if result.mappings else " (no pii_mapping.json found: detectors only)")
    ]
    lines += [f"  {kind:<20} {n}" for kind, n in result.counts().items()]
    lines += [f"{h.path}:{h.line}: {h.source} {h.category} {h.masked()} in {h.where}" for h in result.hits]
    return "\n".join(lines)
