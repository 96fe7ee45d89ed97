"""Durable work: claimed with a lease, kept alive by heartbeats, taken over when the beats stop,
moved only along its state machine, and recovered at start-up and by sweeps. Pipeline steps use
it today; deployment tasks will too."""
