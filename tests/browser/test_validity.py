"""The Nu HTML Checker (npm ``vnu-jar``, run with Java) on every web page of the built site: zero errors.

Java and the checker are installed by ``.ci/run``. Elsewhere, when either is
missing, the test is skipped with the command that installs them (under CI
it fails instead, so a broken setup can never pass quietly).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import BuiltSite


def find_vnu() -> Path | None:
    candidates = [os.environ.get("VNU_JAR", "")]
    npm = shutil.which("npm")
    if npm:
        try:
            root = subprocess.run([npm, "root", "-g"], capture_output=True, text=True, timeout=30).stdout.strip()
            candidates.append(f"{root}/vnu-jar/build/dist/vnu.jar")
        except (OSError, subprocess.TimeoutExpired):
            pass
    candidates += ["/usr/local/lib/node_modules/vnu-jar/build/dist/vnu.jar", "/usr/lib/node_modules/vnu-jar/build/dist/vnu.jar"]
    return next((Path(c) for c in candidates if c and Path(c).is_file()), None)


def test_every_page_is_valid_html(built_site: BuiltSite) -> None:
    java, jar = shutil.which("java"), find_vnu()
    if not java or not jar:
        missing = "java (apt-get install -y default-jre-headless)" if not java else "vnu.jar (npm install -g vnu-jar)"
        if os.environ.get("CI"):
            pytest.fail(f"the Nu HTML Checker cannot run: {missing} is missing", pytrace=False)
        pytest.skip(f"the Nu HTML Checker cannot run: {missing} is missing")
    # email/*.html are the mail editions: mail-client markup, checked by the email tests
    pages = sorted(p for p in built_site.public.rglob("*.html") if not p.relative_to(built_site.public).as_posix().startswith("email/"))
    assert len(pages) >= 12
    proc = subprocess.run(
        [java, "-Xss2m", "-jar", str(jar), "--format", "json", "--exit-zero-always", *map(str, pages)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(proc.stderr or proc.stdout)
    errors = [
        f"{m['url'].split(str(built_site.public))[-1]}:{m.get('lastLine', '?')}: {m['message']}"
        for m in report["messages"]
        if m["type"] in ("error", "non-document-error") or m.get("subType") == "fatal"
    ]
    assert not errors, "\n".join(errors[:50])
