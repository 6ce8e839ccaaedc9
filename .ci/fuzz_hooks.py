"""Schemathesis hooks of the API fuzzing (.ci/fuzz).

The fuzzer leaves `Idempotency-Key` out: a key is meant to be new for each
request, and the fuzzer's drawn keys repeat across different requests, which
the API rightly answers with 422 `idempotency_key_reused` (and headers lose
their surrounding whitespace on the way, so a drawn key that breaks the
pattern may arrive as one that keeps it). The Rust tests cover the header.
"""

import schemathesis


@schemathesis.hook
def before_load_schema(ctx, raw_schema):
    for item in raw_schema.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict) and "parameters" in operation:
                operation["parameters"] = [
                    parameter for parameter in operation["parameters"]
                    if parameter.get("name") != "Idempotency-Key"
                ]
