"""`chatlikeme ingest / chats / demo-export` end to end: output shape, bad input, merging, determinism."""

from __future__ import annotations

import json
import re
import stat
from collections import Counter

import pyarrow.parquet as pq
import pytest

from core.chats import read_chat_list
from core.io import read_jsonl
from core.prompts import persona_system_prompt
from core.schema import MESSAGES_SCHEMA, SftSample
from ingest.config import IngestConfig
from ingest.demo.export import write_demo_export
from ingest.ingest import ingest
from tests.conftest import run_cli
from tests.ingest.telegram_builders import ME, chat, dialogue, full_export, msg

SAMPLE_KEYS = {"messages", "id", "chat_id", "chat_type", "session"}  # session 0 is omitted, like msgspec does


def test_demo_sft_files_have_the_exact_shape(demo_data):
    for split in ("train", "eval", "test"):
        lines = (demo_data.sft_dir / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
        assert lines, split
        ids = set()
        for line in lines:
            sample = json.loads(line)
            assert set(sample) == SAMPLE_KEYS - ({"session"} if sample["id"].split("/")[1] == "0" else set())
            assert re.fullmatch(r"(user|chat|channel)\d+/\d+/\d+", sample["id"])
            assert sample["id"].startswith(sample["chat_id"] + "/")
            ids.add(sample["id"])
            system, *turns = sample["messages"]
            assert system == {"role": "system", "content": system["content"]}
            assert system["content"].startswith("You are Marco, chatting with ")
            assert turns[-1]["role"] == "assistant"
            assert any(t["role"] == "user" for t in turns)
            for turn in turns:
                if turn["role"] == "assistant":
                    assert set(turn) == {"role", "content"} and turn["content"].strip()
                    assert not turn["content"].startswith("[")  # never a placeholder or a forward
                else:
                    assert turn["role"] == "user" and set(turn) == {"role", "content", "name"}
        assert len(ids) == len(lines)
    # the typed reader every later stage uses accepts the files
    assert read_jsonl(demo_data.sft_dir / "train.jsonl", SftSample)


def test_demo_output_files(demo_data):
    out = demo_data.data_dir
    table = pq.read_table(out / "messages.parquet")
    assert table.schema.equals(MESSAGES_SCHEMA)
    assert table.num_rows > 1000
    report = json.loads((out / "report.json").read_text())
    assert report["persona"]["id"] == "user487201935"
    assert report["messages"]["read"] == report["messages"]["kept"] + report["messages"]["dropped"]
    for png in report["plots"].values():
        assert (out / png).stat().st_size > 1000
    assert (out / "report.md").read_text().startswith("# Ingest report")
    mapping = out / "private" / "pii_mapping.json"
    assert stat.S_IMODE(mapping.stat().st_mode) == 0o600
    assert IngestConfig.load(out / "config.yaml") == IngestConfig()


def test_demo_sft_data_is_pii_masked(demo_data):
    sft = "".join(p.read_text(encoding="utf-8") for p in demo_data.sft_dir.glob("*.jsonl"))
    mapping = json.loads((demo_data.data_dir / "private" / "pii_mapping.json").read_text())
    assert any(key.startswith("<PHONE_") for key in mapping)
    for originals in mapping.values():
        for original in originals:
            assert original not in sft
    assert "<PHONE_" in sft or "<PERSON_" in sft


def test_default_demo_export_gives_a_few_hundred_training_samples(tmp_path):
    export = write_demo_export(tmp_path / "result.json")
    out = ingest([export], tmp_path / "data", IngestConfig())
    report = json.loads((out / "report.json").read_text())
    assert 300 <= report["samples"]["train"] <= 600
    assert report["samples"]["eval"] >= 30 and report["samples"]["test"] >= 30


def test_emmas_english_export_is_larger_and_ingests(demo_data_en):
    report = json.loads((demo_data_en.data_dir / "report.json").read_text())
    assert 700 <= report["samples"]["train"] <= 1200  # 8,000 messages by default
    assert report["samples"]["eval"] >= 80 and report["samples"]["test"] >= 80
    assert len([chat for chat in report["samples"]["per_chat"].values() if chat["train"]]) >= 5
    persona = json.loads(demo_data_en.export.read_text())["personal_information"]
    assert (persona["first_name"], persona["last_name"]) == ("Emma", "Clarke")


def test_emmas_export_is_deterministic_and_not_marcos(tmp_path):
    a = write_demo_export(tmp_path / "a.json", messages=400, seed=7, persona="en").read_bytes()
    b = write_demo_export(tmp_path / "b.json", messages=400, seed=7, persona="en").read_bytes()
    it = write_demo_export(tmp_path / "it.json", messages=400, seed=7).read_bytes()
    assert a == b and a != it
    assert b"Marco" not in a and b"Emma Clarke" in a


def test_demo_export_is_deterministic(tmp_path):
    a = write_demo_export(tmp_path / "a.json", messages=300, seed=7).read_bytes()
    b = write_demo_export(tmp_path / "b.json", messages=300, seed=7).read_bytes()
    c = write_demo_export(tmp_path / "c.json", messages=300, seed=8).read_bytes()
    assert a == b and a != c
    data = json.loads(a)
    assert data["personal_information"]["user_id"] == 487201935
    types = {c["type"] for section in ("chats", "left_chats") for c in data[section]["list"]}
    assert {"personal_chat", "private_supergroup", "bot_chat", "saved_messages", "public_channel"} <= types


def test_overlapping_exports_merge_without_duplicates(tmp_path, write_export):
    whole = dialogue(30)
    old = write_export(full_export([chat(2002, whole[:40])]))
    new = write_export(full_export([chat(2002, whole[20:])]))
    config = IngestConfig(eval_fraction=0, test_fraction=0)
    merged = ingest([new, old, new], tmp_path / "merged", config)
    single = ingest([write_export(full_export([chat(2002, whole)]))], tmp_path / "single", config)
    merged_ids = pq.read_table(merged / "messages.parquet")["message_id"].to_pylist()
    assert merged_ids == list(range(1, 61))
    assert (merged / "sft" / "train.jsonl").read_bytes() == (single / "sft" / "train.jsonl").read_bytes()
    report = json.loads((merged / "report.json").read_text())
    dropped = report["messages"]["dropped_by_reason"]
    assert dropped["duplicate (same message in several exports or chats)"] == 120 - 60


def test_cli_ingest_and_chats(tmp_path, demo_data):
    result = run_cli("chats", demo_data.export)
    assert result.returncode == 0, result.stderr
    assert "Giulia Conti" in result.stdout and "personal_chat" in result.stdout
    assert "persona: Marco Rossi (user487201935" in result.stdout
    listing = json.loads(run_cli("chats", demo_data.export, "--json").stdout)
    giulia = next(c for c in listing["chats"] if c["name"] == "Giulia Conti")
    assert 0 < giulia["persona_messages"] < giulia["messages"]

    out = tmp_path / "data"
    flags = ["--groups", "--min-messages", "5", "--no-mask-pii"]
    result = run_cli("ingest", demo_data.export, "--out", out, *flags)
    assert result.returncode == 0, result.stderr
    assert "samples:" in result.stdout
    chat_types = {json.loads(line)["chat_type"] for line in (out / "sft" / "train.jsonl").open()}
    assert "private_supergroup" in chat_types
    assert not (out / "private").exists()
    assert_chat_list_matches_the_training_data(out)


def assert_chat_list_matches_the_training_data(data) -> None:
    """chats.json: every chat of train.jsonl with its most frequent system prompt and its sample counts, most
    samples first, the persona as the prompts name them (the arena and the bot read it, never the prompts)."""
    chat_list = read_chat_list(data)
    prompts: dict[str, Counter[str]] = {}
    for sample in read_jsonl(data / "sft" / "train.jsonl", SftSample):
        prompts.setdefault(sample.chat_id, Counter())[sample.messages[0].content] += 1
    entries = {entry.chat_id: entry for entry in chat_list.chats}
    assert set(entries) == set(prompts)
    for chat_id, counts in prompts.items():
        entry = entries[chat_id]
        assert entry.system_prompt == counts.most_common(1)[0][0] and entry.samples["train"] == counts.total()
        assert entry.group == (entry.chat_type != "personal_chat")
        assert f"You are {chat_list.persona}" in entry.system_prompt and entry.name in entry.system_prompt
    trained = [entry.samples["train"] for entry in chat_list.chats]
    assert trained == sorted(trained, reverse=True)
    assert any(entry.group and entry.participants for entry in chat_list.chats)
    assert chat_list.persona_id == "user487201935"
    assert chat_list.windowing.max_turns == IngestConfig().max_turns


def test_cli_demo_export(tmp_path):
    result = run_cli("demo-export", "--out", tmp_path / "demo.json", "--messages", "200", "--seed", "3")
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "demo.json").read_text())["chats"]["list"]
    result = run_cli("demo-export", "--out", tmp_path / "en.json", "--messages", "200", "--persona", "en")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "en.json").read_bytes() == write_demo_export(
        tmp_path / "x.json", 200, 0, "en"
    ).read_bytes()
    result = run_cli("demo-export", "--out", tmp_path / "fr.json", "--persona", "fr")
    assert result.returncode == 2 and not (tmp_path / "fr.json").exists()


def test_demo_builds_the_chosen_personas_export(tmp_path, monkeypatch):
    import flows.cli.pipeline
    import flows.pipeline

    exports = []
    monkeypatch.setattr(flows.cli.pipeline, "_prefect_environment", lambda: None)
    monkeypatch.setattr(flows.cli.pipeline, "_print_outcome", lambda outcome, config: None)
    monkeypatch.setattr(flows.pipeline, "run_pipeline", lambda paths, config: exports.extend(paths))
    flows.cli.pipeline.demo(workdir=tmp_path, messages=300, persona="en")
    flows.cli.pipeline.demo(workdir=tmp_path, messages=300, persona="it")
    assert [path.name for path in exports] == ["demo-result-en.json", "demo-result.json"]
    assert exports[0].read_bytes() == write_demo_export(tmp_path / "en.json", 300, 0, "en").read_bytes()
    assert exports[1].read_bytes() == write_demo_export(tmp_path / "it.json", 300).read_bytes()


@pytest.mark.parametrize(
    ("content", "args", "problem"),
    [
        (b"this is not json", [], "not valid JSON"),
        (b'{"chats": {"list": [{"id": 1, "type": "personal_chat", "messages": [{"id": 1, ', [], "truncated"),
        (b'{"version": 3, "items": []}', [], "not a Telegram Desktop export"),
        (None, ["--persona", "Nessuno"], "no sender is named 'Nessuno'"),
        (None, ["--min-messages", "100000"], "no usable message left"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_output(tmp_path, write_export, content, args, problem):
    if content is None:
        export = write_export(full_export([chat(2002, dialogue(15))]), name="result.json")
    else:
        export = tmp_path / "result.json"
        export.write_bytes(content)
    out = tmp_path / "out"
    result = run_cli("ingest", export, "--out", out, *args)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("chatlikeme: error: ")
    assert str(export) in result.stderr and problem in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json"]  # no temporary leftovers


def test_bad_config_key_is_an_error(tmp_path, demo_data):
    config = tmp_path / "ingest.yaml"
    config.write_text("min_mesages: 3\n")
    result = run_cli("ingest", demo_data.export, "--out", tmp_path / "out", "--config", config)
    assert result.returncode == 2 and "unknown key 'min_mesages'" in result.stderr


def test_persona_flag_on_a_single_chat_export(tmp_path, write_export):
    export = write_export(chat(2002, dialogue(15)), name="chat.json")
    out = ingest([export], tmp_path / "out", IngestConfig(persona=f"user{ME}"))
    assert (out / "sft" / "train.jsonl").stat().st_size > 0


def test_lines_are_exactly_what_msgspec_writes(demo_data):
    # The lines are assembled from JSON fragments with Arrow string functions: they must be byte-identical
    # to encoding the decoded sample again.
    import msgspec

    for line in (demo_data.sft_dir / "train.jsonl").read_bytes().splitlines():
        assert msgspec.json.encode(msgspec.json.decode(line, type=SftSample)) == line


def test_pseudonym_prompt_names(tmp_path, demo_data):
    out = ingest([demo_data.export], tmp_path / "out", IngestConfig(prompt_names="pseudonym"))
    samples = read_jsonl(out / "sft" / "train.jsonl", SftSample)
    mapping = json.loads((out / "private" / "pii_mapping.json").read_text())
    contacts = {m.name for s in samples for m in s.messages if m.role == "user"}
    assert contacts and all(re.fullmatch(r"<PERSON_\d+>|Marco", name) for name in contacts)
    giulia = next(key for key, values in mapping.items() if "Giulia" in values)
    assert persona_system_prompt("Marco", giulia) in {s.messages[0].content for s in samples}


def test_report_says_why_chats_are_not_used(demo_data):
    report = json.loads((demo_data.data_dir / "report.json").read_text())
    chats = {c["name"]: c for c in report["chats"]}
    group = chats["Calcetto del giovedì ⚽"]
    assert group["not_used"] == "group chat (use --groups)" and group["kept"] == 0
    assert 0 < group["persona_messages"] < group["messages"]
    assert chats["Giulia Conti"]["not_used"] is None and chats["Giulia Conti"]["kept"] > 0
    table = pq.read_table(demo_data.data_dir / "messages.parquet")
    assert "channel1766042871" in table["chat_id"].to_pylist()  # every chat is stored, used or not


def test_unknown_timezone_is_an_error(tmp_path, demo_data):
    result = run_cli("ingest", demo_data.export, "--out", tmp_path / "out", "--timezone", "Mars/Olympus")
    assert result.returncode == 2 and "unknown time zone" in result.stderr


def test_chats_of_a_single_chat_export_without_persona(tmp_path, write_export):
    export = write_export(chat(2002, dialogue(3)), name="chat.json")
    result = run_cli("chats", export)
    assert result.returncode == 0, result.stderr
    assert "user2002" in result.stdout and "persona: unknown" in result.stdout
    assert "persona unknown (single-chat export)" in result.stdout and "--persona user" in result.stdout


def test_chats_say_why_a_chat_is_not_used_and_the_flags_that_include_it(tmp_path, write_export):
    lonely = [msg(i, i, 3003, f"ci sei? {i}") for i in range(1, 30)]
    export = write_export(
        full_export(
            [
                chat(2002, dialogue(15)),
                chat(4004, dialogue(3, contact=4004), name="Rare"),
                chat(3003, lonely, name="Only Them"),
                chat(5005, dialogue(15, contact=5005), name="Group", type="private_group"),
                chat(6006, [msg(1, 0, None, "news")], name="News", type="public_channel"),
            ]
        )
    )
    listing = json.loads(run_cli("chats", export, "--json").stdout)
    rows = {row["chat_id"]: row for row in listing["chats"]}
    assert (rows["user2002"]["used"], rows["user2002"]["include"]) == (True, "--chat user2002")
    assert rows["user4004"]["why_not"] == "too few messages (6 usable < 20)"
    assert rows["user4004"]["include"] == "--min-messages 6 --chat user4004"
    assert rows["user3003"]["why_not"].startswith("no persona messages")
    assert rows["user3003"]["include"] == "--persona user3003 --chat user3003"
    assert (rows["chat5005"]["why_not"], rows["chat5005"]["include"]) == (
        "group chat",
        "--groups --chat chat5005",
    )
    assert (rows["channel6006"]["why_not"], rows["channel6006"]["include"]) == ("channel", None)
    table = run_cli("chats", export).stdout
    assert "too few messages (6 usable < 20)" in table and "(never used)" in table

    for chat_id in ("user4004", "chat5005"):  # the flags shown really include the chat
        out = tmp_path / chat_id
        done = run_cli("ingest", export, "--out", out, *rows[chat_id]["include"].split())
        assert done.returncode == 0, done.stderr
        assert {json.loads(line)["chat_id"] for line in (out / "sft" / "train.jsonl").open()} == {chat_id}
