# Peer for the spec-loading benchmark: prance resolves every $ref (recursive
# schemas cut at depth 1, as mortar-spec does) and validates the document.
import sys
from prance import ResolvingParser
p = ResolvingParser(sys.argv[1], backend="openapi-spec-validator", strict=False,
                    recursion_limit_handler=lambda limit, url, recursions: {"type": "object"})
ops = sum(1 for item in p.specification["paths"].values() for m in item if m in ("get", "put", "post", "delete", "patch"))
print(ops, "operations")
