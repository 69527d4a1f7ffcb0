"""Stage configs: dataclasses with documented fields, loadable from YAML files or shipped presets.

Every stage has one, in the spirit of TRL's `XConfig`:

    @dataclass
    class SFTConfig(StageConfig):
        presets_dir: ClassVar[Path] = Path(__file__).parent / "configs" / "sft"
        learning_rate: float = 2e-4
        "Peak learning rate of the cosine schedule."

    SFTConfig.load("cpu-demo")                      # a shipped preset: configs/sft/cpu-demo.yaml
    SFTConfig.load("my.yaml", {"epochs": 2})        # a user file, then overrides (e.g. CLI flags)

Unknown keys and values of the wrong type are errors that name the file and the key. Rules on one field are
pydantic constraints on the field (`Annotated[int, Field(ge=1)]`; a `description` says why, and is part of the
error); `__post_init__` checks only rules that relate several fields (pydantic runs it after the fields).
A renamed key keeps working through `renamed_keys` (old name -> new name), with a one-line note.
"""

from __future__ import annotations

import dataclasses
import logging
import typing
from pathlib import Path
from typing import Any, ClassVar, Self

import pydantic
import yaml
from pydantic.fields import FieldInfo

from core.errors import ChatLikeMeError, input_error

log = logging.getLogger(__name__)


class StageConfig:
    """Base class of every stage's config dataclass (subclasses must be `@dataclass`)."""

    __pydantic_config__ = pydantic.ConfigDict(extra="forbid")
    presets_dir: ClassVar[Path | None] = None
    renamed_keys: ClassVar[dict[str, str]] = {}
    "Keys read under an older name, {old: new}; a subclass overrides `upgrade_keys` for more than renames."

    @classmethod
    def presets(cls) -> list[str]:
        """Names of the shipped presets (`cpu-demo`, `gpu`, ...)."""
        if cls.presets_dir is None or not cls.presets_dir.is_dir():
            return []
        return sorted(p.stem for p in cls.presets_dir.glob("*.yaml"))

    @classmethod
    def load(cls, source: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Self:
        """Defaults, then a YAML file or preset (if given), then `overrides` (None values are ignored)."""
        data: dict[str, Any] = {}
        origin = f"{cls.__name__} defaults"
        if source is not None:
            path = cls._resolve(source)
            data, origin = read_yaml_mapping(path), str(path)
        for key, value in (overrides or {}).items():
            if value is not None:
                data[key] = value
        return cls.from_dict(data, origin)

    @classmethod
    def from_dict(cls, data: dict[str, Any], origin: str = "config") -> Self:
        try:
            return pydantic.TypeAdapter(cls).validate_python(cls.upgrade_keys(dict(data), origin))
        except pydantic.ValidationError as exc:
            raise _config_error(cls, origin, exc) from None
        except ChatLikeMeError as exc:  # raised by a __post_init__ check: say which config it came from
            message = str(exc)
            raise (exc if message.startswith(origin) else ChatLikeMeError(f"{origin}: {message}")) from None

    @classmethod
    def upgrade_keys(cls, data: dict[str, Any], origin: str) -> dict[str, Any]:
        """Old key names -> current ones (a note names them; both at once is an error)."""
        old = [key for key in cls.renamed_keys if key in data]
        for key in old:
            new = cls.renamed_keys[key]
            if new in data:
                raise input_error(origin, f"'{key}' is the old name of '{new}': set only '{new}'")
            data[new] = data.pop(key)
        if old:
            renames = ", ".join(f"{key} -> {cls.renamed_keys[key]}" for key in old)
            log.warning(f"{origin}: renamed keys, please update ({renames})")
        return data

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON/YAML-ready values (paths become strings)."""
        return pydantic.TypeAdapter(type(self)).dump_python(self, mode="json")

    def validated(self, origin: str | Path = "config") -> Self:
        """This config checked as if read from a file: a dataclass built in Python is never validated."""
        return type(self).from_dict(self.to_dict(), str(origin))

    def save_yaml(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True))
        return path

    def replace(self, **changes: Any) -> Self:
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]

    @classmethod
    def _resolve(cls, source: str | Path) -> Path:
        path = Path(source)
        if path.is_file():
            return path
        if cls.presets_dir is not None and (cls.presets_dir / f"{source}.yaml").is_file():
            return cls.presets_dir / f"{source}.yaml"
        known = ", ".join(cls.presets()) or "none"
        raise input_error(source, f"no such config file or {cls.__name__} preset (presets: {known})")


def read_yaml_mapping(path: str | Path) -> dict[str, Any]:
    """A YAML file that must hold a mapping (an empty file is an empty mapping)."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise input_error(path, f"cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise input_error(path, f"not valid YAML{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise input_error(path, f"expected a mapping of config keys, found {type(data).__name__}")
    return data


def _config_error(cls: type, origin: str, exc: pydantic.ValidationError) -> ChatLikeMeError:
    first = exc.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "(top level)"
    if first["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
        owner = _dataclass_at(cls, first["loc"][:-1])
        known = ", ".join(f.name for f in dataclasses.fields(owner)) if owner else "?"
        return input_error(origin, f"unknown key '{key}' for {cls.__name__} (known keys here: {known})")
    field = _field_info(cls, first["loc"])
    why = f": {field.description}" if field is not None and field.description else ""
    bounds = _bounds(field) if field is not None else ""
    if bounds and first["type"] in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return input_error(origin, f"{key} must be {bounds}, got {first.get('input')}{why}")
    return input_error(origin, f"{key}: {first['msg']} (got {first.get('input')!r}){why}")


def _field_info(cls: type, loc: tuple[Any, ...]) -> FieldInfo | None:
    """The `Field(...)` annotation of the field a validation error points at, if it has one."""
    owner = _dataclass_at(cls, loc[:-1])
    if owner is None or not loc:
        return None
    hint = typing.get_type_hints(owner, include_extras=True).get(str(loc[-1]))
    for annotated in (hint, *typing.get_args(hint)):  # `Annotated[int, Field(ge=1)] | None` too
        infos = [m for m in getattr(annotated, "__metadata__", ()) if isinstance(m, FieldInfo)]
        if infos:
            return infos[0]
    return None


def _bounds(field: FieldInfo) -> str:
    """A field's numeric constraints in words: 'at least 2', 'in [0, 1)', 'above 0'."""
    names = ("ge", "gt", "le", "lt")
    limits = {name: getattr(m, name) for m in field.metadata for name in names if hasattr(m, name)}
    low = ("[", limits["ge"]) if "ge" in limits else ("(", limits["gt"]) if "gt" in limits else None
    high = (limits["le"], "]") if "le" in limits else (limits["lt"], ")") if "lt" in limits else None
    if low and high:
        return f"in {low[0]}{low[1]:g}, {high[0]:g}{high[1]}"
    if low:
        return f"at least {low[1]:g}" if low[0] == "[" else f"above {low[1]:g}"
    if high:
        return f"at most {high[0]:g}" if high[1] == "]" else f"below {high[0]:g}"
    return ""


def _dataclass_at(cls: type, loc: tuple[Any, ...]) -> type | None:
    """The dataclass that a validation error's location points into (for listing its known keys)."""
    for part in loc:
        by_name = {f.name: f.type for f in dataclasses.fields(cls)}
        hint = typing.get_type_hints(cls).get(str(part), by_name.get(str(part)))
        if not (isinstance(hint, type) and dataclasses.is_dataclass(hint)):
            return None
        cls = hint
    return cls if dataclasses.is_dataclass(cls) else None
