"""Answers history searches with IPython's own HistoryAccessor.search, for
kernel_test.go's TestHistorySearchAgreesWithIPython.

Reads {"cells": [...], "outputs": {"line": "text"}, "queries": [{"pattern",
"n", "unique", "output"}]} on stdin: the cells become lines 1, 2, ... of
session 1 in an in-memory SQLite history. Writes one JSON list of answers,
each a list of [session, line, input] or [session, line, [input, output]].
"""
import json
import sys

from IPython.core.history import HistoryAccessor


def main():
    req = json.load(sys.stdin)
    h = HistoryAccessor(hist_file=":memory:")
    h.db.execute("INSERT INTO sessions VALUES (1, 0, NULL, 0, '')")
    for line, cell in enumerate(req["cells"], 1):
        h.db.execute("INSERT INTO history VALUES (1, ?, ?, ?)", (line, cell, cell))
    for line, text in req["outputs"].items():
        h.db.execute("INSERT INTO output_history VALUES (1, ?, ?)", (int(line), text))
    answers = []
    for q in req["queries"]:
        rows = h.search(q["pattern"], output=q["output"], n=q["n"], unique=q["unique"])
        answers.append([list(r[:2]) + [list(r[2]) if q["output"] else r[2]] for r in rows])
    json.dump(answers, sys.stdout)


if __name__ == "__main__":
    main()
