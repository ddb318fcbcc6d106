"""An officer entering a complaint received elsewhere (`/catat`), in their private chat.

Where the entry stands is kept like a citizen's intake, in the dialogues table, on the
reporter row of the officer's own private chat (the table is keyed by a reporter; the
officer's chat has one as soon as they write, as anyone's does). Its steps are
"catat:…" (`bot.core.entry`), which no citizen step is, and the Telegram routing hands
every message of that chat to this module while such a step is stored, so the citizen
Reception never reads it. Should the officer be half-way through a complaint of their
own (an officer may complain as a citizen), that dialogue is set aside inside the
entry's state and put back as it was when the entry is sent or cancelled.

A restart resumes the entry where it was, as it does a citizen's intake. The officer's
messages here are not counted against any reporter's limits, and the complaint they
enter is never theirs (`CaseDesk.enter`).
"""

from __future__ import annotations

from bot.core.cases import CaseDesk
from bot.core.dialogue import IDLE, CitizenInput, Reply
from bot.core.entry import PREFIX, EntryDialogue, is_entry
from bot.core.model import Channel, Reporter
from bot.core.ports import DialogueState
from bot.core.reception import choice_rows, rejection_text, strip_choice
from handlers.staff import StaffMessage

SET_ASIDE = "citizen"  # the officer's own intake, kept in the entry's state meanwhile


async def in_progress(desk: CaseDesk, chat_id: str) -> bool:
    """Whether an entry is under way in this private chat."""
    step = await desk.uow.dialogues.step_in(Channel.TELEGRAM, chat_id)
    return step is not None and step.startswith(PREFIX)


async def begin(desk: CaseDesk, msg: StaffMessage) -> None:
    """`/catat`: starts an entry (or shows where the one under way is)."""
    reporter = await _reporter(desk, msg)
    assert reporter.id is not None
    state = await desk.uow.dialogues.load(reporter.id)
    dialogue = EntryDialogue(desk.t, desk.office)
    if state is not None and is_entry(state):
        await _say(desk, msg, [Reply(desk.t("entry_in_progress")), *dialogue.prompt(state)])
        return
    outcome = dialogue.begin()
    assert outcome.state is not None
    if state is not None and state.step != IDLE:
        outcome.state.data[SET_ASIDE] = {"step": state.step, "data": state.data}
    elif state is not None:
        outcome.state.data["albums"] = list(state.data.get("albums", []))
    await desk.uow.dialogues.save(reporter.id, outcome.state)
    await _say(desk, msg, outcome.replies)


async def on_input(desk: CaseDesk, msg: StaffMessage, inp: CitizenInput) -> None:
    """The officer's next message in the entry under way."""
    reporter = await _reporter(desk, msg)
    assert reporter.id is not None
    state = await desk.uow.dialogues.load(reporter.id)
    if state is None or not is_entry(state):
        return  # the routing saw an entry under way in this same transaction
    refused = [Reply(rejection_text(desk.t, desk.office, r)) for r in inp.rejected]
    if inp.rejected and inp.unsupported:
        await _say(desk, msg, refused)  # nothing but refused files
        return
    today = desk.now.astimezone(desk.office.timezone).date()
    outcome = EntryDialogue(desk.t, desk.office).advance(state, strip_choice(inp), today)
    if outcome.state is not None:
        await desk.uow.dialogues.save(reporter.id, outcome.state)
    else:
        await desk.uow.dialogues.save(reporter.id, _put_back(state))
    await _say(desk, msg, [*refused, *outcome.replies])
    if outcome.entry is not None:
        await desk.enter(outcome.entry, msg.actor, msg.chat)


def _put_back(state: DialogueState) -> DialogueState:
    """The officer's own intake as it was before the entry (or none)."""
    aside = state.data.get(SET_ASIDE)
    if isinstance(aside, dict):
        return DialogueState(str(aside["step"]), dict(aside["data"]))
    return DialogueState(IDLE, {"albums": list(state.data.get("albums", []))})


async def _reporter(desk: CaseDesk, msg: StaffMessage) -> Reporter:
    return await desk.uow.reporters.arrived(Channel.TELEGRAM, msg.chat_id, msg.user_name, desk.now)


async def _say(desk: CaseDesk, msg: StaffMessage, replies: list[Reply]) -> None:
    for reply in replies:
        await desk.tell(msg.chat, reply.text, buttons=choice_rows(reply))
