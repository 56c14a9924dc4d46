"""The shipped policies: one TOML file per compensation regime in DOMAIN.md."""

from __future__ import annotations

from pathlib import Path

DIRECTORY = Path(__file__).parent

KAKAO_2022 = ("kakao-2022-paid", "kakao-2022-free-goodwill", "kakao-2022-small-business")


def path(policy_id: str) -> Path:
    """The file of a shipped policy by its id (``content-3x`` -> .../content-3x.toml)."""
    return DIRECTORY / f"{policy_id}.toml"


def shipped() -> list[Path]:
    return sorted(DIRECTORY.glob("*.toml"))
