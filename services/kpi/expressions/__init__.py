"""The safe expression language of KPI formulas (§4.1), in three parts by role:
:mod:`.syntax` (the AST and its canonical source), :mod:`.parser` (tokenizer and parser) and
:mod:`.evaluator`.

A formula is arithmetic over named inputs::

    formula  := sum
    sum      := product (("+" | "-") product)*
    product  := unary (("*" | "/") unary)*
    unary    := "-"* primary
    primary  := NUMBER | NAME | "(" sum ")"
    NUMBER   := [0-9]+ ("." [0-9]+)? ([eE] [+-]? [0-9]+)?
    NAME     := [a-z_][a-z0-9_]*          (lowercase ASCII, at most 64 characters)

Blanks (space, tab, CR, LF) separate tokens. Only ASCII digits and letters are accepted, so
unicode digits, upper-case names, attribute access, calls, ``**``, quotes and ``$`` are all
rejected with the column where they occur. The source is tokenized and parsed by hand into an
AST of frozen dataclasses and interpreted by :func:`.evaluator.evaluate`; nothing is ever handed
to ``eval``, ``exec`` or ``compile``.

Hostile input is bounded before any work grows with it: at most
:data:`.parser.MAX_SOURCE_LENGTH` characters, :data:`.parser.MAX_TOKENS` tokens and
:data:`.parser.MAX_DEPTH` levels of parentheses. Unary minus is parsed in a loop, so the parser
recurses only on parentheses, and every AST :func:`.parser.parse` returns has fewer nodes than
:data:`.parser.MAX_TOKENS`, which keeps :func:`.evaluator.evaluate` and
:func:`.syntax.to_source` far from Python's recursion limit.

Every failure is a :class:`~services.runtime.errors.ValidationFailed`: parse errors concern the
field ``formula``; evaluation errors concern ``inputs.<name>`` when one input is to blame.
"""
