"""`kubectl prompt`: the daily loop of release, promote, roll back, history, diff, render."""
