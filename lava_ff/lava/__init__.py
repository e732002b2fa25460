"""Lava runs without torch: safe sessions (every run stops, a crashed child
is reported), FF inference networks of lava-ff's Processes, and on-chip
learning networks."""
