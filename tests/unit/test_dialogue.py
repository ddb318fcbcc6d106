"""The intake dialogue engine, alone (no storage, no channel)."""

from __future__ import annotations

import pytest

from bot.core.dialogue import CitizenInput, IntakeDialogue, Outcome, match_choice, normalise_phone
from bot.core.model import Attachment, AttachmentKind, Channel, Location, Privacy
from bot.core.texts import load_texts

T = load_texts("id")
DESCRIPTION = "Obat di puskesmas habis sejak seminggu dan pasien disuruh membeli sendiri."


@pytest.fixture
def engine() -> IntakeDialogue:
    return IntakeDialogue(T, "Dinas Kesehatan Kota Contoh")


def say(engine: IntakeDialogue, outcome: Outcome, **kwargs: object) -> Outcome:
    assert outcome.state is not None
    return engine.advance(outcome.state, CitizenInput(**kwargs))  # type: ignore[arg-type]


def photo(ref: str, album: str | None = None) -> CitizenInput:
    return CitizenInput(
        attachments=(Attachment(AttachmentKind.PHOTO, ref, Channel.TELEGRAM),), album_id=album
    )


def test_full_dialogue_produces_submission(engine: IntakeDialogue) -> None:
    o = engine.begin(profile_name="Siti", channel_contact=None)
    assert o.replies[0].text.startswith("Selamat datang di layanan pengaduan Dinas Kesehatan")
    assert o.replies[-1].text == T("ask_description")
    o = say(engine, o, text=DESCRIPTION)
    assert o.replies[-1].text == T("ask_location")
    o = say(engine, o, text="Puskesmas Sukamaju, Jl. Melati 3")
    assert o.replies[-1].text == T("ask_time")
    o = say(engine, o, text="2")  # not a choice number here: taken as the time text
    assert o.state is not None and o.state.data["occurred_text"] == "2"
    assert o.replies[-1].text == T("ask_attachments")
    o = engine.advance(o.state, photo("p1"))
    assert o.replies[-1].text == T("attachment_received", count=1)
    o = say(engine, o, text="selesai")
    assert o.replies[-1].text == T("ask_privacy")
    assert [c.value for c in o.replies[-1].choices] == ["biasa", "anonim", "rahasia"]
    o = say(engine, o, text="2")
    assert o.replies[-1].text == T("ask_name")
    assert o.replies[-1].choices[0].label == "Pakai nama Siti"
    o = say(engine, o, action="profile")
    o = say(engine, o, text="0812-3456-7890")
    assert T("confirm_prompt") == o.replies[-1].text
    summary = o.replies[-2].text
    assert (
        "Obat di puskesmas habis" in summary and "081234567890" in summary and "anonim" in summary
    )
    o = say(engine, o, text="kirim")
    assert o.state is None
    sub = o.submission
    assert sub is not None
    assert sub.description == DESCRIPTION
    assert sub.location_text == "Puskesmas Sukamaju, Jl. Melati 3"
    assert sub.privacy is Privacy.ANONYMOUS
    assert sub.name == "Siti" and sub.contact == "081234567890"
    assert [a.ref for a in sub.attachments] == ["p1"]


def test_first_message_with_substance_becomes_description(engine: IntakeDialogue) -> None:
    o = engine.begin(profile_name=None, channel_contact=None, first=CitizenInput(text=DESCRIPTION))
    assert o.state is not None and o.state.step == "location"
    assert o.state.data["description"] == DESCRIPTION


def test_greeting_does_not_become_description(engine: IntakeDialogue) -> None:
    o = engine.begin(profile_name=None, channel_contact=None, first=CitizenInput(text="halo"))
    assert o.state is not None and o.state.step == "description"


def test_short_description_is_refused_with_explanation(engine: IntakeDialogue) -> None:
    o = engine.begin(profile_name=None, channel_contact=None)
    o = say(engine, o, text="rusak")
    assert o.state is not None and o.state.step == "description"
    assert o.replies[-1].text == T("description_too_short", min=10)


def test_shared_location_answers_where_and_skips_question(engine: IntakeDialogue) -> None:
    o = engine.begin(profile_name=None, channel_contact=None, first=CitizenInput(text=DESCRIPTION))
    o = say(engine, o, location=Location(-6.2, 106.8))
    assert o.state is not None and o.state.step == "time"
    assert o.state.data["location"] == [-6.2, 106.8, None]


def test_album_is_answered_once(engine: IntakeDialogue) -> None:
    o = engine.begin(profile_name=None, channel_contact=None, first=CitizenInput(text=DESCRIPTION))
    o = say(engine, o, text="Jl. Melati")
    o = say(engine, o, text="lewati")
    assert o.state is not None and o.state.step == "attachments"
    first = engine.advance(o.state, photo("a1", album="G1"))
    assert len(first.replies) == 1
    assert first.state is not None
    rest = [engine.advance(first.state, photo(f"a{i}", album="G1")) for i in range(2, 5)]
    assert all(r.replies == [] for r in rest)
    assert len(first.state.data["attachments"]) == 4


def test_photo_with_caption_at_description_keeps_both(engine: IntakeDialogue) -> None:
    o = engine.begin(profile_name=None, channel_contact=None)
    assert o.state is not None
    inp = CitizenInput(
        text=DESCRIPTION, attachments=(Attachment(AttachmentKind.PHOTO, "x", Channel.TELEGRAM),)
    )
    o = engine.advance(o.state, inp)
    assert o.state is not None and o.state.step == "location"
    assert len(o.state.data["attachments"]) == 1


def captioned(caption: str, ref: str = "c1") -> CitizenInput:
    """A photo sent with words, as a Telegram caption or a WhatsApp media body."""
    return CitizenInput(
        text=caption, attachments=(Attachment(AttachmentKind.PHOTO, ref, Channel.TELEGRAM),)
    )


def test_a_caption_at_the_attachments_step_stays_with_its_photo(engine: IntakeDialogue) -> None:
    o = engine.begin(profile_name=None, channel_contact=None, first=CitizenInput(text=DESCRIPTION))
    o = say(engine, o, text="Jl. Melati")
    o = say(engine, o, text="lewati")
    assert o.state is not None and o.state.step == "attachments"
    o = engine.advance(o.state, captioned("ruang tunggu penuh"))
    assert o.replies[-1].text == T("attachment_received", count=1)
    assert o.state is not None
    o = engine.advance(o.state, photo("p2"))  # the next photo has no words of its own
    for text in ("selesai", "1", "Siti", "lewati", "kirim"):
        o = say(engine, o, text=text)
    assert o.submission is not None
    assert [a.caption for a in o.submission.attachments] == ["ruang tunggu penuh", None]


def test_a_caption_is_not_taken_as_the_answer_to_another_question(
    engine: IntakeDialogue,
) -> None:
    o = engine.begin(profile_name=None, channel_contact=None, first=CitizenInput(text=DESCRIPTION))
    assert o.state is not None and o.state.step == "location"
    o = engine.advance(o.state, captioned("ruang tunggu penuh"))
    assert o.state is not None and o.state.step == "location"  # still asked where
    assert "location_text" not in o.state.data
    assert [r.text for r in o.replies] == [T("attachment_kept", count=1), T("ask_location")]
    assert o.state.data["attachments"][0]["caption"] == "ruang tunggu penuh"


def test_a_short_caption_at_the_description_step_is_kept(engine: IntakeDialogue) -> None:
    o = engine.begin(profile_name=None, channel_contact=None)
    assert o.state is not None
    o = engine.advance(o.state, captioned("penuh!"))  # too short to be the story
    assert o.state is not None and o.state.step == "description"
    assert o.state.data["attachments"][0]["caption"] == "penuh!"


def test_unexpected_input_is_told_what_is_expected(engine: IntakeDialogue) -> None:
    o = engine.begin(profile_name=None, channel_contact=None, first=CitizenInput(text=DESCRIPTION))
    o = say(engine, o, text="Jl. Melati")
    o = say(engine, o, text="lewati")
    o = say(engine, o, text="selesai")
    assert o.state is not None and o.state.step == "privacy"
    o = say(engine, o, text="terserah")
    assert o.state is not None and o.state.step == "privacy"
    assert o.replies[-1].text.startswith(
        "Silakan pilih salah satu: 1. Biasa, 2. Anonim, 3. Rahasia"
    )
    o = say(engine, o, unsupported=True)
    assert o.replies[0].text == T("unsupported_input")


def test_emergency_gets_112_advice(engine: IntakeDialogue) -> None:
    o = engine.begin(
        profile_name=None,
        channel_contact=None,
        first=CitizenInput(text="Ada kebakaran di gudang puskesmas, asap tebal sekali!"),
    )
    assert any("112" in r.text for r in o.replies)


def test_channel_contact_skips_contact_question(engine: IntakeDialogue) -> None:
    o = engine.begin(
        profile_name="Budi", channel_contact="+628123", first=CitizenInput(text=DESCRIPTION)
    )
    for text in ("Jl. Melati", "lewati", "selesai", "1", "1"):
        o = say(engine, o, text=text)
    assert o.state is not None and o.state.step == "confirm"
    assert o.state.data["contact"] == "+628123"


def test_edit_from_summary_returns_to_summary(engine: IntakeDialogue) -> None:
    o = engine.begin(
        profile_name="Budi", channel_contact="+628123", first=CitizenInput(text=DESCRIPTION)
    )
    for text in ("Jl. Melati", "lewati", "selesai", "1", "1"):
        o = say(engine, o, text=text)
    o = say(engine, o, text="ubah")
    assert o.state is not None and o.state.step == "edit"
    o = say(engine, o, text="2")  # Lokasi
    assert o.replies[-1].text == T("ask_location")
    o = say(engine, o, text="Jl. Mawar 5")
    assert o.state is not None and o.state.step == "confirm"
    assert "Jl. Mawar 5" in o.replies[-2].text


def test_cancel_from_summary(engine: IntakeDialogue) -> None:
    o = engine.begin(
        profile_name="Budi", channel_contact="+628123", first=CitizenInput(text=DESCRIPTION)
    )
    for text in ("Jl. Melati", "lewati", "selesai", "1", "1"):
        o = say(engine, o, text=text)
    o = say(engine, o, text="3")
    assert o.state is None and o.submission is None
    assert o.replies[-1].text == T("cancelled")


def test_match_choice_by_number_words_and_tap() -> None:
    from bot.core.dialogue import Choice

    choices = (Choice("Biasa", "biasa"), Choice("Anonim", "anonim"))
    assert match_choice(choices, CitizenInput(text="2")) == "anonim"
    assert match_choice(choices, CitizenInput(text=" ANONIM. ")) == "anonim"
    assert match_choice(choices, CitizenInput(action="biasa")) == "biasa"
    assert match_choice(choices, CitizenInput(action="hacked")) is None
    assert match_choice(choices, CitizenInput(text="3")) is None


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("0812 3456 7890", "081234567890"),
        ("+62 812-3456-7890", "+6281234567890"),
        ("abc", None),
        ("123", None),
    ],
)
def test_phone_numbers(typed: str, expected: str | None) -> None:
    assert normalise_phone(typed) == expected
