"""The tests of netdx.diagnose, one module per layer (a package, so their names cannot clash
with the flat tests/unit modules; pytest puts tests/unit on the path for evidence_cases)."""
