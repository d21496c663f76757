"""Plans, sequencing, run lifecycle and recovery of interrupted runs.  Draws nothing."""
