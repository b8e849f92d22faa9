from __future__ import annotations

from lstm_shapes.formula import Num, sym

X, H, O = sym("x"), sym("h"), sym("o")
ENV = {"x": 4, "h": 2, "o": 1}


def test_lstm_formula_prints_symbolic_substituted_and_ascii() -> None:
    expr = 4 * (H * (X + H) + H)
    assert expr.render() == "4·(h·(x+h)+h)"
    assert expr.render(ENV) == "4·(2·(4+2)+2)"
    assert expr.render(ascii=True) == "4*(h*(x+h)+h)"


def test_evaluation_matches_hand_arithmetic() -> None:
    assert (4 * (H * (X + H) + H)).evaluate(ENV) == 4 * (2 * (4 + 2) + 2) == 56
    assert (O * (H + 1)).evaluate(ENV) == 3
    assert (X * (4 * H)).evaluate({"x": 5, "h": 256}) == 5 * 1024


def test_number_next_to_symbol_drops_the_dot_only_symbolically() -> None:
    expr = X * (4 * H)
    assert expr.render() == "x·4h"
    assert expr.render(ENV) == "4·4·2"  # digits never touch


def test_ascii_form_evaluates_in_python_to_the_same_value() -> None:
    expr = 3 * (H * (X + H + 2)) + Num(7) * O
    assert eval(expr.render(ascii=True), {}, dict(ENV)) == expr.evaluate(ENV)
