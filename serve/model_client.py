"""The model client of the arena and the bot: what the running `chatlikeme serve` offers (each model's
version and run) and an OpenAI client to stream from it, with errors a person can act on."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import openai

from serve.vllm_server import ADAPTER_NAMES, BASE_NAME, ServedModel, adapter_version, served_models

log = logging.getLogger(__name__)

SERVED_MODELS_TTL_S = 2.0  # a newly loaded adapter joins the battles at most this late
# vLLM's HTTP server closes a connection idle for 5 s (VLLM_HTTP_TIMEOUT_KEEP_ALIVE); the client's pool kept
# idle connections for 5 s too, so under load a request now and then went out on a connection the server was
# closing ("Server disconnected", a lost round in the 50-voter test). Idle connections go after 2 s instead.
CONNECTION_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100, keepalive_expiry=2.0)


@dataclass
class ClientSettings:
    """Which served models a client may use, how their replies are sampled, how long it waits for one."""

    models: list[str] = field(default_factory=lambda: [BASE_NAME, *ADAPTER_NAMES])
    "The contestants (served model names); battles draw two of those the server offers."
    temperature: float = 0.7
    top_p: float = 0.9
    max_new_tokens: int = 256
    request_timeout_s: float = 120.0

    def sampling(self) -> dict[str, float | int]:
        return {"temperature": self.temperature, "top_p": self.top_p, "max_tokens": self.max_new_tokens}


@dataclass(frozen=True)
class Contestant:
    name: str
    version: str  # content hash of the adapter / base model directory (or its hub id)
    run_id: str


class ModelServer:
    """What the vLLM server offers, with each model's version and run (re-read at the start of each round)."""

    def __init__(self, api_url: str, config: ClientSettings, api_key: str | None = None) -> None:
        self.api_url = api_url.rstrip("/")
        self.config = config
        self.api_key = api_key
        self.client = openai.AsyncOpenAI(
            base_url=f"{self.api_url}/v1",
            api_key=api_key or "none",
            # One quick retry (~0.5 s) for a connection lost before the reply starts; anything longer is
            # shown at once and the person decides whether to try again.
            max_retries=1,
            timeout=config.request_timeout_s,
            http_client=openai.DefaultAsyncHttpxClient(limits=CONNECTION_LIMITS),
        )
        self._versions: dict[tuple[str, float], str] = {}
        self._hashing = threading.Lock()
        self._offered: tuple[float, list[ServedModel]] | None = None  # (when asked, the answer)
        self._asking = threading.Lock()

    def contestants(self) -> dict[str, Contestant]:
        """The configured contestants the server offers now (raises `ArenaError` if it cannot be reached)."""
        roots = {m.name: m.root for m in self._served() if m.name in self.config.models}
        runs = sorted({Path(root).parent.name for name, root in roots.items() if name != BASE_NAME})
        run_id = "+".join(runs) or "base-only"
        return {name: Contestant(name, self._version(root), run_id) for name, root in roots.items()}

    def _served(self) -> list[ServedModel]:
        """What the server offers, asked at most once every `SERVED_MODELS_TTL_S`: when many people start a
        round at once, on a server busy generating for all of them, they share one answer instead of each
        waiting in line for their own (and failing the round when the wait is long)."""
        with self._asking:
            if self._offered is None or time.monotonic() - self._offered[0] > SERVED_MODELS_TTL_S:
                try:
                    served = served_models(
                        self.api_url, api_key=self.api_key, timeout=self.config.request_timeout_s
                    )
                except (httpx.HTTPError, KeyError, ValueError) as exc:
                    raise ArenaError(self.unreachable(exc)) from None
                self._offered = (time.monotonic(), served)
            return self._offered[1]

    def _version(self, root: str) -> str:
        path = Path(root)
        if not path.is_dir():
            return root  # a hub id: the name is all we know
        key = (str(path.resolve()), max(p.stat().st_mtime for p in path.iterdir()))
        with self._hashing:  # many rounds may start at once: hash each model once, not once per round
            if key not in self._versions:
                self._versions[key] = adapter_version(path)
            return self._versions[key]

    def unreachable(self, exc: Exception) -> str:
        cause = exc.__cause__ or exc.__context__
        reason = type(exc).__name__ + (f": {cause}" if cause and str(cause) else "")
        return f"Cannot reach the model server at {self.api_url} ({reason}). Is `chatlikeme serve` running?"

    def explain(self, exc: Exception, model: str) -> str:
        """A message a person can act on, for anything a streaming request can raise."""
        if isinstance(exc, openai.NotFoundError):
            return f"The model server does not serve '{model}' (any more). Start a new round."
        if isinstance(exc, openai.APITimeoutError):
            return f"No answer from the model server within {self.config.request_timeout_s:.0f} s."
        if isinstance(exc, openai.APIConnectionError | httpx.TransportError):
            return self.unreachable(exc)
        if isinstance(exc, openai.APIStatusError):
            return f"The model server refused the request (HTTP {exc.status_code}): {exc.message}"
        log.exception("unexpected error while streaming from %s", model, exc_info=exc)
        return f"Unexpected error: {type(exc).__name__}: {exc}"


class ArenaError(Exception):
    """Something the person in front of the arena should read (shown in the panes, never raised to Gradio)."""
