"""Write PLY's parse tables for checkov's JSONPath parsers into checkov's virtualenv, once.

Run with .venv-checkov's python (the Makefile's checkov-venv does). bc_jsonpath_ng asks PLY for
its LALR tables on every parse with write_tables=0, so a checkov run over terraform/ built them
again for each of its ~115 JSONPath parses: 14% of its CPU. PLY reads a table module when one is
importable and its grammar signature matches, and builds the tables as before when not, so the
tables written here change no result, only the time.
"""

from __future__ import annotations

import os

import ply.yacc
from bc_jsonpath_ng import parser as base_parser
from bc_jsonpath_ng.ext import parser as extended_parser

# The names bc_jsonpath_ng's parse_token_stream asks PLY for (tabmodule, start symbol).
TABLE_MODULE = "parser_jsonpath_parsetab"
START_SYMBOL = "jsonpath"

for module, parser_class in (
    (base_parser, base_parser.JsonPathParser),
    (extended_parser, extended_parser.ExtentedJsonPathParser),
):
    # PLY resolves the table module in the package of the parser's class: one file per package.
    ply.yacc.yacc(
        module=parser_class(),
        tabmodule=TABLE_MODULE,
        outputdir=os.path.dirname(module.__file__),
        write_tables=True,
        debug=False,
        start=START_SYMBOL,
        errorlog=ply.yacc.NullLogger(),
    )
    print(f"wrote {os.path.join(os.path.dirname(module.__file__), TABLE_MODULE)}.py")
