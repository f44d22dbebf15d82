"""The README's quick start runs as written against a live server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from .conftest import Server

README = Path(__file__).resolve().parents[1] / "README.md"


def test_quick_start_runs(server: Server, tmp_path: Path) -> None:
    text = README.read_text()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1
    script = tmp_path / "quickstart.py"
    script.write_text(blocks[0].replace('"http://127.0.0.1:8080/v1"', repr(server.base_url)))
    env = {**os.environ, "FAOS_API_KEY": server.test_key}
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    print(out.stdout)
    lines = out.stdout.splitlines()
    assert lines[0].startswith("agt_")
    assert "succeeded HELLO" in out.stdout
    assert any(line.startswith("user: Hello!") for line in lines)
