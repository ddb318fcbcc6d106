"""The playground's panes for any agency file: one per chat the file names, the person of
a private chat being its owner, the liaison's chat when there is one."""

from __future__ import annotations

import tomllib

import pytest

from bot.agency import parse_office
from bot.playground import panes_of

BASE = """
[agency]
name = "Dinas Contoh"
timezone = "Asia/Jakarta"

[[units]]
code = "YANKES"
name = "Bidang Pelayanan Kesehatan"
chat_id = -1001000000010

[[units]]
code = "P2P"
name = "Bidang Pencegahan dan Pengendalian Penyakit"
chat_id = -1001000000011
"""


def panes(groups: str, rest: str = "") -> dict[str, tuple[int | None, int | None]]:
    office = parse_office(tomllib.loads(BASE + groups + rest))
    return {
        pane.id: (pane.chat_id, pane.user.id if pane.user else None) for pane in panes_of(office)
    }


def test_a_private_supervisor_chat_is_played_by_its_owner() -> None:
    found = panes("[groups]\nofficers_chat_id = -1001000000001\nsupervisor_chat_id = 424242\n")
    assert list(found) == [
        "citizen-telegram",
        "citizen-whatsapp",
        "officers",
        "officer-private",
        "unit-YANKES",
        "unit-P2P",
        "supervisor",
    ]
    assert found["supervisor"] == (424242, 424242)


def test_a_supervisor_in_the_officers_group_has_no_pane_of_its_own() -> None:
    found = panes(
        "[groups]\nofficers_chat_id = -1001000000001\nsupervisor_chat_id = -1001000000001\n"
    )
    assert "supervisor" not in found and found["officers"][0] == -1001000000001


def test_the_officer_is_a_listed_one_and_each_liaison_has_a_private_pane() -> None:
    found = panes(
        "[groups]\nofficers_chat_id = -1001000000001\nofficer_ids = [31337, 27182]\n",
        "[lapor]\nenter_all = true\nliaison_ids = [55501, 55502]\n",
    )
    assert found["officers"] == (-1001000000001, 27182)
    assert found["officer-private"] == (27182, 27182)
    assert (found["liaison-1"], found["liaison-2"]) == ((55501, 55501), (55502, 55502))
    assert "supervisor" not in found


@pytest.mark.parametrize(
    ("workflow", "officers", "supervisor"),
    [
        ("", "Ketuk tombol unit untuk mendisposisi;", "Ketik /rekap"),
        (
            'disposition_by = "supervisor"',
            "Ketuk tombol unit untuk mengusulkan disposisi kepada atasan;",
            "Usulan disposisi petugas muncul di sini",
        ),
        ("follow_up_plan = true", "/disposisi KODE UNIT rencana tindak lanjut;", "Ketik /rekap"),
        (
            'disposition_by = "supervisor"\nfollow_up_plan = true',
            "/disposisi KODE UNIT rencana tindak lanjut untuk mengusulkannya kepada atasan;",
            "Usulan disposisi petugas muncul di sini",
        ),
    ],
)
def test_the_empty_panes_say_what_the_agency_s_chain_asks(
    workflow: str, officers: str, supervisor: str
) -> None:
    office = parse_office(
        tomllib.loads(
            BASE
            + "[groups]\nofficers_chat_id = -1001000000001\nsupervisor_chat_id = -1001000000002\n"
            + f"[workflow]\n{workflow}\n"
        )
    )
    hints = {pane.id: pane.hint for pane in panes_of(office)}
    assert officers in hints["officers"]
    assert supervisor in hints["supervisor"]
    # a unit of a team that plans reports its result; otherwise it answers
    unit = "laporkan hasilnya" if "follow_up_plan" in workflow else "jawab dengan ↩ Balas"
    assert unit in hints["unit-YANKES"]
