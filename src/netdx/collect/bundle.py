"""The shippable collector: one zip that a bare `python3 -I -S bundle.zip` runs.

It holds `netdx/netlink`, `netdx/collect` and an empty `netdx/__init__.py` (the real one
imports the rest of netdx), plus a `__main__.py` at the top. Ansible ships modules the same
way; the target needs nothing but python3.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # src/netdx
_SHIPPED = ("netlink", "collect")
_MAIN = "from netdx.collect.document import main\nimport sys\nsys.exit(main())\n"
_INIT = '"""The part of netdx shipped to a server: netlink and the collector core."""\n'


def bundle_bytes() -> bytes:
    """The bundle as bytes (deterministic: sorted names, fixed timestamps)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        _add(archive, "__main__.py", _MAIN)
        _add(archive, "netdx/__init__.py", _INIT)
        for package in _SHIPPED:
            for source in sorted((_PACKAGE / package).glob("*.py")):
                text = source.read_text(encoding="utf-8")
                _add(archive, f"netdx/{package}/{source.name}", text)
    return buffer.getvalue()


def build_bundle(path: str | Path) -> Path:
    """Write the bundle to `path` and return it."""
    out = Path(path)
    out.write_bytes(bundle_bytes())
    return out


def _add(archive: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, text)
