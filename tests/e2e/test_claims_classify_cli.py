"""`makegood claims classify FILE`: Korean, English and mixed texts; CSV and TSV; bad input."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

MAKEGOOD = str(Path(sys.executable).with_name("makegood"))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MAKEGOOD, "claims", *args], capture_output=True, text=True,
                          timeout=120, check=False)


def test_classify_csv_keeps_columns_and_adds_damage_category_and_drivers(tmp_path: Path) -> None:
    src = tmp_path / "reports.csv"
    src.write_text(
        "id,text,channel\n"
        "r1,다음 메일로 면접 안내 받기로 했는데 메일이 반송돼서 면접을 놓쳤어요 ㅠㅠ,app\n"
        'r2,"KakaoPay transfer of 50,000 won left my account but never arrived",web\n'
        "r3,카톡채널로 주문받는 꽃집인데 주말 sales 다 날아감 매출손실 50만원,app\n"
        "r4,보상은 언제 받을 수 있나요?,web\n"
        "r5,직원분들 밤새 고생하셨어요 힘내세요!!,app\n", encoding="utf-8")
    out = tmp_path / "triaged.csv"
    result = run("classify", str(src), "--out", str(out))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["id"] for r in rows] == ["r1", "r2", "r3", "r4", "r5"]
    assert [r["channel"] for r in rows] == ["app", "web", "app", "web", "app"]
    assert [r["damage"] for r in rows] == ["yes", "yes", "yes", "no", "no"]
    assert [r["category"] for r in rows] == ["missed_communication", "payment_failed",
                                             "business_sales", "other", "other"]
    assert [r["label"] for r in rows][3:] == ["question", "encouragement"]
    assert "메일" in rows[0]["drivers"].split("; ")
    assert "kakaopay" in rows[1]["drivers"].split("; ")


def test_classify_tsv_writes_tsv_to_standard_output(tmp_path: Path) -> None:
    src = tmp_path / "reports.tsv"
    src.write_text("text\tn\n업비트 카카오 로그인이 안 돼서 코인 매도를 못 했어요\t1\n", encoding="utf-8")
    result = run("classify", str(src))
    assert result.returncode == 0, result.stderr
    header, row = result.stdout.splitlines()
    assert header.split("\t") == ["text", "n", "damage", "category", "label", "drivers"]
    assert row.split("\t")[2:4] == ["yes", "partner_login"]


def test_classify_without_a_text_column_exits_2_naming_file_and_field(tmp_path: Path) -> None:
    src = tmp_path / "wrong.csv"
    src.write_text("description\n카톡 안 돼요\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    result = run("classify", str(src), "--out", str(out))
    assert result.returncode == 2
    assert "wrong.csv" in result.stderr
    assert "'text'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_classify_a_row_with_too_many_fields_exits_2_with_its_line(tmp_path: Path) -> None:
    src = tmp_path / "ragged.csv"
    src.write_text("text\n카톡 안 돼요\n택시,비행기,놓침\n", encoding="utf-8")
    result = run("classify", str(src))
    assert result.returncode == 2
    assert "line 3" in result.stderr


def test_classify_a_missing_file_exits_2(tmp_path: Path) -> None:
    result = run("classify", str(tmp_path / "nope.csv"))
    assert result.returncode == 2
    assert "no such file" in result.stderr


def test_screen_on_a_fresh_database_reports_progress_and_zero_claims(tmp_path: Path) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if k != "MAKEGOOD_DATABASE_URL"}
    upgrade = subprocess.run([MAKEGOOD, "db", "upgrade"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=120, check=False)
    assert upgrade.returncode == 0, upgrade.stderr
    result = subprocess.run([MAKEGOOD, "claims", "screen"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "0 claims screened" in result.stdout
    assert "stored: 0 of 0 claims" in result.stderr
