"""docs/server.md's Python script runs exactly as printed against a real `paillier-gpu serve`,
with the organisation's id and admin key that `server init` printed in the environment, and
prints what the page says it prints."""

import os
import re
import subprocess
import sys
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "docs" / "server.md"


def the_script():
    blocks = [b for b in re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.S)
              if "asyncio.run(main())" in b]
    assert len(blocks) == 1, f"docs/server.md should hold one whole script, found {len(blocks)}"
    return blocks[0]


def test_the_script_runs_as_printed(server, tmp_path):
    script = tmp_path / "search.py"
    script.write_text(the_script())
    env = {k: v for k, v in os.environ.items() if not k.startswith("XTRACE_")}
    env.update(XTRACE_ORG_ID=server["org"], XTRACE_ADMIN_KEY=server["admin"],
               XTRACE_API_URL=server["url"], PYTHONWARNINGS="default")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    said = done.stdout.strip().splitlines()
    assert len(said) == 1 and said[0].startswith("nearest: [42, "), done.stdout
    nearest = re.fullmatch(r"nearest: \[42, \d+, \d+\], at distance (\d+): document 41", said[0])
    assert nearest, said[0]
    # Noise of a tenth of a unit flips a few of 512 signs; another record differs in about half.
    assert int(nearest.group(1)) < 64, said[0]
    # Every client is closed: aiohttp warns of an unclosed session otherwise.
    assert "Unclosed" not in done.stderr, done.stderr
