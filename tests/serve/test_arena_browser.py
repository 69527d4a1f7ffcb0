"""The arena in a real headless Chromium (the system one: no browser download), against a real vLLM server."""

import shutil
from pathlib import Path

import pytest

from core.prompts import persona_system_prompt
from core.votes import VoteStore, kto_rows_from_votes
from serve.arena import CUT_MARK

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# As root in a container: no sandbox, no GPU, no network chatter, no small /dev/shm.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="module")
def page():
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("no system Chromium")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser.new_page()
        browser.close()


@pytest.mark.vllm
@pytest.mark.browser
def test_type_see_both_panes_fill_vote_and_find_it_in_the_leaderboard(
    page, arena_app: tuple[str, Path]
) -> None:
    url, db = arena_app
    page.goto(url)
    page.wait_for_selector("#anonymous-message textarea")
    # The persona and the most frequent contact of the SFT data, and the training system prompt.
    assert page.input_value("#persona textarea") == "Pasquale"
    assert page.input_value("#contact input") == "Lorenzo"
    assert page.input_value("#system-prompt textarea") == persona_system_prompt("Pasquale", "Lorenzo")
    assert page.is_disabled("#anonymous-vote-a")  # nothing to vote on yet

    page.fill("#anonymous-message textarea", "ciao dal browser")
    page.press("#anonymous-message textarea", "Enter")
    page.wait_for_function("!document.querySelector('#anonymous-vote-a').disabled", timeout=60_000)
    replies = []
    for pane in ("#anonymous-chat-0", "#anonymous-chat-1"):
        assert page.locator(f"{pane} [data-testid='user']").all_inner_texts() == ["ciao dal browser"]
        (reply,) = page.locator(f"{pane} [data-testid='bot']").all_inner_texts()
        assert reply.strip() and "⚠️" not in reply
        replies.append(reply.strip().removesuffix(CUT_MARK).strip())
        labels = page.locator(f"{pane} button").evaluate_all(
            "bs => bs.map(b => b.getAttribute('aria-label'))"
        )
        assert not [label for label in labels if label and "share" in label.lower()]  # a private arena
    # 16 tokens (the fixture's limit) cut the random model's replies, and the pane says so.
    assert any(CUT_MARK in page.inner_text(pane) for pane in ("#anonymous-chat-0", "#anonymous-chat-1"))
    assert "anonymous until you vote" in page.inner_text("#anonymous-reveal")
    assert page.is_visible("#anonymous-edit-0") is False  # editing comes after the vote

    # Gradio's clear button on a pane starts a new round: no vote on replies no longer shown.
    page.click("#anonymous-chat-0 button[aria-label='Clear']")
    page.wait_for_function("document.querySelector('#anonymous-vote-a').disabled")
    page.wait_for_function("!document.querySelector(\"#anonymous-chat-1 [data-testid='bot']\")")  # both panes
    page.fill("#anonymous-message textarea", "ciao dal browser")
    page.press("#anonymous-message textarea", "Enter")
    page.wait_for_function("!document.querySelector('#anonymous-vote-a').disabled", timeout=60_000)
    replies = [
        page.inner_text(f"{pane} [data-testid='bot']").strip().removesuffix(CUT_MARK).strip()
        for pane in ("#anonymous-chat-0", "#anonymous-chat-1")
    ]

    page.click("#anonymous-vote-a")
    page.wait_for_function("document.querySelector('#anonymous-reveal').innerText.includes('saved')")
    assert page.is_disabled("#anonymous-vote-b")  # one vote per round

    (vote,) = [v for v in VoteStore(db).votes() if v.conversation_a[1].content == "ciao dal browser"]
    assert vote.outcome == "a" and vote.mode == "anonymous"
    assert [" ".join(c[-1].content.split()) for c in (vote.conversation_a, vote.conversation_b)] == [
        " ".join(r.split()) for r in replies
    ]
    assert f"A: {vote.model_a} · B: {vote.model_b}" in page.inner_text("#anonymous-reveal")
    # The names are in the pane headers now, and the chosen side is marked.
    assert f"Model A: {vote.model_a}" in page.inner_text("#anonymous-title-0")
    assert "your pick" in page.inner_text("#anonymous-title-0")
    assert "your pick" not in page.inner_text("#anonymous-title-1")

    # "Write it as you would have": the owner's version of B's reply, saved beside the vote.
    page.fill("#anonymous-edit-1 textarea", "ahah no dai, domani")
    page.click("#anonymous-save-edit-1")
    page.wait_for_function(
        "document.querySelector('#anonymous-reveal').innerText.includes('your version are saved')"
    )
    rows = {r.sample_id: r for r in kto_rows_from_votes(db) if r.chat_id == f"arena/{vote.vote_id}"}
    edit, reply = rows[f"arena/{vote.vote_id}/b/edit"], rows[f"arena/{vote.vote_id}/b"]
    assert (edit.completion[0].content, edit.label, edit.strategy) == (
        "ahah no dai, domani",
        True,
        "owner_edit",
    )
    assert (reply.label, edit.prompt) == (False, reply.prompt)

    page.get_by_role("tab", name="Leaderboard").click()
    page.wait_for_function("document.querySelector('#leaderboard-summary').innerText.includes('vote')")
    assert f"run {vote.run_id}" in page.inner_text("#leaderboard-summary")
    ratings = page.inner_text("#ratings")
    assert vote.model_a in ratings and vote.model_b in ratings
