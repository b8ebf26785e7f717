"""Lists marked as sent: an append-only record of what marketing sent, and the list as CSV bytes.

Marking a list as sent changes no model and no data: it writes one new folder under the
configured folder (``[api] sent_lists_dir``), named by the time and the list's SHA-256, holding
the list as ``winback list`` writes it, its summary page and ``settings.json`` (the choices, the
seed, the model and the time). A folder is written under a temporary name and renamed whole, and
an existing one is never overwritten. ``winback evaluate --list <folder>/winback_list.csv``
measures the list once the horizon has passed and the campaigns table records the offers.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from winback.common import DataSourceError, write_frame_as
from winback.serving.lists import WinbackList, publish_list

#: The file names inside a record's folder.
LIST_FILE = "winback_list.csv"
SUMMARY_FILE = "winback_list.summary.html"
SETTINGS_FILE = "settings.json"


def list_csv(wl: WinbackList) -> bytes:
    """The list as the CSV bytes ``winback list --out F.csv`` writes for it."""
    with tempfile.TemporaryDirectory(prefix="winback-list-") as tmp:
        path = Path(tmp) / LIST_FILE
        write_frame_as(wl.frame, path, "csv")
        return path.read_bytes()


def record_sent(wl: WinbackList, folder: Path, choices: dict[str, Any], sent_at: datetime) -> Path:
    """Record ``wl`` as sent in a new folder under ``folder``; return that folder.

    ``choices`` (budget, offers, control share, model) go into ``settings.json`` beside the
    seed, the cutoff, the time and the list's SHA-256. The same list (the same bytes) is recorded
    once: a double click or a resubmitted form cannot count one campaign twice.
    """
    digest = hashlib.sha256(list_csv(wl)).hexdigest()
    name = f"{sent_at:%Y%m%dT%H%M%SZ}-{digest[:12]}"
    target = folder / name
    staging = folder / f".{name}.{uuid.uuid4().hex[:8]}.tmp"
    earlier = sorted(folder.glob(f"*-{digest[:12]}")) if folder.is_dir() else []
    if earlier:
        raise DataSourceError(
            f"this list was already recorded as sent, as {earlier[0].name}; nothing was written"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        staging.mkdir()
        publish_list(wl, str(staging / LIST_FILE), staging / SUMMARY_FILE)
        record = {
            **choices,
            "seed": wl.settings.seed,
            "as_of": f"{wl.day}",
            "sent_at": sent_at.isoformat(),
            "rows": len(wl.frame),
            "offers_sent": int((~wl.frame["control"].astype(bool)).sum()),
            "list_sha256": digest,
        }
        (staging / SETTINGS_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        staging.rename(target)  # refuses a non-empty target: never overwrites a record
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise DataSourceError(
            f"cannot record the list under {folder}: {exc.strerror or exc}"
        ) from exc
    return target


__all__ = ["LIST_FILE", "SETTINGS_FILE", "SUMMARY_FILE", "list_csv", "record_sent"]
