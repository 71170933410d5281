"""Where tasks run. ``local``: worker processes on this machine (Ray comes later)."""
