"""LaTeX tables for pasting into a paper: booktabs rules, every character escaped, ASCII only.

The output is a fragment, not a document: `\\input` it (or paste it) into a document that loads
booktabs. It needs no other package. Every character outside printable ASCII becomes a LaTeX
command, so the fragment does not depend on the input or font encoding: the symbols the tool
prints become inline math (σ is `$\\sigma$`, ⊙ is `$\\odot$`) and the characters that LaTeX treats
specially become text commands. tests/test_latex_org.py compiles it with pdfLaTeX in both the
default OT1 and the T1 font encoding when a TeX installation is on the PATH.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

from .tables import Column, Table, heading, tables

if TYPE_CHECKING:
    from ..report import Report

PREAMBLE = (
    "% A LaTeX fragment from lstm-shapes: \\input it, or paste it, into a document that loads booktabs",
    "% (\\usepackage{booktabs}); it needs no other package.",
)

# Characters that mean something to LaTeX, or that the default OT1 encoding prints as another glyph
# (< > | " and ` come out as ¡ ¿ — ” and ‘), as text-mode commands that work in every encoding.
TEXT = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    '"': r"\texttt{\char34}",
    "`": r"\textasciigrave{}",
}
# Pairs that LaTeX fonts join into another glyph (-- is an en dash, '' a closing quote, ,, a low
# quote in T1): an empty group after the first keeps them apart.
LIGATURES = ("-", "'", ",")

# The symbols the tool prints, as math. Every non-ASCII character that any format prints is here
# (tests/test_latex_org.py checks that rendering every configuration leaves none raw).
MATH = {
    "σ": r"\sigma",  # gate activations
    "⊙": r"\odot",  # element-wise products
    "·": r"\cdot",  # matrix products and formulas
    "→": r"\rightarrow",  # operand shapes to result shape; the forward h_t
    "←": r"\leftarrow",  # the backward h_t
    "ᵀ": r"^{\top}",  # a transposed weight
    "×": r"\times",
    "−": "-",
    "±": r"\pm",
    "≤": r"\leq",
    "≥": r"\geq",
    "≠": r"\neq",
    "≈": r"\approx",
    "∈": r"\in",
    "⊕": r"\oplus",
    "⊗": r"\otimes",
    "∑": r"\sum",
    "∏": r"\prod",
    "√": r"\surd",
    "∞": r"\infty",
    "►": r"\triangleright",  # the arrow heads of the graph picture
    "▶": r"\triangleright",
}
# Other characters with a text-mode spelling.
TEXT_SYMBOLS = {
    "…": r"\ldots{}",
    "–": "--{}",
    "—": "---{}",
    "‘": "`",
    "’": "'",
    "“": "``",
    "”": "''",
    "\u00a0": "~",
    # The box drawing of the graph picture, as the ASCII art it stands for.
    "─": "-",
    "━": "-",
    "│": r"\textbar{}",
    "┃": r"\textbar{}",
    **{corner: "+" for corner in "┌┐└┘├┤┬┴┼╭╮╯╰"},
}
# Combining marks over the character before them, as math accents: c̃ is `$\tilde{c}$`.
ACCENTS = {
    "\u0303": r"\tilde",
    "\u0302": r"\hat",
    "\u0304": r"\bar",
    "\u0305": r"\bar",
    "\u0307": r"\dot",
    "\u0308": r"\ddot",
    "\u030c": r"\check",
    "\u0306": r"\breve",
    "\u0301": r"\acute",
    "\u0300": r"\grave",
    "\u20d7": r"\vec",
}
# Greek letters by their Unicode names: LaTeX has a command for every small letter but omicron, and
# for the capitals that do not look like Latin ones; the others are printed as Latin capitals.
GREEK_CAPITALS = ("Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega")
GREEK_SMALL = (
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu", "nu",
    "xi", "pi", "rho", "varsigma", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega",
)
LATIN_CAPITALS = {"Alpha": "A", "Beta": "B", "Epsilon": "E", "Zeta": "Z", "Eta": "H", "Iota": "I", "Kappa": "K",
                  "Mu": "M", "Nu": "N", "Omicron": "O", "Rho": "P", "Tau": "T", "Chi": "X"}


def greek(char: str) -> str | None:
    """`\\alpha` for α, `\\Delta` for Δ, `A` for Α; None for anything else."""
    name = unicodedata.name(char, "")
    if name.startswith("GREEK SMALL LETTER "):
        letter = {"LAMDA": "lambda", "FINAL SIGMA": "varsigma"}.get(name[19:], name[19:].lower())
        if letter == "omicron":
            return "o"
        return "\\" + letter if letter in GREEK_SMALL else None
    if name.startswith("GREEK CAPITAL LETTER "):
        letter = {"LAMDA": "Lambda"}.get(name[21:], name[21:].title())
        return "\\" + letter if letter in GREEK_CAPITALS else LATIN_CAPITALS.get(letter)
    return None


def math_symbol(char: str) -> str | None:
    """`char` as math, if it has a math spelling."""
    return MATH.get(char) or greek(char)


def fallback(char: str) -> str:
    """Any other character, printed as its code point, e.g. `[U+2203]`.

    Nothing the tool prints today gets here; the form keeps the output ASCII, compiling, and
    honest about what was there, rather than dropping the character or breaking the document.
    """
    return f"[U+{ord(char):04X}]"


def latex(text: str) -> str:
    """`text` as LaTeX text mode: specials escaped, symbols as inline math, ASCII only."""
    pieces: list[tuple[bool, str]] = []  # (is math, LaTeX), adjacent math joined into one $...$

    def add(math: bool, code: str) -> None:
        if pieces and pieces[-1][0] == math:
            before = pieces[-1][1]
            # \cdot followed by \sigma needs nothing between; \cdot followed by a letter needs a space.
            sep = " " if math and before[-1:].isalpha() and code[:1].isalpha() else ""
            pieces[-1] = (math, before + sep + code)
        else:
            pieces.append((math, code))

    i = 0
    while i < len(text):
        char = text[i]
        i += 1
        accents = []
        while i < len(text) and text[i] in ACCENTS:
            accents.append(ACCENTS[text[i]])
            i += 1
        if accents:
            base = char if char.isascii() and char.isalnum() else math_symbol(char)
            if base is not None:
                for accent in accents:
                    base = f"{accent}{{{base}}}"
                add(True, base)
                continue
            # An accent over something math has no letter for: the character, then the accents' code points.
            i -= len(accents)
        if char in TEXT:
            add(False, TEXT[char])
        elif char in LIGATURES and text[i : i + 1] == char:
            add(False, char + "{}")
        elif " " <= char <= "~":
            add(False, char)
        elif char in "\t\n\r":
            add(False, " ")
        elif char in TEXT_SYMBOLS:
            add(False, TEXT_SYMBOLS[char])
        elif (symbol := math_symbol(char)) is not None:
            add(True, symbol)
        else:
            add(False, fallback(char))
    return "".join(f"${code}$" if math else code for math, code in pieces)


def cell(text: str, column: Column) -> str:
    code = latex(text)
    return f"\\texttt{{{code}}}" if column.code and code else code


def guard(row: list[str]) -> list[str]:
    """After \\\\ (and after booktabs' rules) LaTeX reads a leading [ or * as the command's option."""
    if row and row[0][:1] in ("[", "*"):
        return ["{}" + row[0], *row[1:]]
    return row


def item(note: str) -> str:
    code = latex(note)
    # \\item reads a leading [ as its optional label.
    return "\\item " + ("{}" + code if code.startswith("[") else code)


def spec(table: Table) -> str:
    return "".join("r" if column.align == "right" else "l" for column in table.columns)


def latex_table(table: Table) -> list[str]:
    rows = [guard([latex(column.header) for column in table.columns])]
    rows += [guard([cell(text, column) for text, column in zip(row, table.columns)]) for row in table.rows]
    # Pad the source so the & line up, as a person would write it; the last column is not padded.
    sizes = [max(len(row[i]) for row in rows) for i in range(len(table.columns))]
    aligns = [column.align for column in table.columns]

    def line(row: list[str]) -> str:
        cells = [
            " " * (size - len(text)) + text if align == "right" else text + " " * (size - len(text))
            for text, size, align in zip(row, sizes, aligns)
        ]
        return (" & ".join(cells)).rstrip() + " \\\\"

    return [
        f"% {latex(table.title)}",
        f"\\begin{{tabular}}{{{spec(table)}}}",
        "\\toprule",
        line(rows[0]),
        "\\midrule",
        *(line(row) for row in rows[1:]),
        "\\bottomrule",
        "\\end{tabular}",
    ]


def latex_document(head: list[str], tables: tuple[Table, ...], notes: list[str] | tuple[str, ...]) -> str:
    lines = [*PREAMBLE, *latex_body(head, tables, notes)]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def latex_body(head: list[str], tables: tuple[Table, ...], notes: list[str] | tuple[str, ...]) -> list[str]:
    """The heading as a sentence, each table, and the notes as a list: a document without its preamble."""
    lines = [latex(": ".join(head) + ".")]
    for table in tables:
        lines += ["", "\\medskip", *latex_table(table)]
    if notes:
        lines += ["", "% Notes", "\\begin{itemize}", *(item(note) for note in notes), "\\end{itemize}"]
    return lines


def render_latex(report: Report) -> str:
    return latex_document(list(heading(report)), tables(report), report.notes)
