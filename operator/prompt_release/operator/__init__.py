"""The operator: kopf handlers (one module per kind) that read, call the core and write once."""
