"""`pacsbridge send` and `pacsbridge messages` as a user runs them, against the running server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "hl7"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pacsbridge", *args], capture_output=True,
                          text=True, timeout=120)  # fmt: skip


def test_send_prints_each_ack_and_messages_finds_shows_and_reprocesses(
    server, settings, tmp_path, unique
):
    orm = (FIXTURES / "design-orm-o01.hl7").read_bytes()
    good = tmp_path / "good.hl7"
    good.write_bytes(orm.replace(b"MSG001", f"CLI-{unique}".encode())
                     .replace(b"ORD-2025-001", f"ORD-{unique}".encode()))  # fmt: skip
    bad = tmp_path / "bad.hl7"
    bad.write_bytes(orm.replace(b"MSG001", f"CLX-{unique}".encode()).replace(b"ORC|NW", b"ORC|ZZ"))
    sent = run("send", str(good), str(bad), "--to", f"127.0.0.1:{server.mllp_port}")
    assert sent.returncode == 1, sent.stderr
    assert f"good.hl7: AA CLI-{unique}" in sent.stdout
    assert f"bad.hl7: AE CLX-{unique}" in sent.stdout
    database = ["--database-url", settings.effective_database_url()]
    listed = run("messages", *database, "list", "--control-id", f"CLI-{unique}")
    assert listed.returncode == 0, listed.stderr
    assert f"CLI-{unique}" in listed.stdout and "ORM^O01" in listed.stdout
    pk = next(line.split("\t")[0] for line in listed.stdout.splitlines() if f"CLI-{unique}" in line)
    shown = run("messages", *database, "show", pk)
    assert "PID-5: GARCIA^PEDRO^M" in shown.stdout and "MSA|AA|" in shown.stdout
    assert "touched ServiceRequest/" in shown.stdout
    again = run("messages", *database, "reprocess", pk)
    assert again.returncode == 0 and "MSA|AA|" in again.stdout


def test_send_to_nowhere_says_what_to_do(tmp_path):
    path = tmp_path / "m.hl7"
    path.write_bytes((FIXTURES / "design-orm-o01.hl7").read_bytes())
    result = run("send", str(path), "--to", "127.0.0.1:1")
    assert result.returncode == 1
    assert "Is pacsbridge listening" in result.stderr


def test_send_of_a_missing_or_foreign_file_sends_nothing_and_says_why(tmp_path):
    missing = run("send", str(tmp_path / "nope.hl7"), "--to", "127.0.0.1:1")
    assert missing.returncode == 2 and "Check the path" in missing.stderr
    foreign = tmp_path / "notes.txt"
    foreign.write_text("dear colleague,\nplease find attached\n")
    refused = run("send", str(foreign), "--to", "127.0.0.1:1")
    assert refused.returncode == 2
    assert "notes.txt is not an HL7 v2 message" in refused.stderr
    assert "begin with MSH" in refused.stderr and "Traceback" not in refused.stderr


def test_reprocess_of_many_by_id_or_by_filter_applies_each_once(server, settings, tmp_path,
                                                                unique):  # fmt: skip
    sender = f"S{unique}"[:20]
    orm = (FIXTURES / "design-orm-o01.hl7").read_bytes().replace(b"|HIS|", f"|{sender}|".encode())
    paths = []
    for n in range(3):
        path = tmp_path / f"orm{n}.hl7"
        path.write_bytes(orm.replace(b"MSG001", f"RP{n}-{unique}".encode())
                         .replace(b"ORD-2025-001", f"ORD{n}-{unique}".encode()))  # fmt: skip
        paths.append(str(path))
    assert run("send", *paths, "--to", f"127.0.0.1:{server.mllp_port}").returncode == 0
    database = ["messages", "--database-url", settings.effective_database_url()]

    chosen = run(*database, "reprocess", "--sender", sender)
    assert chosen.returncode == 0, chosen.stderr
    assert "reprocessed 3: 3 accepted, 0 not" in chosen.stdout
    again = run(*database, "reprocess", "--sender", sender)  # the copies are not chosen
    assert "reprocessed 3: 3 accepted, 0 not" in again.stdout

    listed = run(*database, "list", "--sender", sender, "--limit", "100")
    pks = [line.split("\t")[0] for line in listed.stdout.splitlines() if "RP0-" in line]
    assert len(pks) == 3  # the original and two reprocessed copies
    named = run(*database, "reprocess", *pks[:2])
    assert named.returncode == 0 and "reprocessed 2" in named.stdout


def test_reprocess_needs_ids_or_a_filter_and_refuses_unknown_ids(settings):
    database = ["messages", "--database-url", settings.effective_database_url()]
    nothing = run(*database, "reprocess")
    assert nothing.returncode == 2 and "Give ids, or filters" in nothing.stderr
    unknown = run(*database, "reprocess", "999999999")
    assert unknown.returncode == 1 and "no message 999999999" in unknown.stderr
