"""Reviewing drawings: the keyboard-first queue, its leases and second opinions, and the dashboard."""
