"""The training verbs, `chatlikeme sft` and `chatlikeme kto`, as plain Typer command functions.

They live here, not in `flows.cli`, so that `accelerate launch -m align.sft ...` / `-m align.kto ...` (one
process per GPU) runs the very same command, flags and help without importing the Prefect layer; `flows.cli`
registers them as verbs. One module per verb and only light imports at the top: `chatlikeme --help` must not
load torch, and a stage's cache key (`flows.caching.source_files`) follows these modules' imports, so SFT's
must not reach KTO's code.
"""
