"""The public contract's words as code: what schemas/ and CONTRACT.md name and
more than one service needs (statuses, violation types)."""
