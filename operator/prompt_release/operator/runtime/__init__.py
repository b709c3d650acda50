"""The operator's runtime: work queues, controllers and Event posting. It knows no domain."""
