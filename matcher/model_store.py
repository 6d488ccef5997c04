"""The model registry on disk: one folder per version, verified before it is ever loaded.

Layout under the models directory::

    CURRENT                       the version that serves (one line)
    <version>/model.joblib        the artifact
    <version>/model.joblib.sha256 its SHA-256
    <version>/metadata.json       library versions, features, training window, data
                                  fingerprint, metrics, gate decision, code version, SHA-256

Loading a pickle runs code, so :func:`load` refuses anything it cannot vouch for: a file whose
hash differs from the one written beside it (tampered or corrupted), and a model written by
another scikit-learn version (scikit-learn does not promise that pickles survive upgrades).
This is the only module that deserialises artifacts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import pickle
import platform
import re
import secrets
import subprocess
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import scipy
import sklearn
from sklearn.exceptions import InconsistentVersionWarning

from matcher import clock
from matcher.errors import MatcherError

ARTIFACT = "model.joblib"
CHECKSUM = "model.joblib.sha256"
METADATA = "metadata.json"
CURRENT = "CURRENT"
PROMOTIONS = "promotions.jsonl"
_VERSION_NAME = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$")


class ModelError(MatcherError):
    """A model version cannot be stored, found or trusted."""

    code = "model_error"


class ModelNotFound(ModelError):
    code = "model_not_found"


class ModelTampered(ModelError):
    code = "model_tampered"


class ModelIncompatible(ModelError):
    code = "model_incompatible"


@dataclass(frozen=True)
class StoredModel:
    version: str
    model: Any
    metadata: dict[str, Any]


def library_versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pandas": pd.__version__,
        "joblib": joblib.__version__,
    }


def code_version() -> str:
    """The git commit of the code that trained the model, when known."""
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _folder(root: Path, version: str) -> Path:
    if not _VERSION_NAME.match(version):
        raise ModelNotFound(f"invalid model version name {version!r}")
    return root / version


def new_version_name(now: dt.datetime | None = None) -> str:
    now = now or clock.now()
    return now.strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)


def save(root: Path, model: Any, metadata: dict[str, Any], version: str | None = None) -> str:
    """Write a new version folder (artifact, checksum, metadata); return its name."""
    root = Path(root)
    version = version or new_version_name()
    folder = _folder(root, version)
    folder.mkdir(parents=True, exist_ok=False)
    artifact = folder / ARTIFACT
    joblib.dump(model, artifact, compress=3)
    checksum = sha256_of(artifact)
    (folder / CHECKSUM).write_text(f"{checksum}  {ARTIFACT}\n", encoding="utf-8")
    full = {
        "version": version,
        "created_at": clock.now().replace(tzinfo=dt.UTC).isoformat(timespec="seconds"),
        "libraries": library_versions(),
        "code_version": code_version(),
        "sha256": checksum,
        **metadata,
    }
    (folder / METADATA).write_text(
        json.dumps(full, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
    )
    return version


def read_metadata(root: Path, version: str) -> dict[str, Any]:
    """The version's metadata, plus its promotion history (kept apart: metadata never changes)."""
    folder = _folder(Path(root), version)
    path = folder / METADATA
    if not path.is_file():
        raise ModelNotFound(f"no model version {version!r}")
    metadata = json.loads(path.read_text(encoding="utf-8"))
    promotions = folder / PROMOTIONS
    if promotions.is_file():
        history = [json.loads(line) for line in promotions.read_text("utf-8").splitlines() if line]
        metadata["promotions"] = history
        metadata["promoted_by"] = history[-1] if history else None
    return metadata


def record_promotion(root: Path, version: str, who: dict[str, Any]) -> None:
    """Append who promoted a version, when and why (an audit trail beside the artifact)."""
    folder = _folder(Path(root), version)
    entry = {"at": clock.now().replace(tzinfo=dt.UTC).isoformat(timespec="seconds"), **who}
    with (folder / PROMOTIONS).open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, ensure_ascii=False) + "\n")


def list_versions(root: Path) -> list[dict[str, Any]]:
    """Metadata of every stored version, newest first (ties by name, so pages are stable)."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = []
    for folder in root.iterdir():
        if folder.is_dir() and (folder / METADATA).is_file():
            try:
                found.append(read_metadata(root, folder.name))
            except (ModelError, ValueError):
                continue
    return sorted(found, key=lambda m: (m.get("created_at", ""), m["version"]), reverse=True)


def current_version(root: Path) -> str | None:
    path = Path(root) / CURRENT
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8").strip()
    return text or None


def promote(root: Path, version: str) -> None:
    """Make a version current, atomically, so running servers switch on their next request."""
    root = Path(root)
    read_metadata(root, version)  # must exist
    tmp = root / f".{CURRENT}.{secrets.token_hex(4)}"
    tmp.write_text(version + "\n", encoding="utf-8")
    os.replace(tmp, root / CURRENT)


def verify(root: Path, version: str) -> dict[str, Any]:
    """Check the artifact against its recorded hash and this server's libraries."""
    folder = _folder(Path(root), version)
    metadata = read_metadata(root, version)
    artifact = folder / ARTIFACT
    if not artifact.is_file():
        raise ModelNotFound(f"model {version}: artifact missing")
    recorded = (folder / CHECKSUM).read_text(encoding="utf-8").split()[0]
    actual = sha256_of(artifact)
    if actual != recorded or actual != metadata.get("sha256"):
        raise ModelTampered(
            f"model {version}: SHA-256 of {ARTIFACT} is {actual[:12]}…, recorded "
            f"{recorded[:12]}…; refusing to load a file that changed after training"
        )
    trained_with = metadata.get("libraries", {}).get("scikit-learn")
    if trained_with != sklearn.__version__:
        raise ModelIncompatible(
            f"model {version} was trained with scikit-learn {trained_with}; this server runs "
            f"scikit-learn {sklearn.__version__}. Retrain it with `caunoi train`."
        )
    return metadata


def load(root: Path, version: str) -> StoredModel:
    """Load a verified version; any version-skew warning while unpickling is an error."""
    metadata = verify(root, version)
    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        try:
            model = joblib.load(_folder(Path(root), version) / ARTIFACT)
        except InconsistentVersionWarning as warning:
            raise ModelIncompatible(f"model {version}: {warning}") from None
    return StoredModel(version=version, model=model, metadata=metadata)


# ---------------------------------------------------------------- signed results in a database


def dumps_signed(value: Any, key: bytes) -> bytes:
    """A compressed pickle prefixed with its HMAC-SHA-256 under ``key`` (the install's
    secret), for results a consumer stores in the database for the web processes to read
    (api.planning): :func:`loads_signed` unpickles only what was signed with the same key,
    so a row written by anyone without the secret is refused, never run."""
    body = zlib.compress(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), 6)
    return hmac.new(key, body, hashlib.sha256).digest() + body


def loads_signed(data: bytes, key: bytes) -> Any:
    """The value :func:`dumps_signed` stored, after checking its signature."""
    mac, body = data[: hashlib.sha256().digest_size], data[hashlib.sha256().digest_size :]
    if not hmac.compare_digest(mac, hmac.new(key, body, hashlib.sha256).digest()):
        raise ModelError("stored result's signature does not match its contents: refused")
    return pickle.loads(zlib.decompress(body))
