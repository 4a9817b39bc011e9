"""python/examples/rag_langchain.py runs as its docstring says, with nothing fetched: it starts
the paillier-gpu program's `serve`, indexes the standard library's docstrings with WordLlama's
model from its wheel, and answers its questions through a retriever, the right passage among
the three where the question names it plainly (the context, so the hyperplanes, is new each
run)."""

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "rag_langchain.py"


def test_the_example_answers_its_questions(cli, tmp_path):
    ran = subprocess.run([sys.executable, EXAMPLE, "--program", cli], capture_output=True, text=True,
                         cwd=tmp_path, timeout=600)
    assert ran.returncode == 0, ran.stderr
    assert "passages from the standard library's docstrings" in ran.stderr
    answers = {}
    for block in ran.stdout.strip().split("\n\n"):
        question, *hits = block.splitlines()
        answers[question] = [hit.strip().split(":")[0] for hit in hits]
    assert len(answers) == 7
    assert "statistics.median" in answers["The middle value of a list of numbers"]
    assert "bisect.insort_right" in answers["Insert into a sorted list and keep it sorted"]
