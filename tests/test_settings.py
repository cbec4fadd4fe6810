"""Settings come from [tool.runwise] or runwise.toml, found upward; bad entries become notes."""

from __future__ import annotations

from pathlib import Path

from runwise_core.settings import DEFAULT_SETTINGS, Thresholds, load_settings, settings_from_mapping


def test_no_file_gives_defaults(tmp_path: Path) -> None:
    assert load_settings(tmp_path) == DEFAULT_SETTINGS


def test_pyproject_table_is_found_from_a_subfolder(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.runwise.roles]\n"acc_x" = "accuracy"\n[tool.runwise.anomalies]\nspike_min_z = 14\n'
    )
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    settings = load_settings(sub)
    assert settings.roles == {"acc_x": "accuracy"}
    assert settings.thresholds.spike_min_z == 14.0
    assert settings.path == str(tmp_path / "pyproject.toml")


def test_pyproject_without_table_does_not_stop_the_walk(tmp_path: Path) -> None:
    (tmp_path / "runwise.toml").write_text('[directions]\n"bleu_x" = "higher"\n')
    sub = tmp_path / "proj"
    sub.mkdir()
    (sub / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert load_settings(sub).directions == {"bleu_x": True}


def test_runwise_toml_wins_over_pyproject_in_one_folder(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.runwise.roles]\n"a" = "lr"\n')
    (tmp_path / "runwise.toml").write_text('[tool.runwise.roles]\n"a" = "grad_norm"\n')
    assert load_settings(tmp_path).roles == {"a": "grad_norm"}


def test_unknown_entries_become_notes_not_errors() -> None:
    settings = settings_from_mapping(
        {"roles": {"a": "banana"}, "directions": {"b": "sideways"}, "anomalies": {"nope": 1, "spike_min_z": "x"}, "extra": 1},
        "f.toml",
    )
    assert settings.roles == {} and settings.directions == {}
    assert settings.thresholds == Thresholds()
    assert len(settings.notes) == 5
    assert all(note.startswith("f.toml: ") for note in settings.notes)


def test_unreadable_toml_gives_defaults_with_a_note(tmp_path: Path) -> None:
    (tmp_path / "runwise.toml").write_text("this is [not toml")
    settings = load_settings(tmp_path)
    assert settings.thresholds == Thresholds() and settings.roles == {}
    assert "unreadable" in settings.notes[0]
