"""The Python example on the README's first screen runs as printed, in a fresh interpreter and
folder, and prints what its comment says: record 42 first, at distance 0. (The rest of that
screen runs in crates/cli/tests/cli/readme_first_screen.rs.)"""

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
FIRST_SCREEN = 40


def the_example():
    screen = "\n".join(README.read_text().splitlines()[:FIRST_SCREEN])
    blocks = re.findall(r"```python\n(.*?)```", screen, flags=re.S)
    assert len(blocks) == 1, f"the README's first screen should hold one Python example: {blocks}"
    return blocks[0]


def test_the_first_screens_python_example_runs_as_printed(tmp_path):
    example = the_example()
    assert example.splitlines()[0].endswith("# pip install target/wheels/paillier_gpu-*.whl")
    script = tmp_path / "example.py"
    script.write_text(example)
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    printed = re.fullmatch(
        r"\(array\(\[\s*42,\s*\d+,\s*\d+\], dtype=uint64\), "
        r"array\(\[\s*0,\s*(\d+),\s*(\d+)\], dtype=uint32\)\)\n",
        done.stdout)
    assert printed, done.stdout
    # Another random record differs in about half of 512 bits.
    assert 0 < int(printed.group(1)) <= int(printed.group(2)), done.stdout
