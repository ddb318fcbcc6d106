"""The template files: every language complete, consistent with Indonesian, and renderable."""

from __future__ import annotations

import re
import string
import tomllib
from datetime import datetime

import pytest

from bot.core.dialogue import Choice, CitizenInput, match_choice
from bot.core.model import CaseStatus, Channel, EventKind, Privacy
from bot.core.reception import citizen_command
from bot.core.texts import LANGUAGES, TEMPLATES_DIR, Texts, load_texts, placeholders

SOP_ACKNOWLEDGEMENT = (
    "Baik, informasi pengaduan yang Bapak/Ibu kirim akan segera kami tindak lanjuti "
    "ke unit terkait dan akan kami berikan informasi lanjutan, terima kasih."
)
EN_ACKNOWLEDGEMENT = (
    "Alright, the complaint information you sent will be followed up promptly with the "
    "relevant unit, and we will give you further information. Thank you."
)

# Placeholders a translation deliberately leaves out, per language and key (with the reason).
DELIBERATE_DROPS: dict[str, dict[str, set[str]]] = {"en": {}}

# Keys whose value is not a message (no placeholders, not rendered as text).
NOT_MESSAGES = {
    "date_format",
    "emergency_keywords",
    "recap_months",
    "recap_decimal_mark",
    "recap_thousands_mark",
}

MAX_BUTTON_LABEL = 20  # characters, before any {field} is filled in
OTHER_LANGUAGES = [lang for lang in LANGUAGES if lang != "id"]


def _raw(language: str) -> dict[str, str]:
    with (TEMPLATES_DIR / f"{language}.toml").open("rb") as fh:
        return tomllib.load(fh)


@pytest.fixture(scope="module", params=LANGUAGES)
def texts(request: pytest.FixtureRequest) -> Texts:
    return load_texts(request.param)


def test_every_language_loads(texts: Texts) -> None:
    assert texts.keys() == set(_raw("id"))


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_same_keys_as_indonesian(language: str) -> None:
    reference, translation = set(_raw("id")), set(_raw(language))
    assert sorted(reference - translation) == [], "missing in translation"
    assert sorted(translation - reference) == [], "not in id.toml"


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_same_placeholders_as_indonesian(language: str) -> None:
    reference, translation = _raw("id"), _raw(language)
    drops = DELIBERATE_DROPS.get(language, {})
    for key, template in translation.items():
        expected = placeholders(reference[key])
        used = placeholders(template)
        assert used <= expected, f"{language}.toml {key!r}: unknown {sorted(used - expected)}"
        assert used == expected - drops.get(key, set()), (
            f"{language}.toml {key!r}: missing {sorted(expected - used)}"
        )


def test_deliberate_drops_are_real() -> None:
    reference = _raw("id")
    for language, drops in DELIBERATE_DROPS.items():
        for key, names in drops.items():
            assert names <= placeholders(reference[key]), (language, key)


def test_every_template_renders(texts: Texts) -> None:
    for key in texts.keys() - NOT_MESSAGES:
        template = texts.raw(key)
        for _, field, spec, conversion in string.Formatter().parse(template):
            assert not spec and not conversion, f"{key!r}: keep fields plain ({{{field}}})"
        values = {name: f"<{name}>" for name in placeholders(template)}
        rendered = template.format_map(values)
        assert rendered == texts(key, **values)
        assert rendered.strip(), key
        for value in values.values():
            assert value in rendered
        assert "{" not in rendered and "}" not in rendered, key


def test_date_format_is_strftime(texts: Texts) -> None:
    rendered = datetime(2026, 11, 20, 9, 5).strftime(texts("date_format"))  # noqa: DTZ001
    assert "2026" in rendered and "20" in rendered and "09" in rendered
    assert "%" not in rendered


def test_acknowledgement_keeps_the_sop_sentence() -> None:
    acknowledgement = load_texts("id").raw("acknowledgement")
    assert SOP_ACKNOWLEDGEMENT in acknowledgement
    assert "{code}" in acknowledgement
    english = load_texts("en").raw("acknowledgement")
    assert english.startswith(EN_ACKNOWLEDGEMENT)
    assert "{code}" in english


# Sentences that only ever reach a Telegram chat, with the reason; every other sentence
# may reach a WhatsApp reporter, who has numbered choices and nothing to tap.
TELEGRAM_ONLY = {
    "err_button_expired": "answers a tap on a Telegram button",
    "tap_closed": "answers a tap on an officers' group button",
    "tap_moved_on": "answers a tap on an officers' group button",
    "prompt_info_request": "answers the ❓ button in the officers' group",
    "prompt_refuse_reason": "answers the ⛔ button in the officers' group",
}
TAP_WORDS = {"id": r"\b(ketuk|tombol)", "en": r"\b(tap|button)"}
# Sentences for the staff, who are spoken to as "Anda"; reporters are "Bapak/Ibu", as in
# the SOP's acknowledgement.
STAFF_SENTENCES = {"err_not_listed_officer", "err_reply_unknown"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_sentence_a_whatsapp_reporter_may_get_says_tap(language: str) -> None:
    tap = re.compile(TAP_WORDS[language], re.IGNORECASE)
    saying_tap = {
        k for k, text in _raw(language).items() if isinstance(text, str) and tap.search(text)
    }
    assert sorted(saying_tap - set(TELEGRAM_ONLY)) == []


def test_reporters_are_spoken_to_one_way() -> None:
    anda = {
        k
        for k, text in _raw("id").items()
        if isinstance(text, str) and re.search(r"\bAnda\b", text)
    }
    assert sorted(anda - STAFF_SENTENCES) == []


def test_one_word_for_disposed() -> None:
    raw = _raw("id").values()
    assert [text for text in raw if isinstance(text, str) and "didisposisikan" in text] == []


def test_labels_for_every_enum_value(texts: Texts) -> None:
    keys = texts.keys()
    for prefix, enum in (
        ("status", CaseStatus),
        ("privacy", Privacy),
        ("event", EventKind),
        ("channel", Channel),
    ):
        for member in enum:
            assert f"{prefix}_{member.value}" in keys
            assert texts(f"{prefix}_{member.value}").strip()


def test_button_labels_are_short(texts: Texts) -> None:
    for key in sorted(texts.keys()):
        if key.startswith("btn_"):
            label = texts.raw(key)
            assert "\n" not in label, key
            assert len(label) <= MAX_BUTTON_LABEL, f"{key!r}: {label!r}"


def test_emergency_keywords(texts: Texts) -> None:
    keywords = texts.emergency_keywords()
    assert keywords
    assert all(k == k.casefold() for k in keywords)
    assert len(set(keywords)) == len(keywords)
    # Citizens of an office configured in another language still write Indonesian.
    assert set(load_texts("id").emergency_keywords()) <= set(keywords)


def test_english_emergency_keywords() -> None:
    keywords = load_texts("en").emergency_keywords()
    for word in ("fire", "accident", "drowning", "unconscious", "suicide", "emergency"):
        assert word in keywords
    harmless = "screenshot attached: the street light has been broken for a week"
    assert not any(k in harmless for k in keywords)


def test_english_words_the_templates_promise_are_understood() -> None:
    t = load_texts("en")
    for word in ("cancel", "batal"):
        assert word in t("welcome", agency="X")
        assert citizen_command(word) == ("cancel", "")
    for word in ("help", "bantuan"):
        assert word in t("welcome", agency="X")
        assert citizen_command(word) == ("help", "")
    assert citizen_command("/cancel") == ("cancel", "")
    assert citizen_command("/help") == ("help", "")
    assert citizen_command("status ADU-7K3Q9X") == ("status", "ADU-7K3Q9X")
    done = (Choice(t("btn_done"), "done"),)
    for word in ("done", "selesai", t("btn_done")):
        assert match_choice(done, CitizenInput(text=word)) == "done"
    skip = (Choice(t("btn_skip"), "skip"),)
    for word in ("skip", "lewati", t("btn_skip")):
        assert match_choice(skip, CitizenInput(text=word)) == "skip"
    confirm = tuple(Choice(t(f"btn_{v}"), v) for v in ("send", "edit", "cancel"))
    for value in ("send", "edit", "cancel"):
        assert match_choice(confirm, CitizenInput(text=t(f"btn_{value}"))) == value
