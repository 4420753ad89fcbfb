"""gateway/schema.graphql is the SDL of the code; regenerate with `integra export-schema`."""

from __future__ import annotations

from gateway.schema import SDL_PATH, build_schema


def test_exported_sdl_matches_the_code() -> None:
    assert SDL_PATH.read_text(encoding="utf-8") == build_schema().as_str() + "\n", (
        "gateway/schema.graphql drifted from the code: run `integra export-schema`"
    )


def test_readme_test_command_is_what_ci_runs() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    assert "make test" in (root / ".ci" / "run").read_text()
    assert "make test" in (root / "README.md").read_text()
