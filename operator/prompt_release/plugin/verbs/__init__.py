"""The verbs of `kubectl prompt`: each reads, calls the core's rules and writes or prints."""
