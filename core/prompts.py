"""The system prompts the persona is trained with. Ingest writes them into the SFT data and the arena
offers the same ones, so a model is always talked to exactly as it was trained."""

from __future__ import annotations

from collections.abc import Sequence

DELETED_ACCOUNT = "Deleted Account"  # Telegram's name for a contact whose account is gone (no chat to offer)


def persona_system_prompt(persona: str, contact: str) -> str:
    """System prompt of a one-to-one chat."""
    return f"You are {persona}, chatting with {contact}. Respond naturally in their conversational style."


def group_system_prompt(persona: str, chat: str, participants: Sequence[str]) -> str:
    """System prompt of a group chat; other speakers' turns carry their names."""
    others = ", ".join(participants) if participants else "its members"
    return (
        f"You are {persona} in a group chat '{chat}' with {others}. "
        "Respond naturally in their conversational style."
    )
