"""Every sentence the bot says, looked up by key from `templates/<language>.toml`."""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from pathlib import Path

TEMPLATES_DIR = Path(__file__).resolve().parent.parent.parent / "templates"
LANGUAGES = ("id", "en")


class TemplateError(ValueError):
    """A template file is missing, incomplete or has a broken placeholder."""


def placeholders(template: str) -> set[str]:
    """Names the template's `{name}` fields use."""
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


class Texts:
    """The templates of one language, rendered with `texts("key", name=value)`."""

    def __init__(self, language: str, strings: Mapping[str, str]) -> None:
        self.language = language
        self._strings = dict(strings)

    def __call__(self, key: str, /, **params: object) -> str:
        try:
            template = self._strings[key]
        except KeyError:
            raise TemplateError(f"no template {key!r} for language {self.language!r}") from None
        return template.format_map(params) if params or "{" in template else template

    def raw(self, key: str) -> str:
        return self._strings[key]

    def keys(self) -> set[str]:
        return set(self._strings)

    def __contains__(self, key: object) -> bool:
        return key in self._strings

    def emergency_keywords(self) -> tuple[str, ...]:
        return tuple(k.strip() for k in self._strings["emergency_keywords"].split("|") if k.strip())


def load_texts(language: str, directory: Path | None = None) -> Texts:
    """Loads a language's templates, checked against the Indonesian reference set."""
    folder = directory or TEMPLATES_DIR
    reference = _read(folder / "id.toml")
    strings = reference if language == "id" else _read(folder / f"{language}.toml")
    missing = set(reference) - set(strings)
    if missing:
        raise TemplateError(f"{folder / (language + '.toml')}: missing {sorted(missing)}")
    for key, text in strings.items():
        if key in reference and placeholders(text) - placeholders(reference[key]):
            raise TemplateError(
                f"{language}.toml: template {key!r} uses unknown fields "
                f"{sorted(placeholders(text) - placeholders(reference[key]))}"
            )
    return Texts(language, strings)


def _read(path: Path) -> dict[str, str]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise TemplateError(f"template file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(f"{path}: {exc}") from None
    bad = [k for k, v in data.items() if not isinstance(v, str)]
    if bad:
        raise TemplateError(f"{path}: values must be strings: {bad}")
    return {k: str(v) for k, v in data.items()}
