"""Telegram as a source: the Desktop export reader and the live export through Telethon.

- `desktop`: Telegram Desktop's `result.json` (single-chat and full-account, every format era) -> messages
- `client`: the Telethon login and session (`chatlikeme telegram login`), shared with the bot's draft mode
- `live_export`: `chatlikeme telegram export`, a resumable export over the API (`journal` keeps its progress)
- `convert`, `fields`, `actions`: Telethon objects -> the same JSON the Desktop export writes
"""
