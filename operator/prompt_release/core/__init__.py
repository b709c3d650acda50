"""The pure core: rules on plain data, no kopf, no Kubernetes client, no I/O.

Light enough for the workload SDK to import its payload schema, hashing and templates.
"""
