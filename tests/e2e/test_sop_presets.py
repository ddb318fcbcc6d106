"""Each example agency of examples/agencies/ walked through its own SOP, step by step as
the seed names them (/work/shared/seeds/), over the webhook against the stand-ins.

A test loads the preset file itself; it changes only what a test must: the placeholder
chat ids become the test's groups, and Telegram's pacing is raised ([telegram]), never
the chain of command or the budgets.
"""

from __future__ import annotations

from pathlib import Path

from bot.standins.telegram import Chat, TelegramStandIn, User
from tests.e2e.conftest import (
    GENEROUS_LIMITS,
    OFFICERS,
    P2P,
    SUPERVISOR,
    YANKES,
    running,
)

PRESETS = Path(__file__).parents[2] / "examples" / "agencies"
STORY = "Petugas loket Puskesmas Cibodas meminta biaya tambahan untuk surat rujukan BPJS."


def preset(name: str, chats: dict[int, int]) -> str:
    """The preset's text with its placeholder chat ids replaced by the test's groups."""
    text = (PRESETS / name).read_text(encoding="utf-8")
    for placeholder, chat in chats.items():
        assert str(placeholder) in text, placeholder
        text = text.replace(str(placeholder), str(chat))
    return text + GENEROUS_LIMITS


async def test_sop000_dinkes_kota_tangerang_laksa(
    tg: TelegramStandIn, database_url: str, tmp_path: Path
) -> None:
    """SOP 000, Pengelolaan Aspirasi Masyarakat melalui LAKSA, steps 1-6."""
    agency = preset(
        "sop000-dinkes-kota-tangerang.toml",
        {
            -1001100000001: OFFICERS,
            -1001100000002: SUPERVISOR,
            -1001100000010: YANKES,
            -1001100000011: P2P,
        },
    )
    head = User(9001, "Kepala", "Dinas")
    supervisor = Chat.group(SUPERVISOR, "Kepala Dinas Kesehatan")
    async with running(tg, database_url, tmp_path, agency=agency) as world:
        # 1. Pengaduan masuk dari masyarakat: a citizen writes to the bot; the SOP's
        #    acknowledgement and a tracking code of this office's prefix come back.
        code = await world.file_complaint(world.citizen, STORY)
        assert code.startswith("DKT-")
        # 2. Monitoring pengaduan yang masuk (10 menit): it is in the operators' group at
        #    once, with a button per Bidang of the office.
        relay = await world.expect(OFFICERS, f"Pengaduan baru {code}")
        assert STORY in relay.content
        labels = [label for label, _ in relay.buttons]
        assert {"➡️ YANKES", "➡️ KESMAS", "➡️ P2P", "➡️ SDK"} <= set(labels)
        # 3. Mendisposisikan pengaduan yang masuk ke Bidang terkait (1 hari).
        await tg.user_taps(world.officer, relay, "➡️ YANKES")
        unit_case = await world.expect(YANKES, f"Disposisi {code}")
        assert STORY in unit_case.content
        # 4. Mengirimkan tanggapan masyarakat terhadap tindak lanjut Bidang terkait:
        #    the reporter sees "Dalam Proses", then the Bidang's answer.
        await world.expect(world.citizen.id, "Dalam Proses")
        answer = "Petugas loket sudah ditegur; biaya rujukan BPJS tidak dipungut."
        await world.says(world.unit_staff, f"/jawab {code} {answer}", chat=world.yankes)
        told = await world.expect(world.citizen.id, f"atas pengaduan {code}")
        assert answer in told.content
        # 5. Menutup pengaduan dan membuat status selesai (5 menit).
        await world.says(world.officer, f"/selesai {code}", chat=world.officers)
        await world.expect(world.citizen.id, f"Pengaduan {code} telah Selesai")
        # 6. Mencatat dan mendata pengaduan: the recap for the Kepala Dinas counts it.
        await world.says(head, "/rekap", chat=supervisor)
        summary = await world.expect(SUPERVISOR, "📊 Rekap pengaduan Dinas Kesehatan Kota")
        assert "Diterima: 1\n" in summary.content
        assert "Selesai 1" in summary.content
