"""The command line as a user runs it: formats, exit codes and one-line errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import replace

import pytest
from click.testing import CliRunner

from lstm_shapes import __version__
from lstm_shapes.cli import main_command
from lstm_shapes.config import MAX_SIZE

EXAMPLE = ["--input", "4", "--hidden", "2", "--out", "1"]


def run(*args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main_command, list(args), env=env, prog_name="lstm-shapes")


def test_main_example_prints_nodes_weights_and_59_with_formulas() -> None:
    result = run(*EXAMPLE)
    assert result.exit_code == 0, result.output
    out = result.stdout
    for node, shape in [("x_t", "(B, 4)"), ("hx_t", "(B, 6)"), ("f_t", "(B, 2)"), ("c_t", "(B, 2)"), ("logits", "(B, 1)")]:
        assert re.search(rf"^{node}\s+{re.escape(shape)}\s", out, re.MULTILINE), node
    for name, shape, params in [
        ("lstm/lstm_cell/kernel", "(4, 8)", 32),
        ("lstm/lstm_cell/recurrent_kernel", "(2, 8)", 16),
        ("lstm/lstm_cell/bias", "(8,)", 8),
        ("dense/kernel", "(2, 1)", 2),
        ("dense/bias", "(1,)", 1),
    ]:
        assert re.search(rf"^{name}\s+{re.escape(shape)}\s+{params}\s", out, re.MULTILINE), name
    assert re.search(r"^lstm\s+4·\(h·\(x\+h\)\+h\) = 4·\(2·\(4\+2\)\+2\)\s+56$", out, re.MULTILINE)
    assert re.search(r"^dense\s+o·\(h\+1\) = 1·\(2\+1\)\s+3$", out, re.MULTILINE)
    assert re.search(r"^total\s+56 \+ 3\s+59$", out, re.MULTILINE)


def test_seed_example_in_json() -> None:
    result = run("--input", "5", "--hidden", "256", "--out", "10", "--format", "json")
    data = json.loads(result.stdout)
    nodes = {n["name"]: n["shape"] for n in data["nodes"]}
    assert nodes["hx_t"] == ["B", 5 + 256]
    assert nodes["logits"] == ["B", 10]
    assert data["total_params"] == 4 * (256 * (5 + 256) + 256) + 10 * (256 + 1) == 270_858


@pytest.mark.parametrize("fmt", ["text", "markdown", "csv", "json", "table"])
def test_every_format_piped_has_no_ansi_and_ignores_terminal_width(fmt: str) -> None:
    narrow = run(*EXAMPLE, "--format", fmt, env={"COLUMNS": "40"})
    wide = run(*EXAMPLE, "--format", fmt, env={"COLUMNS": "200"})
    assert narrow.exit_code == wide.exit_code == 0
    assert "\x1b[" not in narrow.stdout
    if fmt != "table":  # the rich table fits itself to the terminal, by design
        assert narrow.stdout == wide.stdout


def test_piped_default_is_text() -> None:
    assert run(*EXAMPLE).stdout == run(*EXAMPLE, "--format", "text").stdout


def test_table_format_colours_only_when_allowed() -> None:
    coloured = run(*EXAMPLE, "--format", "table", env={"FORCE_COLOR": "1", "NO_COLOR": ""})
    assert "\x1b[36m" in coloured.stdout  # cyan names when a terminal is forced
    plain = run(*EXAMPLE, "--format", "table", env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert not re.search(r"\x1b\[(3\d|9\d)m", plain.stdout), "NO_COLOR must remove colours"
    assert "lstm/lstm_cell/recurrent_kernel" in plain.stdout


def test_no_out_has_no_head() -> None:
    out = run("--input", "3", "--hidden", "7").stdout
    assert "logits" not in out and "dense" not in out
    assert re.search(r"^total\s+308\s+308$", out, re.MULTILINE)  # 4·7·(3+7+1)


BAD = [
    ([], "--input is required: a whole number from 1 to 10,000,000"),
    (["--input", "4"], "--hidden is required"),
    (["--input", "0", "--hidden", "2"], "--input must be a whole number from 1 to 10,000,000, got 0"),
    (["--input", "-3", "--hidden", "2"], "--input must be a whole number from 1 to 10,000,000, got -3"),
    (["--input", "4", "--hidden", "2.5"], "--hidden must be a whole number from 1 to 10,000,000, got '2.5'"),
    (["--input", "4", "--hidden", "two"], "--hidden must be a whole number from 1 to 10,000,000, got 'two'"),
    (["--input", "4", "--hidden", str(MAX_SIZE + 1)], f"--hidden must be a whole number from 1 to 10,000,000, got {MAX_SIZE + 1}"),
    (["--input", "4", "--hidden", "9" * 40], "--hidden must be a whole number from 1 to 10,000,000"),
    (["--input", "4", "--hidden", "2", "--out", "0"], "--out must be a whole number from 1 to 10,000,000 (or none, for no head), got 0"),
    (["--input", "4", "--hidden", "2", "--format", "xml"], "'xml' is not one of 'table', 'text', 'markdown', 'csv', 'json'"),
    (["--input", "4", "--hiden", "2"], "No such option '--hiden'"),
    (["--input", "4", "--hidden"], "Option '--hidden' requires an argument"),
    (["--input", "4", "--hidden", "2", "stray"], "unexpected extra argument (stray)"),
    (["--input", "4", "--hidden", "1000000", "--verify"], "--verify would need about"),
]


@pytest.mark.parametrize("args,message", BAD, ids=[" ".join(a) or "nothing" for a, _ in BAD])
def test_bad_input_is_one_line_exit_2_no_traceback(args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("lstm-shapes: error: ")
    assert message in lines[0]
    assert "Traceback" not in result.output


def test_verify_passes_and_reports_on_stderr() -> None:
    result = run(*EXAMPLE, "--format", "json", "--verify")
    assert result.exit_code == 0
    json.loads(result.stdout)  # the report stays parseable
    assert "node hx_t (B, 6) at every step: (2, 6)" in result.stderr
    assert result.stderr.rstrip().endswith("0 mismatches")


def test_verify_exits_1_on_a_mismatch(monkeypatch: pytest.MonkeyPatch) -> None:
    from lstm_shapes import command
    from lstm_shapes import report as report_module

    def broken(config, **flags):  # type: ignore[no-untyped-def]
        good = report_module.build(config, **flags)
        nodes = tuple(n._replace(shape=("B", 3)) if n.id == "c_t" else n for n in good.nodes)
        return replace(good, nodes=nodes)

    monkeypatch.setattr(command, "build", broken)
    result = run(*EXAMPLE, "--verify")
    assert result.exit_code == 1
    assert "FAIL  node c_t (B, 3) at every step: (2, 3), got (2, 2)" in result.stderr


def test_version_and_help() -> None:
    assert run("--version").stdout == f"lstm-shapes {__version__}\n"
    help_text = run("--help").stdout
    assert "Examples:" in help_text and "lstm-shapes --input 4 --hidden 2 --out 1" in help_text
    for option in ("--input", "--hidden", "--out", "--format", "--verify", "--version"):
        assert option in help_text


def test_python_dash_m_works_end_to_end() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lstm_shapes", *EXAMPLE, "--format", "json"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["total_params"] == 59


def test_bad_input_from_a_real_process_has_no_traceback() -> None:
    done = subprocess.run([sys.executable, "-m", "lstm_shapes", "--input", "x"], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr == "lstm-shapes: error: --input must be a whole number from 1 to 10,000,000, got 'x'\n"


def test_the_help_lists_the_subcommands_each_on_one_line() -> None:
    lines = run("--help").stdout.splitlines()
    start = lines.index("Commands:")
    listed = [line.split()[0] for line in lines[start + 1:start + 4]]
    assert listed == ["trace", "fit", "docs"]
    assert all(len(line.split()) > 3 for line in lines[start + 1:start + 4])  # each with a description
    assert not lines[start + 4].startswith("     ")  # no description runs onto a second line


@pytest.mark.parametrize("first", [[], ["trace"]])
def test_trace_is_the_default_command_and_may_be_named(first: list[str]) -> None:
    # 59 by hand: Keras LSTM 4·2·(4 + 2 + 1) = 56, dense head 2·1 + 1 = 3.
    done = subprocess.run([sys.executable, "-m", "lstm_shapes", *first, *EXAMPLE, "--format", "json"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["total_params"] == 59


def test_a_marker_may_name_trace() -> None:
    from lstm_shapes.subcommands import render_marker

    assert json.loads(render_marker(["trace", *EXAMPLE, "--format", "json"]))["total_params"] == 59


def test_the_main_command_and_its_help_do_not_import_the_subcommands() -> None:
    # The subcommands' module defines click commands: a plain trace should not pay for it.
    code = ("import sys\nfrom lstm_shapes.cli import main_command\n"
            "main_command.main(['--help'], standalone_mode=False)\n"
            "main_command.main(['--input', '4', '--hidden', '2', '--format', 'text'], standalone_mode=False)\n"
            "print('lstm_shapes.subcommands' in sys.modules, 'lstm_shapes.fit' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "False False"


def test_the_command_modules_import_one_way_counting_local_imports() -> None:
    # cli -> subcommands -> command, never back: ast sees imports inside functions too.
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parent.parent / "lstm_shapes"

    def imported(module: str) -> set[str]:
        tree = ast.parse((package / f"{module}.py").read_text())
        return {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 1}

    assert {"command", "subcommands"} <= imported("cli")
    assert "command" in imported("subcommands") and "cli" not in imported("subcommands")
    assert imported("command").isdisjoint({"cli", "subcommands"})


def test_every_config_field_is_one_option_and_each_option_reaches_its_field() -> None:
    from dataclasses import fields

    from lstm_shapes import Config
    from lstm_shapes.command import config_options
    from lstm_shapes.config import OPTIONS

    assert sorted(option.field for option in OPTIONS) == sorted(field.name for field in fields(Config))
    # Every option away from its default, and the field each one must set, written out by hand.
    args = ["--input", "5", "--hidden", "3", "--out", "2", "--framework", "pytorch", "--cell", "gru", "--proj", "2",
            "--peepholes", "--layers", "2", "--bidirectional", "--no-bias", "--batch", "7", "--seq-len", "4",
            "--no-reset-after", "--time-major", "--dtype", "float16", "--head-activation", "sigmoid",
            "--no-head-bias", "--head-reads", "last-step", "--merge-mode", "sum"]
    assert config_options(main_command.make_context("lstm-shapes", args).params) == dict(
        input=5, hidden=3, out=2, framework="pytorch", cell="gru", proj=2, peepholes=True, layers=2,
        bidirectional=True, bias=False, batch=7, seq_len=4, reset_after=False, batch_first=False, dtype="float16",
        head_activation="sigmoid", head_bias=False, head_reads="last-step", merge_mode="sum")


def test_a_trace_through_the_console_script_reads_no_file_module() -> None:
    # inspect and diagnose live apart: the plain trace imports no file reader, recognition or format library.
    code = ("import sys\nsys.argv = ['lstm-shapes', '--input', '4', '--hidden', '2', '--format', 'json']\n"
            "import os\nos._exit = lambda code: (print(sorted(m for m in sys.modules if m.startswith(('lstm_shapes.', "
            "'h5py', 'onnx', 'msgpack', 'safetensors', 'numpy', 'torch', 'keras'))), file=sys.stderr), sys.exit(code))\n"
            "from lstm_shapes.cli import main\nmain()\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    loaded = done.stderr.strip()
    for name in ("lstm_shapes.files", "lstm_shapes.inspection", "lstm_shapes.inspect_command", "lstm_shapes.diagnose",
                 "lstm_shapes.diagnose_command", "h5py", "onnx", "msgpack", "safetensors", "numpy", "torch", "keras"):
        assert f"'{name}'" not in loaded, name
    assert "'lstm_shapes.report'" in loaded  # the list is the real one
