"""The arena in a real headless Chromium (the system one: no browser download), against a real vLLM server."""

import shutil
from pathlib import Path

import pytest

from core.prompts import persona_system_prompt
from serve.votes import VoteStore

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
        replies.append(reply.strip())
    assert "anonymous until you vote" in page.inner_text("#anonymous-reveal")

    page.click("#anonymous-vote-a")
    page.wait_for_function("document.querySelector('#anonymous-reveal').innerText.includes('saved')")
    assert page.is_disabled("#anonymous-vote-b")  # one vote per round

    (vote,) = [v for v in VoteStore(db).votes() if v.conversation_a[1].content == "ciao dal browser"]
    assert vote.outcome == "a" and vote.mode == "anonymous"
    assert [" ".join(c[-1].content.split()) for c in (vote.conversation_a, vote.conversation_b)] == [
        " ".join(r.split()) for r in replies
    ]
    assert f"A: {vote.model_a} · B: {vote.model_b}" in page.inner_text("#anonymous-reveal")

    page.get_by_role("tab", name="Leaderboard").click()
    page.wait_for_function("document.querySelector('#leaderboard-summary').innerText.includes('vote')")
    assert f"run {vote.run_id}" in page.inner_text("#leaderboard-summary")
    ratings = page.inner_text("#ratings")
    assert vote.model_a in ratings and vote.model_b in ratings
