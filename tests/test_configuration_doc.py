"""docs/configuration.md names every setting: a REGISTRY_* variable added without a line there fails."""

from pathlib import Path

from registry.settings import Settings

DOC = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"


def test_every_setting_is_documented():
    text = DOC.read_text()
    missing = [name for name in Settings.model_fields if f"`REGISTRY_{name.upper()}`" not in text]
    assert missing == [], f"not in docs/configuration.md: {missing}"
