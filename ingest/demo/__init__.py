"""The demo export: synthetic Telegram Desktop exports of made-up personas (`chatlikeme demo-export`).

- `export`: the generator, shared by every persona (the exact JSON Telegram Desktop writes)
- `personas`: the personas (Marco, Italian: `it` with `dialogues`; Emma, English: `en`)
"""
