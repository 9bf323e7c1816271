"""checkov's command line with one asteval interpreter per thread instead of one per expression.

Run with .venv-checkov's python (tests/infra/test_infra_checkov.py does), with checkov's own
arguments. To render variables, checkov evaluates ~100,000 expressions over terraform/ and builds
a new asteval Interpreter for each (`safe_eval_functions.get_asteval`): 15% of its CPU. Every one
of those interpreters shares the same symbol table (checkov's SAFE_EVAL_DICT); what else an
interpreter keeps from one expression to the next is put back here as a new one has it, so a
reused interpreter evaluates exactly as a new one does (the JSON report is the same byte for
byte). Without the function to replace (another checkov), checkov runs as it comes.
"""

from __future__ import annotations

import sys
import threading
import warnings

from checkov.main import Checkov
from checkov.terraform.graph_builder.variable_rendering import safe_eval_functions

_per_thread = threading.local()
_new_interpreter = getattr(safe_eval_functions, "get_asteval", None)


def _reused_interpreter():  # an asteval.Interpreter (asteval has no type hints)
    interpreter = getattr(_per_thread, "interpreter", None)
    if interpreter is None:
        interpreter = _per_thread.interpreter = _new_interpreter()
    # What eval() does not reset itself (it resets error, error_msg, lineno and start_time).
    interpreter.expr = None
    interpreter.retval = None
    interpreter._interrupt = None
    interpreter._calldepth = 0
    interpreter.code_text = []
    return interpreter


if _new_interpreter is not None:
    safe_eval_functions.get_asteval = _reused_interpreter

if __name__ == "__main__":
    with warnings.catch_warnings():  # as checkov's own console script
        warnings.simplefilter("ignore", category=SyntaxWarning)
        sys.exit(Checkov().run())
