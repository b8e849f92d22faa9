"""The LaTeX and Org formats: escaping, structure, and that LaTeX compiles and Org stays aligned."""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
import unicodedata
from functools import cache
from pathlib import Path

import pytest

from lstm_shapes import Config, ConfigError, Report, build, render
from lstm_shapes.compare import compare
from lstm_shapes.config import CELLS, FRAMEWORKS
from lstm_shapes.frameworks import get
from lstm_shapes.render import FORMATS
from lstm_shapes.render.latex import latex, latex_document, render_latex
from lstm_shapes.render.org import org_document, paragraph, render_org
from lstm_shapes.render.comparison import comparison_document
from lstm_shapes.render.tables import Column, Table, tables, width

# One of each variant that each framework and cell has; the ones a framework lacks are skipped.
VARIANTS: tuple[dict[str, object], ...] = (
    {},
    {"out": 3},
    {"layers": 2, "bidirectional": True, "out": 2},
    {"bias": False},
    {"proj": 2},
    {"peepholes": True, "proj": 2, "bidirectional": True},
    {"reset_after": True},
    {"reset_after": False, "layers": 2},
    {"batch": 7, "seq_len": 5, "batch_first": True},
)
# Every cell that the tables and notes can hold, plus specials the tool does not print today.
SPECIALS = "& % $ # _ { } ~ ^ \\ < > | \" ` -- '' ,, [x] *y"


@cache
def reports() -> tuple[Report, ...]:
    """Every framework x cell x variant that exists, plain and with the equations and costs shown."""
    found = []
    for framework, cell, options in itertools.product(FRAMEWORKS, CELLS, VARIANTS):
        try:
            config = Config(input=4, hidden=3, cell=cell, framework=framework, **options)  # type: ignore[arg-type]
        except ConfigError:
            continue
        found.append(build(config))
        found.append(build(config, explain=True, show_cost=True))
    return tuple(found)


def comparisons() -> list[tuple[list[str], tuple[Table, ...], list[str]]]:
    return [comparison_document(compare(input=4, hidden=2, out=1)), comparison_document(compare(input=4, hidden=2, proj=1))]


def special_table() -> Table:
    columns = (Column("code", code=True), Column("text"), Column("n", "right"))
    rows = (("[x]", SPECIALS, "1,234"), ("*y", "c\u0303_t = σ(x·Wᵀ) → h ← ⊙", "5"), ("", "", ""))
    return Table("Specials & 100% of #_{}", columns, rows)


def test_reports_cover_every_framework_and_cell() -> None:
    seen = {(r.config.framework, r.config.cell) for r in reports()}
    assert seen == {(f, c) for f in FRAMEWORKS for c in CELLS if c in get(f).cells}


# --- LaTeX escaping ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("char", "expected"),
    [
        ("&", r"\&"),
        ("%", r"\%"),
        ("$", r"\$"),
        ("#", r"\#"),
        ("_", r"\_"),
        ("{", r"\{"),
        ("}", r"\}"),
        ("~", r"\textasciitilde{}"),
        ("^", r"\textasciicircum{}"),
        ("\\", r"\textbackslash{}"),
        ("<", r"\textless{}"),
        (">", r"\textgreater{}"),
        ("|", r"\textbar{}"),
        ('"', r"\texttt{\char34}"),
        ("`", r"\textasciigrave{}"),
    ],
)
def test_latex_escapes_every_special_character(char: str, expected: str) -> None:
    assert latex(char) == expected
    assert latex(f"a{char}b") == f"a{expected}b"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("σ", r"$\sigma$"),
        ("⊙", r"$\odot$"),
        ("·", r"$\cdot$"),
        ("→", r"$\rightarrow$"),
        ("←", r"$\leftarrow$"),
        ("Wᵀ", r"W$^{\top}$"),
        ("c\u0303_t", r"$\tilde{c}$\_t"),
        ("σ\u0303", r"$\tilde{\sigma}$"),
        ("α", r"$\alpha$"),
        ("Δ", r"$\Delta$"),
        ("Α", r"$A$"),
        ("…", r"\ldots{}"),
    ],
)
def test_latex_maps_symbols_to_math(text: str, expected: str) -> None:
    assert latex(text) == expected


def test_latex_joins_neighbouring_math_and_keeps_commands_apart() -> None:
    assert latex("σ(x·W_i)") == r"$\sigma$(x$\cdot$W\_i)"
    assert latex("σ·") == r"$\sigma\cdot$"
    assert latex("·ᵀ") == r"$\cdot^{\top}$"


def test_latex_keeps_ligatures_apart_and_turns_whitespace_into_spaces() -> None:
    assert latex("--seq-len") == "-{}-seq-len"
    assert latex("a''b,,c") == "a'{}'b,{},c"
    assert latex("a\nb\tc") == "a b c"


def test_latex_falls_back_to_the_code_point_for_unknown_characters() -> None:
    assert latex("∃x") == "[U+2203]x"
    assert latex("\u0303") == "[U+0303]"  # an accent over nothing
    assert latex("\u2203\u0303") == "[U+2203][U+0303]"  # an accent over a character math has no name for
    assert latex("\x07") == "[U+0007]"


def test_every_non_ascii_character_the_tool_prints_has_a_latex_spelling() -> None:
    """If this fails, a new symbol reached the output: add it to MATH or TEXT_SYMBOLS in latex.py."""
    printed = set()
    for report in reports()[::3]:
        for fmt in FORMATS:
            if fmt not in ("latex", "org"):
                printed |= {char for char in render(report, fmt) if not char.isascii()}
    assert {"σ", "⊙", "·", "→", "←", "ᵀ", "\u0303"} <= printed
    for char in sorted(printed):
        text = "c" + char if unicodedata.combining(char) else char
        code = latex(text)
        assert code.isascii() and "[U+" not in code, f"{char!r} ({unicodedata.name(char, '?')}) is not mapped: {code}"


# A math segment as latex() writes it: commands, superscripts, braces, letters, digits, -.
MATH_SEGMENT = re.compile(r"(?:\\[A-Za-z]+|[\^{}A-Za-z0-9 -])+")
ROW_SEPARATOR = re.compile(r"(?<!\\)&")


def unescaped(line: str, char: str) -> list[int]:
    return [m.start() for m in re.finditer(r"(?<!\\)" + re.escape(char), line)]


def check_latex(out: str) -> None:
    assert out.isascii(), sorted({c for c in out if not c.isascii()})
    assert out.endswith("\n") and not out.endswith("\n\n")
    assert "\\documentclass" not in out and "\t" not in out
    for line in out.splitlines():
        assert line == line.rstrip()
        if line.startswith("%"):
            body = line[1:]
        else:
            body = line
        # Outside $...$: no raw _ # %, and every $ opens or closes a well-formed math segment.
        dollars = unescaped(body, "$")
        assert len(dollars) % 2 == 0, line
        outside = body
        for start, end in reversed(list(zip(dollars[::2], dollars[1::2]))):
            assert MATH_SEGMENT.fullmatch(body[start + 1 : end]), line
            outside = outside[:start] + outside[end + 1 :]
        for char in "_#%":
            assert not unescaped(outside, char), f"raw {char} in {line!r}"
        if not line.endswith(" \\\\"):
            assert not ROW_SEPARATOR.search(outside), f"raw & outside a table row: {line!r}"


def tabulars(out: str) -> list[tuple[str, list[str]]]:
    """(column spec, lines between \\begin{tabular} and \\end{tabular}) for every table."""
    found = []
    for match in re.finditer(r"\\begin\{tabular\}\{([lr]+)\}\n(.*?)\n\\end\{tabular\}", out, re.DOTALL):
        found.append((match.group(1), match.group(2).split("\n")))
    return found


def check_latex_tables(out: str, expected: tuple[Table, ...]) -> None:
    found = tabulars(out)
    assert len(found) == len(expected) == out.count("\\begin{tabular}") == out.count("\\end{tabular}")
    for (spec, body), table in zip(found, expected):
        assert spec == "".join("r" if c.align == "right" else "l" for c in table.columns)
        assert f"% {latex(table.title)}\n\\begin{{tabular}}" in out
        assert body[0] == "\\toprule" and body[2] == "\\midrule" and body[-1] == "\\bottomrule"
        rows = [body[1], *body[3:-1]]
        assert len(rows) == len(table.rows) + 1
        for row in rows:
            assert row.endswith(" \\\\")
            assert len(ROW_SEPARATOR.split(row[:-3])) == len(spec), row
            assert row[:1] not in ("[", "*"), row


def test_latex_output_of_every_configuration_is_ascii_and_escaped() -> None:
    for report in reports():
        out = render_latex(report)
        check_latex(out)
        check_latex_tables(out, tables(report))


def test_latex_fragment_says_it_needs_booktabs_and_shows_the_heading_and_notes() -> None:
    report = build(Config(input=4, hidden=2, framework="pytorch"))
    out = render(report, "latex")
    first = out.splitlines()[0]
    assert first.startswith("% ") and "booktabs" in first
    assert "LSTM cell, one time step (PyTorch convention): x = 4 inputs" in out
    assert out.count("\\item ") == len(report.notes) > 0
    assert "bias\\_ih" in out


def test_latex_numbers_are_right_aligned_and_keep_their_separators() -> None:
    out = render(build(Config(input=5, hidden=256, out=10)), "latex")
    assert "\\begin{tabular}{llr}" in out  # Parameters
    assert "lstm  & 4$\\cdot$(h$\\cdot$(x+h)+h) = 4$\\cdot$(256$\\cdot$(5+256)+256) & 268,288 \\\\" in out
    assert "   5,120 &" in out  # padded on the left in the source too


def test_latex_document_escapes_headings_titles_notes_and_guards_row_starts() -> None:
    table = special_table()
    out = latex_document(["Head & 50% #1"], (table,), ["note_with $ and ~"])
    check_latex(out)
    check_latex_tables(out, (table,))
    assert "Head \\& 50\\% \\#1." in out
    assert "% Specials \\& 100\\% of \\#\\_\\{\\}" in out
    assert "\\item note\\_with \\$ and \\textasciitilde{}" in out
    assert "\\midrule\n{}\\texttt{[x]}" not in out  # code cells start with \texttt, which is safe
    assert "\n\\texttt{[x]} " in out and "\n\\texttt{*y} " in out
    plain = latex_document(["h"], (Table("T", (Column("a"),), (("[x]",), ("*y",))),), [])
    assert "\n{}[x] \\\\\n{}*y \\\\\n" in plain
    assert "\\item {}[x] is not a label\n" in latex_document(["h"], (), ["[x] is not a label"])


def test_latex_comparison_document() -> None:
    for head, found, notes in comparisons():
        out = latex_document(head, found, notes)
        check_latex(out)
        check_latex_tables(out, found)


def latex_engine() -> str | None:
    return next((e for e in ("pdflatex", "lualatex", "xelatex") if shutil.which(e)), None)


@pytest.mark.skipif(
    latex_engine() is None,
    reason="no pdflatex, lualatex or xelatex on the PATH; on Debian/Ubuntu: "
    "apt-get install --no-install-recommends texlive-latex-base texlive-latex-recommended",
)
@pytest.mark.parametrize("encoding", ["OT1", "T1"])
def test_latex_output_compiles(tmp_path: Path, encoding: str) -> None:
    """\\input every kind of output into an article with booktabs; a missing glyph is an error too."""
    engine = latex_engine()
    assert engine is not None
    picked = reports()[::5]
    parts = [render_latex(r) for r in picked]
    parts += [latex_document(*document) for document in comparisons()]
    parts.append(latex_document(["Specials: " + SPECIALS], (special_table(),), ["note: " + SPECIALS]))
    for i, part in enumerate(parts):
        (tmp_path / f"part{i}.tex").write_text(part, encoding="ascii")
    inputs = "\n".join(f"\\input{{part{i}}}\n\\clearpage" for i in range(len(parts)))
    fontenc = "" if encoding == "OT1" or engine != "pdflatex" else "\\usepackage[T1]{fontenc}\n"
    (tmp_path / "doc.tex").write_text(
        "\\documentclass{article}\n" + fontenc + "\\usepackage{booktabs}\n\\tracinglostchars=3\n"
        "\\begin{document}\n" + inputs + "\n\\end{document}\n",
        encoding="ascii",
    )
    done = subprocess.run(
        [engine, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "doc.tex"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )
    log = (tmp_path / "doc.log").read_text(encoding="latin-1")
    errors = [line for line in log.splitlines() if line.startswith("!") or "Missing character" in line]
    assert done.returncode == 0 and not errors, "\n".join(errors) or done.stdout[-3000:]


# --- Org ---------------------------------------------------------------------------------------

# An independent copy of org-table-align's rule (Org 9.6, default settings): a column is right-aligned
# when at least half of its non-empty fields, header included, match org-table-number-regexp.
ORG_NUMBER = re.compile(
    r"^(?:[<>]?[-+^.0-9]*[0-9][-+^.0-9eEdDx()%:]*|[<>]?[-+]?0[xX][0-9a-fA-F.]+"
    r"|[<>]?[-+]?[0-9]+#[0-9a-zA-Z.]+|nan|[-+u]?inf)$",
    re.IGNORECASE,
)


def org_align(lines: list[str]) -> list[str]:
    """What org-table-align makes of the table `lines`."""
    rows = [None if line.startswith("|-") else [f.strip() for f in line.strip("|").split("|")] for line in lines]
    data = [row for row in rows if row is not None]
    ncols = max(len(row) for row in data)
    data = [row + [""] * (ncols - len(row)) for row in data]
    widths, aligns = [], []
    for column in zip(*data):
        widths.append(max(1, *(width(f) for f in column)))
        filled = [f for f in column if f]
        numbers = sum(1 for f in filled if ORG_NUMBER.match(f))
        aligns.append("r" if numbers >= 0.5 * len(filled) else "l")
    out, it = [], iter(data)
    for row in rows:
        if row is None:
            out.append("|" + "+".join("-" * (w + 2) for w in widths) + "|")
            continue
        fields = next(it)
        cells = [
            " " * (w - width(f)) + f if a == "r" else f + " " * (w - width(f))
            for f, w, a in zip(fields, widths, aligns)
        ]
        out.append("| " + " | ".join(cells) + " |")
    return out


def org_tables(out: str) -> list[tuple[str, list[str]]]:
    """(caption, table lines) for every table in an Org document."""
    found = []
    lines = out.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("#+CAPTION: "):
            j = i + 1
            while j < len(lines) and lines[j].startswith("|"):
                j += 1
            found.append((line[len("#+CAPTION: ") :], lines[i + 1 : j]))
    return found


def check_org(out: str, expected: tuple[Table, ...]) -> None:
    assert out.endswith("\n") and not out.endswith("\n\n")
    assert all(line == line.rstrip() for line in out.splitlines())
    found = org_tables(out)
    assert [caption for caption, _ in found] == [t.title for t in expected]
    for (_, lines), table in zip(found, expected):
        assert len(lines) == len(table.rows) + 2
        assert len({width(line) for line in lines}) == 1, "rows of different widths"
        header, rule = lines[0], lines[1]
        assert re.fullmatch(r"\|(-+\+)*-+\|", rule)
        # Every + of the rule sits under a | of every row.
        joins = [i for i, c in enumerate(rule) if c == "+"]
        for line in [header, *lines[2:]]:
            assert line.startswith("| ") and line.endswith(" |")
            assert len(line.split(" | ")) == len(table.columns), line
            if line.isascii():
                assert all(line[i] == "|" for i in joins), line
        assert [f.strip() for f in header.strip("|").split("|")] == [c.header for c in table.columns]
        assert org_align(lines) == lines, "org-table-align would change this table"


def test_org_output_of_every_configuration_is_aligned_as_org_aligns_it() -> None:
    for report in reports():
        check_org(render_org(report), tables(report))


def test_org_comparison_document() -> None:
    for head, found, notes in comparisons():
        check_org(org_document(head, found, notes), found)


def test_org_number_columns_are_right_aligned_plain_integers() -> None:
    out = render(build(Config(input=5, hidden=256, out=10)), "org")
    assert "| lstm  | 4·(h·(x+h)+h) = 4·(256·(5+256)+256) | 268288 |" in out
    assert "| total | 268,288 + 2,570                     | 270858 |" in out  # formulas are text
    assert "|   5120 |" in out and "|     10 |" in out


def test_org_cells_code_columns_and_pipes() -> None:
    rows = (("x_t", "a | b", "1,234"), ("a|b", "c\u0303_t", "-"), ("~home", "", "12"))
    table = Table("T1", (Column("code", code=True), Column("text"), Column("n", "right")), rows)
    assert org_document(["Head", "sizes"], (table,), ["note"]) == (
        "Head: sizes.\n"
        "\n"
        "#+CAPTION: T1\n"
        "| code      | text        |    n |\n"
        "|-----------+-------------+------|\n"
        "| ~x_t~     | a \\vert{} b | 1234 |\n"
        "| a\\vert{}b | c\u0303_t         |    - |\n"  # the combining tilde takes no column
        "| ~home     |             |   12 |\n"
        "\n"
        "- note\n"
    )


def test_org_heading_that_looks_like_markup_is_escaped() -> None:
    for line in ("* Heading", "#+TITLE: x", "# comment", "| a |", ": fixed", "- item", "+ item", "1. item", "2) item"):
        assert paragraph(line) == "\u200b" + line
    for line in ("LSTM cell, one time step", "*bold* text", "-8 bias", "10 units", "x = 4"):
        assert paragraph(line) == line


def test_org_note_that_looks_like_a_checkbox_is_escaped() -> None:
    out = org_document(["h"], (), ["[X] done", "[ ] open", "[@3] counter", "[h_prev, x_t] is fine"])
    assert out.endswith("- \u200b[X] done\n- \u200b[ ] open\n- \u200b[@3] counter\n- [h_prev, x_t] is fine\n")


@pytest.mark.skipif(shutil.which("emacs") is None, reason="emacs is not on the PATH (apt-get install emacs-nox to run it)")
def test_org_tables_are_left_unchanged_by_emacs_org_table_align(tmp_path: Path) -> None:
    out = "".join(render_org(r) + "\n" for r in reports()[::7])
    out += "".join(org_document(*document) + "\n" for document in comparisons())
    (tmp_path / "in.org").write_text(out, encoding="utf-8")
    script = (
        "(progn (require 'org) (find-file (car command-line-args-left)) (org-mode)"
        " (goto-char (point-min))"
        " (while (re-search-forward \"^|\" nil t) (org-table-align) (goto-char (org-table-end)))"
        " (write-region (point-min) (point-max) \"out.org\"))"
    )
    done = subprocess.run(
        ["emacs", "--batch", "-Q", "--eval", "(setq coding-system-for-write 'utf-8)", "--eval", script, "in.org"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "out.org").read_text(encoding="utf-8") == out
