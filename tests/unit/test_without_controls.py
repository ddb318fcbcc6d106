"""`without_controls`: what an update is cleared of before it is recorded."""

from __future__ import annotations

from bot.inbox.intake import without_controls


def test_nul_and_other_control_characters_go_and_line_breaks_and_tabs_stay() -> None:
    assert without_controls("foto menyusul\x00") == "foto menyusul"
    assert without_controls("a\x01b\x07c\x1bd\x1fe") == "abcde"
    assert without_controls("baris 1\nbaris 2\r\n\tkolom") == "baris 1\nbaris 2\r\n\tkolom"


def test_letters_emoji_and_other_characters_stay() -> None:
    text = "Jalan rusak 🚧 — café ¿ \x7f \u200b ü"
    assert without_controls(text) == text


def test_lone_surrogates_go() -> None:
    assert without_controls("a\ud800b\udfffc") == "abc"


def test_every_string_of_a_payload_is_cleared_keys_too() -> None:
    payload = {
        "update_id": 7,
        "message": {
            "text": "tambahan\x00info",
            "entities": [{"type": "bold", "offset": 0, "length": 3}],
            "caption\x00": ["a\x00", ("b\x01", None, 1.5, True)],
        },
    }
    assert without_controls(payload) == {
        "update_id": 7,
        "message": {
            "text": "tambahaninfo",
            "entities": [{"type": "bold", "offset": 0, "length": 3}],
            "caption": ["a", ["b", None, 1.5, True]],
        },
    }


def test_values_that_are_not_text_are_returned_as_they_are() -> None:
    assert without_controls(42) == 42
    assert without_controls(None) is None
    assert without_controls(False) is False
