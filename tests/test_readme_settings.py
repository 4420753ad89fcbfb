"""The README's configuration table lists exactly the environment variables the code reads."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from gateway.resilience import ResilienceSettings
from services.kpi.app import KpiSettings
from services.runtime.settings import IntegraSettings
from services.scoring.app import ScoringSettings

README = Path(__file__).resolve().parents[1] / "README.md"
SETTINGS: tuple[type[BaseSettings], ...] = (
    IntegraSettings,
    KpiSettings,
    ResilienceSettings,
    ScoringSettings,
)


def code_variables() -> set[str]:
    """Every variable a settings class reads (its first alias when it has aliases)."""
    names: set[str] = set()
    for settings in SETTINGS:
        prefix = str(settings.model_config.get("env_prefix", ""))
        for name, field in settings.model_fields.items():
            alias = field.validation_alias
            if isinstance(alias, AliasChoices):
                names.add(str(alias.choices[0]))
            else:
                names.add(f"{prefix}{name}".upper())
    return names


def readme_variables() -> set[str]:
    """The variables named in the first column of the configuration table."""
    section = README.read_text(encoding="utf-8").split("## Configuration", 1)[1]
    section = section.split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Z0-9_]+)` \|", section, flags=re.MULTILINE))


def test_every_setting_is_documented_and_nothing_else() -> None:
    documented, read = readme_variables(), code_variables()
    assert documented - read == set(), "documented but not read by any settings class"
    assert read - documented == set(), "read by a settings class but missing from the README"
