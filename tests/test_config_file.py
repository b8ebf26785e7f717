"""The shipped ``winback.toml`` says its values are the defaults: hold it to that.

Every setting of every section appears in the file, as a key whose value is the code's default,
or, where the default is "none" (derived from elsewhere), as a commented example. The data
sources are the demo's, not defaults; there only the option names must all be shown.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from pydantic import BaseModel

from winback.features.settings import DataSettings, SourceSettings
from winback.settings import _SECTIONS, load_settings
from winback.synthetic.campaigns import OFFERS

CONFIG = Path(__file__).resolve().parents[1] / "winback.toml"
TEXT = CONFIG.read_text(encoding="utf-8")
RAW = tomllib.loads(TEXT)


def _block(header: str) -> str:
    """The lines of the file from ``[header]`` to the next section header."""
    # Up to the next header, except the [[policy.offers]] tables inside [policy].
    pattern = rf"^\[{re.escape(header)}\].*?(?=^\[(?!\[policy\.offers)|\Z)"
    match = re.search(pattern, TEXT, re.M | re.S)
    assert match, f"winback.toml has no [{header}] section"
    return match.group(0)


def _commented(block: str, key: str) -> bool:
    return re.search(rf"^#\s*{re.escape(key)}\s*=", block, re.M) is not None


@pytest.mark.parametrize("section", sorted(_SECTIONS))
def test_every_key_of_a_section_is_shown_with_its_default(section: str) -> None:
    model: type[BaseModel] = _SECTIONS[section]
    shown = RAW.get(section, {})
    block = _block(section)
    for key, field in model.model_fields.items():
        if field.default is None:
            assert key in shown or _commented(block, key), f"[{section}] {key} is not shown"
        else:
            assert key in shown, f"[{section}] {key} is missing from winback.toml"
    # Built from the file, the section equals the code's defaults in every field.
    assert model(**shown) == model(), f"[{section}] in winback.toml differs from the defaults"


def test_data_keys_are_the_defaults_and_every_source_option_is_shown() -> None:
    data = _block("data")
    options = {k: v for k, v in RAW["data"].items() if not isinstance(v, dict)}
    for key, field in DataSettings.model_fields.items():
        if key in RAW["data"] and isinstance(RAW["data"][key], dict):
            continue
        if key in ("transactions", "events", "customers", "campaigns"):
            continue
        if field.default is None:
            assert key in options or _commented(data, key), f"[data] {key} is not shown"
        else:
            assert options.get(key) == field.default, f"[data] {key} differs from the default"
    transactions = _block("data.transactions")
    for key in SourceSettings.model_fields:
        if key == "columns":
            continue
        mentioned = key in RAW["data"]["transactions"] or _commented(transactions, key)
        assert mentioned, f"[data.transactions] does not show the option {key}"


def test_the_shipped_offers_are_the_simulated_worlds_and_the_file_loads() -> None:
    settings = load_settings(CONFIG)
    assert tuple(o.name for o in settings.policy.offers) == OFFERS


def test_a_commented_key_is_not_taken_for_a_shown_one() -> None:
    # The checker itself: a key only in prose does not count, a commented assignment does.
    block = "[x]\n# horizon_days is the horizon\n# periods = 3\n"
    assert not _commented(block, "horizon_days")
    assert _commented(block, "periods")
