"""One reconciler per kind: PromptRelease and PromptVersion."""
