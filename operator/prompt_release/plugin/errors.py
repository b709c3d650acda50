"""The plugin's errors and the exit codes scripts can trust; mapped to codes only in `main`.

0  success (for `diff`: the versions are the same)
1  the operation failed: a release was refused or timed out (for `diff`: they differ)
2  bad usage or input: a flag, a file, a variable
3  not found: a PromptVersion, PromptRelease, revision or ConfigMap
4  the cluster can't be reached or refused us (kubeconfig, network, authorization)
"""

from __future__ import annotations

OK, FAILED, USAGE, NOT_FOUND, UNREACHABLE = 0, 1, 2, 3, 4


class CliError(Exception):
    """An error a user should read as one line; its class says which exit code it earns."""

    code = FAILED


class UsageError(CliError):
    code = USAGE


class NotFoundError(CliError):
    code = NOT_FOUND


class UnreachableError(CliError):
    code = UNREACHABLE
